"""Overlay files: what a good one gives, and every problem of a bad one named by file, feature and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deconflict.channel.overlays import OverlayStyle, read_overlay, read_overlays
from deconflict.errors import InputError

LINE = {"type": "LineString", "coordinates": [[38.0, 36.8], [40.9, 34.4]]}
AREA = {"type": "Polygon", "coordinates": [[[38.4, 35.8], [38.7, 35.8], [38.7, 35.9], [38.4, 35.8]]]}


def _feature(name: object, kind: object, geometry: object, **extra: object) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name, "kind": kind, **extra}, "geometry": geometry}


def _write(path: Path, *features: object, **members: object) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", **members, "features": list(features)}))
    return path


def test_a_good_file_gives_its_features_in_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "lines.geojson",
        _feature("DL", "line", LINE),
        _feature(" R-1 ", "Restricted", AREA, style={"colour": "#f00", "weight_px": 3, "fill_opacity": 0.2}),
        _feature("FIR", "FIR", {"type": "MultiLineString", "coordinates": [LINE["coordinates"]]}),
    )
    overlay = read_overlay(path)
    assert (overlay.name, overlay.file) == ("lines", "lines.geojson")
    assert [(f.name, f.kind) for f in overlay.features] == [
        ("DL", "line"),
        ("R-1", "restricted"),
        ("FIR", "fir"),
    ]
    assert overlay.features[1].style == OverlayStyle(colour="#f00", weight_px=3.0, fill_opacity=0.2)
    assert overlay.features[0].geometry == LINE
    named = _write(tmp_path / "b.geojson", _feature("DL", "line", LINE), name="Deconfliction lines")
    assert read_overlay(named).name == "Deconfliction lines"


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (
            _feature("R-1", "zone", AREA),
            "feature 0 (R-1): properties.kind: must be one of line, airway, restricted, fir",
        ),
        (_feature("", "line", LINE), "feature 0: properties.name: must be a label"),
        (_feature("DL", "line", {"type": "Circle"}), "feature 0 (DL): geometry.type: must be one of"),
        (
            _feature("DL", "line", {"type": "LineString", "coordinates": [[38.0, 36.8]]}),
            "feature 0 (DL): geometry.coordinates: needs at least 2 positions, got 1",
        ),
        (
            _feature("DL", "line", {"type": "LineString", "coordinates": [[38.0, 36.8], [36.8, 138.0]]}),
            "feature 0 (DL): geometry.coordinates[1][1]: latitude 138 out of range",
        ),
        (
            _feature(
                "R",
                "restricted",
                {"type": "Polygon", "coordinates": [[[38, 35], [39, 35], [39, 36], [38, 36]]]},
            ),
            "feature 0 (R): geometry.coordinates[0]: ring is not closed",
        ),
        (
            _feature("DL", "line", LINE, style={"color": "#fff"}),
            "feature 0 (DL): properties.style.color: not a style key",
        ),
        (
            _feature("DL", "line", LINE, style={"colour": "red"}),
            "feature 0 (DL): properties.style.colour: must be #rgb",
        ),
        (
            _feature("DL", "line", LINE, style={"fill_opacity": 2}),
            "feature 0 (DL): properties.style.fill_opacity: must be from 0 to 1, got 2",
        ),
        (
            {"type": "Feature", "geometry": LINE},
            "feature 0: properties: must be an object with name and kind",
        ),
    ],
)
def test_a_bad_feature_is_named_with_its_field(tmp_path: Path, feature: object, expected: str) -> None:
    path = _write(tmp_path / "bad.geojson", feature)
    with pytest.raises(InputError) as raised:
        read_overlay(path)
    assert str(raised.value).startswith(f"{path}: {expected}"), str(raised.value)


def test_every_bad_file_is_reported_together(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.geojson", _feature("DL", "line", LINE))
    empty = _write(tmp_path / "empty.geojson")
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection",')
    missing = tmp_path / "missing.geojson"
    with pytest.raises(InputError) as raised:
        read_overlays([good, empty, broken, missing])
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{empty}: features: has no features"
    assert lines[1].startswith(f"{broken}: not valid JSON at line 1")
    assert lines[2].startswith(f"{missing}: cannot read the overlay file")
    assert len(lines) == 3
    assert [o.name for o in read_overlays([good, good])] == ["good", "good"]


def test_the_demo_overlays_are_good_and_carry_the_scenario_line() -> None:
    from deconflict.demo.scenario import demo_overlays_path, load_scenario

    overlay = read_overlay(demo_overlays_path())
    assert {f.kind for f in overlay.features} == {"line", "restricted", "airway", "fir"}
    line = next(f for f in overlay.features if f.kind == "line")
    region = json.loads((demo_overlays_path().parents[1] / "demo_scenario.json").read_text())["region"]
    assert line.name == region["line_name"]
    assert [tuple(p) for p in line.geometry["coordinates"]] == list(load_scenario().line)
