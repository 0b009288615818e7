"""Strategic conflicts: the 4-D rule, buffers, altitude references, and the all-pairs reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from deconflict.geometry.geodesy import area_m2, destination, distance_m
from deconflict.strategic import find_conflicts, read_volumes
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import evaluate_pairs, format_time
from deconflict.strategic.volume import Volume
from deconflict.units import REFERENCE_CODES, AltitudeMargins, AltitudeReference, msl_bounds_array
from tests.builders import T0_S, box, circle, conflict_pairs, volume
from tests.strategic.reference import reference_conflicts
from tests.strategic.strategies import Case, cases

DATA = Path(__file__).resolve().parents[1] / "data"
SQUARE = box(36.0, 35.0, 36.5, 35.5)


def conflicting(
    a: Volume, b: Volume, buffers: Buffers = Buffers(), margins: AltitudeMargins = AltitudeMargins()
) -> bool:
    found = find_conflicts([a, b], buffers, margins)
    assert len(found) <= 1
    return bool(found)


# --- the rule, on hand-made volumes ------------------------------------------------


def test_the_good_files_have_one_hand_computed_conflict() -> None:
    volumes = read_volumes(DATA / "good" / "blue.geojson") + read_volumes(DATA / "good" / "red.geojson")
    (c,) = find_conflicts(volumes)
    assert (c.a, c.b, c.party_a, c.party_b, c.operation_a, c.operation_b) == (
        "b-1",
        "r-1",
        "blue",
        "red",
        "op-1",
        "patrol",
    )
    assert (c.time_start_s, c.time_end_s) == (T0_S + 3600.0, T0_S + 7200.0)
    assert (c.altitude_lower_m, c.altitude_upper_m, c.altitude_reference) == (2000.0, 3000.0, "MSL")
    assert c.overlap_bbox == (36.25, 35.25, 36.5, 35.5)
    assert c.overlap_area_m2 == pytest.approx(
        float(area_m2([box(36.25, 35.25, 36.5, 35.5).shape])[0]), rel=1e-9
    )
    assert c.overlap_area_m2 == pytest.approx(630_109_888.2, rel=1e-6)


def test_volumes_of_the_same_party_never_conflict() -> None:
    a = volume("a", "blue", SQUARE, operation="op-1")
    b = volume("b", "blue", SQUARE, operation="op-2")
    assert find_conflicts([a, b]) == []
    assert evaluate_pairs([a], [b]) == []


def test_identical_volumes_of_two_parties_conflict_once() -> None:
    found = find_conflicts([volume("a", "blue", SQUARE), volume("b", "red", SQUARE)])
    assert [(c.a, c.b) for c in found] == [("a", "b")]


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        ({"start_s": T0_S + 3600.0, "end_s": T0_S + 7200.0}, False),  # back to back
        ({"start_s": T0_S - 3600.0, "end_s": T0_S}, False),  # back to back, before
        ({"start_s": T0_S + 3599.999, "end_s": T0_S + 7200.0}, True),  # 1 ms overlap
        ({"start_s": T0_S + 3600.001, "end_s": T0_S + 7200.0}, False),  # 1 ms gap
        ({"lower_m": 1000.0, "upper_m": 2000.0}, False),  # shared boundary altitude
        ({"lower_m": -500.0, "upper_m": 0.0}, False),  # shared boundary altitude, below
        ({"lower_m": 999.999, "upper_m": 2000.0}, True),  # 1 mm overlap
        ({"lower_m": 1000.001, "upper_m": 2000.0}, False),
    ],
)
def test_touching_in_time_or_altitude_does_not_conflict(other: dict[str, float], expected: bool) -> None:
    a = volume("a", "blue", SQUARE)  # 12:00-13:00, 0-1000 m MSL
    b = volume("b", "red", SQUARE, **other)
    assert conflicting(a, b) is expected


def test_touching_footprints_do_not_conflict_but_overlapping_ones_do() -> None:
    a = volume("a", "blue", SQUARE)
    assert not conflicting(a, volume("b", "red", box(36.5, 35.0, 37.0, 35.5)))
    assert conflicting(a, volume("b", "red", box(36.4999999, 35.0, 37.0, 35.5)))


def test_results_are_sorted_by_time() -> None:
    vols = [
        volume("late", "blue", SQUARE, start_s=T0_S + 7200.0, end_s=T0_S + 9000.0),
        volume("early", "blue", SQUARE, start_s=T0_S, end_s=T0_S + 1000.0),
        volume("all-day", "red", SQUARE, start_s=T0_S - 3600.0, end_s=T0_S + 86_400.0),
    ]
    assert [c.time_start_s for c in find_conflicts(vols)] == [T0_S, T0_S + 7200.0]
    assert [(c.a, c.b) for c in find_conflicts(vols)] == [("early", "all-day"), ("late", "all-day")]


def test_evaluate_pairs_needs_equal_lengths() -> None:
    with pytest.raises(ValueError, match="equal length"):
        evaluate_pairs([volume("a", "blue", SQUARE)], [])
    assert evaluate_pairs([], []) == []


def test_conflict_json_is_the_product_schema() -> None:
    volumes = read_volumes(DATA / "good" / "blue.geojson") + read_volumes(DATA / "good" / "red.geojson")
    (c,) = find_conflicts(volumes)
    document = c.to_json()
    assert json.loads(json.dumps(document)) == document
    assert document == {
        "a": "b-1",
        "b": "r-1",
        "party_a": "blue",
        "party_b": "red",
        "time_start": "2026-01-01T13:00:00Z",
        "time_end": "2026-01-01T14:00:00Z",
        "altitude_lower_m": 2000.0,
        "altitude_upper_m": 3000.0,
        "altitude_reference": "MSL",
        "overlap_area_m2": round(c.overlap_area_m2, 3),
        "overlap_bbox": [36.25, 35.25, 36.5, 35.5],
    }


@pytest.mark.parametrize(
    ("time_s", "text"),
    [
        (T0_S, "2026-01-01T12:00:00Z"),
        (T0_S + 0.25, "2026-01-01T12:00:00.250Z"),
        (0.0, "1970-01-01T00:00:00Z"),
        (T0_S - 86_400.0 * 365, "2025-01-01T12:00:00Z"),
    ],
)
def test_format_time(time_s: float, text: str) -> None:
    assert format_time(time_s) == text


# --- buffers ---------------------------------------------------------------------


def test_time_buffer_grows_each_window() -> None:
    a = volume("a", "blue", SQUARE, start_s=T0_S, end_s=T0_S + 3600.0)
    b = volume("b", "red", SQUARE, start_s=T0_S + 3700.0, end_s=T0_S + 7200.0)  # 100 s gap
    assert not conflicting(a, b)
    assert not conflicting(a, b, Buffers(time_buffer_s=49.999))
    (c,) = find_conflicts([a, b], Buffers(time_buffer_s=50.001))
    # The window is the overlap of the grown windows.
    assert (c.time_start_s, c.time_end_s) == (T0_S + 3700.0 - 50.001, T0_S + 3600.0 + 50.001)


def test_time_buffer_makes_back_to_back_windows_conflict() -> None:
    a = volume("a", "blue", SQUARE, start_s=T0_S, end_s=T0_S + 3600.0)
    b = volume("b", "red", SQUARE, start_s=T0_S + 3600.0, end_s=T0_S + 7200.0)
    assert conflicting(a, b, Buffers(time_buffer_s=0.001))


def test_vertical_buffer_grows_each_band() -> None:
    a = volume("a", "blue", SQUARE, lower_m=0.0, upper_m=1000.0)
    b = volume("b", "red", SQUARE, lower_m=1300.0, upper_m=2000.0)  # 300 m gap
    assert not conflicting(a, b, Buffers(vertical_buffer_m=149.99))
    (c,) = find_conflicts([a, b], Buffers(vertical_buffer_m=150.01))
    assert (c.altitude_lower_m, c.altitude_upper_m) == pytest.approx((1300.0 - 150.01, 1000.0 + 150.01))
    assert conflicting(
        a, volume("b", "red", SQUARE, lower_m=1000.0, upper_m=2000.0), Buffers(vertical_buffer_m=0.01)
    )


def test_horizontal_buffer_between_polygons() -> None:
    a = volume("a", "blue", box(10.0, 45.0, 10.01, 45.01))
    west = float(destination(10.01, 45.01, 90.0, 40.0)[0])
    b = volume("b", "red", box(west, 45.0, 10.02, 45.01))  # 40 m apart at the top corners
    assert not conflicting(a, b)
    assert not conflicting(a, b, Buffers(buffer_m=19.99))
    assert conflicting(a, b, Buffers(buffer_m=20.01))


def test_horizontal_buffer_between_circles_and_polygons() -> None:
    east = destination(36.0, 35.0, 90.0, 3000.0)
    a = volume("a", "blue", circle(36.0, 35.0, 1000.0))
    b = volume("b", "red", circle(float(east[0][()]), float(east[1][()]), 1000.0))  # gap 1000 m
    assert not conflicting(a, b, Buffers(buffer_m=499.99))
    assert conflicting(a, b, Buffers(buffer_m=500.01))
    edge = float(destination(36.0, 0.0, 90.0, 1500.0)[0])
    c = volume("c", "blue", circle(36.0, 0.0, 1000.0))
    d = volume("d", "red", box(edge, -0.1, edge + 0.1, 0.1))  # gap 500 m on the equator
    assert not conflicting(c, d, Buffers(buffer_m=249.99))
    assert conflicting(c, d, Buffers(buffer_m=250.01))


def test_touching_footprints_conflict_with_a_buffer() -> None:
    a = volume("a", "blue", SQUARE)
    b = volume("b", "red", box(36.5, 35.0, 37.0, 35.5))
    assert conflicting(a, b, Buffers(buffer_m=0.001))


def test_buffers_combine() -> None:
    a = volume("a", "blue", SQUARE, upper_m=1000.0, end_s=T0_S + 3600.0)
    b = volume(
        "b", "red", box(36.5, 35.0, 37.0, 35.5), lower_m=1010.0, start_s=T0_S + 3610.0, end_s=T0_S + 7200.0
    )
    both = Buffers(buffer_m=1.0, vertical_buffer_m=5.01, time_buffer_s=5.01)
    assert conflicting(a, b, both)
    for weaker in (
        Buffers(buffer_m=0.0, vertical_buffer_m=5.01, time_buffer_s=5.01),
        Buffers(buffer_m=1.0, vertical_buffer_m=4.99, time_buffer_s=5.01),
        Buffers(buffer_m=1.0, vertical_buffer_m=5.01, time_buffer_s=4.99),
    ):
        assert not conflicting(a, b, weaker)


# --- altitude references ------------------------------------------------------------


def test_same_reference_bands_compare_exactly() -> None:
    for reference in ("W84", "MSL", "AGL", "STD"):
        a = volume("a", "blue", SQUARE, lower_m=0.0, upper_m=1000.0, reference=reference)
        assert not conflicting(
            a, volume("b", "red", SQUARE, lower_m=1000.0, upper_m=2000.0, reference=reference)
        )
        (c,) = find_conflicts(
            [a, volume("b", "red", SQUARE, lower_m=999.99, upper_m=2000.0, reference=reference)]
        )
        assert (c.altitude_lower_m, c.altitude_upper_m, c.altitude_reference) == (999.99, 1000.0, reference)


def test_w84_against_msl_widens_by_the_geoid() -> None:
    # 1000 m above the ellipsoid is at most 1000 + 107 m above MSL.
    a = volume("a", "blue", SQUARE, lower_m=0.0, upper_m=1000.0, reference="W84")
    assert conflicting(a, volume("b", "red", SQUARE, lower_m=1106.9, upper_m=2000.0))
    assert not conflicting(a, volume("b", "red", SQUARE, lower_m=1107.1, upper_m=2000.0))
    # ... and at least 1000 - 86 m: an MSL band entirely below that cannot meet it from above.
    high = volume("h", "blue", SQUARE, lower_m=1000.0, upper_m=2000.0, reference="W84")
    assert conflicting(high, volume("b", "red", SQUARE, lower_m=0.0, upper_m=914.1))
    assert not conflicting(high, volume("b", "red", SQUARE, lower_m=0.0, upper_m=913.9))


def test_flight_levels_against_msl_widen_by_pressure_and_temperature() -> None:
    # FL100 (3048 m pressure altitude) may be as high as 3834.51 m MSL.
    fl = volume("fl", "blue", SQUARE, lower_m=1524.0, upper_m=3048.0, reference="STD")
    assert conflicting(fl, volume("b", "red", SQUARE, lower_m=3834.4, upper_m=5000.0))
    assert not conflicting(fl, volume("b", "red", SQUARE, lower_m=3834.6, upper_m=5000.0))
    (c,) = find_conflicts([fl, volume("b", "red", SQUARE, lower_m=3000.0, upper_m=5000.0)])
    assert c.altitude_reference == "MSL"
    assert (c.altitude_lower_m, c.altitude_upper_m) == pytest.approx((3000.0, 3834.51))


def test_agl_against_agl_is_exact_but_against_msl_is_widened_by_terrain() -> None:
    a = volume("a", "blue", SQUARE, lower_m=0.0, upper_m=150.0, reference="AGL")
    assert not conflicting(a, volume("b", "red", SQUARE, lower_m=150.0, upper_m=300.0, reference="AGL"))
    # 150 m AGL can be 9 km above MSL over the Himalaya.
    assert conflicting(a, volume("b", "red", SQUARE, lower_m=8000.0, upper_m=9000.0))
    assert not conflicting(a, volume("b", "red", SQUARE, lower_m=8999.1, upper_m=9500.0))


def test_regional_margins_narrow_mixed_comparisons() -> None:
    a = volume("a", "blue", SQUARE, lower_m=0.0, upper_m=150.0, reference="AGL")
    b = volume("b", "red", SQUARE, lower_m=4000.0, upper_m=5000.0)
    assert conflicting(a, b)
    assert not conflicting(a, b, margins=AltitudeMargins(terrain_max_m=3000.0))


def test_mixed_bounds_within_one_volume_compare_bound_by_bound() -> None:
    # a: 3000 ft MSL up to FL250; b: entirely below 3000 ft MSL -> never overlaps.
    a = volume("a", "blue", SQUARE, lower_m=914.4, upper_m=7620.0, reference="MSL", upper_reference="STD")
    assert not conflicting(a, volume("b", "red", SQUARE, lower_m=0.0, upper_m=914.4))
    assert conflicting(a, volume("b", "red", SQUARE, lower_m=0.0, upper_m=914.5))


REFERENCES = ("W84", "MSL", "AGL", "STD")


@settings(max_examples=200, deadline=None)
@given(
    refs=st.tuples(*[st.sampled_from(REFERENCES)] * 4),
    values=st.tuples(*[st.floats(min_value=-400.0, max_value=12_000.0)] * 4),
    undulation_m=st.floats(min_value=-107.0, max_value=86.0),
    terrain_m=st.floats(min_value=-430.0, max_value=8849.0),
    qnh_hpa=st.floats(min_value=940.0, max_value=1060.0),
    temperature=st.floats(min_value=-0.12, max_value=0.12),
)
def test_mixed_references_never_under_report(
    refs: tuple[str, ...],
    values: tuple[float, ...],
    undulation_m: float,
    terrain_m: float,
    qnh_hpa: float,
    temperature: float,
) -> None:
    """Whatever the geoid, terrain and weather, a true overlap is always reported."""

    def true_msl_m(value_m: float, reference: str) -> float:
        if reference == "W84":
            return value_m - undulation_m
        if reference == "AGL":
            return value_m + terrain_m
        if reference == "STD":
            return value_m * (1.0 + temperature) + (qnh_hpa - 1013.25) * 9.0
        return value_m

    lo_a, hi_a, lo_b, hi_b = values
    if lo_a >= hi_a:
        lo_a, hi_a = hi_a - 1.0, lo_a + 1.0
    if lo_b >= hi_b:
        lo_b, hi_b = hi_b - 1.0, lo_b + 1.0
    a = volume("a", "blue", SQUARE, lower_m=lo_a, upper_m=hi_a, reference=refs[0], upper_reference=refs[1])
    b = volume("b", "red", SQUARE, lower_m=lo_b, upper_m=hi_b, reference=refs[2], upper_reference=refs[3])
    ta = (true_msl_m(lo_a, refs[0]), true_msl_m(hi_a, refs[1]))
    tb = (true_msl_m(lo_b, refs[2]), true_msl_m(hi_b, refs[3]))
    truly_overlap = ta[0] < ta[1] and tb[0] < tb[1] and ta[0] < tb[1] and tb[0] < ta[1]
    event(f"truly overlap: {truly_overlap}")
    if truly_overlap:
        assert conflicting(a, b)


# Values that put bounds of different references exactly level (W84 shifts by 86/107 m,
# AGL by -430/8849 m), so that the strict comparisons are tested at their edges.
LEVEL_VALUES_M = (0.0, 86.0, 107.0, 430.0, 1000.0, 1086.0, 1107.0, 570.0, 1430.0, -7849.0, 914.4)


@settings(max_examples=300, deadline=None)
@given(
    refs=st.tuples(*[st.sampled_from(REFERENCES)] * 4),
    values=st.tuples(
        *[st.sampled_from(LEVEL_VALUES_M) | st.floats(min_value=-1000.0, max_value=12_000.0)] * 4
    ),
    vertical_m=st.sampled_from([0.0, 21.5, 96.5]),
)
# Level bounds of different references (a touching band does not conflict):
@example(refs=("MSL", "MSL", "W84", "W84"), values=(0.0, 1000.0, 1086.0, 2000.0), vertical_m=0.0)
@example(refs=("MSL", "MSL", "AGL", "AGL"), values=(0.0, 1000.0, 1430.0, 2000.0), vertical_m=0.0)
@example(refs=("MSL", "W84", "MSL", "MSL"), values=(0.0, 893.0, 1000.0, 2000.0), vertical_m=0.0)
@example(refs=("MSL", "MSL", "W84", "W84"), values=(0.0, 957.0, 1086.0, 2000.0), vertical_m=21.5)
def test_the_altitude_test_decides_as_the_msl_arrays_do(
    refs: tuple[str, ...], values: tuple[float, ...], vertical_m: float
) -> None:
    """Pair by pair in plain floats, the altitude test decides exactly as the MSL bounds of
    :func:`msl_bounds_array` compare, at the edges too (the arrays' arithmetic, to the bit)."""
    margins = AltitudeMargins()
    lo_a, hi_a, lo_b, hi_b = values
    a = volume("a", "blue", SQUARE, lower_m=lo_a, upper_m=hi_a, reference=refs[0], upper_reference=refs[1])
    b = volume("b", "red", SQUARE, lower_m=lo_b, upper_m=hi_b, reference=refs[2], upper_reference=refs[3])
    gap_m = 2.0 * vertical_m

    def below(low_m: float, low_ref: str, high_m: float, high_ref: str) -> bool:
        if low_ref == high_ref:
            return bool(np.float64(low_m) < np.float64(high_m) + gap_m)
        codes = np.array([REFERENCE_CODES[AltitudeReference(r)] for r in (low_ref, high_ref)], dtype=np.int8)
        low_msl, high_msl = msl_bounds_array(np.array([low_m, high_m]), codes, margins)
        return bool(low_msl[0] < high_msl[1] + gap_m)

    expected = below(lo_a, refs[0], hi_b, refs[3]) and below(lo_b, refs[2], hi_a, refs[1])
    found = evaluate_pairs([a], [b], Buffers(vertical_buffer_m=vertical_m), margins)
    event(f"conflict: {expected}")
    assert bool(found) == expected


# --- the antimeridian and poles, end to end -------------------------------------------------


def test_conflict_across_the_antimeridian_is_found_and_located() -> None:
    a = volume("a", "blue", box(179.0, -17.0, 181.0, -16.0))  # given unsplit
    b = volume("b", "red", box(-179.5, -16.5, -178.0, -15.0))
    (c,) = find_conflicts([a, b])
    assert c.overlap_bbox == pytest.approx((-179.5, -16.5, -179.0, -16.0))
    assert c.overlap_area_m2 == pytest.approx(
        float(area_m2([box(0.0, -16.5, 0.5, -16.0).shape])[0]), rel=1e-9
    )


def test_overlap_straddling_the_antimeridian_has_an_rfc7946_bbox() -> None:
    a = volume("a", "blue", box(179.0, 0.0, 181.0, 1.0))
    b = volume("b", "red", box(179.5, 0.0, 180.5, 1.0))
    (c,) = find_conflicts([a, b])
    assert c.overlap_area_m2 == pytest.approx(float(area_m2([box(0.0, 0.0, 1.0, 1.0).shape])[0]), rel=1e-9)
    assert c.overlap_bbox == pytest.approx((179.5, 0.0, -179.5, 1.0))


def test_buffered_circles_across_the_antimeridian_are_candidates() -> None:
    d = float(distance_m(179.999, 0.0, -179.999, 0.0))
    a = volume("a", "blue", circle(179.999, 0.0, 50.0))
    b = volume("b", "red", circle(-179.999, 0.0, 50.0))
    assert not conflicting(a, b, Buffers(buffer_m=(d - 100.0) / 2.0 - 0.01))
    assert conflicting(a, b, Buffers(buffer_m=(d - 100.0) / 2.0 + 0.01))


def test_buffered_circles_over_the_pole_are_candidates() -> None:
    d = float(distance_m(0.0, 89.9, 180.0, 89.9))
    a = volume("a", "blue", circle(0.0, 89.9, 1000.0))
    b = volume("b", "red", circle(180.0, 89.9, 1000.0))
    assert not conflicting(a, b, Buffers(buffer_m=(d - 2000.0) / 2.0 - 0.01))
    assert conflicting(a, b, Buffers(buffer_m=(d - 2000.0) / 2.0 + 0.01))


# --- property: the engine against the all-pairs reference -------------------------------------


def check_against_reference(case: Case, buffers: Buffers) -> None:
    found = find_conflicts(case.volumes, buffers)
    got = conflict_pairs(found)
    assert len(got) == len(found), "a pair reported twice"
    sure, unsure = reference_conflicts(case.volumes, case.shapes, buffers)
    event(f"conflicts: {min(len(sure), 3)}{'+' if len(sure) >= 3 else ''}")
    assert sure - got == set(), "missed conflicts"
    assert got - sure - unsure == set(), "extra conflicts"
    for c in found:
        assert c.party_a != c.party_b
        # Strictly positive in exact arithmetic; a sub-microsecond overlap can round to nothing.
        assert c.time_start_s <= c.time_end_s
        assert c.altitude_lower_m <= c.altitude_upper_m
        assert c.overlap_area_m2 >= 0.0
        lon0, lat0, lon1, lat1 = c.overlap_bbox
        assert lon0 <= lon1 and lat0 <= lat1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_find_conflicts_matches_the_reference(case: Case) -> None:
    check_against_reference(case, Buffers())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=cases(max_size=5),
    buffer_m=st.sampled_from([0.0, 1e-3, 5.0, 400.0]),
    vertical_buffer_m=st.sampled_from([0.0, 1e-5, 50.0]),
    time_buffer_s=st.sampled_from([0.0, 1e-3, 300.0]),
)
def test_find_conflicts_with_buffers_matches_the_reference(
    case: Case, buffer_m: float, vertical_buffer_m: float, time_buffer_s: float
) -> None:
    check_against_reference(case, Buffers(buffer_m, vertical_buffer_m, time_buffer_s))


def test_find_conflicts_on_many_random_volumes_matches_brute_force_time_and_altitude() -> None:
    # A bigger batch through the index path: identical footprints, so only time
    # and altitude decide, and the brute force is exact.
    rng = np.random.default_rng(20260101)
    n = 300
    starts = T0_S + rng.integers(0, 48, n) * 900.0
    ends = starts + rng.integers(1, 8, n) * 900.0
    lowers = rng.integers(0, 40, n) * 100.0
    uppers = lowers + rng.integers(1, 10, n) * 100.0
    fp = box(20.0, 20.0, 20.1, 20.1)
    vols = [
        volume(
            f"v{i}", f"p{i % 5}", fp, start_s=starts[i], end_s=ends[i], lower_m=lowers[i], upper_m=uppers[i]
        )
        for i in range(n)
    ]
    expected = {
        frozenset({(vols[i].party, vols[i].id), (vols[j].party, vols[j].id)})
        for i in range(n)
        for j in range(i + 1, n)
        if i % 5 != j % 5
        and starts[i] < ends[j]
        and starts[j] < ends[i]
        and lowers[i] < uppers[j]
        and lowers[j] < uppers[i]
    }
    assert len(expected) > 500
    assert conflict_pairs(find_conflicts(vols)) == expected
