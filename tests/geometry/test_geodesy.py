"""The midpoint of two points: on the great circle, in (lon, lat) order, across the antimeridian."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconflict.geometry.geodesy import WGS84, destination, distance_m, midpoint, midpoints


def test_midpoint_takes_and_returns_lon_then_lat() -> None:
    lon_deg, lat_deg = midpoint(10.0, 40.0, 12.0, 40.0)
    assert lon_deg == pytest.approx(11.0)
    assert 40.0 < lat_deg < 40.01  # (lat, lon) order would give lon 40 and lat 11


def test_midpoint_across_the_antimeridian_is_on_it_not_at_greenwich() -> None:
    lon_deg, lat_deg = midpoint(179.9, 10.0, -179.9, 10.0)
    assert lon_deg == pytest.approx(180.0)
    assert 10.0 < lat_deg < 10.0001
    lon_deg, lat_deg = midpoint(-179.95, -5.0, 179.85, -5.0)
    assert lon_deg == pytest.approx(179.95)
    assert lat_deg == pytest.approx(-5.0, abs=1e-4)


def test_midpoint_lies_on_the_great_circle_not_at_the_average_latitude() -> None:
    # Two points 9 km apart east-west at 70 degrees north: the great circle bows north by
    # several metres; the plain average of the latitudes would sit on the parallel.
    lon_b, lat_b = (float(v) for v in destination(25.0, 70.0, 90.0, 9000.0))
    lon_deg, lat_deg = midpoint(25.0, 70.0, lon_b, lat_b)
    bow_m = float(distance_m(lon_deg, lat_deg, lon_deg, (70.0 + lat_b) / 2.0))
    assert 2.0 < bow_m < 20.0
    half_m = float(distance_m(25.0, 70.0, lon_b, lat_b)) / 2.0
    assert float(distance_m(25.0, 70.0, lon_deg, lat_deg)) == pytest.approx(half_m, abs=0.05)
    assert float(distance_m(lon_b, lat_b, lon_deg, lat_deg)) == pytest.approx(half_m, abs=0.05)


@given(
    st.floats(-180.0, 180.0),
    st.floats(-89.0, 89.0),
    st.floats(0.0, 360.0),
    st.floats(0.0, 20_000.0),
)
def test_midpoint_is_within_decimetres_of_the_wgs84_geodesic_midpoint(
    lon_deg: float, lat_deg: float, azimuth_deg: float, apart_m: float
) -> None:
    lon_b, lat_b, _ = WGS84.fwd(lon_deg, lat_deg, azimuth_deg, apart_m)
    lon_half, lat_half, _ = WGS84.fwd(lon_deg, lat_deg, azimuth_deg, apart_m / 2.0)
    found = midpoint(lon_deg, lat_deg, lon_b, lat_b)
    assert -180.0 <= found[0] <= 180.0
    assert float(distance_m(*found, lon_half, lat_half)) < 0.2
    assert midpoint(lon_b, lat_b, lon_deg, lat_deg) == pytest.approx(found, abs=1e-9)


def test_midpoints_over_arrays_are_the_midpoints_of_each_pair() -> None:
    rng = np.random.default_rng(7)
    lon_a, lat_a = rng.uniform(-180.0, 180.0, 500), rng.uniform(-89.0, 89.0, 500)
    lon_b = lon_a + rng.uniform(-0.2, 0.2, 500)
    lat_b = np.clip(lat_a + rng.uniform(-0.2, 0.2, 500), -89.9, 89.9)
    lon_deg, lat_deg = midpoints(lon_a, lat_a, lon_b, lat_b)
    expected = [
        midpoint(*p) for p in zip(lon_a.tolist(), lat_a.tolist(), lon_b.tolist(), lat_b.tolist(), strict=True)
    ]
    apart_deg = (lon_deg - np.array([e[0] for e in expected]) + 180.0) % 360.0 - 180.0  # 180 is -180
    assert np.allclose(apart_deg, 0.0, rtol=0.0, atol=1e-9)
    assert np.allclose(lat_deg, [e[1] for e in expected], rtol=0.0, atol=1e-9)
