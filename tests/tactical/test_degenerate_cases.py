"""Each degenerate geometry of issue 4, explicitly, through the public detector."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deconflict.geometry.geodesy import WGS84, destination
from deconflict.tactical import DetectionSettings, States, detect

SETTINGS = DetectionSettings()


def pair(
    distance_m: float,
    *,
    lat_deg: float = 0.0,
    lon_deg: float = 0.0,
    bearing_deg: float = 90.0,
    alt_m: tuple[float, float] = (3000.0, 3000.0),
    gs_mps: tuple[float, float] = (0.0, 0.0),
    trk_deg: tuple[float, float] = (0.0, 0.0),
    vs_mps: tuple[float, float] = (0.0, 0.0),
) -> States:
    """Aircraft 0 at (lat, lon); aircraft 1 ``distance_m`` away along ``bearing_deg``."""
    lon1, lat1 = destination(lon_deg, lat_deg, bearing_deg, distance_m)
    return States([lat_deg, float(lat1)], [lon_deg, float(lon1)], alt_m, gs_mps, trk_deg, vs_mps)


def only(states: States) -> tuple[float, float, float, float] | None:
    found = detect(states, SETTINGS).conflicts
    assert len(found) <= 1
    if not len(found):
        return None
    assert (found.a[0], found.b[0]) == (0, 1)
    return float(found.tcpa_s[0]), float(found.dcpa_m[0]), float(found.tin_s[0]), float(found.tout_s[0])


def test_hovering_pair_inside_is_in_conflict_for_ever() -> None:
    got = only(pair(5000.0))
    assert got is not None
    tcpa, dcpa, tin, tout = got
    assert tcpa == 0.0 and dcpa == pytest.approx(5000.0, rel=1e-4)
    assert tin == -math.inf and tout == math.inf
    assert len(detect(pair(5000.0)).los) == 1


def test_hovering_pair_outside_never_conflicts() -> None:
    assert only(pair(9300.0)) is None
    assert len(detect(pair(9300.0)).los) == 0


def test_parallel_flights_at_equal_speed_inside_and_outside() -> None:
    # On the equator, north is the same ECEF vector everywhere: relative velocity is exactly zero.
    abreast = dict(bearing_deg=90.0, gs_mps=(230.0, 230.0), trk_deg=(0.0, 0.0))
    inside = only(pair(3000.0, **abreast))  # type: ignore[arg-type]
    assert inside is not None and inside[2:] == (-math.inf, math.inf)
    assert only(pair(12000.0, **abreast)) is None  # type: ignore[arg-type]


def test_in_trail_at_equal_speed_far_north_stays_in_conflict_beyond_look_ahead() -> None:
    got = only(pair(6000.0, lat_deg=70.0, bearing_deg=0.0, gs_mps=(250.0, 250.0), trk_deg=(0.0, 0.0)))
    assert got is not None
    _, _, tin, tout = got
    assert tin < -SETTINGS.lookahead_s and tout > 10 * SETTINGS.lookahead_s


def test_zero_relative_vertical_speed_inside_and_outside_the_vertical_minimum() -> None:
    crossing = dict(gs_mps=(200.0, 200.0), trk_deg=(90.0, 270.0), vs_mps=(5.0, 5.0))
    inside = only(pair(40000.0, alt_m=(3000.0, 3250.0), **crossing))  # type: ignore[arg-type]
    assert inside is not None
    assert inside[2] == pytest.approx((40000.0 - 9260.0) / 400.0, rel=1e-3)  # entry set by horizontal only
    assert only(pair(40000.0, alt_m=(3000.0, 3305.0), **crossing)) is None  # type: ignore[arg-type]


def test_vertical_window_alone_when_hovering_above_each_other() -> None:
    # 1 km apart horizontally, 1000 m apart vertically, closing at 10 m/s.
    got = only(pair(1000.0, alt_m=(3000.0, 4000.0), vs_mps=(0.0, -10.0)))
    assert got is not None
    assert got[2] == pytest.approx((1000.0 - 304.8) / 10.0)
    assert got[3] == pytest.approx((1000.0 + 304.8) / 10.0)


def test_already_in_los_and_diverging_is_in_conflict_until_exit() -> None:
    states = pair(5000.0, gs_mps=(100.0, 100.0), trk_deg=(270.0, 90.0))
    got = only(states)
    assert got is not None
    tcpa, dcpa, tin, tout = got
    assert tcpa < 0.0 and tin < 0.0 and dcpa < 5000.0
    assert tout == pytest.approx((9260.0 - 5000.0) / 200.0, rel=1e-3)
    assert len(detect(states).los) == 1


def test_los_that_ended_a_moment_ago_is_no_conflict() -> None:
    # 9261 m apart and diverging at 200 m/s: the loss of separation ended 5 ms ago.
    states = pair(9261.0, gs_mps=(100.0, 100.0), trk_deg=(270.0, 90.0))
    assert only(states) is None
    assert len(detect(states).los) == 0
    # The same moment, vertically: 305 m apart and diverging.
    states = pair(1000.0, alt_m=(3000.0, 3305.0), vs_mps=(0.0, 1.0))
    assert only(states) is None


def test_aircraft_at_zero_knots_approached_by_another() -> None:
    states = pair(30000.0, gs_mps=(0.0, 150.0), trk_deg=(123.0, 270.0))
    got = only(states)
    assert got is not None
    tcpa, dcpa, tin, tout = got
    assert tcpa == pytest.approx(200.0, rel=1e-3)
    assert dcpa == pytest.approx(0.0, abs=30.0)
    assert tin == pytest.approx((30000.0 - 9260.0) / 150.0, rel=1e-3)
    assert tout == pytest.approx((30000.0 + 9260.0) / 150.0, rel=1e-3)


def test_entry_just_after_look_ahead_is_no_conflict() -> None:
    closing = dict(gs_mps=(100.0, 100.0), trk_deg=(90.0, 270.0))
    at_edge = 9260.0 + 200.0 * SETTINGS.lookahead_s
    assert only(pair(at_edge - 50.0, **closing)) is not None  # type: ignore[arg-type]
    assert only(pair(at_edge + 50.0, **closing)) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lat_deg", "lon_deg"), [(0.0, 179.95), (-33.0, -179.99), (89.95, 0.0), (-89.99, 45.0)]
)
def test_head_on_across_the_antimeridian_and_near_the_poles(lat_deg: float, lon_deg: float) -> None:
    states = pair(60000.0, lat_deg=lat_deg, lon_deg=lon_deg, bearing_deg=45.0, gs_mps=(200.0, 0.0))
    # Aircraft 0 flies straight at aircraft 1 (initial geodesic azimuth towards it).
    azimuth, _, _ = WGS84.inv(lon_deg, lat_deg, states.lon_deg[1], states.lat_deg[1])
    states = States(
        states.lat_deg, states.lon_deg, states.alt_m, states.gs_mps, [azimuth % 360, 0.0], states.vs_mps
    )
    got = only(states)
    assert got is not None
    tcpa, dcpa, tin, _ = got
    assert tcpa == pytest.approx(300.0, rel=1e-3)
    assert dcpa < 60.0
    assert tin == pytest.approx((60000.0 - 9260.0) / 200.0, rel=1e-3)


def test_no_aircraft_and_one_aircraft() -> None:
    for n in (0, 1):
        result = detect(States(*(np.zeros(n) for _ in range(6))))
        assert len(result.conflicts) == 0 and len(result.los) == 0
