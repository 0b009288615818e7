"""The message catalogue: codes, their texts in every language and their parameter schemas.

The catalogue is data (``deconflict/data/catalogue.json``), read from the
installed package when asked (:func:`load_catalogue`), never at import. Each
code has a title and a template per language; a template's ``{placeholders}``
name parameters, whose JSON Schema (draft 2020-12) the code declares. ``FREE``
carries free text only.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from deconflict.errors import InputError, Problem

__all__ = [
    "FREE_TEXT_CODE",
    "LANGUAGES",
    "MAX_TEXT_CHARS",
    "Catalogue",
    "MessageKind",
    "RenderedMessage",
    "choose_language",
    "load_catalogue",
    "parse_catalogue",
    "placeholders",
]

LANGUAGES = ("en", "ru")
"""The languages every code has texts in; the first is the default."""

FREE_TEXT_CODE = "FREE"
"""The code of a message that is free text only (its ``text`` must not be empty)."""

MAX_TEXT_CHARS = 4000
"""The longest free text a message may carry."""


def placeholders(template: str) -> frozenset[str]:
    """The parameter names a template refers to.

    Examples
    --------
    >>> sorted(placeholders("Operation {operation} amended (version {version})."))
    ['operation', 'version']
    """
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


@dataclass(frozen=True)
class MessageKind:
    """One code of the catalogue.

    Attributes
    ----------
    code
        E.g. ``"TRAFFIC_ADVISORY"``.
    titles, templates
        By language code (every one of :data:`LANGUAGES`).
    params_schema
        JSON Schema (draft 2020-12) of the message's ``params`` object.
    """

    code: str
    titles: Mapping[str, str]
    templates: Mapping[str, str]
    params_schema: Mapping[str, Any]


@dataclass(frozen=True)
class RenderedMessage:
    """A message as a reader sees it, in one language.

    Attributes
    ----------
    language
        The language of ``title`` and ``body``.
    title
        The code's title.
    body
        The template filled with the parameters, then the free text on its own line.
    """

    language: str
    title: str
    body: str


def choose_language(requested: str | None, accept_language: str | None = None) -> str:
    """The language to render in: ``requested`` if given, else the best of ``Accept-Language``.

    Raises
    ------
    InputError
        If ``requested`` is not one of :data:`LANGUAGES`.

    Examples
    --------
    >>> choose_language(None, "ru-RU,ru;q=0.9,en;q=0.5")
    'ru'
    >>> choose_language(None, "de, en;q=0.1")
    'en'
    >>> choose_language("ru", "en")
    'ru'
    """
    if requested is not None:
        if requested not in LANGUAGES:
            raise InputError(
                [
                    Problem(
                        "request",
                        f"unknown language {requested!r}; use one of {list(LANGUAGES)}",
                        None,
                        "lang",
                    )
                ]
            )
        return requested
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, rest = item.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LANGUAGES and quality > 0.0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else LANGUAGES[0]


def _path(parts: Any) -> str:
    return "params" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _non_finite(value: Any) -> list[tuple[list[str | int], float]]:
    """The NaN and infinite numbers inside a decoded JSON value, with their paths (no recursion)."""
    found: list[tuple[list[str | int], float]] = []
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        parts, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            found.append((parts, item))
        elif isinstance(item, Mapping):
            stack.extend(([*parts, str(k)], v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend(([*parts, k], v) for k, v in enumerate(item))
    return sorted(found, key=lambda found_at: [str(p) for p in found_at[0]])


@dataclass(frozen=True)
class Catalogue:
    """Every message code with its texts and parameter schema.

    Attributes
    ----------
    version
        The catalogue's version (bumped when texts or schemas change).
    kinds
        By code, in the catalogue's order.
    """

    version: int
    kinds: Mapping[str, MessageKind]

    def kind(self, code: str) -> MessageKind:
        """The kind of ``code``.

        Raises
        ------
        InputError
            Naming the unknown code and the known ones.
        """
        try:
            return self.kinds[code]
        except KeyError:
            known = ", ".join(self.kinds)
            raise InputError(
                [Problem("request", f"unknown code {code!r}; known: {known}", None, "code")]
            ) from None

    def validate(self, code: str, params: Mapping[str, Any], text: str) -> None:
        """Check a message's parameters against its code's schema, and its free text.

        Raises
        ------
        InputError
            With one problem per violation, located by its field path
            (``params.altitude_ft``, ``params.items[2]``, ``text``).
        """
        kind = self.kind(code)
        validator = Draft202012Validator(dict(kind.params_schema))
        problems = [
            Problem("request", error.message, f"code {code}", _path(error.absolute_path))
            for error in sorted(
                validator.iter_errors(params), key=lambda e: [str(p) for p in e.absolute_path]
            )
        ]
        # JSON Schema lets NaN and infinities pass ranges; a signature covers finite JSON only.
        problems += [
            Problem("request", f"must be a finite number, got {value!r}", f"code {code}", _path(parts))
            for parts, value in _non_finite(params)
        ]
        if code == FREE_TEXT_CODE and not text.strip():
            problems.append(
                Problem("request", "a FREE message needs a non-empty text", f"code {code}", "text")
            )
        if len(text) > MAX_TEXT_CHARS:
            problems.append(
                Problem(
                    "request", f"{len(text)} characters; at most {MAX_TEXT_CHARS}", f"code {code}", "text"
                )
            )
        if problems:
            raise InputError(problems)

    def render(self, code: str, params: Mapping[str, Any], text: str, language: str) -> RenderedMessage:
        """A message in ``language``: the code's title, its filled template and the free text.

        Parameters are expected to be valid (:meth:`validate`); a missing one is
        left as its ``{placeholder}`` rather than failing, since a stored
        message must always be readable.
        """
        kind = self.kind(code)
        language = language if language in kind.templates else LANGUAGES[0]
        values = _Lenient({k: _text_of(v) for k, v in params.items()})
        filled = string.Formatter().vformat(kind.templates[language], (), values)
        body = "\n".join(part for part in (filled, text) if part)
        return RenderedMessage(language, kind.titles[language], body)


class _Lenient(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _text_of(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_catalogue(document: Mapping[str, Any], source: str = "catalogue") -> Catalogue:
    """A :class:`Catalogue` from its JSON document, checked for completeness.

    Every code must have a title and a template in every one of :data:`LANGUAGES`,
    a valid JSON Schema for ``params`` (the document's shared ``$defs`` are
    available to it), and every template placeholder must be a required
    parameter of that schema.

    Raises
    ------
    InputError
        With every problem found, each naming the code and field.
    """
    problems: list[Problem] = []
    shared = document.get("$defs", {})
    kinds: dict[str, MessageKind] = {}
    for code, spec in document.get("messages", {}).items():
        record = f"code {code}"
        titles, templates = spec.get("title", {}), spec.get("template", {})
        schema = {**spec.get("params", {}), "$defs": shared}
        for language in LANGUAGES:
            if not isinstance(titles.get(language), str) or not titles[language]:
                problems.append(Problem(source, f"no {language} title", record, f"title.{language}"))
            if not isinstance(templates.get(language), str):
                problems.append(Problem(source, f"no {language} template", record, f"template.{language}"))
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(Problem(source, f"invalid JSON Schema: {exc.message}", record, "params"))
        required = set(schema.get("required", ()))
        for language, template in templates.items():
            missing = placeholders(template) - required if isinstance(template, str) else set()
            if missing:
                problems.append(
                    Problem(
                        source,
                        f"placeholders {sorted(missing)} are not required parameters",
                        record,
                        f"template.{language}",
                    )
                )
        kinds[code] = MessageKind(code, dict(titles), dict(templates), schema)
    if FREE_TEXT_CODE not in kinds:
        problems.append(Problem(source, f"no {FREE_TEXT_CODE} code", None, "messages"))
    if problems:
        raise InputError(problems)
    return Catalogue(version=int(document.get("version", 1)), kinds=kinds)


def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package (read on each call; callers keep it).

    Examples
    --------
    >>> catalogue = load_catalogue()
    >>> catalogue.render("AMENDMENT_DONE", {"operation": "op-7", "version": 3}, "", "en").body
    'Operation op-7 has been amended (version 3).'
    """
    text = resources.files("deconflict").joinpath("data/catalogue.json").read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text), "deconflict/data/catalogue.json")
