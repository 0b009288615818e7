"""Where the map is, in a real browser with every other host cut off: graticule, scale, place names,
the cursor's position (decimal, DMS, MGRS) and the demo's overlays, which toggle; nothing leaves 127.0.0.1.

A real ``deconflict serve`` with the demo's overlay file (``DECONFLICT_MAP_OVERLAYS``) and blue;
headless Chromium resolves no name but the server's address. The MGRS the page shows is checked
against one computed here from pyproj's UTM (an implementation independent of the page's).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pyproj import CRS, Transformer

from deconflict.demo.scenario import demo_overlays_path
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    Party,
    _artifacts,
    _register,
    _require_browser,
    log_in_with_token,
)
from tests.servers import serve_process, ungated_env

AIR_GAP = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
"""No name resolves but the server's address: a network with no way out (as in test_docs_browser.py)."""
PRIME, DOUBLE_PRIME = "\u2032", "\u2033"
"""Minutes and seconds of arc, as the page writes them."""
CENTRE = (35.6, 39.3)
"""Where the map is looked at (lat, lon): the demo's Euphrates valley."""
POINT = (35.5123, 39.4321)
"""Where the cursor goes (lat, lon)."""
OVER_MAP = ".leaflet-control, .legend, .blindbar, .leaflet-tooltip"


def mgrs(lat_deg: float, lon_deg: float) -> tuple[str, str, int, int]:
    """Zone and band, 100 km square, easting and northing (m, truncated) of a point, from pyproj's UTM.

    The WGS84 lettering (AA scheme): column letters in sets of 8 by zone, rows of 20 letters
    shifted by 5 in even zones. Outside Norway and Svalbard's special zones (not checked here).
    """
    zone = min(int((lon_deg + 180.0) // 6.0) + 1, 60)
    band = "CDEFGHJKLMNPQRSTUVWX"[min(int((lat_deg + 80.0) // 8.0), 19)]
    utm = CRS.from_dict({"proj": "utm", "zone": zone, "south": lat_deg < 0, "ellps": "WGS84"})
    easting, northing = Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(lon_deg, lat_deg)
    column = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")[(zone - 1) % 3][int(easting // 100_000) - 1]
    row = "ABCDEFGHJKLMNPQRSTUV"[(int(northing // 100_000) + (5 if zone % 2 == 0 else 0)) % 20]
    return f"{zone}{band}", column + row, int(easting) % 100_000, int(northing) % 100_000


def dms(value: float, width: int, positive: str, negative: str) -> str:
    tenths = math.floor(abs(value) * 36000 + 0.5)
    degrees, rest = divmod(tenths, 36000)
    minutes, seconds10 = divmod(rest, 600)
    hemisphere = negative if value < 0 else positive
    return f"{degrees:0{width}d}°{minutes:02d}{PRIME}{seconds10 / 10:04.1f}{DOUBLE_PRIME}{hemisphere}"


def test_the_reference_mgrs_agrees_with_a_hand_computed_point() -> None:
    # On a central meridian at the equator: easting 500 000 m (the 5th column), northing 0 (row A).
    assert mgrs(0.0, 3.0) == ("31N", "EA", 0, 0)
    # Zone 38: columns of the second set (J to R), its central meridian 45°E the 5th; rows shifted by 5.
    assert mgrs(0.0, 45.0) == ("38N", "NF", 0, 0)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Party]]:
    _require_browser()
    root = tmp_path_factory.mktemp("geo")
    db = root / "channel.db"
    blue = _register(db, root, "blue")
    env = {**ungated_env("blue"), "DECONFLICT_MAP_OVERLAYS": json.dumps([str(demo_overlays_path())])}
    with serve_process(db, root / "serve.log", env) as (_, url):
        yield url, blue


def _rects(page: Any, selector: str) -> list[dict[str, float]]:
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)].filter((e) => e.offsetParent !== null)"
        ".map((e) => { const r = e.getBoundingClientRect();"
        " return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })",
        selector,
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


def test_the_map_says_where_it_is_offline(served: tuple[str, Party]) -> None:
    from playwright.sync_api import sync_playwright

    url, blue = served
    outside: list[str] = []
    failed: list[str] = []
    errors: list[str] = []
    shots = _artifacts()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, AIR_GAP])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on(
                "request",
                lambda r: outside.append(r.url) if urlsplit(r.url).hostname != "127.0.0.1" else None,
            )
            page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            log_in_with_token(page, url, blue)
            # In braces: setView returns the map, which Playwright would serialise (seconds).
            page.evaluate("(at) => { window.deconflictMap.map.setView(at, 8); }", list(CENTRE))
            try:
                page.locator(".place-label span", has_text="Deir ez-Zor").wait_for()
                _check_context(page)
                _check_cursor(page)
                page.screenshot(path=str(shots / "browser-geo.png"))
                _check_toggles(page)
            except Exception:
                page.screenshot(path=str(shots / "browser-geo-failed.png"))
                raise
            # In Russian: the layer switch, the scale's units.
            page.get_by_role("button", name="RU").first.click()
            assert "Сетка широт и долгот" in page.locator("#map-layers").inner_text()
            page.evaluate("() => { window.deconflictMap.map.setZoom(7); }")
            page.locator(".leaflet-control-scale-line", has_text="км").wait_for()
            page.screenshot(path=str(shots / "browser-geo-ru.png"))
        finally:
            browser.close()
    assert outside == [] and failed == [] and errors == []


def _check_context(page: Any) -> None:
    # The graticule: lines and their labels (8 at zoom 8: 30' apart).
    assert page.locator("#map path.graticule").count() == 1
    labels = page.locator(".graticule-label").all_inner_texts()
    assert f"35°30{PRIME}N" in labels and f"39°00{PRIME}E" in labels, labels
    # The scale bar: km and NM, each a round number.
    metric, nautical = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert re.fullmatch(r"\d+ km", metric) and re.fullmatch(r"\d+ NM", nautical), (metric, nautical)
    # Place names: the valley's towns, none over another or under anything floating on the map.
    names = page.locator(".place-label").all_inner_texts()
    assert {"Deir ez-Zor", "Ar Raqqah"} <= set(names), names
    places = _rects(page, ".place-label span")
    controls = _rects(page, OVER_MAP)
    assert len(controls) >= 8  # zoom, layers, scale, cursor position, attribution, legend, blind bar, labels
    for i, a in enumerate(places):
        assert not any(_overlap(a, b) for b in places[i + 1 :]), names[i]
        assert not any(_overlap(a, c) for c in controls), names[i]
    # The demo's overlays, each kind drawn and labelled.
    for kind in ("line", "restricted", "airway", "fir"):
        assert page.locator(f"#map path.overlay-{kind}").count() == 1, kind
    page.locator(".overlay-label", has_text="Euphrates deconfliction line").wait_for()
    assert page.locator("#map path.overlay-fir").get_attribute("stroke-dasharray") == "12 4 2 4"


def _check_cursor(page: Any) -> None:
    box = page.locator("#map").bounding_box()
    at = page.evaluate(
        "([lat, lon]) => window.deconflictMap.map.latLngToContainerPoint([lat, lon])", list(POINT)
    )
    page.mouse.move(box["x"] + at["x"], box["y"] + at["y"])
    shown = page.locator("#cursor-position")
    page.wait_for_function("document.querySelector('#cursor-position').dataset.lat !== undefined")
    lat, lon = (
        float(shown.get_attribute("data-lat") or "nan"),
        float(shown.get_attribute("data-lon") or "nan"),
    )
    assert abs(lat - POINT[0]) < 0.01 and abs(lon - POINT[1]) < 0.01, (lat, lon)  # a pixel is 0.005°
    assert shown.locator(".decimal").inner_text() == f"{lat:.5f}, {lon:.5f}"
    assert shown.locator(".dms").inner_text() == f"{dms(lat, 2, 'N', 'S')} {dms(lon, 3, 'E', 'W')}"
    zone, square, easting, northing = mgrs(lat, lon)
    found = re.fullmatch(r"MGRS (\d+[A-Z]) ([A-Z]{2}) (\d{5}) (\d{5})", shown.locator(".mgrs").inner_text())
    assert found, shown.locator(".mgrs").inner_text()
    assert (found.group(1), found.group(2)) == (zone, square)
    # The page's series and PROJ's agree to well under a metre; truncation may differ by one.
    assert abs(int(found.group(3)) - easting) <= 1 and abs(int(found.group(4)) - northing) <= 1


def _check_toggles(page: Any) -> None:
    from playwright.sync_api import expect

    layers = page.locator("#map-layers")
    overlay = layers.get_by_label("Euphrates demo overlays")
    overlay.uncheck()
    expect(page.locator("#map path.overlay")).to_have_count(0)
    expect(page.locator(".overlay-label")).to_have_count(0)  # the labels fade out
    overlay.check()
    expect(page.locator("#map path.overlay")).to_have_count(4)
    expect(page.locator(".overlay-label")).to_have_count(4)
    layers.get_by_label("Place names").uncheck()
    expect(page.locator(".place-label")).to_have_count(0)
    layers.get_by_label("Place names").check()
    page.locator(".place-label span").first.wait_for()
    layers.get_by_label("Lat/lon grid").uncheck()
    expect(page.locator("#map path.graticule")).to_have_count(0)
    layers.get_by_label("Lat/lon grid").check()
    expect(page.locator("#map path.graticule")).to_have_count(1)


def test_the_demo_overlay_file_is_the_one_served(served: tuple[str, Party]) -> None:
    from tests.servers import call_api

    url, blue = served
    status, body = call_api(url, blue.token, "GET", "/v1/map/overlays")
    assert status == 200
    assert [o["file"] for o in body["overlays"]] == [Path(demo_overlays_path()).name]
