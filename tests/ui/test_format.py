"""``ui/format.js``, the one home of the page's units and times, run under Node.

Aviation units by default (FL and ft, kt, NM), SI once chosen and kept in ``localStorage``;
UTC times with their date when not today, both dates when a window crosses midnight; the RFC
3339 times and unit figures of catalogue messages shown the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ui.conftest import RunModule

DAY = "2026-01-01"
NOW = f"Date.parse('{DAY}T12:00:00Z')"


def _calls(
    run_module: RunModule, calls: list[str], *, units: str | None = None, lang: str = "en"
) -> list[Any]:
    """What each `calls` expression gives, with `units` chosen first (None: the default)."""
    choose = f"f.setUnitSystem({json.dumps(units)});" if units else ""
    script = (
        "import * as f from './format.js'; import { setLanguage } from './i18n.js';\n"
        "globalThis.document = { documentElement: {}, querySelectorAll: () => [] };\n"
        f"setLanguage({json.dumps(lang)}); {choose}\n"
        f"const now = {NOW};\n"
        "const w = (a, b) => f.formatWindow(Date.parse(a), Date.parse(b), { nowMs: now });\n"
        f"console.log(JSON.stringify([{', '.join(calls)}]));"
    )
    return list(run_module(script))


def test_aviation_units_are_the_default(run_module: RunModule) -> None:
    assert _calls(
        run_module,
        [
            "f.unitSystem()",
            "f.formatAltitudeBand(1524, 2438.4, 'MSL')",
            "f.formatAltitude(3048)",
            "f.formatHeight(30.48)",
            "f.formatDistance(1852 * 2.25)",
            "f.formatDistance(463)",
            "f.formatSpeed(100)",
            "f.formatVerticalSpeed(-5.08)",
            "f.formatArea(1852 * 1852 * 3)",
            "f.formatBound({value: 3000, units: 'ft', reference: 'MSL'})",
            "f.formatBound({value: 914.4, units: 'm', reference: 'AGL'})",
            "f.formatBound({value: 95, units: 'FL'})",
            "f.dataBlock({id: 'ABC123', callsign: 'VIPER1', alt_m: 10668, gs_mps: 232.5, vs_mps: 3})",
        ],
    ) == [
        "aviation",
        "FL050\N{EN DASH}FL080 (5000\N{EN DASH}8000 ft MSL)",
        "10000 ft (FL100)",
        "100 ft",
        "2.3 NM",
        "0.25 NM",
        "194 kt",
        "-1000 ft/min",
        "3.0 NM²",
        "3000 ft MSL",
        "3000 ft AGL",
        "FL095",
        {"name": "VIPER1", "level": "FL350↑ 452kt"},
    ]


def test_si_once_chosen_and_kept(run_module: RunModule) -> None:
    assert _calls(
        run_module,
        [
            "f.unitSystem()",
            "localStorage.getItem('deconflict.units')",
            "f.formatAltitudeBand(1524, 2438.4, 'MSL')",
            "f.formatAltitude(3048)",
            "f.formatHeight(30.48)",
            "f.formatDistance(4167)",
            "f.formatDistance(463)",
            "f.formatSpeed(100)",
            "f.formatVerticalSpeed(-5.08)",
            "f.formatArea(3e6)",
            "f.formatBound({value: 3000, units: 'ft', reference: 'MSL'})",
            "f.formatBound({value: 95, units: 'FL'})",
            "f.dataBlock({id: 'ABC123', callsign: '', alt_m: 10668, gs_mps: 232.5, vs_mps: -3}).level",
        ],
        units="si",
    ) == [
        "si",
        "si",
        "1524\N{EN DASH}2438 m MSL",
        "3048 m",
        "30 m",
        "4.2 km",
        "463 m",
        "360 km/h",
        "-5.1 m/s",
        "3.0 km²",
        "914 m MSL",
        "FL095 (2896 m)",
        "10670m↓ 837km/h",
    ]


def test_an_unknown_system_is_the_default(run_module: RunModule) -> None:
    assert _calls(run_module, ["f.unitSystem()", "f.formatSpeed(100)"], units="imperial") == [
        "aviation",
        "194 kt",
    ]


def test_unit_symbols_follow_the_language(run_module: RunModule) -> None:
    assert _calls(
        run_module, ["f.formatAltitudeBand(1524, 2438.4, 'MSL')", "f.formatSpeed(100)"], lang="ru"
    ) == [
        "FL050\N{EN DASH}FL080 (5000\N{EN DASH}8000 фт MSL)",
        "194 уз",
    ]
    assert _calls(run_module, ["f.formatDistance(4167)", "f.formatSpeed(100)"], units="si", lang="ru") == [
        "4.2 км",
        "360 км/ч",
    ]


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        # today: no date
        (f"f.formatTime(Date.parse('{DAY}T05:40:00Z'), {{ nowMs: now }})", "05:40Z"),
        # another day: its date
        ("f.formatTime(Date.parse('2026-01-02T05:40:00Z'), { nowMs: now })", "2026-01-02 05:40Z"),
        (
            f"w('{DAY}T10:00Z', '{DAY}T11:30Z')",
            "10:00Z - 11:30Z",
        ),
        (
            "w('2025-12-31T10:00Z', '2025-12-31T11:30Z')",
            "2025-12-31 10:00Z - 11:30Z",
        ),
        # across midnight: both dates, today or not
        (
            f"w('{DAY}T23:00Z', '2026-01-02T01:00Z')",
            "2026-01-01 23:00Z - 2026-01-02 01:00Z",
        ),
        # ending at midnight: the day it ends
        (
            f"w('{DAY}T22:00Z', '2026-01-02T00:00Z')",
            "22:00Z - 00:00Z",
        ),
        ("f.formatDuration(65)", "1:05"),
        ("f.formatDuration(-3 * 3600 - 5)", "3:00:05"),
        ("f.formatTime(NaN)", "—"),
    ],
)
def test_times(run_module: RunModule, call: str, shown: str) -> None:
    # The cases write the window's dash as a hyphen.
    assert _calls(run_module, [call]) == [shown.replace(" - ", " \N{EN DASH} ")]


def test_message_times_and_figures_are_formatted(run_module: RunModule) -> None:
    notice = (
        "Notice of operation op-1 in the area north range from 2026-01-01T10:00:00Z to "
        "2026-01-02T01:00:00Z, altitudes 5000 ft to 12000 ft. Keep 15000 ft clear."
    )
    params = {"altitude_lower_ft": 5000, "altitude_upper_ft": 12000}
    encounter = "Опасное сближение: минимальное расстояние 926 м по горизонтали и 30 м по вертикали."
    close = {"horizontal_m": 926, "vertical_m": 30}
    calls = [
        f"f.formatMessageText({json.dumps(notice)}, {json.dumps(params)}, now)",
        f"f.formatMessageText({json.dumps(encounter)}, {json.dumps(close)}, now)",
    ]
    assert _calls(run_module, calls) == [
        "Notice of operation op-1 in the area north range from 10:00Z to "
        "2026-01-02 01:00Z, altitudes 5000 ft to 12000 ft. Keep 15000 ft clear.",
        "Опасное сближение: минимальное расстояние 0.50 NM по горизонтали и 98 ft по вертикали.",
    ]
    si = _calls(run_module, calls, units="si")
    # The parameters' figures in metres; a figure of the free text is left as written.
    assert "altitudes 1524 m to 3658 m. Keep 15000 ft clear." in si[0]
    assert si[1] == "Опасное сближение: минимальное расстояние 926 m по горизонтали и 30 m по вертикали."
