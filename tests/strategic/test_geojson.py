"""Reading volumes from GeoJSON: the good files parse exactly, every problem of a bad one is located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InputError, Problem
from deconflict.strategic.geojson import parse_datetime_s, parse_features, read_volumes
from deconflict.strategic.limits import Limits
from deconflict.units import AltitudeReference
from tests.builders import (
    T0_S,
    altitude,
    box_ring,
    collection,
    feature,
    point,
    polygon_geometry,
    write_geojson,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def problems_of(document: object, limits: Limits = Limits()) -> list[Problem]:
    with pytest.raises(InputError) as info:
        parse_features(document, "plans.geojson", "plans", limits)
    return list(info.value.problems)


def only_problem(document: object, limits: Limits = Limits()) -> Problem:
    problems = problems_of(document, limits)
    assert len(problems) == 1, problems
    return problems[0]


# --- good input ----------------------------------------------------------------------


def test_good_file_parses_to_exact_volumes() -> None:
    b1, b2 = read_volumes(DATA / "good" / "blue.geojson")
    assert (b1.id, b1.party, b1.operation, b1.priority) == ("b-1", "blue", "op-1", 2)
    assert b1.footprint.shape.equals(shapely.box(36.0, 35.0, 36.5, 35.5))
    assert (b1.lower.value_m, b1.lower.reference) == (1000.0, AltitudeReference.MSL)
    assert (b1.upper.value_m, b1.upper.reference) == (3000.0, AltitudeReference.MSL)
    assert (b1.time_start_s, b1.time_end_s) == (T0_S, T0_S + 7200.0)
    assert b2.footprint.is_circle
    assert (b2.footprint.centre_lon_deg, b2.footprint.centre_lat_deg, b2.footprint.radius_m) == (
        38.0,
        35.0,
        5000.0,
    )
    assert (b2.lower.value_m, b2.lower.reference) == (3048.0, AltitudeReference.STD)
    assert (b2.upper.value_m, b2.upper.reference) == (6096.0, AltitudeReference.STD)
    assert b2.priority == 0


def test_missing_party_defaults_to_the_file_stem_and_operation_to_the_id() -> None:
    airway, fiji = read_volumes(DATA / "good" / "civil.geojson")
    assert (airway.party, airway.operation) == ("civil", "airway-1")
    assert (fiji.party, fiji.operation) == ("civil", "pacific")


def test_party_default_uses_the_first_part_of_the_file_name(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "green.plans.geojson", collection(feature("g-1")))
    assert read_volumes(path)[0].party == "green"


def test_multipolygon_with_hole_and_mixed_references() -> None:
    airway = read_volumes(DATA / "good" / "civil.geojson")[0]
    assert len(airway.footprint.part_bounds()) == 2
    assert shapely.intersects_xy(airway.footprint.shape, 40.05, 30.05)
    assert not shapely.intersects_xy(airway.footprint.shape, 41.05, 30.05)  # in the hole
    assert airway.lower.reference == AltitudeReference.W84
    assert airway.lower.value_m == pytest.approx(24500 * 0.3048)
    assert (airway.upper.value_m, airway.upper.reference) == (14020.8, AltitudeReference.STD)


def test_polygon_across_the_antimeridian_and_time_offsets() -> None:
    fiji = read_volumes(DATA / "good" / "civil.geojson")[1]
    assert sorted(fiji.footprint.part_bounds()) == [
        (-180.0, -17.0, -179.0, -16.0),
        (179.0, -17.0, 180.0, -16.0),
    ]
    assert fiji.lower.reference == AltitudeReference.AGL
    base = parse_datetime_s("2026-01-01T00:00:00Z")
    assert fiji.time_start_s == base + 0.25
    assert fiji.time_end_s == base + 3600.0 + 1800.0


@pytest.mark.parametrize(
    ("text", "expected_s"),
    [
        ("2026-01-01T12:00:00Z", T0_S),
        ("2026-01-01T12:00:00z", T0_S),
        ("2026-01-01t12:00:00Z", T0_S),
        ("2026-01-01T14:00:00+02:00", T0_S),
        ("2026-01-01T07:30:00-04:30", T0_S),
        ("2026-01-01 12:00:00Z", T0_S),
        ("2026-01-01T12:00:00.5Z", T0_S + 0.5),
        ("2026-01-01T12:00:00+00:00", T0_S),
    ],
)
def test_rfc3339_times(text: str, expected_s: float) -> None:
    assert parse_datetime_s(text) == expected_s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-01-01", "needs a date and a time"),
        ("2026-01-01T12:00:00", "needs a UTC offset"),
        ("noon", "needs a date and a time"),
        ("yesterday noon", "Invalid isoformat string"),
        ("2026-13-01T12:00:00Z", "month must be in 1..12"),
    ],
)
def test_bad_times_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_datetime_s(text)


def test_flight_level_may_name_std_or_nothing() -> None:
    doc = collection(
        feature(
            "v1",
            altitude_lower=altitude(100, "FL", "STD"),
            altitude_upper=altitude(120, "FL", reference=None),
        )
    )
    (volume,) = parse_features(doc, "x", "x")
    assert volume.lower.reference == volume.upper.reference == AltitudeReference.STD


def test_cross_reference_band_is_accepted_when_it_can_be_non_empty() -> None:
    # 120 m W84 may be below 100 m MSL (geoid undulation up to -107 m): not refused.
    doc = collection(
        feature("v1", altitude_lower=altitude(120, reference="W84"), altitude_upper=altitude(100))
    )
    assert len(parse_features(doc, "x", "x")) == 1


def test_empty_collection_has_no_volumes() -> None:
    assert parse_features(collection(), "x", "x") == []


# --- one problem at a time ---------------------------------------------------------


def test_unclosed_ring() -> None:
    with pytest.raises(InputError) as info:
        read_volumes(DATA / "bad" / "unclosed_ring.geojson")
    (problem,) = info.value.problems
    assert problem.source == str(DATA / "bad" / "unclosed_ring.geojson")
    assert problem.record == "feature 0 (id open-1)"
    assert problem.field == "geometry.coordinates[0]"
    assert problem.message == "ring is not closed: first position [36.0, 35.0] differs from last [36.0, 35.1]"


def test_self_intersecting_ring_includes_shapely_explanation() -> None:
    with pytest.raises(InputError) as info:
        read_volumes(DATA / "bad" / "self_intersection.geojson")
    (problem,) = info.value.problems
    assert (problem.record, problem.field) == ("feature 0 (id bow-tie)", "geometry")
    assert problem.message == "invalid polygon: Self-intersection[36.05 35.05]"


def test_nan_and_infinity_are_reported_where_they_are() -> None:
    with pytest.raises(InputError) as info:
        read_volumes(DATA / "bad" / "nan_infinity.geojson")
    found = {(p.field, p.message) for p in info.value.problems}
    assert found == {
        ("geometry.coordinates[0]", "must be a finite number, got inf"),
        ("radius_m", "must be a finite number, got -inf"),
        ("altitude_lower.value", "must be a finite number, got nan"),
    }


def test_unreadable_json_names_line_and_column() -> None:
    path = DATA / "bad" / "broken.geojson"
    with pytest.raises(InputError) as info:
        read_volumes(path)
    (problem,) = info.value.problems
    assert str(problem) == (
        f"{path}: not valid JSON at line 2 column 57: Expecting property name enclosed in double quotes"
    )


@pytest.mark.parametrize(
    ("properties", "field", "message"),
    [
        (
            {"altitude_lower": altitude(3000), "altitude_upper": altitude(1000)},
            "altitude_lower",
            "lower 3000 m MSL is not below upper 1000 m MSL",
        ),
        (
            {"altitude_lower": altitude(1000), "altitude_upper": altitude(1000)},
            "altitude_lower",
            "lower 1000 m MSL is not below upper 1000 m MSL",
        ),
        (
            {"altitude_lower": altitude(250, "FL", None), "altitude_upper": altitude(200, "FL", None)},
            "altitude_lower",
            "lower 7620 m STD is not below upper 6096 m STD",
        ),
        (
            # 9000 m MSL can never be below FL 100 (at most 3835 m MSL).
            {"altitude_lower": altitude(9000), "altitude_upper": altitude(100, "FL", None)},
            "altitude_lower",
            "lower 9000 m MSL is not below upper 3048 m STD",
        ),
        (
            {"time_end": "2026-01-01T11:00:00Z"},
            "time_end",
            "2026-01-01T11:00:00Z is not after time_start 2026-01-01T12:00:00Z",
        ),
        (
            {"time_end": "2026-01-01T14:00:00+02:00"},
            "time_end",
            "2026-01-01T14:00:00+02:00 is not after time_start 2026-01-01T12:00:00Z",
        ),
        (
            {"altitude_lower": altitude(0, "km")},
            "altitude_lower.units",
            'unknown unit "km" (expected one of m, ft, FL)',
        ),
        (
            {"altitude_upper": {"value": 10, "reference": "MSL"}},
            "altitude_upper.units",
            "unknown unit null (expected one of m, ft, FL)",
        ),
        (
            {"altitude_upper": altitude(1000, "m", "QNH")},
            "altitude_upper.reference",
            'unknown reference "QNH" (expected one of W84, MSL, AGL)',
        ),
        (
            {"altitude_upper": altitude(1000, "m", reference=None)},
            "altitude_upper.reference",
            "missing (expected one of W84, MSL, AGL)",
        ),
        (
            {"altitude_upper": altitude(1000, "ft", "STD")},
            "altitude_upper.reference",
            'unknown reference "STD" (expected one of W84, MSL, AGL)',
        ),
        (
            {"altitude_upper": altitude(300, "FL", "MSL")},
            "altitude_upper.reference",
            'flight levels are pressure altitudes; got reference "MSL"',
        ),
        (
            {"altitude_upper": {"units": "m", "reference": "MSL"}},
            "altitude_upper.value",
            "missing",
        ),
        (
            {"altitude_upper": altitude("1000")},
            "altitude_upper.value",
            'must be a number, got "1000"',
        ),
        (
            {"altitude_upper": altitude(True)},
            "altitude_upper.value",
            "must be a number, got true",
        ),
        (
            {"altitude_upper": 1000},
            "altitude_upper",
            "must be an object with value, units and reference, got 1000",
        ),
        ({"time_start": None}, "time_start", "missing (an RFC 3339 time such as 2026-01-01T12:00:00Z)"),
        ({"time_start": 1767268800}, "time_start", "must be an RFC 3339 string, got 1767268800"),
        (
            {"time_start": "2026-01-01T12:00:00"},
            "time_start",
            "not an RFC 3339 time '2026-01-01T12:00:00': needs a UTC offset such as 'Z' or '+02:00'",
        ),
        (
            {"altitude_upper": altitude(25000, "FL", None)},
            "altitude_upper.value",
            "FL 25000 is not a flight level in use (plausible: FL 0 to FL 660)",
        ),
        (
            {"altitude_lower": altitude(-5, "FL", None)},
            "altitude_lower.value",
            "FL -5 is not a flight level in use (plausible: FL 0 to FL 660)",
        ),
        (
            {"altitude_upper": altitude(150_000)},
            "altitude_upper.value",
            "150000 m is not a plausible altitude (plausible: -1000 m to 100000 m)",
        ),
        (
            {"altitude_upper": altitude(400_000, "ft")},
            "altitude_upper.value",
            "400000 ft (121920 m) is not a plausible altitude (plausible: -1000 m to 100000 m)",
        ),
        (
            {"altitude_lower": altitude(-1001)},
            "altitude_lower.value",
            "-1001 m is not a plausible altitude (plausible: -1000 m to 100000 m)",
        ),
        ({"priority": 1.5}, "priority", "must be an integer, got 1.5"),
        ({"priority": False}, "priority", "must be an integer, got false"),
        ({"party": ""}, "party", 'must be a non-empty string, got ""'),
        ({"party": 7}, "party", "must be a non-empty string, got 7"),
        ({"operation": "x" * 201}, "operation", "is 201 characters long, more than 200"),
    ],
)
def test_field_problems(properties: dict[str, object], field: str, message: str) -> None:
    problem = only_problem(collection(feature("op-17/v1", **properties)))
    assert problem.source == "plans.geojson"
    assert problem.record == "feature 0 (id op-17/v1)"
    assert (problem.field, problem.message) == (field, message)


@pytest.mark.parametrize(
    ("geometry", "properties", "field", "message"),
    [
        (
            point(36.0, 91.0),
            {"radius_m": 10},
            "geometry.coordinates[1]",
            "latitude 91.0 out of range [-90, 90]; GeoJSON is [lon, lat]: did you swap them?",
        ),
        (
            # No hint when swapping would not help either.
            point(120.0, 95.0),
            {"radius_m": 10},
            "geometry.coordinates[1]",
            "latitude 95.0 out of range [-90, 90]",
        ),
        (
            point(36.0, -90.5),
            {"radius_m": 10},
            "geometry.coordinates[1]",
            "latitude -90.5 out of range [-90, 90]; GeoJSON is [lon, lat]: did you swap them?",
        ),
        (
            point(180.5, 0.0),
            {"radius_m": 10},
            "geometry.coordinates[0]",
            "longitude 180.5 out of range [-180, 180]",
        ),
        (point(36.0, 35.0), {"radius_m": 0}, "radius_m", "must be positive, got 0.0"),
        (point(36.0, 35.0), {"radius_m": -5.5}, "radius_m", "must be positive, got -5.5"),
        (point(36.0, 35.0), {"radius_m": "5"}, "radius_m", 'must be a number, got "5"'),
        (point(36.0, 35.0), {}, "radius_m", "missing: a Point footprint is a circle and needs radius_m"),
        (
            point(36.0, 35.0),
            {"radius_m": 2_000_001},
            "radius_m",
            "2000001.0 m is larger than the limit of 2000000.0 m",
        ),
        (
            {"type": "Point", "coordinates": [36.0]},
            {"radius_m": 10},
            "geometry.coordinates",
            "must be a position [lon, lat], got [36.0]",
        ),
        (
            {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            {},
            "geometry.type",
            'unsupported geometry "LineString" (expected one of Polygon, MultiPolygon, Point)',
        ),
        (None, {}, "geometry", "missing or not an object (one of Polygon, MultiPolygon, Point)"),
        (
            polygon_geometry([[0, 0], [1, 0], [0, 0]]),
            {},
            "geometry.coordinates[0]",
            "a ring needs at least 4 positions (3 corners and the first again), got 3",
        ),
        (
            {"type": "Polygon", "coordinates": []},
            {},
            "geometry.coordinates",
            "must be a non-empty list of rings, got []",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], "x", [0, 0]]]},
            {},
            "geometry.coordinates[0][2]",
            'must be a position [lon, lat], got "x"',
        ),
        (
            {"type": "MultiPolygon", "coordinates": "x"},
            {},
            "geometry.coordinates",
            'must be a non-empty list of polygons, got "x"',
        ),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [[box_ring(0, 0, 1, 1).tolist()], [[[5, 5], [6, 5], [5, 5]]]],
            },
            {},
            "geometry.coordinates[1][0]",
            "a ring needs at least 4 positions (3 corners and the first again), got 3",
        ),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [[box_ring(0, 0, 2, 2).tolist()], [box_ring(1, 1, 3, 3).tolist()]],
            },
            {},
            "geometry",
            "invalid multipolygon: Self-intersection[1 2]",
        ),
    ],
)
def test_geometry_problems(
    geometry: dict[str, object] | None, properties: dict[str, object], field: str, message: str
) -> None:
    doc = collection(feature("op-17/v1", **properties))
    doc["features"][0]["geometry"] = geometry
    problem = only_problem(doc)
    assert problem.record == "feature 0 (id op-17/v1)"
    assert (problem.field, problem.message) == (field, message)


def test_missing_id_is_reported_without_an_id_in_the_record() -> None:
    problems = problems_of(collection(feature(None, operation="op")))
    assert [(p.record, p.field, p.message) for p in problems] == [("feature 0", "id", "missing")]


def test_missing_properties_and_non_features() -> None:
    doc = collection({"type": "Feature", "geometry": point(0, 0)}, {"type": "Point"}, 5)
    problems = problems_of(doc)
    assert [(p.record, p.field, p.message) for p in problems] == [
        ("feature 0", "properties", "missing or not an object"),
        ("feature 1", None, "must be a GeoJSON Feature object"),
        ("feature 2", None, "must be a GeoJSON Feature object"),
    ]


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ({"type": "Feature"}, None, "must be a GeoJSON FeatureCollection"),
        ([], None, "must be a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection"}, "features", "missing or not a list"),
        ({"type": "FeatureCollection", "features": {}}, "features", "missing or not a list"),
    ],
)
def test_document_problems(document: object, field: str | None, message: str) -> None:
    problem = only_problem(document)
    assert problem.record is None
    assert problem.field == field
    assert problem.message.startswith(message)


def test_duplicate_ids_in_a_file_name_both_features() -> None:
    doc = collection(feature("a"), feature("b"), feature("a"))
    problem = only_problem(doc)
    assert (problem.record, problem.field) == ("feature 2 (id a)", "id")
    assert problem.message == "duplicate id 'a' of party 'plans' (also feature 0)"


def test_same_id_for_different_parties_is_fine() -> None:
    doc = collection(feature("a", party="blue"), feature("a", party="red"))
    assert [v.party for v in parse_features(doc, "x", "x")] == ["blue", "red"]


def test_every_problem_of_a_file_is_reported() -> None:
    with pytest.raises(InputError) as info:
        read_volumes(DATA / "bad" / "many_problems.geojson")
    got = [(p.record, p.field) for p in info.value.problems]
    assert got == [
        ("feature 0 (id v-0)", "geometry.coordinates[0][2][1]"),
        ("feature 0 (id v-0)", "altitude_lower"),
        ("feature 1 (id v-1)", "radius_m"),
        ("feature 1 (id v-1)", "altitude_lower.units"),
        ("feature 1 (id v-1)", "altitude_upper.reference"),
        ("feature 1 (id v-1)", "time_end"),
        ("feature 2 (id v-2)", "altitude_lower"),
        ("feature 4 (id v-2)", "id"),
    ]
    assert len(str(info.value).splitlines()) == 8


# --- limits and unreadable files ---------------------------------------------------------


def test_too_many_vertices() -> None:
    many = [[36.0 + 0.001 * i, 35.0] for i in range(10)] + [[36.0, 35.1], [36.0, 35.0]]
    doc = collection(feature("v", geometry=polygon_geometry(many)))
    problem = only_problem(doc, Limits(max_vertices_per_ring=8))
    assert (problem.field, problem.message) == (
        "geometry.coordinates[0]",
        "has 12 positions, more than the limit of 8",
    )
    assert len(parse_features(doc, "x", "x", Limits(max_vertices_per_ring=12))) == 1


def test_too_many_features() -> None:
    doc = collection(*(feature(f"v{i}") for i in range(4)))
    problem = only_problem(doc, Limits(max_volumes_per_file=3))
    assert (problem.record, problem.field, problem.message) == (
        None,
        "features",
        "4 features, more than the limit of 3",
    )


def test_a_polygon_with_swapped_coordinates_gets_the_hint() -> None:
    # Damascus as (lat, lon): 33.5 N 36.3 E written [33.5, 36.3] is valid GeoJSON elsewhere;
    # Reykjavik (64.1 N, 21.9 W) written [64.1, -21.9] too. Only latitudes beyond 90 are sure.
    ring = [[35.0, 120.0], [35.1, 120.0], [35.1, 120.1], [35.0, 120.0]]
    problems = problems_of(collection(feature("v1", geometry=polygon_geometry(ring))))
    assert {p.field for p in problems} == {f"geometry.coordinates[0][{i}][1]" for i in range(4)}
    assert all(p.message.endswith("GeoJSON is [lon, lat]: did you swap them?") for p in problems)


def test_plausible_altitude_ranges_come_from_limits() -> None:
    high = collection(feature("v1", altitude_upper=altitude(700, "FL", None)))
    assert "FL 0 to FL 660" in only_problem(high).message
    (volume,) = parse_features(high, "plans.geojson", "plans", Limits(max_flight_level=999))
    assert volume.upper.reference == AltitudeReference.STD
    low = collection(feature("v1", altitude_lower=altitude(-2000), altitude_upper=altitude(10)))
    assert only_problem(low, Limits(min_altitude_m=-1500.0)).message.endswith("-1500 m to 100000 m)")


def test_radius_limit_comes_from_limits() -> None:
    doc = collection(feature("c", geometry=point(36.0, 35.0), radius_m=1000))
    problem = only_problem(doc, Limits(max_radius_m=999.0))
    assert problem.message == "1000.0 m is larger than the limit of 999.0 m"


def test_file_too_large(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "big.geojson", collection(feature("v")))
    size = path.stat().st_size
    with pytest.raises(InputError) as info:
        read_volumes(path, Limits(max_file_bytes=size - 1))
    assert str(info.value) == f"{path}: file is {size} bytes, more than the limit of {size - 1}"
    assert len(read_volumes(path, Limits(max_file_bytes=size))) == 1


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.geojson: cannot read file: No such file or directory"):
        read_volumes(tmp_path / "nope.geojson")
    with pytest.raises(InputError, match="cannot read file: Is a directory"):
        read_volumes(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.geojson"
    path.write_bytes(b'{"type": "FeatureCollection", "features": [], "x": "\xe9"}')
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 52\)"):
        read_volumes(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text("")
    with pytest.raises(InputError, match="not valid JSON at line 1 column 1: Expecting value"):
        read_volumes(path)


# --- property: parsing never crashes on junk, and the record always names the feature ---

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True)
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from([*sorted(feature("x")["properties"]), "radius_m", "priority"]), value=json_values
)
def test_any_json_value_in_any_field_is_either_accepted_or_reported(field: str, value: object) -> None:
    doc = collection(feature("v1", geometry=point(36.0, 35.0), radius_m=100.0))
    doc["features"][0]["properties"][field] = value
    try:
        volumes = parse_features(json.loads(json.dumps(doc)), "x", "x")
    except InputError as exc:
        assert all(p.record is not None and p.record.startswith("feature 0") for p in exc.problems)
        assert all(p.field for p in exc.problems)
    else:
        assert len(volumes) == 1


@settings(max_examples=200, deadline=None)
@given(coordinates=json_values)
def test_any_json_coordinates_are_either_accepted_or_reported(coordinates: object) -> None:
    for kind in ("Polygon", "MultiPolygon", "Point"):
        doc = collection(feature("v1", geometry={"type": kind, "coordinates": coordinates}, radius_m=100.0))
        try:
            volumes = parse_features(doc, "x", "x")
        except InputError as exc:
            assert all(p.field is not None and p.field.startswith("geometry") for p in exc.problems)
        else:
            assert len(volumes) == 1


def test_huge_integer_is_reported_not_raised() -> None:
    problem = only_problem(collection(feature("v1", altitude_upper=altitude(10**400))))
    assert problem.field == "altitude_upper.value"


def test_flight_level_overflowing_to_infinity_is_reported_not_raised() -> None:
    problem = only_problem(collection(feature("v1", altitude_lower=altitude(1e307, "FL", None))))
    assert problem.field == "altitude_lower.value"


def test_flight_level_band_overflowing_to_infinity_is_refused() -> None:
    doc = collection(
        feature("v1", altitude_lower=altitude(1e306, "FL", None), altitude_upper=altitude(1e307, "FL", None))
    )
    problems_of(doc)


def test_integer_literal_too_long_for_python_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "digits.geojson"
    text = json.dumps(collection(feature("v1"))).replace('"value": 0', '"value": ' + "1" * 5000)
    path.write_text(text)
    with pytest.raises(InputError, match="digits"):
        read_volumes(path)
