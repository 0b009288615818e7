"""KML of plans, read back with a plain XML parser: solids, altitude modes, time spans, styles."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings

from deconflict.formats.kml import conflicts_kml, incidents_kml, plan_kml
from deconflict.geometry.footprint import polygon_footprint
from deconflict.strategic.conflicts import find_conflicts
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins, AltitudeReference, msl_bounds_m
from tests.builders import T0_S, box, box_ring, circle, volume
from tests.strategic.strategies import Case, cases

NS = "{http://www.opengis.net/kml/2.2}"


def _placemarks(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text)
    assert root.tag == f"{NS}kml"
    return {p.findtext(f"{NS}name", ""): p for p in root.iter(f"{NS}Placemark")}


def _polygons(placemark: ET.Element) -> list[tuple[str, list[np.ndarray]]]:
    """(altitudeMode, rings of (lon, lat, alt)) of each Polygon."""
    found = []
    for polygon in placemark.iter(f"{NS}Polygon"):
        rings = [
            np.array([[float(v) for v in point.split(",")] for point in text.split()])
            for text in (c.text or "" for c in polygon.iter(f"{NS}coordinates"))
        ]
        found.append((polygon.findtext(f"{NS}altitudeMode", ""), rings))
    return found


def _solid(placemark: ET.Element) -> tuple[shapely.Geometry, float, float, set[str]]:
    """The footprint (union of the floors), floor and roof altitudes and modes of a drawn solid."""
    polygons = _polygons(placemark)
    heights = sorted({float(r[:, 2].min()) for _, rings in polygons for r in rings})
    floor_m, roof_m = heights[0], heights[-1]
    floors = [
        shapely.Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])
        for _, rings in polygons
        if np.all(rings[0][:, 2] == floor_m)
    ]
    return shapely.union_all(floors), floor_m, roof_m, {mode for mode, _ in polygons}


def test_a_box_is_a_closed_solid_with_its_time_span_and_data() -> None:
    v = volume("v1", "blue", box(36.0, 35.0, 36.2, 35.1), lower_m=300.0, upper_m=1200.0, operation="op-1")
    placemark = _placemarks(plan_kml([v]))["v1"]
    polygons = _polygons(placemark)
    assert len(polygons) == 6  # floor, roof, 4 walls
    assert {mode for mode, _ in polygons} == {"absolute"}
    walls = [rings[0] for _, rings in polygons[2:]]
    for wall in walls:  # each wall: two corners at the floor, two at the roof, closed
        assert sorted(wall[:4, 2]) == [300.0, 300.0, 1200.0, 1200.0]
        assert np.array_equal(wall[0], wall[-1])
    footprint, floor_m, roof_m, _ = _solid(placemark)
    assert footprint.equals(shapely.box(36.0, 35.0, 36.2, 35.1))
    assert (floor_m, roof_m) == (300.0, 1200.0)
    assert placemark.findtext(f"{NS}TimeSpan/{NS}begin") == "2026-01-01T12:00:00Z"
    assert placemark.findtext(f"{NS}TimeSpan/{NS}end") == "2026-01-01T13:00:00Z"
    data = {d.get("name"): d.findtext(f"{NS}value") for d in placemark.iter(f"{NS}Data")}
    assert data == {
        "party": "blue",
        "operation": "op-1",
        "priority": "0",
        "altitude_lower": "300 m MSL",
        "altitude_upper": "1200 m MSL",
    }


def test_holes_have_walls_and_circles_are_drawn_around_the_circle() -> None:
    outer = box_ring(36.0, 35.0, 36.4, 35.4)
    hole = box_ring(36.1, 35.1, 36.2, 35.2)
    band = Altitude(0.0, AltitudeReference.MSL), Altitude(100.0, AltitudeReference.MSL)
    holed = Volume("holed", "blue", "op", polygon_footprint([[outer, hole]]), *band, T0_S, T0_S + 60.0)
    ring_volume = volume("c", "red", circle(36.0, 35.0, 2_000.0))
    placemarks = _placemarks(plan_kml([holed, ring_volume]))
    assert len(_polygons(placemarks["holed"])) == 2 + 4 + 4
    footprint, *_ = _solid(placemarks["holed"])
    assert footprint.equals(holed.footprint.shape)
    drawn, *_ = _solid(placemarks["c"])
    assert drawn.covers(ring_volume.footprint.shape)  # the drawing contains the circle


def test_altitude_modes() -> None:
    agl = volume("agl", "blue", box(36.0, 35.0, 36.1, 35.1), lower_m=0.0, upper_m=120.0, reference="AGL")
    w84 = volume("w84", "blue", box(36.0, 35.0, 36.1, 35.1), lower_m=100.0, upper_m=200.0, reference="W84")
    mixed = volume(
        "fl", "blue", box(36.0, 35.0, 36.1, 35.1), lower_m=900.0, upper_m=7620.0, upper_reference="STD"
    )
    placemarks = _placemarks(plan_kml([agl, w84, mixed]))
    assert _solid(placemarks["agl"])[1:] == (0.0, 120.0, {"relativeToGround"})
    margins = AltitudeMargins()
    # Ellipsoid heights and flight levels: the widest MSL band they can mean.
    floor_m, roof_m = msl_bounds_m(100.0, 200.0, w84.lower.reference, margins)
    assert _solid(placemarks["w84"])[1:] == (
        math.floor(floor_m * 100) / 100,
        math.ceil(roof_m * 100) / 100,
        {"absolute"},
    )
    _, floor_m, roof_m, modes = _solid(placemarks["fl"])
    assert (floor_m, modes) == (900.0, {"absolute"})
    assert roof_m >= msl_bounds_m(7620.0, 7620.0, mixed.upper.reference, margins)[1] > 7620.0


def test_a_style_per_party_and_for_conflicts() -> None:
    blue = volume("b", "blue", box(36.0, 35.0, 36.2, 35.2))
    red = volume("r", "red", box(36.1, 35.1, 36.3, 35.3))
    conflicts = find_conflicts([blue, red])
    root = ET.fromstring(plan_kml([blue, red], conflicts))
    styles = {s.get("id"): s.findtext(f"{NS}PolyStyle/{NS}color") for s in root.iter(f"{NS}Style")}
    assert len(styles) == 3 and "conflict" in styles
    assert len(set(styles.values())) == 3
    placemarks = _placemarks(ET.tostring(root, encoding="unicode"))
    assert placemarks["b"].findtext(f"{NS}styleUrl") != placemarks["r"].findtext(f"{NS}styleUrl")
    [conflict] = [p for name, p in placemarks.items() if " x " in name]
    assert conflict.findtext(f"{NS}styleUrl") == "#conflict"
    footprint, floor_m, roof_m, _ = _solid(conflict)
    assert footprint.equals(shapely.box(36.1, 35.1, 36.2, 35.2))
    assert (floor_m, roof_m) == (0.0, 1000.0)


def test_an_antimeridian_volume_is_drawn_in_both_halves() -> None:
    v = volume("dateline", "blue", box(179.9, -17.0, 180.1, -16.9))
    footprint, *_ = _solid(_placemarks(plan_kml([v]))["dateline"])
    assert footprint.equals(v.footprint.shape)
    assert footprint.geom_type == "MultiPolygon"


@settings(max_examples=40, deadline=None)
@given(cases())
def test_drawn_solids_contain_the_volumes_so_conflicts_survive(case: Case) -> None:
    """Read back, each solid contains its volume: every conflict before is a conflict of the solids."""
    placemarks = _placemarks(plan_kml(case.volumes))
    for v in case.volumes:
        placemark = placemarks[v.id]
        footprint, floor_m, roof_m, _ = _solid(placemark)
        assert footprint.covers(v.footprint.shape)
        assert floor_m <= v.lower.value_m and roof_m >= v.upper.value_m
        assert placemark.findtext(f"{NS}TimeSpan/{NS}begin") is not None


def _conflict_facts(**changes: Any) -> SimpleNamespace:
    facts: dict[str, Any] = {
        "id": 7,
        "state": "open",
        "operation": "op",
        "volume": "v1",
        "other_party": "red",
        "time_start": "2026-01-01T12:00:00Z",
        "time_end": "2026-01-01T13:00:00Z",
        "altitude_lower_m": 100.0,
        "altitude_upper_m": 300.0,
        "altitude_reference": "MSL",
        "overlap_area_m2": 1.0e6,
        "overlap_bbox": (36.0, 35.0, 36.01, 35.01),
    }
    return SimpleNamespace(**(facts | changes))


def test_conflicts_are_foldered_and_styled_by_state_and_other_party() -> None:
    conflicts = [
        _conflict_facts(id=1),
        _conflict_facts(id=2, state="acknowledged"),
        _conflict_facts(id=3, state="resolved", other_party="green"),
        _conflict_facts(id=4, state="open", other_party="green"),
    ]
    root = ET.fromstring(conflicts_kml(conflicts))
    folders = {f.findtext(f"{NS}name"): f for f in root.iter(f"{NS}Folder")}
    assert list(folders) == ["open", "acknowledged", "resolved"]  # the lifecycle's order
    names = {
        state: [p.findtext(f"{NS}name") for p in folder.iter(f"{NS}Placemark")]
        for state, folder in folders.items()
    }
    assert names == {
        "open": ["conflict 1", "conflict 4"],
        "acknowledged": ["conflict 2"],
        "resolved": ["conflict 3"],
    }
    styles = {s.get("id"): s for s in root.iter(f"{NS}Style")}
    used = {p.findtext(f"{NS}styleUrl", "")[1:] for p in root.iter(f"{NS}Placemark")}
    assert used == set(styles) and len(used) == 4  # one per (state, other party)
    fills: dict[str, set[str | None]] = {}
    lines: dict[str, set[str | None]] = {}
    for i in used:
        state, party_hash = i.split("-party-")
        fills.setdefault(state, set()).add(styles[i].findtext(f"{NS}PolyStyle/{NS}color"))
        lines.setdefault(party_hash, set()).add(styles[i].findtext(f"{NS}LineStyle/{NS}color"))
    # Faces by state (one colour each, three states, three colours), lines by party.
    assert all(len(v) == 1 for v in fills.values()) and len(set.union(*fills.values())) == 3
    assert len(lines) == 2 and all(len(v) == 1 for v in lines.values())


def test_a_conflict_is_its_overlap_box_between_its_band() -> None:
    placemark = _placemarks(conflicts_kml([_conflict_facts()]))["conflict 7"]
    footprint, floor_m, roof_m, modes = _solid(placemark)
    assert footprint.equals(shapely.box(36.0, 35.0, 36.01, 35.01))
    assert (floor_m, roof_m, modes) == (100.0, 300.0, {"absolute"})
    assert placemark.findtext(f"{NS}TimeSpan/{NS}begin") == "2026-01-01T12:00:00Z"


def test_a_conflict_above_ground_or_across_the_antimeridian_is_drawn_as_such() -> None:
    agl = _placemarks(conflicts_kml([_conflict_facts(altitude_reference="AGL")]))["conflict 7"]
    assert _solid(agl)[3] == {"relativeToGround"}
    across = _placemarks(conflicts_kml([_conflict_facts(overlap_bbox=(179.9, 10.0, -179.9, 10.1))]))
    footprint = _solid(across["conflict 7"])[0]
    assert footprint.bounds == (-180.0, 10.0, 180.0, 10.1) and footprint.area == pytest.approx(0.02)
    flight_level = _placemarks(conflicts_kml([_conflict_facts(altitude_reference="STD")]))["conflict 7"]
    _, floor_m, roof_m, modes = _solid(flight_level)
    assert modes == {"absolute"} and floor_m <= 100.0 and roof_m >= 300.0  # the widest MSL band


def test_an_incident_without_a_disclosed_closest_approach_has_no_geometry() -> None:
    incident = SimpleNamespace(
        id=3,
        own_id="BLU101",
        other_party="red",
        started="2026-01-01T12:00:00Z",
        ended="2026-01-01T12:02:00Z",
        closest=None,
    )
    placemark = _placemarks(incidents_kml([incident]))["incident 3"]
    assert placemark.find(f"{NS}Point") is None
    assert placemark.findtext(f"{NS}TimeSpan/{NS}end") == "2026-01-01T12:02:00Z"
    assert placemark.findtext(f"{NS}styleUrl", "").startswith("#ended-party-")
