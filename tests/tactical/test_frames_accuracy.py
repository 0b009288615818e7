"""Relative positions within 0.1 % of the WGS 84 geodesic distance, anywhere, up to 150 km."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.geometry.geodesy import WGS84, destination
from deconflict.tactical.frames import relative_motion, surface_frame


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-90.0, 90.0),
    st.floats(-180.0, 180.0),
    st.floats(0.0, 360.0),
    st.floats(1.0, 150_000.0),
)
def test_horizontal_distance_matches_geodesic(lat: float, lon: float, bearing: float, dist_m: float) -> None:
    lon2, lat2 = destination(lon, lat, bearing, dist_m)
    frame = surface_frame([lat, float(lat2)], [lon, float(lon2)], [0.0, 0.0], [0.0, 0.0])
    d2, _, _ = relative_motion(frame, [0], [1])
    assert abs(np.sqrt(d2[0]) - dist_m) <= 1e-3 * dist_m


def test_worst_case_error_is_far_below_the_requirement() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-180, 180, n)
    dist = rng.uniform(100_000, 150_000, n)
    lon2, lat2 = destination(lon, lat, rng.uniform(0, 360, n), dist)
    frame = surface_frame(np.r_[lat, lat2], np.r_[lon, lon2], np.zeros(2 * n), np.zeros(2 * n))
    d2, _, _ = relative_motion(frame, np.arange(n), np.arange(n) + n)
    _, _, geodesic = WGS84.inv(lon, lat, lon2, lat2)
    assert np.max(np.abs(np.sqrt(d2) / geodesic - 1)) < 1e-4


def test_convergence_of_meridians_is_accounted_for() -> None:
    """Two aircraft near the pole, 'both flying north' on different meridians, converge."""
    frame = surface_frame([89.0, 89.0], [0.0, 180.0], [200.0, 200.0], [0.0, 0.0])
    d2, dw, w2 = relative_motion(frame, [0], [1])
    # 2 degrees of latitude apart across the pole, closing head-on at 400 m/s.
    assert abs(np.sqrt(w2[0]) - 400.0) < 0.1
    assert abs(-dw[0] / w2[0] - np.sqrt(d2[0]) / 400.0) < 1e-3 * np.sqrt(d2[0]) / 400.0
