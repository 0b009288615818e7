"""ICAO NOTAM: real NOTAMs read, hostile ones refused, operations written and read back only wider."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InputError
from deconflict.formats import read_plan, write_plan
from deconflict.formats.notam import (
    DEFAULT_HORIZON_S,
    format_dms,
    notam_volumes,
    operation_notam,
    parse_notams,
)
from deconflict.geometry.geodesy import distance_m
from deconflict.strategic.conflicts import find_conflicts
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.units import FL_TO_M, NM_TO_M, Altitude, AltitudeReference
from tests.builders import T0_S, box, circle, polygon, volume
from tests.strategic.strategies import Case, cases

DATA = Path(__file__).parents[1] / "data" / "notam"


def _utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


def _problems(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(InputError) as info:
        notam_volumes(text, "n.txt", "blue", **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


GOOD = """(A0012/26 NOTAMN
Q) LCCC/QRTCA/IV/BO/W/000/050/3500N03600E005
A) LCCC B) 2601011200 C) 2601011300
E) TEMPORARY RESTRICTED AREA.
F) SFC G) 5000FT AMSL)
"""


# --------------------------------------------------------------------------- real NOTAMs


def test_a_polygon_in_item_e_with_metres_amsl() -> None:
    [v] = read_plan(DATA / "ulll_q0338_25_polygon.txt")
    assert (v.id, v.party, v.operation) == ("Q0338-25/0", "ulll_q0338_25_polygon", "Q0338-25")
    assert v.footprint.shape.geom_type == "Polygon" and len(v.footprint.shape.exterior.coords) == 4
    corner = (30 + 12 / 60 + 29 / 3600, 59 + 58 / 60 + 35 / 3600)
    assert v.footprint.shape.exterior.coords[0] == pytest.approx(corner)
    assert (v.lower, v.upper) == (
        Altitude(0.0, AltitudeReference.AGL),
        Altitude(100.0, AltitudeReference.MSL),
    )
    assert (v.time_start_s, v.time_end_s) == (_utc("2025-09-13 07:00"), _utc("2025-09-13 16:50"))


def test_a_circle_in_item_e_in_kilometres() -> None:
    [v] = read_plan(DATA / "ulll_q1233_25_circle.txt")
    fp = v.footprint
    assert (fp.centre_lon_deg, fp.centre_lat_deg, fp.radius_m) == (40.25, 61 + 28 / 60, 5000.0)
    assert v.upper == Altitude(150.0, AltitudeReference.MSL)


def test_a_daily_schedule_is_one_volume_a_day() -> None:
    volumes = read_plan(DATA / "ulll_q1491_25_daily.txt")
    assert [(v.time_start_s, v.time_end_s) for v in volumes] == [
        (_utc(f"2025-09-{day:02d} 06:01"), _utc(f"2025-09-{day:02d} 16:59")) for day in range(5, 11)
    ]
    assert volumes[0].upper == Altitude(100 * FL_TO_M, AltitudeReference.STD)
    assert [v.id for v in volumes] == [f"Q1491-25/{i}" for i in range(6)]


def test_a_corridor_is_not_read_the_q_line_circle_covers_it() -> None:
    volumes = read_plan(DATA / "ulll_q1423_25_corridor.txt")
    assert len(volumes) == 5  # D) 08-12 0700-1659
    fp = volumes[0].footprint
    assert (fp.centre_lon_deg, fp.centre_lat_deg, fp.radius_m) == pytest.approx(
        (32 + 41 / 60, 60 + 4 / 60, 34 * NM_TO_M)
    )
    # The corridor's end points are inside the Q-line's circle.
    ends = np.array([[32 + 19 / 60 + 29 / 3600, 60.0], [33 + 44 / 60 + 17 / 3600, 60 + 14 / 60]])
    assert (distance_m(fp.centre_lon_deg, fp.centre_lat_deg, ends[:, 0], ends[:, 1]) < fp.radius_m).all()


def test_several_areas_in_item_e_are_one_footprint_and_f_g_the_band() -> None:
    volumes = read_plan(DATA / "ulll_q1654_25_areas.txt")
    assert len(volumes) == 6
    shape = volumes[0].footprint.shape
    assert shape.geom_type == "MultiPolygon"
    assert shape.covers(shapely.Point(30 + 36 / 60, 60 + 5 / 60))  # inside area 1
    assert volumes[0].lower == Altitude(0.0, AltitudeReference.AGL)
    assert volumes[0].upper == Altitude(200 * FL_TO_M, AltitudeReference.STD)


def test_two_notams_with_hemisphere_first_positions_and_unlimited() -> None:
    notams = parse_notams((DATA / "zsha_a4703_26_polygon.txt").read_text(encoding="utf-8"), "z", "authority")
    assert [(n.id, n.kind, len(n.volumes)) for n in notams] == [("A4703/26", "N", 1), ("A4705/26", "N", 1)]
    v = notams[0].volumes[0]
    assert v.upper == Altitude(660 * FL_TO_M, AltitudeReference.STD)  # UNL: the highest flight level
    assert v.footprint.shape.covers(shapely.Point(116.9, 23.3))
    assert (v.time_start_s, v.time_end_s) == (_utc("2026-09-17 23:30"), _utc("2026-09-18 03:30"))


def test_a_multi_part_notam_is_joined() -> None:
    volumes = read_plan(DATA / "multipart_constructed.txt")
    assert len(volumes) == 6
    assert len(volumes[0].footprint.shape.geoms) == 2
    assert volumes[0].upper == Altitude(200 * FL_TO_M, AltitudeReference.STD)
    # The whole text, told from its content, is a NOTAM to check.
    text = (DATA / "multipart_constructed.txt").read_text(encoding="utf-8")
    cut = text[: text.index("(Q1654/25", 10)]
    assert _problems(cut) == ["n.txt: NOTAM Q1654/25: multi-part NOTAM incomplete: part 2 of 2 missing"]


# --------------------------------------------------------------------------- what is read


def test_replacement_cancellation_perm_and_est() -> None:
    replaced = GOOD + GOOD.replace("A0012/26 NOTAMN", "A0013/26 NOTAMR A0012/26").replace("005\n", "009\n")
    [v] = notam_volumes(replaced, "n.txt", "blue")
    assert (v.operation, v.footprint.radius_m) == ("A0013-26", 9 * NM_TO_M)
    cancelled = (
        GOOD
        + "(A0014/26 NOTAMC A0012/26\nQ) LCCC/QRTCA/IV/BO/W/000/050/3500N03600E005\nA) LCCC B) 2601011230)"
    )
    notams = parse_notams(cancelled, "n.txt", "blue")
    assert [(n.id, n.kind, n.refers_to, len(n.volumes)) for n in notams] == [
        ("A0012/26", "N", None, 1),
        ("A0014/26", "C", "A0012/26", 0),
    ]
    assert _problems(cancelled) == ["n.txt: NOTAMC A0014/26 cancels A0012/26: a cancellation has no volumes"]
    [perm] = notam_volumes(GOOD.replace("C) 2601011300", "C) PERM"), "n.txt", "blue")
    assert perm.time_end_s - perm.time_start_s == DEFAULT_HORIZON_S
    [week] = notam_volumes(GOOD.replace("C) 2601011300", "C) PERM"), "n.txt", "b", horizon_s=7 * 86_400.0)
    assert week.time_end_s == _utc("2026-01-08 12:00")
    [est] = notam_volumes(GOOD.replace("C) 2601011300", "C) 2601011300EST"), "n.txt", "blue")
    assert est.time_end_s == _utc("2026-01-01 13:00")


@pytest.mark.parametrize(
    ("schedule", "windows"),
    [
        ("DAILY 0800-0900", [("01 12:00", "01 13:00")]),  # clipped to B and C
        ("MON-FRI 2200-0200", [("01 22:00", "02 02:00"), ("02 22:00", "03 02:00")]),
        ("JAN 02 1000-1100 1400-1500", [("02 10:00", "02 11:00"), ("02 14:00", "02 15:00")]),
        ("02-03 0600-0700", [("02 06:00", "02 07:00"), ("03 06:00", "03 07:00")]),
        ("JAN 02 2300-JAN 03 0100, 03 0800-0900", [("02 23:00", "03 01:00"), ("03 08:00", "03 09:00")]),
        ("BTN 0800-0900 DLY", [("02 08:00", "02 09:00"), ("03 08:00", "03 09:00")]),
    ],
)
def test_schedules(schedule: str, windows: list[tuple[str, str]]) -> None:
    text = GOOD.replace("C) 2601011300", f"C) 2601032359\nD) {schedule}").replace(
        "B) 2601011200", "B) 2601011200"
    )
    volumes = notam_volumes(text, "n.txt", "blue")
    expected = [(_utc(f"2026-01-{a}"), _utc(f"2026-01-{b}")) for a, b in windows]
    if schedule.startswith("DAILY"):
        expected = [
            (_utc("2026-01-02 08:00"), _utc("2026-01-02 09:00")),
            (_utc("2026-01-03 08:00"), _utc("2026-01-03 09:00")),
        ]
    assert [(v.time_start_s, v.time_end_s) for v in volumes] == expected


def test_limits_and_the_q_line_band_when_f_and_g_are_missing() -> None:
    cases = {
        "F) GND G) FL095": (
            Altitude(0.0, AltitudeReference.AGL),
            Altitude(95 * FL_TO_M, AltitudeReference.STD),
        ),
        "F) 1000FT AGL G) 400M AMSL": (
            Altitude(304.8, AltitudeReference.AGL),
            Altitude(400.0, AltitudeReference.MSL),
        ),
        "F) FL100 G) UNL": (
            Altitude(100 * FL_TO_M, AltitudeReference.STD),
            Altitude(660 * FL_TO_M, AltitudeReference.STD),
        ),
        "": (Altitude(0.0, AltitudeReference.AGL), Altitude(50 * FL_TO_M, AltitudeReference.STD)),
    }
    for items, (lower, upper) in cases.items():
        [v] = notam_volumes(GOOD.replace("F) SFC G) 5000FT AMSL", items), "n.txt", "blue")
        assert (v.lower, v.upper) == (lower, upper), items


def test_text_in_radius_first_order() -> None:
    text = GOOD.replace("TEMPORARY RESTRICTED AREA.", "AEROBATICS 2NM RADIUS CENTRED ON 483052N 0092008E.")
    [v] = notam_volumes(text, "n.txt", "blue")
    assert (v.footprint.radius_m, v.footprint.centre_lat_deg) == (
        2 * NM_TO_M,
        pytest.approx(48 + 30 / 60 + 52 / 3600),
    )
    text = GOOD.replace("TEMPORARY RESTRICTED AREA.", "PSN 3500N03600E - 3510N03600E - 3510N03610E.")
    [v] = notam_volumes(text, "n.txt", "blue")
    assert v.footprint.shape.covers(shapely.Point(36.02, 35.05))


# --------------------------------------------------------------------------- hostile NOTAMs


def test_hostile_notams_name_the_notam_and_the_item() -> None:
    assert _problems(GOOD.replace("Q) LCCC/QRTCA/IV/BO/W/000/050/3500N03600E005\n", "")) == [
        "n.txt: NOTAM A0012/26: Q): missing: a NOTAM without a Q-line has no position to read"
    ]
    assert _problems(GOOD.replace("3500N03600E005", "3599N03600E005")) == [
        "n.txt: NOTAM A0012/26: Q) centre and radius: "
        "position '3599N03600E': minutes and seconds must be below 60"
    ]
    assert _problems(GOOD.replace("/000/050/", "/000/5O/")) == [
        "n.txt: NOTAM A0012/26: Q) upper: '5O' is not a valid upper"
    ]
    bad_e = GOOD.replace(
        "TEMPORARY RESTRICTED AREA.", "AREA 356200N 0360000E - 351000N 0360000E - 351000N 0361000E."
    )
    assert _problems(bad_e) == [
        "n.txt: NOTAM A0012/26: E): position '356200N 0360000E': minutes and seconds must be below 60"
    ]
    assert _problems(GOOD.replace("C) 2601011300", "C) 2601011100")) == [
        "n.txt: NOTAM A0012/26: C): 2601011100 is not after B) 2601011200"
    ]
    assert _problems(GOOD.replace("C) 2601011300", "C) 2601011300\nD) SR-SS")) == [
        "n.txt: NOTAM A0012/26: D): cannot read the schedule 'SR-SS' (read: DAILY, weekdays, dates and "
        "HHMM-HHMM times; not sunrise/sunset or EXC)"
    ]
    assert _problems(GOOD.replace("B) 2601011200", "B) 2613011200")) == [
        "n.txt: NOTAM A0012/26: B): '2613011200' is not a time yyMMddHHmm (UTC): month must be in 1..12"
    ]
    assert _problems(GOOD.replace("G) 5000FT AMSL", "G) 5000 KM")) == [
        "n.txt: NOTAM A0012/26: G): '5000 KM' is not a limit "
        "(SFC, GND, UNL, FLnnn, nnnnFT AMSL or AGL, nnnM AMSL)"
    ]
    assert _problems(GOOD.replace("F) SFC", "F) FL100").replace("G) 5000FT AMSL", "G) FL050")) == [
        "n.txt: NOTAM A0012/26: F): lower 'FL100' is not below upper 'FL050'"
    ]
    assert _problems("nothing to see here") == [
        "n.txt: no NOTAM found: expected a header such as 'A1234/26 NOTAMN' and items Q) to G)"
    ]
    # A part number run into a time is not a part of a billion: the time is wrong.
    assert _problems(GOOD.replace("C) 2601011300", "C) PART 2 OF 32601011300")) == [
        "n.txt: NOTAM A0012/26: C): 'PART 2 OF 32601011300' is not a time yyMMddHHmm (UTC)"
    ]
    assert _problems(GOOD.replace("NOTAMN", "NOTAMR")) == [
        "n.txt: NOTAM A0012/26: NOTAMR must name the NOTAM it replaces"
    ]


def test_hostile_files(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes(GOOD.replace("TEMPORARY", "ZONE RÉGLEMENTÉE").encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.txt: not UTF-8 text \(byte \d+\)"):
        read_plan(latin)
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16 or UTF-32"):
        read_plan(utf16)
    # Named, a file that is not NOTAM text says so.
    junk = tmp_path / "junk.txt"
    junk.write_text('{"type": "FeatureCollection"}', encoding="utf-8")
    with pytest.raises(InputError, match=r"junk\.txt: no NOTAM found"):
        read_plan(junk, "notam")


def test_10_mb_of_text_is_read_in_linear_time(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    filler = "NO AREA HERE 1234 ABCD. " * (10 * 1024 * 1024 // 24)
    big.write_text(GOOD.replace("TEMPORARY RESTRICTED AREA.", filler), encoding="utf-8")
    assert big.stat().st_size > 10 * 1024 * 1024
    started = time.perf_counter()
    [v] = read_plan(big)
    assert v.footprint.radius_m == 5 * NM_TO_M
    assert time.perf_counter() - started < 20.0
    many = tmp_path / "many.txt"
    many.write_text(GOOD * 11, encoding="utf-8")
    with pytest.raises(InputError, match=r"many\.txt: 11 NOTAMs, more than the limit of 10"):
        read_plan(many, limits=Limits(max_volumes_per_file=10))


# --------------------------------------------------------------------------- writing


def test_a_box_is_written_as_a_polygon_with_a_daily_schedule() -> None:
    day = 86_400.0
    volumes = [
        volume(
            f"v{k}",
            "blue",
            box(36.0, 35.0, 36.2, 35.1),
            start_s=T0_S + k * day,
            end_s=T0_S + k * day + 3600.0,
            lower_m=0.0,
            upper_m=1200.0,
            reference="MSL",
            operation="op-1",
        )
        for k in range(3)
    ]
    text = operation_notam(volumes, fir="LCCC")
    lines = text.splitlines()
    assert lines[0] == "(A0001/26 NOTAMN"
    assert lines[2] == "A) LCCC B) 2601011200 C) 2601031300"
    assert lines[3] == "D) DAILY 1200-1300"
    assert lines[5].startswith("WI AREA 345959N 0355959E - ")
    assert lines[6] == "F) 0FT AMSL G) 3938FT AMSL)"
    read = notam_volumes(text, "n.txt", "blue")
    assert [(v.time_start_s, v.time_end_s) for v in read] == [(v.time_start_s, v.time_end_s) for v in volumes]
    assert read[0].footprint.shape.covers(volumes[0].footprint.shape)
    assert read[0].upper == Altitude(3938 * 0.3048, AltitudeReference.MSL)


def test_windows_at_different_hours_are_listed_and_w84_is_written_as_amsl() -> None:
    volumes = [
        volume(
            "a",
            "blue",
            circle(36.0, 35.0, 3000.0),
            start_s=T0_S,
            end_s=T0_S + 1800.0,
            reference="W84",
            lower_m=200.0,
            upper_m=300.0,
        ),
        volume(
            "b",
            "blue",
            circle(36.05, 35.0, 3000.0),
            start_s=T0_S + 86_400.0 + 7200.0,
            end_s=T0_S + 2 * 86_400.0,
            reference="W84",
            lower_m=200.0,
            upper_m=300.0,
        ),
    ]
    lines = operation_notam(volumes).splitlines()
    assert lines[1].startswith("Q) XXXX/QRTCA/IV/BO/W/")
    assert lines[3] == "D) JAN 01 1200-1230, JAN 02 1400-JAN 03 1200"
    assert lines[5].startswith("WI CIRCLE RADIUS ")
    assert lines[6] == "F) 374FT AMSL G) 1336FT AMSL)"  # 200 - 86 m, 300 + 107 m


def test_write_plan_and_bad_fir() -> None:
    v = volume("v", "blue", box(36.0, 35.0, 36.1, 35.1))
    assert write_plan([v], "notam", fir="LLLL").splitlines()[2].startswith("A) LLLL ")
    with pytest.raises(
        InputError, match="output: fir: FIR 'll' is not a four-letter ICAO location indicator"
    ):
        operation_notam([v], fir="ll")
    assert format_dms(-0.5, -0.25) == "001500S 0003000W"


def _circles(text: str) -> list[tuple[float, float, float]]:
    """(lon, lat, radius_m) of the Q-line's and item E's circles (when E has one)."""
    from deconflict.formats.notam.common import _dms_value

    q = text.splitlines()[1].split("/")[-1]
    found = [(*_dms_value(q[:11]), int(q[11:]) * NM_TO_M)]
    if "RADIUS" in text:
        e = text.split("WI CIRCLE RADIUS ")[1]
        radius_nm, rest = e.split("NM CENTRE ")
        found.append((*_dms_value(rest[:16]), float(radius_nm) * NM_TO_M))
    return found


@st.composite
def operations(draw: st.DrawFn) -> list[Volume]:
    """1 to 4 volumes of one operation: boxes, triangles and circles, anywhere but near the poles."""
    lon = draw(st.floats(-179.0, 179.0))
    lat = draw(st.floats(-75.0, 75.0))
    volumes = []
    for k in range(draw(st.integers(1, 4))):
        x = lon + draw(st.floats(-0.5, 0.5))
        y = lat + draw(st.floats(-0.5, 0.5))
        size = draw(st.floats(1e-3, 0.3))
        kind = draw(st.sampled_from(["box", "triangle", "circle"]))
        if kind == "circle":
            footprint = circle(x, y, draw(st.floats(10.0, 30_000.0)))
        elif kind == "box":
            footprint = box(x, y, x + size, y + size)
        else:
            footprint = polygon((x, y), (x + size, y), (x, y + size))
        start = T0_S + draw(st.integers(0, 3 * 86_400))
        reference = draw(st.sampled_from(["MSL", "W84", "AGL", "STD"]))
        lower = draw(st.floats(0.0, 3000.0))
        volumes.append(
            volume(
                f"v{k}",
                "blue",
                footprint,
                start_s=start,
                end_s=start + draw(st.integers(1, 36_000)),
                lower_m=lower,
                upper_m=lower + draw(st.floats(1.0, 3000.0)),
                reference=reference,
                operation="op",
            )
        )
    return volumes


@settings(max_examples=60, deadline=None)
@given(operations())
def test_the_circles_contain_every_vertex_and_the_band_every_bound(volumes: list[Volume]) -> None:
    text = operation_notam(volumes)
    for lon, lat, radius_m in _circles(text):
        for v in volumes:
            for part in getattr(v.footprint.shape, "geoms", [v.footprint.shape]):
                xy = np.asarray(part.exterior.coords)
                assert (distance_m(lon, lat, xy[:, 0], xy[:, 1]) <= radius_m).all()
            fp = v.footprint
            if fp.is_circle:
                assert distance_m(lon, lat, fp.centre_lon_deg, fp.centre_lat_deg) + fp.radius_m <= radius_m
    q_lower, q_upper = (int(f) for f in text.splitlines()[1].split("/")[5:7])
    for v in volumes:
        for bound in (v.lower, v.upper):
            if bound.reference is AltitudeReference.STD:
                assert q_lower * FL_TO_M <= bound.value_m <= q_upper * FL_TO_M
    read = notam_volumes(text, "n.txt", "blue")
    for v in volumes:
        assert any(r.time_start_s <= v.time_start_s and v.time_end_s <= r.time_end_s for r in read)


@settings(max_examples=40, deadline=None)
@given(cases(reference="MSL") | cases(reference="STD") | cases(reference="AGL") | cases(reference="W84"))
def test_read_back_a_notam_conflicts_with_everything_the_operation_did(case: Case) -> None:
    """Each party's volumes as one operation, written to NOTAM and read back: every conflict survives."""
    before = find_conflicts(case.volumes)
    for party in sorted({v.party for v in case.volumes}):
        own = [v for v in case.volumes if v.party == party]
        others = [v for v in case.volumes if v.party != party]
        read = notam_volumes(operation_notam(own), "n.txt", party)
        after = find_conflicts(others + read)
        for c in (c for c in before if party in (c.party_a, c.party_b)):
            other_id = c.b if c.party_a == party else c.a
            assert any(
                other_id in (d.a, d.b) and d.time_start_s <= c.time_start_s and c.time_end_s <= d.time_end_s
                for d in after
            ), (c, after)


def test_a_plan_of_several_operations_is_one_notam_each() -> None:
    volumes = [
        volume("a", "blue", box(36.0, 35.0, 36.1, 35.1), operation="op-1"),
        volume("b", "blue", box(37.0, 35.0, 37.1, 35.1), operation="op-2"),
        volume("c", "blue", box(36.0, 35.2, 36.1, 35.3), operation="op-1"),
    ]
    text = write_plan(volumes, "notam")
    notams = parse_notams(text, "plan.txt", "blue")
    assert [(n.id, len(n.volumes)) for n in notams] == [("A0001/26", 1), ("A0002/26", 1)]
    assert "OPERATION OP-1 OF BLUE" in text and "OPERATION OP-2 OF BLUE" in text
    op1 = notams[0].volumes[0].footprint.shape
    assert op1.covers(volumes[0].footprint.shape) and op1.covers(volumes[2].footprint.shape)


def test_the_readme_example_is_what_deconflict_writes() -> None:
    red = read_plan(Path(__file__).parents[2] / "src" / "deconflict" / "data" / "examples" / "red.geojson")
    assert write_plan(red, "notam", fir="LCCC") == (DATA / "red-notam.txt").read_text(encoding="utf-8")


def test_edges_of_the_world_and_of_the_scales() -> None:
    # A polygon at the antimeridian is written as a circle; read back it still covers it.
    east = volume("e", "blue", box(179.9, 10.0, 180.0, 10.1))
    text = operation_notam([east])
    assert "WI CIRCLE RADIUS" in text
    [back] = notam_volumes(text, "n.txt", "blue")
    xy = np.asarray(east.footprint.shape.exterior.coords)
    assert (
        distance_m(back.footprint.centre_lon_deg, back.footprint.centre_lat_deg, xy[:, 0], xy[:, 1])
        <= back.footprint.radius_m
    ).all()
    # A pressure altitude below zero has no flight level: the widest AMSL it can mean.
    low = volume("l", "blue", box(36.0, 35.0, 36.1, 35.1), lower_m=-200.0, upper_m=300.0, reference="STD")
    # -200 m - 12 % - (1013.25 - 940) hPa x 9 m = -883.25 m
    assert operation_notam([low]).splitlines()[-1] == "F) -2898FT AMSL G) FL010)"
    with pytest.raises(InputError, match=r"output: B\): NOTAM times .* 2000-01-01 to 2099-12-31"):
        operation_notam([volume("old", "blue", box(36.0, 35.0, 36.1, 35.1), start_s=0.0, end_s=60.0)])


_REAL = [p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.txt"))]
_PIECES = [
    "Q)",
    "A)",
    "B)",
    "C)",
    "D)",
    "E)",
    "F)",
    "G)",
    "/",
    "-",
    " ",
    "\n",
    "(",
    ")",
    "PERM",
    "EST",
    "NOTAMC",
    "NOTAMR A0001/26",
    "PART 2 OF 3",
    "9",
    "0",
    "N",
    "E",
    "S",
    "W",
    "RADIUS",
    "CENTRE",
    "FL",
    "UNL",
    "SFC",
    "DAILY",
    "MON-FRI",
    "JAN",
    "2400",
    "999",
    "000",
    "99N",
    "5960N",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_REAL),
    st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 12), st.sampled_from(_PIECES)), max_size=6),
)
def test_mangled_real_notams_give_volumes_or_errors_never_a_traceback(
    text: str, edits: list[tuple[float, int, str]]
) -> None:
    for where, cut, piece in edits:
        at = int(where * len(text))
        text = text[:at] + piece + text[at + cut :]
    try:
        volumes = notam_volumes(text, "n.txt", "blue")
    except InputError as exc:
        assert all(p.source == "n.txt" for p in exc.problems)
    else:
        assert all(v.time_start_s < v.time_end_s for v in volumes)
