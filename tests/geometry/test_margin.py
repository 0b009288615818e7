"""within_margin against the exact distance of every point: its bounds never decide wrongly, at any
latitude, and the budget of exact measurements gives the caller's choice to the points past it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.geometry.geodesy import distance_m
from deconflict.geometry.margin import within_margin
from deconflict.geometry.overlap import point_to_shape_distance_m
from tests.builders import box, circle, point_at

TOLERANCE = 1e-6  # relative: points this close to the margin may go either way


def exact_m(shape: object, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    pairs = zip(lon.tolist(), lat.tolist(), strict=True)
    return np.array([point_to_shape_distance_m(x, y, shape) for x, y in pairs])


@settings(max_examples=40, deadline=None)
@given(
    lat0_deg=st.floats(-89.0, 88.5),
    seed=st.integers(0, 2**32 - 1),
    margin_m=st.sampled_from([0.0, 300.0, 1852.0, 20_000.0, 55_560.0, 120_000.0]),
    local_frame=st.booleans(),
)
def test_the_bounds_agree_with_the_exact_distance(
    lat0_deg: float, seed: int, margin_m: float, local_frame: bool
) -> None:
    plan = box(10.0, lat0_deg, 10.5, min(89.9, lat0_deg + 0.4))
    rng = np.random.default_rng(seed)
    lon = rng.uniform(8.0, 12.5, 60)
    lat = np.clip(rng.uniform(lat0_deg - 1.5, lat0_deg + 1.9, 60), -90.0, 90.0)
    within, left = within_margin(
        plan, lon, lat, margin_m, exact_left=1000, undecided=False, local_frame=local_frame
    )
    gap_m = exact_m(plan.shape, lon, lat)
    sure = np.abs(gap_m - margin_m) > TOLERANCE * max(margin_m, 1.0)
    assert (within == (gap_m <= margin_m))[sure].all()
    assert 1000 - left <= lon.size


def test_points_past_the_budget_get_the_callers_choice() -> None:
    plan = box(2.0, 48.0, 2.1, 48.1)
    # 10 points within 1 m of the margin (east of the box), one inside, one far: only the
    # first ones are measured, the others of the band get ``undecided``.
    band = [point_at(2.1, 48.05, 90.0, 1000.0 + d) for d in np.linspace(-0.9, 0.9, 10)]
    lon = np.array([2.05, 3.0, *(x for x, _ in band)])
    lat = np.array([48.05, 48.05, *(y for _, y in band)])
    truth = exact_m(plan.shape, lon, lat) <= 1000.0
    assert truth[0] and not truth[1] and 0 < truth[2:].sum() < 10
    measured, left = within_margin(plan, lon, lat, 1000.0, exact_left=100, undecided=False)
    assert measured.tolist() == truth.tolist() and left == 90
    for undecided in (False, True):
        found, left = within_margin(plan, lon, lat, 1000.0, exact_left=4, undecided=undecided)
        assert left == 0
        assert found[:6].tolist() == truth[:6].tolist()  # decided, and the 4 measured
        assert found[6:].tolist() == [undecided] * 6


def test_circles_are_measured_from_their_centre_whatever_the_budget() -> None:
    disc = circle(2.0, 48.0, 5000.0)
    points = [point_at(2.0, 48.0, azimuth, 5999.0) for azimuth in (0.0, 90.0, 200.0)]
    points += [point_at(2.0, 48.0, 45.0, 6001.0)]
    lon, lat = np.array([x for x, _ in points]), np.array([y for _, y in points])
    found, left = within_margin(disc, lon, lat, 1000.0, exact_left=0, undecided=True)
    assert found.tolist() == [True, True, True, False] and left == 0
    assert (distance_m(2.0, 48.0, lon, lat) <= 6000.0).tolist() == found.tolist()


def test_across_the_antimeridian_the_points_are_measured() -> None:
    plan = box(-180.0, 10.0, -179.9, 10.1)  # touches the antimeridian from the west
    lon, lat = np.array([179.99, 179.9]), np.array([10.05, 10.05])  # 1.1 km and 11 km away
    found, left = within_margin(plan, lon, lat, 5000.0, exact_left=10, undecided=False, local_frame=False)
    assert found.tolist() == [True, False] and left == 8


def test_near_the_pole_a_point_across_it_is_measured() -> None:
    plan = box(10.0, 88.8, 10.5, 89.0)
    lon, lat = np.array([-170.0, -170.0]), np.array([89.5, 80.0])  # over the pole: 167 km; 1000 km
    gap_m = exact_m(plan.shape, lon, lat)
    assert 150_000.0 < gap_m[0] < 200_000.0 < gap_m[1]
    found, _ = within_margin(plan, lon, lat, 200_000.0, exact_left=10, undecided=False)
    assert found.tolist() == [True, False]
