"""A blind session's result shown on the web map from the operator's own file, in a real browser.

``deconflict blind … --out FILE`` writes the party's matched cells as GeoJSON. The page reads
that file through its file input (FileReader) and draws the cells as rectangles, with the
slot, the altitude band and the own volumes in each tooltip; no request it makes carries
anything of the file (the server must not learn the matches). "Remove" takes them off.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deconflict.blind.cover import cover_volumes
from deconflict.blind.grid import GridParameters
from deconflict.blind.protocol import BlindResult
from deconflict.cli.blind import _cells_of, _result_geojson
from deconflict.formats import read_plan
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    _artifacts,
    _register,
    _require_browser,
    log_in_with_token,
)
from tests.e2e.test_browser_hotline import Requests
from tests.e2e.test_browser_plans import _box_plan
from tests.servers import serve_process, ungated_env

SESSION = "blind-secret-5d1e"
VOLUME = "blue-vol-SECRET-7731"
"""Markers no request may carry: the file's session id and own volume id."""


def _result_file(root: Path) -> tuple[Path, dict[str, Any]]:
    """A result as ``--out`` writes it: some of a plan's own cells matched."""
    start_s = float(np.floor(time.time() / 3600.0) * 3600.0)
    plan = root / "blue.geojson"
    plan.write_text(json.dumps(_box_plan(VOLUME, (36.0, 35.0, 36.25, 35.15), start_s, start_s + 5400.0)))
    volumes = list(read_plan(str(plan)))
    params = GridParameters(SESSION, cell_deg=0.1, slot_s=3600.0, band_m=1000.0, cap=4096)
    cover = cover_volumes(volumes, params)
    rows = np.arange(0, len(cover.cells), 2)  # every other cell "met the other party's"
    result = BlindResult(cells=cover.cells[rows], volumes=cover.volumes_of(rows))
    doc = _result_geojson(params, volumes, _cells_of(params, volumes, result), result)
    path = root / "blind-result.geojson"
    path.write_text(json.dumps(doc))
    return path, doc


def test_the_page_draws_a_blind_result_from_a_local_file_and_sends_none_of_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from playwright.sync_api import sync_playwright

    _require_browser()
    root = tmp_path_factory.mktemp("blind-map")
    path, doc = _result_file(root)
    features = doc["features"]
    assert len(features) >= 2
    db = root / "channel.db"
    blue = _register(db, root, "blue")
    requests = Requests()
    with (
        serve_process(db, root / "serve.log", ungated_env("blue")) as (_, url),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            requests.attach(page)
            log_in_with_token(page, url, blue)
            assert page.locator("path.blind-cell").count() == 0

            # A file that is not a result: said on the page, nothing drawn.
            bad = root / "not-a-result.geojson"
            bad.write_text(json.dumps({"type": "FeatureCollection", "features": [{"properties": {}}]}))
            page.locator("#blind-file").set_input_files(str(bad))
            page.locator("#blind-state", has_text="feature 0: time_s").wait_for()
            assert page.locator("path.blind-cell").count() == 0

            page.get_by_role("button", name="Show blind session result…").wait_for()
            page.locator("#blind-file").set_input_files(str(path))
            shown = f"{len(features)} matched cells of session {SESSION}"
            page.locator("#blind-state", has_text=shown).wait_for()
            cells = page.locator("path.blind-cell")
            assert cells.count() == len(features)

            # Each rectangle where its feature says: the drawn cells' bounds are the file's.
            drawn = page.evaluate(
                """() => window.deconflictMap.layers.blind.getLayers().map((r) => {
                    const b = r.getBounds();
                    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
                })"""
            )
            expected = [
                [p["lon_deg"][0], p["lat_deg"][0], p["lon_deg"][1], p["lat_deg"][1]]
                for p in (f["properties"] for f in features)
            ]
            assert sorted([round(x, 6) for x in b] for b in drawn) == sorted(
                [round(x, 6) for x in b] for b in expected
            )

            # The tooltip: the slot (UTC), the MSL band and the own volume matched there.
            cells.first.hover(force=True)
            tooltip = page.locator(".leaflet-tooltip", has_text="Blind match")
            tooltip.wait_for()
            text = tooltip.inner_text()
            first = features[0]["properties"]
            assert VOLUME in text
            # In the page's default units (ft, flight levels): the figures the file holds in metres.
            lower_ft, upper_ft = (round(m / 0.3048) for m in first["alt_msl_m"])
            band = f"{lower_ft}\N{EN DASH}{upper_ft} ft MSL"
            assert band in text
            assert time.strftime("%H:%MZ", time.gmtime(first["time_s"][1])) in text
            page.screenshot(path=str(_artifacts() / "browser-blind-result.png"))

            page.get_by_role("button", name="Remove blind result").click()
            page.wait_for_function("document.querySelectorAll('path.blind-cell').length === 0")
            assert page.locator("#blind-state").inner_text() == ""
            assert page.get_by_role("button", name="Remove blind result").is_hidden()
        finally:
            browser.close()
    # The page made requests (log-in, plans, the feed), none with anything of the file.
    assert requests.seen
    for where, headers, body in requests.seen:
        for marker in (SESSION, VOLUME, path.name):
            assert marker not in where + headers + body, (marker, where)
