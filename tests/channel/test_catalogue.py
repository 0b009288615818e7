"""The message catalogue shipped as data: complete in every language, schemas that bite."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from deconflict.channel.catalogue import (
    FREE_TEXT_CODE,
    LANGUAGES,
    MAX_TEXT_CHARS,
    choose_language,
    load_catalogue,
    parse_catalogue,
    placeholders,
)
from deconflict.errors import InputError

REQUIRED_CODES = {
    "NOTICE_OF_OPERATION",
    "REQUEST_CLARIFICATION",
    "TRAFFIC_ADVISORY",
    "UNSAFE_ENCOUNTER_REPORT",
    "REQUEST_TO_AMEND",
    "AMENDMENT_DONE",
    "ACKNOWLEDGEMENT",
    "FREE",
}

# One valid example per code: the catalogue must accept it and render every placeholder.
EXAMPLES: dict[str, dict[str, Any]] = {
    "NOTICE_OF_OPERATION": {
        "operation": "op-17",
        "area": "R-45 north",
        "time_start": "2026-01-01T12:00:00Z",
        "time_end": "2026-01-01T13:30:00+02:00",
        "altitude_lower_ft": 3000,
        "altitude_upper_ft": 25000,
    },
    "REQUEST_CLARIFICATION": {"subject": "activity near waypoint KILO"},
    "TRAFFIC_ADVISORY": {
        "callsign": "RCH123",
        "position": "35.2N 36.1E",
        "altitude_ft": 31000,
        "track_deg": 270,
    },
    "UNSAFE_ENCOUNTER_REPORT": {
        "time": "2026-01-01T12:07:31Z",
        "position": "10 NM east of KILO",
        "horizontal_m": 1200.5,
        "vertical_m": 150,
    },
    "REQUEST_TO_AMEND": {"operation": "op-17", "change": "raise the lower limit to FL100"},
    "AMENDMENT_DONE": {"operation": "op-17", "version": 2},
    "ACKNOWLEDGEMENT": {"message": 42},
    "FREE": {},
}


def raw_document() -> dict[str, Any]:
    text = resources.files("deconflict").joinpath("data/catalogue.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def test_the_catalogue_has_every_code_the_hotline_needs() -> None:
    assert set(load_catalogue().kinds) >= REQUIRED_CODES
    assert set(EXAMPLES) == set(load_catalogue().kinds), "add an example for every new code"


@pytest.mark.parametrize("code", sorted(REQUIRED_CODES))
def test_every_code_has_texts_in_every_language_and_a_valid_schema(code: str) -> None:
    kind = load_catalogue().kind(code)
    for language in LANGUAGES:
        assert kind.titles[language].strip(), (code, language)
        assert isinstance(kind.templates[language], str)
    Draft202012Validator.check_schema(dict(kind.params_schema))
    assert kind.params_schema["type"] == "object"
    assert kind.params_schema.get("additionalProperties") is False, "unknown params must be refused"


@pytest.mark.parametrize("code", sorted(REQUIRED_CODES - {FREE_TEXT_CODE}))
def test_every_placeholder_is_a_required_parameter_and_the_same_in_every_language(code: str) -> None:
    kind = load_catalogue().kind(code)
    names = {language: placeholders(kind.templates[language]) for language in LANGUAGES}
    assert names["en"], f"{code} has an empty template"
    assert all(n == names["en"] for n in names.values()), names
    assert names["en"] <= set(kind.params_schema["properties"])
    assert names["en"] <= set(kind.params_schema["required"])


def test_russian_texts_are_russian() -> None:
    for kind in load_catalogue().kinds.values():
        for text in (kind.titles["ru"], kind.templates["ru"]):
            letters = [c for c in text if c.isalpha() and not c.isascii()]
            assert letters or not text, (kind.code, text)
        assert kind.titles["ru"] != kind.titles["en"]


@pytest.mark.parametrize("code", sorted(EXAMPLES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_examples_validate_and_render_without_leftover_placeholders(code: str, language: str) -> None:
    catalogue = load_catalogue()
    text = "free text" if code == FREE_TEXT_CODE else ""
    catalogue.validate(code, EXAMPLES[code], text)
    rendered = catalogue.render(code, EXAMPLES[code], text, language)
    assert rendered.language == language
    assert "{" not in rendered.body and "}" not in rendered.body
    for value in EXAMPLES[code].values():
        shown = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        assert shown in rendered.body


def test_russian_rendering() -> None:
    rendered = load_catalogue().render(
        "TRAFFIC_ADVISORY", EXAMPLES["TRAFFIC_ADVISORY"], "Просим подтвердить.", "ru"
    )
    assert rendered.title == "Информация о воздушном движении"
    assert rendered.body == (
        "Информация о движении: RCH123, местоположение 35.2N 36.1E, высота 31000 фт, "
        "путевой угол 270 градусов.\nПросим подтвердить."
    )


def test_free_renders_the_text_only() -> None:
    rendered = load_catalogue().render("FREE", {}, "Line one\nline two", "en")
    assert (rendered.title, rendered.body) == ("Free text", "Line one\nline two")


def test_validation_reports_every_error_with_its_field_path() -> None:
    params = {**EXAMPLES["NOTICE_OF_OPERATION"], "altitude_lower_ft": "3000", "time_end": "tomorrow", "x": 1}
    del params["area"]
    with pytest.raises(InputError) as caught:
        load_catalogue().validate("NOTICE_OF_OPERATION", params, "")
    fields = {p.field for p in caught.value.problems}
    assert fields == {"params", "params.altitude_lower_ft", "params.time_end"}
    assert all(p.record == "code NOTICE_OF_OPERATION" for p in caught.value.problems)
    message = str(caught.value)
    assert "'area' is a required property" in message
    assert "'x' was unexpected" in message
    assert "params.altitude_lower_ft: '3000' is not of type 'integer'" in message


def test_track_out_of_range_is_located() -> None:
    with pytest.raises(InputError) as caught:
        load_catalogue().validate("TRAFFIC_ADVISORY", {**EXAMPLES["TRAFFIC_ADVISORY"], "track_deg": 360}, "")
    (problem,) = caught.value.problems
    assert problem.field == "params.track_deg" and "360" in problem.message


def test_unknown_code_names_the_known_ones() -> None:
    with pytest.raises(InputError) as caught:
        load_catalogue().validate("PLEASE_GO_AWAY", {}, "")
    (problem,) = caught.value.problems
    assert problem.field == "code"
    assert "PLEASE_GO_AWAY" in problem.message and "TRAFFIC_ADVISORY" in problem.message


def test_free_needs_text_and_text_is_bounded() -> None:
    catalogue = load_catalogue()
    with pytest.raises(InputError, match="text: a FREE message needs a non-empty text"):
        catalogue.validate("FREE", {}, "   ")
    with pytest.raises(InputError, match="params: Additional properties"):
        catalogue.validate("FREE", {"subject": "x"}, "hello")
    with pytest.raises(InputError, match=f"at most {MAX_TEXT_CHARS}"):
        catalogue.validate("REQUEST_CLARIFICATION", {"subject": "x"}, "a" * (MAX_TEXT_CHARS + 1))


def test_an_incomplete_catalogue_is_refused_with_every_problem() -> None:
    document = copy.deepcopy(raw_document())
    del document["messages"]["AMENDMENT_DONE"]["title"]["ru"]
    document["messages"]["REQUEST_TO_AMEND"]["template"]["en"] += " {missing}"
    document["messages"]["ACKNOWLEDGEMENT"]["params"]["type"] = "no-such-type"
    with pytest.raises(InputError) as caught:
        parse_catalogue(document)
    located = {(p.record, p.field) for p in caught.value.problems}
    assert located == {
        ("code AMENDMENT_DONE", "title.ru"),
        ("code REQUEST_TO_AMEND", "template.en"),
        ("code ACKNOWLEDGEMENT", "params"),
    }


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "ru", "ru"),
        (None, "en-GB,en;q=0.9,ru;q=0.8", "en"),
        (None, "fr;q=1.0, ru;q=0.5, en;q=0.4", "ru"),
        (None, "ru;q=0", "en"),
        (None, "ru;q=bad", "en"),
        ("en", "ru", "en"),
    ],
)
def test_choose_language(requested: str | None, accept: str | None, expected: str) -> None:
    assert choose_language(requested, accept) == expected


def test_an_unknown_requested_language_is_an_input_error() -> None:
    with pytest.raises(InputError, match="lang: unknown language 'de'"):
        choose_language("de", None)
