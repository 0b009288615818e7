"""The pruned, compiled detector finds exactly the pairs of the all-pairs reference."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.geometry.geodesy import WGS84, destination
from deconflict.tactical import DetectionSettings, States, detect

from .reference import ReferenceResult, all_pairs

# Pairs this close (relatively) to flipping a criterion may differ by rounding.
BOUNDARY = 1e-9
STILL_S = 1e6
"""A conflict window longer than this (11 days) means a relative speed of millimetres per second."""


@st.composite
def traffic(draw: st.DrawFn) -> States:
    """Aircraft scattered around a random centre (anywhere, poles and antimeridian included)."""
    lat0 = draw(st.one_of(st.floats(-89.9, 89.9), st.sampled_from([89.9, -89.9, 0.0])))
    lon0 = draw(st.one_of(st.floats(-180.0, 180.0), st.sampled_from([180.0, -179.99])))
    spread_m = draw(st.sampled_from([5_000.0, 30_000.0, 150_000.0]))
    n = draw(st.integers(0, 30))
    speeds = st.one_of(st.just(0.0), st.sampled_from([150.0, 250.0]), st.floats(0.0, 700.0))
    rows = draw(
        st.lists(
            st.tuples(
                st.floats(0.0, 360.0),  # bearing from the centre
                st.floats(0.0, 1.0),  # fraction of the spread
                st.one_of(st.sampled_from([3000.0, 3200.0, 3304.8]), st.floats(0.0, 4000.0)),
                speeds,
                st.one_of(st.sampled_from([0.0, 90.0]), st.floats(0.0, 360.0)),
                st.one_of(st.just(0.0), st.floats(-30.0, 30.0)),
            ),
            min_size=n,
            max_size=n,
        )
    )
    if not rows:
        return States(*(np.zeros(0) for _ in range(6)))
    bearing, fraction, alt, gs, trk, vs = (
        np.array(column, dtype=float) for column in zip(*rows, strict=True)
    )
    lon, lat = destination(np.full(n, lon0), np.full(n, lat0), bearing, fraction * spread_m)
    return States(lat, lon, alt, gs, trk, vs)


def assert_same(
    found: dict[tuple[int, int], tuple[float, ...]], expected: dict, ref: ReferenceResult
) -> None:
    for key in found.keys() ^ expected.keys():
        assert ref.margin[key] < BOUNDARY, f"pair {key} differs and is not on a boundary"
    for key in found.keys() & expected.keys():
        got, want = np.array(found[key]), np.array(expected[key])
        if want.size == 4 and np.isfinite(want[2:]).all() and np.abs(want[2:]).max() > STILL_S:
            # Nearly equal velocities: the distance hardly changes for years, so the time
            # of closest approach is ill-conditioned (every time is about as close) and
            # two correct formulas disagree on it by minutes; the rest must still agree.
            got, want = got[1:], want[1:]
        # Distances at CPA come from a difference of squares: millimetres of rounding.
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-2)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic(), st.sampled_from([DetectionSettings(), DetectionSettings(5000.0, 150.0, 120.0)]))
def test_fast_path_matches_all_pairs_reference(states: States, minima: DetectionSettings) -> None:
    ref = all_pairs(states, minima)
    got = detect(states, minima)
    c = got.conflicts
    found = {
        (int(a), int(b)): (t, d, i, o)
        for a, b, t, d, i, o in zip(c.a, c.b, c.tcpa_s, c.dcpa_m, c.tin_s, c.tout_s, strict=True)
    }
    assert_same(found, ref.conflicts, ref)
    los = got.los
    found_los = {
        (int(a), int(b)): (d, h) for a, b, d, h in zip(los.a, los.b, los.dist_m, los.dalt_m, strict=True)
    }
    assert_same(found_los, ref.los, ref)


def test_dense_random_traffic_matches_reference_exactly() -> None:
    rng = np.random.default_rng(7)
    n = 400
    lon, lat = destination(
        np.full(n, 179.5), np.full(n, 65.0), rng.uniform(0, 360, n), rng.uniform(0, 2e5, n)
    )
    states = States(
        lat,
        lon,
        rng.uniform(2000, 4000, n),
        rng.uniform(0, 300, n),
        rng.uniform(0, 360, n),
        rng.normal(0, 5, n),
    )
    ref = all_pairs(states, DetectionSettings())
    got = detect(states)
    assert len(ref.conflicts) > 100  # the test has something to find
    assert list(zip(got.conflicts.a.tolist(), got.conflicts.b.tolist(), strict=True)) == sorted(ref.conflicts)
    assert list(zip(got.los.a.tolist(), got.los.b.tolist(), strict=True)) == sorted(ref.los)


def test_memory_stays_linear_in_the_number_of_aircraft() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    lon, lat = destination(
        np.zeros(n), np.full(n, 50.0), rng.uniform(0, 360, n), np.sqrt(rng.uniform(0, 1, n)) * 2e6
    )
    states = States(
        lat, lon, rng.uniform(300, 12000, n), rng.uniform(50, 250, n), rng.uniform(0, 360, n), np.zeros(n)
    )
    detect(states)  # compile outside the measurement
    tracemalloc.start()
    try:
        detect(states)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One N x N float matrix alone would be 3.2 GB.
    assert peak < 64 * 2**20


@pytest.mark.parametrize("speed_mps", [0.0, 1000.0, 50_000.0])
def test_absurd_speeds_are_still_found(speed_mps: float) -> None:
    """An aircraft whose swept box spans many grid cells is checked against everybody."""
    rng = np.random.default_rng(11)
    n = 200
    lon, lat = destination(np.zeros(n), np.zeros(n), rng.uniform(0, 360, n), rng.uniform(0, 3e5, n))
    gs = rng.uniform(100, 250, n)
    gs[:3] = speed_mps
    states = States(lat, lon, np.full(n, 3000.0), gs, rng.uniform(0, 360, n), np.zeros(n))
    ref = all_pairs(states, DetectionSettings())
    got = detect(states)
    assert list(zip(got.conflicts.a.tolist(), got.conflicts.b.tolist(), strict=True)) == sorted(ref.conflicts)


@pytest.mark.parametrize("gs_mps", [250.0, 700.0])
def test_fast_aircraft_passing_just_inside_the_minimum_at_the_end_of_the_look_ahead(gs_mps: float) -> None:
    """Where the swept boxes are tightest: long tangent-line paths meeting a hovering aircraft."""
    settings = DetectionSettings()
    for lat_deg in np.linspace(-80.0, 80.0, 17):
        for trk_deg in (0.0, 90.0, 180.0, 270.0):
            for side_deg, offset_m in ((90.0, 9150.0), (270.0, 9220.0)):
                cpa_lon, cpa_lat = destination(0.0, lat_deg, (trk_deg + side_deg) % 360, offset_m)
                # Start 299 s back along the geodesic, heading along it towards the CPA point.
                lon, lat, back_deg = WGS84.fwd(cpa_lon, cpa_lat, (trk_deg + 180.0) % 360, gs_mps * 299.0)
                start_trk_deg = float(back_deg) % 360
                states = States(
                    [float(lat), lat_deg],
                    [float(lon), 0.0],
                    [3000.0] * 2,
                    [gs_mps, 0.0],
                    [start_trk_deg, 0.0],
                    [0.0] * 2,
                )
                ref = all_pairs(states, settings)
                assert len(ref.conflicts) == 1, (lat_deg, trk_deg, side_deg)
                assert len(detect(states, settings).conflicts) == 1, (lat_deg, trk_deg, side_deg)
