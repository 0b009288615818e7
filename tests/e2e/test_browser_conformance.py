"""A stray aircraft in a real browser: a non-conformance alert within one detection cycle, listed and drawn.

A real ``deconflict serve`` (a detection cycle a second) with blue and red, each
with a plan around now. Blue's BLU1 flies in blue's plan; BLU9 (callsign
STRAY9) is off it, inside red's. The server raises the alert at the first cycle
after the post; blue's page lists it (OFF PLAN, the aircraft by its callsign)
and draws it (the aircraft in the alert colour, a ring labelled "off plan");
red's page lists a BLUE aircraft off its plans in red's space and shows where it
is, never its id or callsign. The labels are translated (RU).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from deconflict.client import ChannelClient
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.geojson import parse_datetime_s
from tests.builders import box_feature, collection
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Party,
    _artifacts,
    log_in_with_token,
    open_page,
    served_parties,
)

CYCLE_S = 1.0  # the server's detection cycle (tactical_cycle_s, its default)
PLAN_REFRESH_S = 5.0  # the live picture reads each party's plans at most this often


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Party]]]:
    with served_parties(tmp_path_factory.mktemp("conformance")) as (url, _, parties):
        yield url, parties


def _state(aircraft: str, callsign: str, lon: float, lat: float, time_s: float) -> dict[str, Any]:
    return {
        "id": aircraft,
        "callsign": callsign,
        "time": format_time(time_s),
        "lat_deg": lat,
        "lon_deg": lon,
        "alt_m": 500.0,
        "gs_mps": 60.0,
        "trk_deg": 0.0,
        "vs_mps": 0.0,
    }


def test_a_stray_raises_a_non_conformance_alert_within_one_detection_cycle(
    served: tuple[str, dict[str, Party]],
) -> None:
    from playwright.sync_api import sync_playwright

    url, parties = served
    blue = ChannelClient(url, parties["blue"].token)
    red = ChannelClient(url, parties["red"].token)
    now_s = time.time()
    window = {"time_start": format_time(now_s - 1800.0), "time_end": format_time(now_s + 1800.0)}
    blue.file_operation("blue-op", collection(box_feature("blue-op-v1", 36.0, 35.0, 36.2, 35.2, **window)))
    red.file_operation("red-op", collection(box_feature("red-op-v1", 37.0, 35.0, 37.2, 35.2, **window)))
    filed_s = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            blue_page = open_page(browser)
            log_in_with_token(blue_page, url, parties["blue"])
            red_page = open_page(browser)
            log_in_with_token(red_page, url, parties["red"])
            # The plans just filed must be the ones the cycle reads (it caches them a few seconds).
            time.sleep(max(0.0, filed_s + PLAN_REFRESH_S + 0.5 - time.monotonic()))
            posted_s = time.time()
            blue.post_tracks(
                [
                    _state("BLU1", "INPLAN1", 36.1, 35.1, posted_s),
                    _state("BLU9", "STRAY9", 37.1, 35.1, posted_s),
                ]
            )
            listed = blue_page.locator("#alerts-list li.non-conformance", has_text="STRAY9")
            listed.wait_for()
            seen_s = time.time()
            assert "OFF PLAN" in listed.inner_text() and "outside all active plans" in listed.inner_text()
            assert blue_page.locator("#alerts-list li.non-conformance").count() == 1  # BLU1 conforms
            # Raised by the first cycle after the post: its start is at most a cycle later.
            (alert,) = [a for a in blue.alerts() if a.get("kind") == "non_conformance"]
            assert alert["own_id"] == "BLU9"
            assert parse_datetime_s(alert["since"]) - posted_s <= CYCLE_S + 0.5, (alert["since"], posted_s)
            # Drawn: the aircraft in the alert colour and a ring labelled "off plan".
            # The newest label: one removed by a redraw fades out for 200 ms (Leaflet) before it goes.
            blue_page.locator(
                ".leaflet-tooltip.alert-label.non-conformance", has_text="off plan"
            ).last.wait_for()
            assert blue_page.evaluate("window.deconflictMap.fleet.alerted.has('BLU9')")
            assert not blue_page.evaluate("window.deconflictMap.fleet.alerted.has('BLU1')")
            blue_page.screenshot(path=str(_artifacts() / "browser-conformance-blue.png"))

            # Red: a BLUE aircraft off its plans in red's space, where it is; never its id or callsign.
            told = red_page.locator("#alerts-list li.non-conformance", has_text="BLUE")
            told.wait_for()
            assert "in your plan space" in told.inner_text()
            red_page.locator(".foreign-label", has_text="BLUE").first.wait_for()
            red_page.locator(".leaflet-tooltip.alert-label.non-conformance").last.wait_for()
            red_page.screenshot(path=str(_artifacts() / "browser-conformance-red.png"))
            content = red_page.content()
            assert "BLU9" not in content and "STRAY9" not in content and "BLU1" not in content

            # The same in Russian.
            blue_page.get_by_role("button", name="RU").first.click()
            ru = blue_page.locator("#alerts-list li.non-conformance", has_text="ВНЕ ПЛАНА")
            ru.wait_for()
            assert "вне всех активных планов" in ru.inner_text()
            blue_page.locator(
                ".leaflet-tooltip.alert-label.non-conformance", has_text="вне плана"
            ).last.wait_for()
            blue_page.screenshot(path=str(_artifacts() / "browser-conformance-blue-ru.png"))
            blue_page.get_by_role("button", name="EN").first.click()

            # Counted in the statistics table, in the "Off plan" column (as a page opened now reads it).
            blue_page = open_page(browser)
            log_in_with_token(blue_page, url, parties["blue"], connected=False)
            blue_page.get_by_role("tab", name="Statistics").click()
            blue_page.locator("table.stats th", has_text="Off plan").wait_for()
            blue_page.wait_for_function(
                "[...document.querySelectorAll('table.stats tbody tr')]"
                ".some((r) => r.lastElementChild.textContent.trim() === '1')"
            )
        finally:
            browser.close()
    print(f"non-conformance alert on the owner's page {seen_s - posted_s:.2f} s after the post")
