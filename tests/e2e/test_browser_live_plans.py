"""Operations live from the web map in a real browser: activate, extend and release from the Plans tab.

A real ``deconflict serve`` with blue and red; both file overlapping plans
around now through the client. On blue's page the planning chart shows blue's
operation as a bar on the day's time axis with its conflict marked; blue
activates it, extends it (the form) and releases it (confirmed in a dialog),
each with the version the page shows as If-Match. Red's conflict is then
resolved, ``released`` by blue, and red's page learns nothing else of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from deconflict.client import ChannelClient
from deconflict.strategic.conflicts import format_time
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


@dataclass
class Plans:
    url: str
    parties: dict[str, Party]


@pytest.fixture(scope="module")
def live_plans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plans]:
    with served_parties(tmp_path_factory.mktemp("live-plans")) as (url, _, parties):
        yield Plans(url, parties)


def _file(client: ChannelClient, operation_id: str, lon0: float, start_s: float, end_s: float) -> Any:
    window = {"time_start": format_time(start_s), "time_end": format_time(end_s)}
    volume = box_feature(f"{operation_id}-v1", lon0, 35.0, lon0 + 0.1, 35.1, **window)
    return client.file_operation(operation_id, collection(volume))


def test_blue_activates_extends_and_releases_from_the_plans_tab(live_plans: Plans) -> None:
    from playwright.sync_api import sync_playwright

    blue = ChannelClient(live_plans.url, live_plans.parties["blue"].token)
    red = ChannelClient(live_plans.url, live_plans.parties["red"].token)
    # Hour boundaries keep the bars inside today's chart whatever the time of day.
    now_s = time.time()
    start_s = max(now_s - 1800.0, now_s // 86_400 * 86_400)
    end_s = min(now_s + 1800.0, now_s // 86_400 * 86_400 + 86_399)
    _file(red, "red-op", 36.05, start_s, end_s)
    filed = _file(blue, "blue-op", 36.0, start_s, end_s)
    assert len(filed["conflicts"]) == 1
    _file(blue, "blue-later", 37.0, now_s + 3600.0, now_s + 3 * 3600.0)  # no conflict; a second row
    posts: list[tuple[str, str | None]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = open_page(browser)
            page.on(
                "request",
                lambda r: posts.append((r.url, r.headers.get("if-match"))) if r.method == "POST" else None,
            )
            log_in_with_token(page, live_plans.url, live_plans.parties["blue"], connected=False)
            page.get_by_role("tab", name="Plans").click()
            chart = page.locator("#panel-plans .planning-chart")
            chart.locator(".chart-row[data-id='blue-op'] rect.bar.state-proposed").wait_for()
            assert chart.locator(".chart-row[data-id='blue-op'] rect.conflict-mark").count() == 1
            assert chart.locator("line.now").count() == 1
            page.locator("#panel-plans").scroll_into_view_if_needed()
            page.screenshot(path=str(_artifacts() / "browser-live-plans-blue-proposed.png"))

            blue_op = page.locator("#panel-plans li.plan", has_text="blue-op")
            page.get_by_role("button", name="Activate blue-op").click()
            blue_op.locator(".plan-state", has_text="activated").wait_for()
            chart.locator("rect.bar.state-activated").wait_for()
            # The conflict stands while the activity runs.
            assert chart.locator("rect.conflict-mark").count() == 1

            page.get_by_role("button", name="Extend blue-op").click()
            until = page.get_by_label("New end (UTC, RFC 3339) blue-op")
            until.fill(format_time(end_s + 1800.0))
            page.locator(".extend-form button[type=submit]").click()
            blue_op.locator(".meta", has_text="version 3").wait_for()
            assert blue_op.locator(".plan-state").text_content() == "activated"

            page.get_by_role("button", name="Release blue-op").click()
            dialog = page.locator("#confirm")
            dialog.wait_for(state="visible")
            assert "Release blue-op now?" in page.locator("#confirm-text").inner_text()
            page.locator("#confirm-yes").click()
            blue_op.locator(".plan-state", has_text="ended").wait_for()
            chart.locator("rect.bar.state-ended").wait_for()
            page.wait_for_function(
                "document.querySelectorAll('#panel-plans rect.conflict-mark').length === 0"
            )
            page.screenshot(path=str(_artifacts() / "browser-live-plans-blue-released.png"))
        finally:
            browser.close()

    changes = [
        (url.rsplit("/", 1)[-1].split("?")[0], match) for url, match in posts if "/v1/operations/" in url
    ]
    assert changes == [("activate", '"1"'), ("extend", '"2"'), ("release", '"3"')]
    assert blue.operation("blue-op")["state"] == "ended"
    # The extension superseded the first conflict (amended) and found it again; the release resolved that.
    resolved = red.conflicts("resolved")
    assert [(c["resolution"], c["resolved_by"], c["operation"]) for c in resolved] == [
        ("amended", "blue", "red-op"),
        ("released", "blue", "red-op"),
    ]
    assert red.conflicts() == []
