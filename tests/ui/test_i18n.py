"""The page's texts (``ui/i18n.js``): Russian for every English key, and no English left in it.

The dictionaries are read by Node (the page's module itself, imported as an ES module), so
what is checked is what the browser loads.
"""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import UI, RunModule

SAME_IN_RU = {
    "utc": "UTC, the time scale's name in both languages",
    "u_nm": "NM, the ICAO symbol of the nautical mile, as Russian charts write it",
    "assets_missing": "the server's own notice (ASSETS_MISSING_TEXT), which an operator searches for",
}
"""Keys whose Russian text is the English one, each with its reason."""


@pytest.fixture(scope="module")
def texts(run_module: RunModule) -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = run_module(
        "import { TEXTS } from './i18n.js'; console.log(JSON.stringify(TEXTS));"
    )
    return loaded


def test_english_and_russian_have_the_same_keys(texts: dict[str, dict[str, str]]) -> None:
    assert set(texts) == {"en", "ru"}
    assert sorted(set(texts["en"]) - set(texts["ru"])) == []
    assert sorted(set(texts["ru"]) - set(texts["en"])) == []


def test_no_russian_text_is_the_english_one_unless_listed(texts: dict[str, dict[str, str]]) -> None:
    same = {key for key, text in texts["en"].items() if texts["ru"][key] == text}
    assert same == set(SAME_IN_RU)


def test_russian_texts_are_russian(texts: dict[str, dict[str, str]]) -> None:
    # Every Russian text with letters has Cyrillic ones, but for the listed keys and codes
    # (the unit control's "FL", the command names in back quotes).
    for key, text in texts["ru"].items():
        if key in SAME_IN_RU or not re.search(r"[A-Za-zА-Яа-яЁё]", text):
            continue
        assert re.search(r"[А-Яа-яЁё]", text), (key, text)


def test_placeholders_are_the_same_in_both_languages(texts: dict[str, dict[str, str]]) -> None:
    for key, text in texts["en"].items():
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", texts["ru"][key])), key


def test_every_key_the_page_names_is_in_the_dictionary(texts: dict[str, dict[str, str]]) -> None:
    named = set(re.findall(r'data-i18n(?:-label|-placeholder)?="(\w+)"', (UI / "index.html").read_text()))
    for module in UI.glob("*.js"):
        named |= set(re.findall(r"""\bt\("(\w+)"\s*[,)]""", module.read_text()))
    assert sorted(named - set(texts["en"])) == []
