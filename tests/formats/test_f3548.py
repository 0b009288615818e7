"""F3548-21 volumes: a real DSS request, every shape that carries volumes, hostile variants, the export."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import shapely
from hypothesis import given, settings
from implicitdict import ImplicitDict
from implicitdict.jsonschema import SchemaVars, make_json_schema
from uas_standards.astm.f3548.v21 import api as f3548

from deconflict.errors import InputError
from deconflict.formats.f3548 import is_f3548, operation_details, parse_f3548, volume4d
from deconflict.strategic.geojson import read_volumes
from deconflict.strategic.volume import Volume
from deconflict.units import AltitudeMargins, AltitudeReference
from tests.formats.strategies import documents

DATA = Path(__file__).parents[1] / "data"
DSS_REQUEST = DATA / "f3548" / "dss_op_request_1.json"


def _dss() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DSS_REQUEST.read_text(encoding="utf-8"))
    return document


def _problems(document: object) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_f3548(document, "intent.json", "blue")
    return [str(p) for p in info.value.problems]


def _intent() -> dict[str, Any]:
    """An OperationalIntent (reference and details) made of the DSS request's extents."""
    extents = _dss()["extents"]
    return {
        "reference": {
            "id": "2f8343be-6482-4d1b-a474-16847e3f4a9c",
            "manager": "uss1",
            "uss_availability": "Normal",
            "version": 1,
            "state": "Nonconforming",
            "ovn": "ovn-1",
            "time_start": extents[0]["time_start"],
            "time_end": extents[0]["time_end"],
            "uss_base_url": "https://uss1.example",
            "subscription_id": "9f8f8a2e-5c1a-4f0e-9b4f-7c2c5d4a6b11",
        },
        "details": {"volumes": extents[:3], "off_nominal_volumes": extents[3:], "priority": 7},
    }


def test_reads_the_dss_reference_request() -> None:
    volumes = parse_f3548(_dss(), str(DSS_REQUEST), "uss1")
    assert [v.id for v in volumes] == [f"dss_op_request_1/{i}" for i in range(5)]
    assert {v.party for v in volumes} == {"uss1"}
    first = volumes[0]
    assert first.lower.value_m == -7.827263749527558
    assert first.upper.value_m == 114.09273234903256
    assert first.lower.reference is AltitudeReference.W84
    assert first.time_start_s == 1591721880.0  # 2020-06-09T16:58:00.00Z
    assert first.time_end_s == 1591808520.0
    assert volumes[1].time_start_s == -28920.0  # 1969-12-31T15:58:00Z: before the epoch, still a time
    # The request closes its rings (a copy of the first vertex at the end): dropped, 4 corners remain.
    assert len(first.footprint.shape.exterior.coords) == 5
    assert first.footprint.shape.bounds == pytest.approx(
        (-117.1038398819344, 32.59415886402617, -117.1035655786647, 32.64920727813973)
    )


def test_reads_an_operational_intent_with_off_nominal_volumes_and_priority() -> None:
    volumes = parse_f3548(_intent(), "intent.json", "uss1")
    op = "2f8343be-6482-4d1b-a474-16847e3f4a9c"
    assert [v.id for v in volumes] == [
        f"{op}/0",
        f"{op}/1",
        f"{op}/2",
        f"{op}/off-nominal/3",
        f"{op}/off-nominal/4",
    ]
    assert {v.operation for v in volumes} == {op}
    assert {v.priority for v in volumes} == {7}


def test_reads_every_shape_that_carries_volumes() -> None:
    extents = _dss()["extents"]
    intent = _intent()
    shapes: dict[str, tuple[object, int]] = {
        "intent": (intent, 5),
        "details response": ({"operational_intent": intent}, 5),
        "details": (intent["details"], 5),
        "extents": ({"extents": extents}, 5),
        "query": ({"area_of_interest": extents[0]}, 1),
        "Volume4D": (extents[0], 1),
        "list": (extents[:2], 2),
    }
    for name, (document, count) in shapes.items():
        assert is_f3548(document), name
        assert len(parse_f3548(document, "x.json", "blue")) == count, name
    assert not is_f3548({"type": "FeatureCollection", "features": []})


def test_circles_and_feet() -> None:
    volume4d = {
        "volume": {
            "outline_circle": {
                "center": {"lat": 34.123, "lng": -118.456},
                "radius": {"value": 300.183, "units": "M"},
            },
            "altitude_lower": {"value": 0, "reference": "W84", "units": "FT"},
            "altitude_upper": {"value": 400, "reference": "W84", "units": "ft"},
        },
        "time_start": {"value": "2026-01-01T12:00:00Z", "format": "RFC3339"},
        "time_end": {"value": "2026-01-01T15:00:00+02:00"},
    }
    [v] = parse_f3548(volume4d, "c.json", "blue", operation="op-9")
    assert (v.footprint.centre_lon_deg, v.footprint.centre_lat_deg, v.footprint.radius_m) == (
        -118.456,
        34.123,
        300.183,
    )
    assert v.upper.value_m == 121.92
    assert v.time_end_s - v.time_start_s == 3600.0
    assert (v.id, v.operation) == ("op-9/0", "op-9")


def _dss_with(path: str, value: object) -> dict[str, Any]:
    """The DSS request with one field of its third extent replaced (``None``: removed)."""
    document = _dss()
    target = document["extents"][2]
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("volume.altitude_lower.reference", "AGL", "volume.altitude_lower.reference", '"AGL" is not allowed'),
        ("volume.altitude_upper.reference", "blag", "volume.altitude_upper.reference", "W84"),
        ("volume.altitude_lower.units", "KM", "volume.altitude_lower.units", 'unknown unit "KM"'),
        ("volume.altitude_lower.value", "high", "volume.altitude_lower.value", "must be a number"),
        ("volume.altitude_upper.value", 3.0e6, "volume.altitude_upper.value", "not a plausible altitude"),
        ("volume.altitude_upper", None, "volume.altitude_upper", "missing"),
        ("volume.altitude_lower.value", 500.0, "volume.altitude_lower", "is not below upper"),
        ("time_end.value", "2020-06-09T16:00:00Z", "time_end", "is not after time_start"),
        ("time_start.value", "9 June 2020", "time_start.value", "not an RFC 3339 time"),
        ("time_start.value", "2020-06-09T16:58:00", "time_start.value", "UTC offset"),
        ("time_start.format", "ISO8601", "time_start.format", "unknown time format"),
        ("time_end", None, "time_end", "missing"),
        (
            "volume.outline_polygon.vertices",
            [{"lat": 1, "lng": 2}, {"lat": 1, "lng": 3}],
            "volume.outline_polygon.vertices",
            "at least 3",
        ),
        (
            "volume.outline_polygon.vertices",
            [{"lat": 95, "lng": 2}] * 3,
            "volume.outline_polygon.vertices[0].lat",
            "out of range",
        ),
        ("volume.outline_polygon.vertices", "square", "volume.outline_polygon.vertices", "must be a list"),
        (
            "volume.outline_polygon.vertices",
            [{"lat": 0, "lng": 0}, {"lat": 1, "lng": 1}, {"lat": 0, "lng": 1}, {"lat": 1, "lng": 0}],
            "volume.outline_polygon.vertices",
            "Self-intersection",
        ),
        ("volume.outline_polygon", None, "volume", "neither"),
        (
            "volume.outline_circle",
            {"center": {"lat": 0, "lng": 0}, "radius": {"value": 5, "units": "M"}},
            "volume",
            "outline_polygon and outline_circle",
        ),
    ],
)
def test_hostile_fields_name_the_volume_and_the_field(
    path: str, value: object, field: str, words: str
) -> None:
    problems = _problems(_dss_with(path, value))
    assert any(p.startswith(f"intent.json: extents[2]: {field}: ") and words in p for p in problems), problems


def test_hostile_circle_radius() -> None:
    circle = {"center": {"lat": 0, "lng": 0}, "radius": {"value": 5, "units": "FT"}}
    document = _dss_with("volume.outline_polygon", None)
    document["extents"][2]["volume"]["outline_circle"] = circle
    [problem] = _problems(document)
    assert problem.startswith("intent.json: extents[2]: volume.outline_circle.radius.units: ")
    circle["radius"] = {"value": -5, "units": "M"}
    [problem] = _problems(document)
    assert "radius.value: must be positive" in problem


def test_hostile_documents() -> None:
    assert _problems("volumes") == [
        'intent.json: must be an F3548 object or a list of Volume4D, got "volumes"'
    ]
    assert "no volumes" in _problems({"reference": {}, "nothing": []})[0]
    assert _problems({"extents": {"volume": {}}})[0].startswith(
        "intent.json: extents: must be a list of Volume4D"
    )
    assert _problems({"volumes": [], "priority": 1}) == ["intent.json: no volumes (an empty list)"]
    assert _problems({"volumes": [_dss()["extents"][0]], "priority": "high"}) == [
        'intent.json: priority: must be an integer, got "high"'
    ]
    [details] = _problems({"reference": {"id": "x"}, "details": [1]})
    assert details.startswith("intent.json: details: must be an object (OperationalIntentDetails)")
    # Several volumes wrong: each reported, with its own path.
    document = _intent()
    document["details"]["volumes"][0]["volume"]["altitude_lower"]["units"] = "yards"
    document["details"]["off_nominal_volumes"][1]["time_end"]["value"] = "soon"
    problems = _problems(document)
    assert [p.split(": ")[1] for p in problems] == ["details.volumes[0]", "details.off_nominal_volumes[1]"]


def _details_schema() -> dict[str, Any]:
    """The JSON Schema of OperationalIntentDetails, as uas-standards models the standard's OpenAPI."""
    definitions: dict[str, Any] = {}
    make_json_schema(
        f3548.OperationalIntentDetails,
        lambda t: SchemaVars(name=t.__name__, path_to=lambda target, _source: f"#/$defs/{target.__name__}"),
        definitions,
    )
    for schema in definitions.values():
        schema.pop("$schema", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": definitions,
        "$ref": "#/$defs/OperationalIntentDetails",
    }


def assert_valid_details(details: dict[str, Any]) -> None:
    """Valid by the models' schema, parsed by the models, and by the rules the standard states in prose."""
    jsonschema.validate(details, _details_schema())
    parsed = ImplicitDict.parse(details, f3548.OperationalIntentDetails)
    assert parsed.volumes
    for item in parsed.volumes:
        volume = item.volume
        assert (volume.outline_polygon is None) != (volume.outline_circle is None)
        assert volume.altitude_lower.value < volume.altitude_upper.value
        assert item.time_start.value.datetime < item.time_end.value.datetime
        assert item.time_start.value.endswith("Z")
        if volume.outline_polygon is not None:
            vertices = volume.outline_polygon.vertices
            assert len(vertices) >= 3
            assert (vertices[0].lat, vertices[0].lng) != (vertices[-1].lat, vertices[-1].lng)
            assert all(-90 <= p.lat <= 90 and -180 <= p.lng <= 180 for p in vertices)


def test_the_schema_rejects_what_the_standard_does() -> None:
    details = operation_details(parse_f3548(_dss(), "x.json", "blue"))
    bad = copy.deepcopy(details)
    bad["volumes"][0]["volume"]["altitude_lower"]["reference"] = "AGL"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _details_schema())
    del bad["volumes"][0]["volume"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _details_schema())


@pytest.mark.parametrize("name", ["blue", "red", "civil"])
def test_export_of_our_geojson_is_valid_f3548(name: str) -> None:
    """Our own files (feet, flight levels, MSL) export as W84 metres that contain what was filed."""
    volumes = read_volumes(DATA / "good" / f"{name}.geojson")
    details = operation_details(volumes)
    assert_valid_details(details)
    assert details["priority"] == max(v.priority for v in volumes)
    for before in volumes:
        # A footprint of several parts exports as one Volume4D per part.
        back = parse_f3548(json.loads(json.dumps(volume4d(before))), "back.json", name)
        assert shapely.union_all([v.footprint.shape for v in back]).covers(before.footprint.shape)
        after = back[0]
        margins = AltitudeMargins()
        # Heights above the ellipsoid: exact for W84, else covering every MSL height the bound
        # can mean, wherever the geoid is.
        if before.lower.reference is AltitudeReference.W84:
            assert after.lower.value_m == before.lower.value_m
        else:
            assert after.lower.value_m <= before.lower.msl_range_m(margins)[0] + margins.geoid_min_m
        if before.upper.reference is AltitudeReference.W84:
            assert after.upper.value_m == before.upper.value_m
        else:
            assert after.upper.value_m >= before.upper.msl_range_m(margins)[1] + margins.geoid_max_m
        assert (after.time_start_s, after.time_end_s) == (before.time_start_s, before.time_end_s)


def _same(a: Volume, b: Volume) -> bool:
    fa, fb = a.footprint, b.footprint
    same_shape = (
        (fa.centre_lon_deg, fa.centre_lat_deg, fa.radius_m)
        == (fb.centre_lon_deg, fb.centre_lat_deg, fb.radius_m)
        if fa.is_circle
        else fa.shape.equals_exact(fb.shape, 0.0)
    )
    return (
        same_shape
        and fa.is_circle == fb.is_circle
        and (a.lower, a.upper, a.time_start_s, a.time_end_s, a.priority, a.id, a.party, a.operation)
        == (b.lower, b.upper, b.time_start_s, b.time_end_s, b.priority, b.id, b.party, b.operation)
    )


@settings(max_examples=60, deadline=None)
@given(documents())
def test_import_export_import_gives_the_same_volumes(document: Any) -> None:
    first = parse_f3548(document, "intent.json", "blue", operation="op")
    details = operation_details(first)
    assert_valid_details(details)
    again = parse_f3548(json.loads(json.dumps(details)), "intent.json", "blue", operation="op")
    assert len(again) == len(first)
    assert all(_same(a, b) for a, b in zip(first, again, strict=True))
