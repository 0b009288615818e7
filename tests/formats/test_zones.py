"""ED-269 and ED-318 geographical zones: the samples, published deviations, hostile variants."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deconflict.errors import InputError
from deconflict.formats import detect_format, read_plan, read_plan_or_zones
from deconflict.formats.ed269 import parse_ed269
from deconflict.formats.ed318 import parse_ed318
from deconflict.formats.zones import parse_zones, zone_format
from deconflict.strategic.limits import Limits
from deconflict.strategic.zones import ZoneRestriction, applicable_windows
from deconflict.units import AltitudeReference

DATA = Path(__file__).parents[1] / "data" / "zones"
ED269 = DATA / "levant_ed269.json"
ED318 = DATA / "levant_ed318.json"
DEVIATIONS = DATA / "deviations_ed269.json"
INTERUSS_CHE = DATA / "interuss_che_cis_source_sample_ed269.json"  # published, Apache-2.0
INTERUSS_CHE_ED318 = DATA / "interuss_che_cis_source_sample_ed318.json"  # published, Apache-2.0


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _zone(**changes: Any) -> dict[str, Any]:
    """LX001 of the ED-269 sample with ``changes`` (a value ``...`` deletes the key)."""
    zone = copy.deepcopy(_load(ED269)["features"][0])
    for key, value in changes.items():
        if value is ...:
            del zone[key]
        else:
            zone[key] = value
    return zone


def _layer(**changes: Any) -> dict[str, Any]:
    layer = copy.deepcopy(_zone()["geometry"][0])
    for key, value in changes.items():
        if value is ...:
            del layer[key]
        else:
            layer[key] = value
    return layer


def _problems(document: object, reader: Any = parse_ed269) -> list[str]:
    with pytest.raises(InputError) as info:
        reader(document, "zones.json")
    return [str(p) for p in info.value.problems]


def test_reads_the_ed269_sample() -> None:
    zones = parse_ed269(_load(ED269), str(ED269))
    assert [z.identifier for z in zones] == ["LX001", "LX002", "LX003", "LX004"]
    assert [str(z.restriction) for z in zones] == [
        "prohibited",
        "req_authorisation",
        "conditional",
        "no_restriction",
    ]
    lx001, lx002, lx003, _ = zones
    assert lx001.name == "Eastern plain air defence site"
    assert lx001.message == "No UAS flights: air defence activity"
    assert lx001.reasons == ("SENSITIVE",)
    authority = lx001.authorities[0]
    assert (authority.name, authority.email, authority.phone) == (
        "Sample Civil Aviation Authority",
        "uas@caa.example",
        "+000 555 0100",
    )
    [layer] = lx001.layers
    assert layer.footprint.is_circle and layer.footprint.radius_m == 5000.0
    assert (layer.footprint.centre_lon_deg, layer.footprint.centre_lat_deg) == (40.05, 35.3)
    assert (layer.lower.value_m, layer.lower.reference) == (0.0, AltitudeReference.AGL)
    assert (layer.upper.value_m, layer.upper.reference) == (3000.0, AltitudeReference.MSL)
    # FT converted; the polygon as written ([lon, lat]).
    assert lx002.layers[0].upper.value_m == pytest.approx(7620.0)
    assert lx002.layers[0].footprint.shape.bounds == (38.8, 35.95, 39.1, 36.15)
    [period] = lx002.applicability[0].schedule
    assert (period.weekdays, period.start_s, period.end_s, period.utc_offset_s) == (
        frozenset(range(5)),
        8 * 3600.0,
        16 * 3600.0,
        3 * 3600.0,
    )
    assert lx003.conditions == "Notify the authority 24 h before"
    jan = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert applicable_windows(lx003.applicability, jan, jan + 30 * 86_400) == [
        (jan + 86_400, jan + 4 * 86_400)
    ]


def test_ed318_sample_reads_as_the_same_zones() -> None:
    ed269, ed318 = parse_ed269(_load(ED269), "a"), parse_ed318(_load(ED318), "b")
    for old, new in zip(ed269[:2], ed318, strict=True):
        assert (new.identifier, new.restriction, new.name, new.reasons) == (
            old.identifier,
            old.restriction,
            old.name,
            old.reasons,
        )
        assert [(a.lower, a.upper) for a in new.layers] == [(b.lower, b.upper) for b in old.layers]
        assert new.layers[0].footprint.shape.equals(old.layers[0].footprint.shape)
    # Texts: the English one of several languages; a missing limitedApplicability is at all times.
    assert ed318[0].name == "Eastern plain air defence site"
    assert ed318[0].applicability == ()
    assert ed318[1].applicability[0].schedule == ed269[1].applicability[0].schedule
    assert ed318[0].authorities[0].purpose == "AUTHORIZATION"


def test_the_formats_are_told_apart_by_content() -> None:
    assert zone_format(_load(ED269)) == "ed269"
    assert zone_format(_load(ED318)) == "ed318"
    assert zone_format(_load(DEVIATIONS)) == "ed269"
    assert zone_format([_zone()]) == "ed269"
    assert zone_format(_zone()) == "ed269"
    assert zone_format({"type": "FeatureCollection", "features": []}) is None
    plan = Path(__file__).parents[2] / "src" / "deconflict" / "data" / "examples" / "blue.geojson"
    assert zone_format(_load(plan)) is None
    assert detect_format(_load(ED318), "x").name == "ed318"
    assert detect_format(_load(ED269), "x").name == "ed269"


def test_published_deviations_are_accepted_when_unambiguous() -> None:
    [zone] = parse_zones(_load(DEVIATIONS), str(DEVIATIONS))
    assert zone.identifier == "LXLONGID01"  # more than the standard's 7 characters
    assert len(zone.name or "") > 90
    assert zone.applicability[0].schedule == ()  # an empty dailyPeriod: no schedule
    [layer] = zone.layers
    assert (layer.lower.value_m, layer.lower.reference) == (0.0, AltitudeReference.AGL)  # "0"
    assert (layer.upper.value_m, layer.upper.reference) == (100_000.0, AltitudeReference.MSL)  # no limit
    assert layer.footprint.shape.bounds == (39.85, 35.15, 39.95, 35.25)  # the open ring closed
    assert (
        zone.authorities[0].contact()
        == "Sample city, Supervisor, admin@city.example, 000555, https://city.example/contact"
    )


def test_the_swiss_sample_of_interuss_is_read_as_published() -> None:
    document = _load(INTERUSS_CHE)
    assert zone_format(document) == "ed269"
    [zone] = parse_zones(document, str(INTERUSS_CHE))
    assert (zone.identifier, zone.country, zone.name) == ("LSXX", "CHE", "LSXX City Sample")
    assert zone.restriction is ZoneRestriction.REQ_AUTHORISATION
    [applicability] = zone.applicability
    assert applicability.schedule == ()  # permanent, with an empty dailyPeriod
    [layer] = zone.layers
    assert (layer.lower.value_m, layer.lower.reference) == (0.0, AltitudeReference.AGL)  # "0"
    assert (layer.upper.value_m, layer.upper.reference) == (100_000.0, AltitudeReference.MSL)  # null
    lon0, lat0, lon1, lat1 = layer.footprint.shape.bounds
    assert (lon0, lat0) == (6.166485701899006, 46.212280093834295)  # lon/lat as GeoJSON, near Geneva
    assert (lon1, lat1) == (6.170816070746923, 46.21802321032931)
    assert "admin@example.interuss.org" in zone.authorities[0].contact()


def test_the_swiss_ed318_sample_of_interuss_is_read_as_published() -> None:
    document = _load(INTERUSS_CHE_ED318)
    assert zone_format(document) == "ed318"
    zones = parse_zones(document, str(INTERUSS_CHE_ED318))
    assert [(zone.identifier, zone.country) for zone in zones] == [
        ("LSZB003", "CHE"),
        ("BLns058", "CHE"),
        ("LSTB002", "CHE"),
    ]
    bern = zones[0]
    assert bern.name == "LSZB Bern-Belp 2"  # the en-GB text of four languages
    assert bern.restriction is ZoneRestriction.REQ_AUTHORISATION  # published as REQ_AUTHORIZATION
    assert bern.applicability == ()  # no applicability: always
    [layer] = bern.layers
    assert (layer.lower.value_m, layer.lower.reference) == (60.0, AltitudeReference.AGL)
    assert (layer.upper.value_m, layer.upper.reference) == (99_999.0, AltitudeReference.AGL)
    lon0, lat0, lon1, lat1 = layer.footprint.shape.bounds
    assert 7.4 < lon0 < lon1 < 7.6 and 46.8 < lat0 < lat1 < 47.0  # lon/lat as GeoJSON, at Bern
    assert "Skyguide" in bern.authorities[0].contact()


def test_missing_limits_and_applicability_take_the_zone_as_large_as_it_can_be() -> None:
    [zone] = parse_ed269([_zone(applicability=..., geometry=[_layer(lowerLimit=..., upperLimit=...)])], "z")
    assert zone.applicability == ()
    assert (zone.layers[0].lower.value_m, zone.layers[0].upper.value_m) == (0.0, 100_000.0)


def test_a_ring_without_its_list_and_a_day_without_its_list_are_read() -> None:
    ring = [[40.0, 35.0], [40.1, 35.0], [40.1, 35.1], [40.0, 35.0]]
    zone = _zone(
        geometry=[_layer(horizontalProjection={"type": "Polygon", "coordinates": ring})],
        applicability=[
            {"permanent": "YES", "schedule": [{"day": "SAT", "startTime": "08:00", "endTime": "09:00"}]}
        ],
    )
    [read] = parse_ed269([zone], "z")
    assert read.layers[0].footprint.shape.bounds == (40.0, 35.0, 40.1, 35.1)
    assert read.applicability[0].schedule[0].weekdays == frozenset({5})


def test_american_spelling_and_lower_case_are_read() -> None:
    [zone] = parse_ed269([_zone(restriction="req_authorization", geometry=[_layer(uomDimensions="ft")])], "z")
    assert zone.restriction is ZoneRestriction.REQ_AUTHORISATION
    assert zone.layers[0].upper.value_m == pytest.approx(914.4)


def test_lat_lon_swapped_is_read_when_the_file_shows_it() -> None:
    # Near Vladivostok: longitude 131.9 beyond 90 proves [lat, lon].
    ring = [[43.1, 131.9], [43.2, 131.9], [43.2, 132.0], [43.1, 131.9]]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    circle = {"type": "Circle", "center": [43.15, 131.95], "radius": 100}
    zones = parse_ed269(
        [
            _zone(identifier="A", geometry=[_layer(horizontalProjection=polygon)]),
            _zone(identifier="B", geometry=[_layer(horizontalProjection=circle)]),
        ],
        "z",
    )
    assert zones[0].layers[0].footprint.shape.bounds == (131.9, 43.1, 132.0, 43.2)
    assert zones[1].layers[0].footprint.centre_lon_deg == 131.95


def test_both_orders_in_one_file_are_refused() -> None:
    swapped = {"type": "Circle", "center": [43.15, 131.95], "radius": 100}
    right = {"type": "Circle", "center": [131.95, 43.15], "radius": 100}
    straight = {"type": "Circle", "center": [132.0, 43.0], "radius": 100}
    problems = _problems(
        [
            _zone(identifier="A", geometry=[_layer(horizontalProjection=right)]),
            _zone(identifier="B", geometry=[_layer(horizontalProjection=straight)]),
            _zone(identifier="C", geometry=[_layer(horizontalProjection=swapped)]),
        ]
    )
    assert problems == [
        "zones.json: feature 2 (C): geometry[0].horizontalProjection: positions are [lat, lon] here, "
        "the other order elsewhere in the file: refused, as the order of the rest cannot be trusted either"
    ]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (
            _zone(restriction="FORBIDDEN"),
            'feature 0 (LX001): restriction: unknown restriction "FORBIDDEN" (expected one of PROHIBITED, '
            "REQ_AUTHORISATION, REQ_AUTHORIZATION, CONDITIONAL, NO_RESTRICTION)",
        ),
        (_zone(identifier=...), "feature 0: identifier: missing"),
        (
            _zone(geometry=[_layer(uomDimensions="NM")]),
            'feature 0 (LX001): geometry[0].uomDimensions: unknown unit "NM" (expected one of M, FT)',
        ),
        (
            _zone(geometry=[_layer(lowerVerticalReference="SFC")]),
            'feature 0 (LX001): geometry[0].lowerVerticalReference: unknown reference "SFC" '
            "(expected one of AGL, AMSL, MSL, WGS84)",
        ),
        (
            _zone(geometry=[_layer(lowerLimit=5000, lowerVerticalReference="AMSL")]),
            "feature 0 (LX001): geometry[0].lowerLimit: lower limit 5000 m is not below upper limit 3000 m",
        ),
        (
            _zone(geometry=[_layer(upperLimit="high")]),
            'feature 0 (LX001): geometry[0].upperLimit: must be a number, got "high"',
        ),
        (_zone(geometry=[]), "feature 0 (LX001): geometry: no airspace volume (an empty list)"),
        (
            _zone(
                geometry=[
                    _layer(horizontalProjection={"type": "Circle", "center": [40.0, 35.0], "radius": -5})
                ]
            ),
            "feature 0 (LX001): geometry[0].horizontalProjection.radius: must be positive and at most "
            "2e+06 m, got -5",
        ),
        (
            _zone(
                geometry=[
                    _layer(horizontalProjection={"type": "Polygon", "coordinates": [[[40, 35], [41, 35]]]})
                ]
            ),
            "feature 0 (LX001): geometry[0].horizontalProjection: "
            "a ring needs at least 3 distinct positions, got 2",
        ),
        (
            _zone(
                geometry=[
                    _layer(horizontalProjection={"type": "Polygon", "coordinates": [[[400, 35], [41, 35]]]})
                ]
            ),
            "feature 0 (LX001): geometry[0].horizontalProjection.coordinates[0][0]: [400, 35] is no position "
            "on Earth in either order",
        ),
        (
            _zone(geometry=[_layer(horizontalProjection={"type": "LineString", "coordinates": []})]),
            'feature 0 (LX001): geometry[0].horizontalProjection.type: unknown projection "LineString" '
            "(expected one of CIRCLE, POLYGON)",
        ),
        (
            _zone(applicability=[{"permanent": "NO"}]),
            "feature 0 (LX001): applicability[0]: a temporary applicability (permanent NO) needs a "
            "startDateTime or an endDateTime",
        ),
        (
            _zone(
                applicability=[
                    {
                        "permanent": "NO",
                        "startDateTime": "2026-01-05T00:00:00Z",
                        "endDateTime": "2026-01-02T00:00:00Z",
                    }
                ]
            ),
            "feature 0 (LX001): applicability[0].endDateTime: is not after startDateTime",
        ),
        (
            _zone(applicability=[{"permanent": "NO", "startDateTime": "yesterday"}]),
            "feature 0 (LX001): applicability[0].startDateTime: not an ISO 8601 date and time "
            '(e.g. 2026-01-01T12:00:00Z): "yesterday"',
        ),
        (
            _zone(applicability=[{"permanent": "NO", "startDateTime": "2026-02-30T00:00"}]),
            "feature 0 (LX001): applicability[0].startDateTime: "
            'not an ISO 8601 date and time "2026-02-30T00:00": day is out of range for month',
        ),
        (
            _zone(applicability=[{"permanent": "YES", "schedule": [{"day": [], "startTime": "08:00"}]}]),
            "feature 0 (LX001): applicability[0].schedule[0].day: "
            "needs at least one day (MON..SUN or ANY), got []",
        ),
        (
            _zone(applicability=[{"permanent": "YES", "schedule": [{"day": ["MON"], "startTime": "8h"}]}]),
            "feature 0 (LX001): applicability[0].schedule[0].startTime: "
            'must be a time hh:mm, hh:mm:ss or with an offset (08:00+01:00), got "8h"',
        ),
        (
            _zone(applicability=[{"permanent": "YES", "schedule": [{"day": ["MON"], "startTime": "25:00"}]}]),
            'feature 0 (LX001): applicability[0].schedule[0].startTime: not a time of day: "25:00"',
        ),
        (
            _zone(applicability=[{"permanent": "YES", "schedule": [{"day": ["MO"]}]}]),
            'feature 0 (LX001): applicability[0].schedule[0].day[0]: unknown day "MO" '
            "(expected one of MON, TUE, WED, THU, FRI, SAT, SUN)",
        ),
        (
            _zone(geometry=[_layer(upperLimit=10**6)]),
            "feature 0 (LX001): geometry[0].upperLimit: 1e+06 m is not a plausible altitude "
            "(plausible: -1000 m to 100000 m)",
        ),
        (_zone(reason="SENSITIVE"), 'feature 0 (LX001): reason: must be a list, got "SENSITIVE"'),
        (_zone(message=42), "feature 0 (LX001): message: must be a string, got 42"),
    ],
)
def test_hostile_ed269_names_the_feature_and_field(zone: dict[str, Any], expected: str) -> None:
    assert _problems({"features": [zone]}) == [f"zones.json: {expected}"]


def test_every_problem_of_a_file_is_reported_and_duplicates_refused() -> None:
    problems = _problems([_zone(), _zone(), _zone(identifier="X", country=3)])
    assert problems == [
        "zones.json: feature 1 (LX001): identifier: duplicate identifier (also feature 0)",
        "zones.json: feature 2 (X): country: must be a string, got 3",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"features": []}, "zones.json: features: no zones (an empty list)"),
        ({"features": {}}, "zones.json: features: must be a list of zones, got {}"),
        ("zones", 'zones.json: must be an ED-269 object of features, got "zones"'),
        ([3], "zones.json: feature 0: must be an object (a UASZoneVersion), got 3"),
    ],
)
def test_hostile_ed269_documents(document: object, expected: str) -> None:
    assert _problems(document) == [expected]


def _feature(**geometry: Any) -> dict[str, Any]:
    feature = copy.deepcopy(_load(ED318)["features"][0])
    feature["geometry"] = geometry or feature["geometry"]
    return feature


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (
            _feature(type="Point", coordinates=[40.0, 35.0]),
            "feature 0 (LX001): geometry.extent: must be an object (a circle "
            '{"subType": "Circle", "radius": ...}), got null',
        ),
        (
            _feature(type="LineString", coordinates=[[40, 35], [41, 35]]),
            'feature 0 (LX001): geometry.type: "LineString" is not read '
            "(a zone is a Polygon, MultiPolygon or circle)",
        ),
        (
            _feature(
                type="Polygon",
                coordinates=[[[40, 35], [41, 35], [41, 36], [40, 35]]],
                layer={
                    "lower": 0,
                    "lowerReference": "AGL",
                    "upper": 100,
                    "upperReference": "AGL",
                    "uom": "yd",
                },
            ),
            'feature 0 (LX001): geometry.layer.uom: unknown unit "yd" (expected one of M, FT)',
        ),
    ],
)
def test_hostile_ed318_names_the_feature_and_field(feature: dict[str, Any], expected: str) -> None:
    document = {"type": "FeatureCollection", "features": [feature]}
    assert _problems(document, parse_ed318) == [f"zones.json: {expected}"]


def test_ed318_refuses_schedules_by_sunrise_and_reads_multipolygons_without_a_layer() -> None:
    document = _load(ED318)
    props = document["features"][1]["properties"]
    props["limitedApplicability"] = [{"schedule": [{"day": ["ANY"], "startEvent": "SR", "endTime": "12:00"}]}]
    assert _problems(document, parse_ed318) == [
        "zones.json: feature 1 (LX002): properties.limitedApplicability[0].schedule[0].startEvent: "
        'schedules by sunrise, sunset or twilight ("SR") are not read'
    ]
    square = [[[40, 35], [40.1, 35], [40.1, 35.1], [40, 35.1], [40, 35]]]
    other = [[[41, 35], [41.1, 35], [41.1, 35.1], [41, 35.1], [41, 35]]]
    [zone] = parse_ed318(
        {
            "type": "FeatureCollection",
            "features": [_feature(type="MultiPolygon", coordinates=[square, other])],
        },
        "z",
    )
    assert len(zone.layers) == 2
    assert (zone.layers[0].lower.value_m, zone.layers[0].upper.value_m) == (0.0, 100_000.0)


def test_read_plan_gives_zone_volumes_over_ninety_days(tmp_path: Path) -> None:
    volumes = read_plan(ED269)
    lx003 = [v for v in volumes if v.operation == "LX003"]
    # LX003's dates start the horizon: the same volumes any day.
    assert [(v.id, v.party, v.time_start_s, v.time_end_s) for v in lx003] == [
        ("LX003/0/0", "levant_ed269", 1767312000.0, 1767571200.0)
    ]
    lx002 = [v for v in volumes if v.operation == "LX002"]
    # Working days from Friday 2 January to Wednesday 1 April (90 days), 05:00-13:00 UTC.
    assert len(lx002) == 64
    assert (lx002[0].time_start_s, lx002[0].time_end_s) == (1767330000.0, 1767358800.0)


def test_zone_volumes_over_the_horizon_have_a_limit() -> None:
    with pytest.raises(InputError) as info:
        read_plan(ED269, limits=Limits(max_volumes_per_file=50))
    assert str(info.value) == f"{ED269}: the zones make 66 volumes over 90 days, more than the limit of 50"


def test_read_plan_or_zones_keeps_the_zones_and_refuses_a_plan_as_zones() -> None:
    fmt, volumes, zones = read_plan_or_zones(ED318)
    assert (fmt.name, volumes, [z.identifier for z in zones]) == ("ed318", [], ["LX001", "LX002"])
    plan = Path(__file__).parents[2] / "src" / "deconflict" / "data" / "examples" / "blue.geojson"
    with pytest.raises(InputError, match="not a geographical zone file"):
        read_plan_or_zones(plan, zones_only=True)
    fmt, volumes, zones = read_plan_or_zones(plan)
    assert (fmt.name, len(volumes), zones) == ("geojson", 4, [])


def test_bad_encoding_and_size_are_refused_whole(tmp_path: Path) -> None:
    utf16 = tmp_path / "zones.json"
    utf16.write_bytes(DEVIATIONS.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(InputError, match=r"not UTF-8 text .*UTF-16"):
        read_plan_or_zones(utf16)
    with pytest.raises(InputError, match="more than the limit of 1000"):
        read_plan_or_zones(ED269, Limits(max_file_bytes=1000))
