"""Operations filed, amended and withdrawn from the web map in a real browser.

A real ``deconflict serve`` with blue and red. blue uploads a GeoJSON plan and
draws a circle; red uploads an F3548 plan, then draws a polygon over blue's
area: the conflict is on both parties' pages. red amends the drawn operation
with an uploaded file (``PUT`` with ``If-Match``), which resolves the conflict,
and withdraws it with the ``w`` shortcut, which asks first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deconflict.client import ChannelClient
from deconflict.formats import write_plan
from deconflict.strategic.geojson import parse_features
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Party,
    _artifacts,
    log_in_with_token,
    open_page,
    served_parties,
)
from tests.e2e.test_browser_hotline import Requests

BOX = (36.0, 35.0, 36.2, 35.2)
"""blue's uploaded area; red's F3548 plan is the same area hours later, red's drawing is over it."""


@dataclass
class Planning:
    url: str
    root: Path
    parties: dict[str, Party]


@pytest.fixture(scope="module")
def planning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planning]:
    root = tmp_path_factory.mktemp("planning")
    with served_parties(root) as (url, _, parties):
        yield Planning(url, root, parties)


def _iso(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _box_plan(
    volume_id: str, box: tuple[float, float, float, float], start_s: float, end_s: float
) -> dict[str, Any]:
    lon0, lat0, lon1, lat1 = box
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    props = {
        "id": volume_id,
        "altitude_lower": {"value": 0, "units": "ft", "reference": "MSL"},
        "altitude_upper": {"value": 5000, "units": "ft", "reference": "MSL"},
        "time_start": _iso(start_s),
        "time_end": _iso(end_s),
    }
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props}
    return {"type": "FeatureCollection", "features": [feature]}


def _files(root: Path) -> dict[str, Path]:
    """blue's GeoJSON (now to 6 h), red's F3548 (the same area, 10 to 12 h), red's amendment (elsewhere)."""
    now_s = time.time()
    files = {
        "blue": root / "blue-plan.geojson",
        "red": root / "red-plan-f3548.json",
        "amendment": root / "red-amendment.geojson",
    }
    files["blue"].write_text(json.dumps(_box_plan("b1", BOX, now_s, now_s + 6 * 3600)))
    later = _box_plan("r1", BOX, now_s + 10 * 3600, now_s + 12 * 3600)
    files["red"].write_text(write_plan(parse_features(later, "red", "red"), "f3548"))
    far = _box_plan("a1", (40.0, 30.0, 40.1, 30.1), now_s, now_s + 3600)
    files["amendment"].write_text(json.dumps(far))
    return files


def _operation(client: ChannelClient, operation_id: str) -> dict[str, Any]:
    (operation,) = [op for op in client.operations() if op["id"] == operation_id]
    return operation


def _file_upload(page: Any, operation_id: str, path: Path) -> str:
    planner = page.locator("#planner")
    planner.get_by_label("Operation id").fill(operation_id)
    page.locator("#plan-file").set_input_files(str(path))
    planner.locator("#plan-submit").click()
    filed = page.locator("#plan-filed", has_text=f"Operation {operation_id} filed")
    filed.wait_for()
    page.locator(f"#panel-plans li.plan[data-id='{operation_id}']").wait_for()
    return str(filed.inner_text())


def _map_box(page: Any) -> dict[str, float]:
    box: dict[str, float] = page.locator("#map").bounding_box()
    return box


def _draw_polygon(page: Any, half_px: float) -> None:
    page.get_by_role("button", name="Polygon").click()
    box = _map_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(-half_px, -half_px), (half_px, -half_px), (half_px, half_px), (-half_px, half_px)]
    for dx, dy in corners:
        page.mouse.click(cx + dx, cy + dy)
    page.mouse.click(cx + corners[0][0], cy + corners[0][1])  # on the first vertex: closed
    page.locator("#plan-shape", has_text="Polygon of 4 vertices drawn").wait_for()


def _draw_circle(page: Any, dx_px: float, radius_px: float) -> None:
    page.get_by_role("button", name="Circle").click()
    box = _map_box(page)
    cx, cy = box["x"] + box["width"] / 2 + dx_px, box["y"] + box["height"] / 2
    page.mouse.click(cx, cy)
    page.mouse.click(cx + radius_px, cy)
    page.locator("#plan-shape", has_text="Circle of radius").wait_for()


def test_operations_are_filed_amended_and_withdrawn_from_the_page(planning: Planning) -> None:
    from playwright.sync_api import sync_playwright

    files = _files(planning.root)
    requests = Requests()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pages: dict[str, Any] = {}
        try:
            for name in ("blue", "red"):
                page = open_page(browser)
                requests.attach(page)
                log_in_with_token(page, planning.url, planning.parties[name])
                page.get_by_role("tab", name="Plans").click()
                pages[name] = page
            blue, red = pages["blue"], pages["red"]

            # blue: a GeoJSON file, then a circle drawn with its altitudes (FL) and window.
            assert "0 conflict(s)" in _file_upload(blue, "blue-upload", files["blue"])
            blue.locator("#plan-id").fill("blue-circle")
            # Nothing drawn yet: said in the page, nothing sent.
            blue.locator("#plan-submit").click()
            blue.locator("#plan-errors", has_text="upload a plan file or draw").wait_for()
            _draw_circle(blue, 150, 40)
            blue.get_by_label("Altitudes in").select_option("FL")
            blue.get_by_label("Lower", exact=True).fill("50")
            blue.get_by_label("Upper", exact=True).fill("40")
            blue.locator("#plan-submit").click()
            blue.locator("#plan-errors", has_text="upper altitude must be above").wait_for()
            blue.get_by_label("Upper", exact=True).fill("120")
            blue.locator("#plan-submit").click()
            blue.locator("#plan-filed", has_text="Operation blue-circle filed, version 1").wait_for()

            # red: an F3548 file (the same area, later: no conflict), then a polygon over blue's area.
            assert "0 conflict(s)" in _file_upload(red, "red-f3548", files["red"])
            red.locator("#plan-id").fill("red-drawn")
            _draw_polygon(red, 120)
            red.locator("#plan-submit").click()
            filed = red.locator("#plan-filed", has_text="Operation red-drawn filed, version 1:")
            filed.wait_for()
            assert "0 conflict(s)" not in filed.inner_text()
            red.screenshot(path=str(_artifacts() / "browser-plans-drawn.png"))
            for page in (blue, red):
                page.get_by_role("tab", name="Conflicts").click()
                page.locator("#panel-conflicts li.conflict").first.wait_for()
                page.get_by_role("tab", name="Plans").click()

            # red amends the drawn operation with a file: If-Match names version 1; the conflict resolves.
            red.get_by_role("button", name="Amend red-drawn").click()
            assert red.locator("#plan-submit").inner_text() == "Amend version 1"
            red.locator("#plan-file").set_input_files(str(files["amendment"]))
            red.locator("#plan-submit").click()
            red.locator(
                "#plan-filed", has_text="Operation red-drawn filed, version 2: 0 conflict(s)"
            ).wait_for()
            puts = [
                w
                for w, headers, _ in requests.seen
                if w.startswith("PUT ") and '"if-match": "\\"1\\""' in headers
            ]
            assert len(puts) == 1, puts

            # Withdrawn with the shortcut: it asks first; Escape keeps the operation.
            red.locator("#panel-plans li.plan[data-id='red-drawn'] .who").click()
            red.locator("#map").click(position={"x": 5, "y": 5})
            red.keyboard.press("w")
            dialog = red.get_by_role("alertdialog")
            dialog.wait_for()
            assert "Withdraw operation red-drawn?" in dialog.inner_text()
            red.keyboard.press("Escape")
            assert dialog.is_hidden()
            red_client = ChannelClient(planning.url, planning.parties["red"].token)
            assert _operation(red_client, "red-drawn")["state"] != "withdrawn"
            red.keyboard.press("w")
            dialog.get_by_role("button", name="Confirm").click()
            red.locator("#plan-filed", has_text="Operation red-drawn withdrawn").wait_for()
            red.locator("#panel-plans li.plan[data-id='red-drawn'] .badge", has_text="withdrawn").wait_for()
        except Exception:
            for name, page in pages.items():
                page.screenshot(path=str(_artifacts() / f"browser-plans-{name}-failed.png"))
            raise
        finally:
            browser.close()

    blue_client = ChannelClient(planning.url, planning.parties["blue"].token)
    circle = _operation(blue_client, "blue-circle")
    (volume,) = circle["volumes"]["features"]
    assert volume["geometry"]["type"] == "Point" and volume["properties"]["radius_m"] > 0
    assert volume["properties"]["altitude_lower"] == {"value": 50, "units": "FL"}
    red_client = ChannelClient(planning.url, planning.parties["red"].token)
    assert _operation(red_client, "red-drawn")["state"] == "withdrawn"
    assert _operation(red_client, "red-drawn")["version"] == 3
    assert [op["id"] for op in red_client.operations()] == ["red-drawn", "red-f3548"]
