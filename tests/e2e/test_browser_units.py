"""Time and units on the web map in a real browser: one unit choice everywhere, a timeline, dates, RU.

A real ``deconflict serve`` with blue and red; both file overlapping plans around now
(a conflict with a known altitude band), blue a second plan whose window crosses midnight,
red sends blue a notice of operation (RFC 3339 times and feet in its parameters), and an
aircraft of each heads for the other (an alert). On blue's page:

- the conflict's band, the plan's bounds and the alert's closest approach read in flight
  levels, feet and nautical miles by default, and in metres and kilometres once SI is chosen
  in the header; both readings agree with the stored values, and the choice survives a reload;
- the timeline (the Plans panel's planning chart) shows the plans, the conflict and a "now"
  line; moving the map's time slider hides the plan (and the conflict region) not active then,
  on the map and dimmed on the timeline;
- the window crossing midnight is shown with both dates; the message's times are formatted;
- in Russian, no tab's visible text has English words left, but names and codes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from deconflict.client import ChannelClient
from deconflict.strategic.conflicts import format_time
from tests.builders import box_feature, collection
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PLAN_COLOUR,
    Party,
    _artifacts,
    _post_tracks,
    _state,
    log_in_with_token,
    open_page,
    served_parties,
)

M_PER_FT = 0.3048
M_PER_NM = 1852.0
CONFLICT_COLOUR = "#d45cff"  # conflict regions on the map (ui/map.js COLOURS.conflict)
DAY_S = 86_400.0
DASH = "\N{EN DASH}"  # between the ends of a window or a band

ALLOWED_LATIN = {
    # names and codes the page shows as they are, in any language
    "BLUE", "RED", "FL", "UTC", "Z", "NM", "EN", "RU", "deconflict", "Natural", "Earth", "world", "atlas",
    "GeoJSON", "F3548", "ED", "NOTAM", "KML", "PEM", "SI",
    "VIPER1", "FALCON7", "MSL", "Leaflet",
}  # fmt: skip


@dataclass
class Scene:
    url: str
    parties: dict[str, Party]
    now_s: float
    night_start_s: float
    message_id: int


def _ft(lower_ft: float, upper_ft: float) -> dict[str, Any]:
    return {
        "altitude_lower": {"value": lower_ft, "units": "ft", "reference": "MSL"},
        "altitude_upper": {"value": upper_ft, "units": "ft", "reference": "MSL"},
    }


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with served_parties(tmp_path_factory.mktemp("units")) as (url, _, parties):
        blue = ChannelClient(url, parties["blue"].token)
        red = ChannelClient(url, parties["red"].token, private_key_pem=parties["red"].key)
        now_s = time.time()
        window = {"time_start": format_time(now_s - 1800.0), "time_end": format_time(now_s + 1800.0)}
        red.file_operation(
            "red-op",
            collection(box_feature("red-op-v1", 36.05, 35.0, 36.15, 35.1, **window, **_ft(5000, 12000))),
        )
        filed = blue.file_operation(
            "blue-op",
            collection(box_feature("blue-op-v1", 36.0, 35.0, 36.1, 35.1, **window, **_ft(2000, 8000))),
        )
        assert len(filed["conflicts"]) == 1
        # From 23:00 UTC the next day to 01:00 the day after: a window across midnight, no conflict.
        night_start_s = (now_s // DAY_S + 1) * DAY_S + 23 * 3600.0
        night = {"time_start": format_time(night_start_s), "time_end": format_time(night_start_s + 7200.0)}
        blue.file_operation(
            "blue-night",
            collection(box_feature("blue-night-v1", 38.0, 35.0, 38.1, 35.1, **night, **_ft(0, 3000))),
        )
        sent = red.send(
            "blue",
            "NOTICE_OF_OPERATION",
            {
                "operation": "red-op",
                "area": "north range",
                "time_start": window["time_start"],
                "time_end": window["time_end"],
                "altitude_lower_ft": 5000,
                "altitude_upper_ft": 12000,
            },
        )
        yield Scene(url, parties, now_s, night_start_s, int(sent["id"]))


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def _send_aircraft(scene: Scene) -> None:
    """blue's VIPER1 and red's FALCON7 head for each other (an alert), sent again before each look."""
    now = datetime.now(UTC)
    assert _post_tracks(
        scene.url, scene.parties["blue"], [_state("BLU101", "VIPER1", 36.30, 35.40, 90.0, now)]
    )
    # Abeam by about 1.1 km at the closest approach, 100 m above: figures that differ by unit.
    falcon = {**_state("RDX7", "FALCON7", 36.52, 35.41, 270.0, now), "alt_m": 6100.0}
    assert _post_tracks(scene.url, scene.parties["red"], [falcon])


def _check_aviation(page: Any, conflict: dict[str, Any]) -> None:
    band = page.locator(f"li.conflict[data-id='{conflict['id']}'] .band").inner_text()
    match = re.fullmatch(r"FL(\d{3})\u2013FL(\d{3}) \((\d+)\u2013(\d+) ft (\w+)\)", band)
    assert match, band
    lower_fl, upper_fl, lower_ft, upper_ft = (int(g) for g in match.groups()[:4])
    assert lower_ft == round(conflict["altitude_lower_m"] / M_PER_FT)
    assert upper_ft == round(conflict["altitude_upper_m"] / M_PER_FT)
    assert lower_fl == round(conflict["altitude_lower_m"] / M_PER_FT / 100)
    assert upper_fl == round(conflict["altitude_upper_m"] / M_PER_FT / 100)
    assert match.group(5) == conflict["altitude_reference"]
    area = page.locator(f"li.conflict[data-id='{conflict['id']}'] .area").inner_text()
    assert area == f"{conflict['overlap_area_m2'] / M_PER_NM**2:.1f} NM²"


def _check_si(page: Any, conflict: dict[str, Any]) -> None:
    band = page.locator(f"li.conflict[data-id='{conflict['id']}'] .band").inner_text()
    match = re.fullmatch(r"(\d+)\u2013(\d+) m (\w+)", band)
    assert match, band
    assert int(match.group(1)) == round(conflict["altitude_lower_m"])
    assert int(match.group(2)) == round(conflict["altitude_upper_m"])
    area = page.locator(f"li.conflict[data-id='{conflict['id']}'] .area").inner_text()
    assert area == f"{conflict['overlap_area_m2'] / 1e6:.1f} km²"


def _alert_cpa(page: Any) -> tuple[float, float, str]:
    """The alert's closest approach as shown: horizontal and vertical (in the units shown), time."""
    text = page.locator("#alerts-list li.alert .cpa").first.inner_text()
    match = re.fullmatch(r"CPA ([\d.]+) (NM|km|m) / (\d+) (ft|m) in (\d+:\d\d)", text)
    assert match, text
    scale = {"NM": M_PER_NM, "km": 1000.0, "m": 1.0, "ft": M_PER_FT}
    return (
        float(match.group(1)) * scale[match.group(2)],
        float(match.group(3)) * scale[match.group(4)],
        match.group(5),
    )


# Geographic data, shown as it is in any language: place names (GeoNames has Latin names only),
# graticule and cursor coordinates (N/E, MGRS), overlay names from the operator's files, credits.
_GEO_DATA = ".geo-labels, .cursor-position, .leaflet-control-attribution, .overlay-name"


def _english_words(page: Any) -> list[str]:
    text = page.evaluate(
        """(selector) => {
            const data = [...document.querySelectorAll(selector)];
            const shown = data.map((e) => e.style.display);
            data.forEach((e) => { e.style.display = "none"; });
            const text = document.querySelector("#app").innerText;
            data.forEach((e, k) => { e.style.display = shown[k]; });
            return text;
        }""",
        _GEO_DATA,
    )
    words = re.findall(r"[A-Za-z][A-Za-z0-9]*", text)
    ids = {"blue", "op", "night", "v1", "red", "north", "range"}  # operation, volume and area names
    return [
        w
        for w in words
        if w not in ALLOWED_LATIN and w not in ids and not re.fullmatch(r"FL\d+|\d+Z?|p\d\d", w)
    ]


def test_units_time_and_russian_on_blues_page(scene: Scene) -> None:
    from playwright.sync_api import sync_playwright

    blue = ChannelClient(scene.url, scene.parties["blue"].token)
    [conflict] = blue.conflicts()
    shots = _artifacts()
    _send_aircraft(scene)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = open_page(browser)
            log_in_with_token(page, scene.url, scene.parties["blue"], connected=False)
            assert page.locator("#units").input_value() == "aviation"

            # Units: the conflict, the plan, the alert, in FL/ft/NM, then in SI; both as stored.
            page.get_by_role("tab", name="Conflicts").click()
            _check_aviation(page, conflict)
            page.get_by_role("tab", name="Plans").click()
            volumes = (
                page.locator("#panel-plans li.plan", has_text="blue-op").locator("ul.volumes").inner_text()
            )
            assert f"2000 ft MSL {DASH} 8000 ft MSL" in volumes, volumes
            _send_aircraft(scene)
            page.locator("#alerts-list li.alert .cpa").first.wait_for()
            horizontal_m, vertical_m, to_cpa = _alert_cpa(page)
            assert re.fullmatch(r"\d+:\d\d", to_cpa)
            page.screenshot(path=str(shots / "browser-units-aviation.png"))

            page.get_by_label("Units", exact=True).select_option("si")  # the header control
            page.get_by_role("tab", name="Conflicts").click()
            _check_si(page, conflict)
            page.get_by_role("tab", name="Plans").click()
            volumes = (
                page.locator("#panel-plans li.plan", has_text="blue-op").locator("ul.volumes").inner_text()
            )
            assert f"{round(2000 * M_PER_FT)} m MSL {DASH} {round(8000 * M_PER_FT)} m MSL" in volumes, volumes
            si_horizontal_m, si_vertical_m, _ = _alert_cpa(page)
            # The same closest approach (straight and level: the same prediction each cycle), to the
            # figures' rounding: 0.01 NM or 0.1 km horizontally, a foot or a metre vertically.
            assert abs(si_horizontal_m - horizontal_m) <= 0.05 * M_PER_NM
            assert abs(si_vertical_m - vertical_m) <= 1.0
            assert horizontal_m > 500 and vertical_m > 50  # not zero: the units tell
            block = page.evaluate("window.deconflictMap.fleet.tooltipHtml('BLU101')")
            assert re.search(r"\d+m[ ↑↓] \d+km/h", block), block
            page.reload()
            page.wait_for_selector("body[data-ready=true]")
            assert page.locator("#units").input_value() == "si"  # kept by this browser
            page.get_by_role("tab", name="Conflicts").click()
            _check_si(page, conflict)
            page.screenshot(path=str(shots / "browser-units-si.png"))
            page.locator("#units").select_option("aviation")
            _check_aviation(page, conflict)

            # Messages: times formatted (today's without a date), no RFC 3339, feet as chosen.
            page.get_by_role("tab", name="Inbox").click()
            body = page.locator(f"li.msg[data-msg='{scene.message_id}'] .body").inner_text()
            assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", body), body
            start = time.strftime("%H:%MZ", time.gmtime(scene.now_s - 1800.0))
            assert start in body, body
            assert "5000 ft" in body and "12000 ft" in body, body

            # The timeline: plans, the conflict, now; the slider hides what is not active then.
            page.get_by_role("tab", name="Plans").click()
            chart = page.locator("#panel-plans .planning-chart")
            chart.locator(".chart-row[data-id='blue-op'] rect.bar").wait_for()
            assert chart.locator(".chart-row[data-id='blue-op'] rect.conflict-mark").count() == 1
            assert chart.locator("line.now").count() == 1
            plan_paths = page.locator(f"#map path[stroke='{PLAN_COLOUR}']")
            conflict_paths = page.locator(f"#map path[stroke='{CONFLICT_COLOUR}']")
            assert plan_paths.count() == 2 and conflict_paths.count() == 1

            def slide(minute: int) -> None:
                page.evaluate(
                    "(minute) => { const s = document.querySelector('#time-slider');"
                    " s.value = String(minute); s.dispatchEvent(new Event('input')); }",
                    minute,
                )

            slide(int((scene.night_start_s + 1800.0) // 60))
            assert plan_paths.count() == 1  # blue-op is over by then: hidden, and its conflict region too
            assert conflict_paths.count() == 0
            night_day = time.strftime("%Y-%m-%d", time.gmtime(scene.night_start_s))
            assert f"{night_day} UTC" in chart.locator("figcaption").inner_text()  # the day of the map's time
            assert chart.locator("line.cursor").count() == 1  # a line: no width, never "visible"
            assert chart.locator(".chart-row[data-id='blue-night'] rect.bar.off").count() == 0
            assert chart.locator(".chart-row[data-id='blue-night'] rect.bar").count() == 1
            # 45 minutes from now, today: blue-op is over, dimmed on the timeline with its conflict.
            later_minute = int((scene.now_s + 2700.0) // 60)
            if later_minute * 60 < (scene.now_s // DAY_S + 1) * DAY_S:  # not when that is tomorrow
                slide(later_minute)
                assert plan_paths.count() == 0 and conflict_paths.count() == 0
                row = chart.locator(".chart-row[data-id='blue-op']")
                assert row.locator("rect.bar.off").count() == 1
                assert row.locator("rect.conflict-mark.off").count() == 1
                assert chart.locator("line.now").count() == 1 and chart.locator("line.cursor").count() == 1
                chart.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / "browser-units-timeline.png"))
            page.get_by_label("All times").check()
            assert plan_paths.count() == 2 and conflict_paths.count() == 1
            assert chart.locator("line.cursor").count() == 0
            assert chart.locator("rect.off").count() == 0

            # Across midnight: both dates.
            night = (
                page.locator("#panel-plans li.plan", has_text="blue-night").locator("ul.volumes").inner_text()
            )
            next_day = time.strftime("%Y-%m-%d", time.gmtime(scene.night_start_s + 7200.0))
            assert f"{night_day} 23:00Z {DASH} {next_day} 01:00Z" in night, night

            # Russian: each tab's visible text, no English left but names and codes.
            page.get_by_role("button", name="RU").first.click()
            page.locator(f"li.msg[data-msg='{scene.message_id}'] .body", has_text="фт").wait_for(
                state="attached"
            )
            for index in range(1, 8):
                page.locator("#map").click(position={"x": 5, "y": 5})
                page.keyboard.press(str(index))
                page.wait_for_timeout(200)
                left = _english_words(page)
                assert left == [], (index, sorted(set(left)), page.locator("#app").inner_text()[-1500:])
                names = {1: "map", 2: "compose", 4: "plans"}
                if index in names:
                    page.screenshot(path=str(shots / f"browser-units-{names[index]}-ru.png"))
            page.locator("#units").select_option("si")
            page.keyboard.press("3")
            band = page.locator(f"li.conflict[data-id='{conflict['id']}'] .band").inner_text()
            assert re.fullmatch(r"\d+\u2013\d+ м \w+", band), band
            page.locator("#units").select_option("aviation")
            page.get_by_role("button", name="EN").first.click()
        finally:
            browser.close()
