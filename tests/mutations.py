"""Hypothesis strategies that spoil a valid input a little: mutated but plausible documents and texts.

A valid document is taken apart at one to three places: a value is replaced by
one of the wrong type, a non-finite or huge number, odd unicode or deep
nesting, or its key is removed. Texts (CSV files) are cut short, have a field
replaced, or a line dropped. Parsers must answer all of them with a clear
:class:`~deconflict.errors.InputError`.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from deconflict.errors import InputError

__all__ = [
    "WEIRD_TEXTS",
    "WEIRD_VALUES",
    "assert_clear",
    "assert_error_lines",
    "deep",
    "mutated_document",
    "mutated_text",
    "paths",
]


def deep(depth: int) -> Any:
    """A list nested ``depth`` levels deep."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


WEIRD_TEXTS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "NaN", "nan", "inf", "-Infinity", "1e999", "-1e999", "0x10", "١٢", "\U0001d7d9\U0001d7da"]
    ),
    st.sampled_from(["\x00", "\u202e", "e\u0301", "Ω", "\ud7ff", "ФЛ100", "2026-13-01T25:00:00Z"]),
    st.sampled_from(["9" * 400, "1" + "0" * 30, "-" + "9" * 30]),
)
"""Texts where a number, a name or a time is expected."""

WEIRD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    WEIRD_TEXTS,
    st.lists(st.one_of(st.integers(), st.floats(), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.sampled_from([64, 600]).map(deep),  # built per draw: later mutations may change it
    st.just(50).map(lambda depth: {"a": deep(depth)}),
)
"""Values of the wrong type, out of range or absurd, for any place in a JSON document."""


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, as a tuple of keys and indices (the root excluded)."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(document, dict):
        children = list(document.items())
    elif isinstance(document, list):
        children = list(enumerate(document))
    for key, value in children:
        here = (*prefix, key)
        found.append(here)
        found.extend(paths(value, here))
    return found


def _apply(document: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return document


@st.composite
def mutated_document(draw: st.DrawFn, valid: Any, max_mutations: int = 3) -> Any:
    """``valid`` with one to ``max_mutations`` places replaced by a :data:`WEIRD_VALUES` or removed."""
    document = copy.deepcopy(valid)
    for _ in range(draw(st.integers(min_value=1, max_value=max_mutations))):
        places = paths(document)
        if not places:
            break
        path = draw(st.sampled_from(places))
        delete = draw(st.booleans()) and len(path) > 0
        document = _apply(document, path, draw(WEIRD_VALUES), delete)
    return document


@st.composite
def mutated_text(draw: st.DrawFn, valid: str, separator: str = ",") -> str:
    """``valid`` (lines of separated fields) cut short, with a field replaced or a line dropped."""
    lines = valid.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["field", "drop", "truncate", "extra"]))
        if not lines:
            break
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        if action == "field":
            fields = lines[at].split(separator)
            k = draw(st.integers(min_value=0, max_value=len(fields) - 1))
            fields[k] = draw(WEIRD_TEXTS).replace("\n", " ").replace("\r", " ")
            lines[at] = separator.join(fields)
        elif action == "drop":
            del lines[at]
        elif action == "extra":
            lines[at] += separator + draw(WEIRD_TEXTS).replace("\n", " ").replace("\r", " ")
        else:
            text = "\n".join(lines)
            return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return "\n".join(lines) + "\n"


def assert_clear(error: InputError, source: str, *, whole_record: str, records: str = "") -> None:
    """Assert that ``error`` is a clear answer to a spoiled input read from ``source``.

    Every problem names ``source`` and says something, never a traceback; a
    problem with a record (whose name starts with ``records``) but no field is
    about the record as a whole, and its message must say ``whole_record``
    (what the record should have been).
    """
    assert error.problems
    for problem in error.problems:
        assert problem.source == source, problem
        assert problem.message and "Traceback" not in problem.message, problem
        if problem.record is not None and problem.record.startswith(records) and problem.field is None:
            assert whole_record in problem.message, problem


def assert_error_lines(err: str, source: object) -> None:
    """Assert that a command's stderr is one or more ``error: SOURCE: ...`` lines and nothing else."""
    lines = err.splitlines()
    assert lines and all(line.startswith(f"error: {source}: ") for line in lines), lines
