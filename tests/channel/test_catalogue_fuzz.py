"""Parser fuzzing of message parameters: mutated params get a clear error; accepted ones can be signed.

For each catalogue code, a valid ``params`` is mutated (wrong types, NaN and
infinities, huge numbers, odd unicode, deep nesting, missing keys). Validation
either accepts it or raises :class:`InputError` whose problems each name a
``params...`` or ``text`` field; and what it accepts must go through the
canonical JSON that signatures and the audit chain cover.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.channel.catalogue import Catalogue, load_catalogue
from deconflict.channel.messages import MessageContent, canonical_bytes
from deconflict.errors import InputError
from tests.mutations import WEIRD_TEXTS, mutated_document

VALID_PARAMS: dict[str, dict[str, Any]] = {
    "NOTICE_OF_OPERATION": {
        "operation": "op-17",
        "area": "R-45",
        "time_start": "2026-01-01T12:00:00Z",
        "time_end": "2026-01-01T13:30:00Z",
        "altitude_lower_ft": 3000,
        "altitude_upper_ft": 25000,
    },
    "REQUEST_CLARIFICATION": {"subject": "op-17 altitudes"},
    "TRAFFIC_ADVISORY": {"callsign": "RYR1", "position": "45N 010E", "altitude_ft": 33000, "track_deg": 90},
    "UNSAFE_ENCOUNTER_REPORT": {
        "time": "2026-01-01T12:10:00Z",
        "position": "45N 010E",
        "horizontal_m": 1200.5,
        "vertical_m": 150.0,
    },
    "REQUEST_TO_AMEND": {"operation": "op-17", "change": "raise the lower limit to FL100"},
    "AMENDMENT_DONE": {"operation": "op-17", "version": 2},
    "ACKNOWLEDGEMENT": {"message": 7},
}

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_every_code_with_params_has_a_valid_example(catalogue: Catalogue) -> None:
    assert set(VALID_PARAMS) | {"FREE"} == set(catalogue.kinds)
    for code, params in VALID_PARAMS.items():
        catalogue.validate(code, params, "")


def check(catalogue: Catalogue, code: str, params: Any, text: str) -> None:
    try:
        catalogue.validate(code, params, text)
    except InputError as error:
        for problem in error.problems:
            assert problem.source == "request"
            assert problem.field is not None and problem.field.startswith(("params", "text")), problem
        return
    # Accepted: it can be signed and recorded (finite numbers only in canonical JSON).
    canonical_bytes(MessageContent("blue", "red", code, params, text, None, "n" * 16))


@pytest.mark.parametrize("code", sorted(VALID_PARAMS))
@FUZZ
@given(data=st.data())
def test_mutated_params_are_accepted_or_named(catalogue: Catalogue, code: str, data: st.DataObject) -> None:
    params = data.draw(mutated_document(VALID_PARAMS[code]))
    check(catalogue, code, params, "")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused_naming_the_field(catalogue: Catalogue, value: float) -> None:
    params = {**VALID_PARAMS["UNSAFE_ENCOUNTER_REPORT"], "horizontal_m": value}
    with pytest.raises(InputError) as refused:
        catalogue.validate("UNSAFE_ENCOUNTER_REPORT", params, "")
    assert {p.field for p in refused.value.problems} == {"params.horizontal_m"}
    check(catalogue, "REQUEST_TO_AMEND", {**VALID_PARAMS["REQUEST_TO_AMEND"], "extra": [1, {"x": value}]}, "")


@FUZZ
@given(WEIRD_TEXTS, st.sampled_from(["FREE", "REQUEST_CLARIFICATION"]))
def test_odd_free_texts_are_accepted_or_named(text: str, code: str) -> None:
    catalogue = load_catalogue()
    params = {} if code == "FREE" else VALID_PARAMS[code]
    check(catalogue, code, params, text * 500)
