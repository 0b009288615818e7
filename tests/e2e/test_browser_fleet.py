"""The web map with a fleet in a real browser: drawn on a canvas, pushed by the socket, answering input.

``benchmarks/page.py`` at a small count (2,000 own aircraft of one party, posted
again every second): the page becomes ready with every aircraft drawn, takes
the pushed ``tracks`` frames without polling, answers a click on an aircraft
with its details and history and a drag of the map, draws only what is in
view once zoomed in, and lays its data blocks out without overlaps. Latency
bounds here are sanity bounds for a shared machine; the targets are the
benchmark's (README, Benchmarks).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.servers import load_benchmark

AIRCRAFT = 2000
CHROMIUM = Path("/usr/bin/chromium")
SANITY_MS = 1000.0


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("DECONFLICT_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}, and DECONFLICT_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    return load_benchmark("page")


@pytest.fixture(scope="module")
def scene(bench: ModuleType) -> Iterator[Any]:
    with bench.fleet_server(AIRCRAFT, post_every_s=1.0) as scene:
        yield scene


@pytest.fixture(scope="module")
def page(bench: ModuleType, scene: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=bench.CHROMIUM_ARGS)
        try:
            # The probes are scripts evaluated from text, which the page's CSP (script-src 'self') refuses.
            context = browser.new_context(
                viewport={"width": 1600, "height": 900}, locale="en-US", bypass_csp=True
            )
            context.set_default_timeout(30_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.first_render_s = bench.log_in(page, scene)
            yield page
            assert not errors, errors
        finally:
            browser.close()


def fleet(page: Any, expression: str) -> Any:
    return page.evaluate(f"window.deconflictMap.fleet.{expression}")


def test_the_page_is_ready_with_every_aircraft_drawn(page: Any) -> None:
    assert page.first_render_s < 30.0
    assert fleet(page, "size") == AIRCRAFT
    assert fleet(page, "drawn") == AIRCRAFT
    # Drawn on the fleet's canvas, not as elements: no marker per aircraft in the page.
    assert page.locator(".leaflet-marker-icon").count() < 10
    assert page.locator("#map canvas").count() >= 1


def test_tracks_are_pushed_by_the_socket_not_polled(page: Any) -> None:
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if "/v1/tracks" in request.url else None)
    page.evaluate(
        "() => { window.__seen = []; const f = window.deconflictMap.fleet; const u = f.update.bind(f);"
        " f.update = (own) => { u(own); window.__seen.push(own.time_s[0]); }; }"
    )
    # Newer states, moved in place (an update may also redraw the same ones: alerts re-render).
    page.wait_for_function("window.__seen.some((t) => t > window.__seen[0])", timeout=15_000)
    assert [url for url in polled if "/v1/tracks/columns" in url] == []


def test_pushed_frames_are_decoded_by_a_worker(page: Any) -> None:
    # The page's worker parses each frame off the main thread (ui/tracks.js); it is still there
    # (a worker that fails is ended and the page decodes on its own) and its columns are typed.
    page.evaluate(
        "() => { window.__typed = []; const f = window.deconflictMap.fleet; const u = f.update.bind(f);"
        " f.update = (own) => { u(own); window.__typed.push(own.lat_deg instanceof Float64Array); }; }"
    )
    page.wait_for_function("window.__typed.length >= 2", timeout=15_000)
    assert all(page.evaluate("window.__typed"))
    assert [w.url.rsplit("/", 1)[-1] for w in page.workers] == ["tracks-worker.js"]


# After an update's redraw (painted ahead in slices, then put): the canvas, and the same canvas
# painted again at once from the same state.
SAME_AS_A_FULL_REDRAW = """() => new Promise((resolve) => {
  const fleet = window.deconflictMap.fleet;
  const canvas = fleet.renderer._container;
  const context = canvas.getContext("2d");
  const pixels = () => Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
  const put = fleet.aheadPut;
  fleet.onUpdated = (updatedMs, redrawMs, longestMs) => {
    fleet.onUpdated = null;
    const ahead_put = fleet.aheadPut - put;
    const ahead = pixels();
    fleet.redraw();
    const full = pixels();
    const differ = ahead.reduce((n, v, i) => n + (v !== full[i]), 0);
    resolve({ ahead_put, differ, painted: full.some((v) => v !== 0), updatedMs, redrawMs, longestMs });
  };
})"""


def test_an_update_is_redrawn_as_a_full_redraw_draws_it(page: Any) -> None:
    out = page.evaluate(SAME_AS_A_FULL_REDRAW)
    assert out["ahead_put"] == 1  # the image painted ahead, put as it is
    assert out["painted"]
    assert out["differ"] == 0
    assert 0 < out["longestMs"] <= out["updatedMs"] + out["redrawMs"]


def test_a_click_opens_the_aircraft_with_its_history(bench: ModuleType, page: Any, scene: Any) -> None:
    ms, address = bench.click_aircraft(page, scene.fleet.ids[AIRCRAFT // 2])
    assert ms < SANITY_MS
    details = page.locator("#aircraft-details")
    index = scene.fleet.ids.index(address)
    name = scene.fleet.callsigns[index] or address  # the callsign where known
    assert details.locator("h3").inner_text() == name
    assert details.locator("h3").get_attribute("title") == address  # the address on hover
    assert details.locator(".level").inner_text().startswith("FL")
    details.locator("table.history tr").first.wait_for()  # the trail, fetched on demand
    assert fleet(page, "selectedId") == address
    page.keyboard.press("Escape")
    details.wait_for(state="hidden")


def test_a_drag_pans_the_map_and_zooming_in_draws_only_the_view(
    bench: ModuleType, page: Any, scene: Any
) -> None:
    centre = page.evaluate("window.deconflictMap.map.getCenter().lng")
    slowest_ms, _ = bench.pan(page)
    assert slowest_ms < SANITY_MS
    assert page.evaluate("window.deconflictMap.map.getCenter().lng") > centre
    # Zoom in over an aircraft: the drag's inertia depends on how fast the loaded browser saw the
    # mouse move, and may leave the centre where, three zoom levels in, no aircraft is.
    page.evaluate(
        "(id) => { const f = window.deconflictMap.fleet; const a = f.row(id);"
        " f.map.setView([a.lat_deg, a.lon_deg], f.map.getZoom(), { animate: false }); }",
        scene.fleet.ids[AIRCRAFT // 3],
    )
    for _ in range(3):
        bench.zoom(page, -120.0)
    drawn = fleet(page, "drawn")
    assert 0 < drawn < AIRCRAFT
    view = page.evaluate("window.deconflictMap.map.getBounds().pad(0.15).toBBoxString()")
    west, south, east, north = (float(v) for v in view.split(","))
    rows = page.evaluate(
        "(() => { const f = window.deconflictMap.fleet;"
        " return Array.from(f.shown, (i) => [f.columns.lat_deg[i], f.columns.lon_deg[i]]); })()"
    )
    assert all(south <= lat <= north and west <= lon <= east for lat, lon in rows)


def test_data_blocks_never_overlap(page: Any) -> None:
    page.wait_for_function("0 < window.deconflictMap.fleet.drawn && window.deconflictMap.fleet.drawn <= 400")
    page.wait_for_function("window.deconflictMap.fleet.painter.placed.length > 0")
    boxes = fleet(page, "painter.placed")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            assert apart, (a, b)
    assert len({box["id"] for box in boxes}) == len(boxes)
