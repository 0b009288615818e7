"""The antimeridian and the poles: split polygons, circles that wrap, caps over a pole."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon

from deconflict.geometry.antimeridian import split_at_antimeridian, unwrap_longitudes
from deconflict.geometry.footprint import Footprint, polygon_footprint
from deconflict.geometry.geodesy import area_m2, distance_m
from deconflict.geometry.overlap import gap_m
from tests.builders import box, box_ring, circle, conflicts_both_ways, point_at, ring

CM = 0.01


# --- unwrapping and splitting ------------------------------------------------------


def test_unwrap_longitudes() -> None:
    assert unwrap_longitudes(np.array([179.0, -179.0, -178.0])).tolist() == [179.0, 181.0, 182.0]
    assert unwrap_longitudes(np.array([-179.0, 179.0, -179.0])).tolist() == [-179.0, -181.0, -179.0]
    assert unwrap_longitudes(np.array([10.0, 20.0, 30.0])).tolist() == [10.0, 20.0, 30.0]
    assert unwrap_longitudes(np.array([])).tolist() == []


def test_split_leaves_shapes_inside_the_world_alone() -> None:
    shape = shapely.box(-180.0, 0.0, 180.0, 1.0)
    assert split_at_antimeridian(shape) is shape


def test_split_cuts_at_the_antimeridian_and_keeps_the_area() -> None:
    split = split_at_antimeridian(shapely.box(179.0, 0.0, 181.0, 1.0))
    assert isinstance(split, MultiPolygon)
    assert sorted(p.bounds for p in split.geoms) == [(-180.0, 0.0, -179.0, 1.0), (179.0, 0.0, 180.0, 1.0)]
    assert split.area == pytest.approx(2.0)


def test_split_handles_the_western_side() -> None:
    split = split_at_antimeridian(shapely.box(-181.5, 10.0, -179.5, 11.0))
    assert sorted(p.bounds for p in split.geoms) == [(-180.0, 10.0, -179.5, 11.0), (178.5, 10.0, 180.0, 11.0)]


# --- polygons given across the antimeridian ----------------------------------------


def unsplit_box() -> Footprint:
    """A 2-degree box from 179 E to 179 W given as one ring, as users write it."""
    return polygon_footprint([[ring((179.0, 0.0), (-179.0, 0.0), (-179.0, 1.0), (179.0, 1.0))]])


def test_unsplit_polygon_is_split_into_two_parts() -> None:
    fp = unsplit_box()
    assert isinstance(fp.shape, MultiPolygon)
    assert sorted(fp.part_bounds()) == [(-180.0, 0.0, -179.0, 1.0), (179.0, 0.0, 180.0, 1.0)]
    assert shapely.intersects_xy(fp.shape, [179.5, -179.5, 180.0], [0.5, 0.5, 0.5]).all()
    assert not shapely.intersects_xy(fp.shape, 0.0, 0.5)
    # Same area as a 2-degree box anywhere else on the same latitudes.
    assert area_m2([fp.shape])[0] == pytest.approx(area_m2([shapely.box(0.0, 0.0, 2.0, 1.0)])[0], rel=1e-9)


def test_wide_edge_is_taken_the_short_way_across_the_antimeridian() -> None:
    fp = polygon_footprint([[ring((-170.0, 0.0), (170.0, 0.0), (170.0, 1.0), (-170.0, 1.0))]])
    assert shapely.intersects_xy(fp.shape, 180.0, 0.5)
    assert not shapely.intersects_xy(fp.shape, 0.0, 0.5)
    assert fp.shape.area == pytest.approx(20.0)


def test_unsplit_and_presplit_polygons_are_the_same_footprint() -> None:
    presplit = polygon_footprint([[box_ring(179.0, 0.0, 180.0, 1.0)], [box_ring(-180.0, 0.0, -179.0, 1.0)]])
    assert unsplit_box().shape.symmetric_difference(presplit.shape).area == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (box(-179.5, 0.2, -179.2, 0.4), True),
        (box(179.2, 0.2, 179.5, 0.4), True),
        (box(179.9, 0.2, 180.1, 0.4), True),
        (box(-178.9, 0.2, -178.0, 0.4), False),
        (box(-179.0, 0.2, -178.0, 0.4), False),  # touches the east edge
        (box(178.0, 0.2, 179.0, 0.4), False),  # touches the west edge
        (box(0.0, 0.2, 1.0, 0.4), False),
    ],
)
def test_unsplit_polygon_conflicts_where_it_is(other: Footprint, expected: bool) -> None:
    assert conflicts_both_ways(unsplit_box(), other) is expected


def test_polygons_meeting_at_the_antimeridian_only_touch() -> None:
    assert not conflicts_both_ways(box(170.0, 0.0, 180.0, 1.0), box(-180.0, 0.0, -170.0, 1.0))


def test_polygon_overlapping_across_the_antimeridian_by_one_centimetre() -> None:
    east_edge = point_at(180.0, 0.5, 90.0, CM)[0]  # 1 cm east of the antimeridian
    assert -180.0 < east_edge < -179.9999999
    a = polygon_footprint([[ring((179.9, 0.0), (east_edge, 0.0), (east_edge, 1.0), (179.9, 1.0))]])
    assert conflicts_both_ways(a, box(-180.0, 0.0, -179.9, 1.0))
    west_edge = point_at(-180.0, 0.5, 270.0, CM)[0]
    b = box(west_edge, 0.0, 180.0, 1.0)
    # 1 cm short: they only touch the line
    assert conflicts_both_ways(b, box(-180.0, 0.0, -179.9, 1.0)) is False
    across = polygon_footprint([[ring((179.999, 0.0), (-179.9, 0.0), (-179.9, 1.0), (179.999, 1.0))]])
    assert conflicts_both_ways(b, across)


# --- circles across the antimeridian -------------------------------------------------


@pytest.mark.parametrize("lat", [0.0, 45.0, -60.0])
def test_circles_on_both_sides_of_the_antimeridian(lat: float) -> None:
    west, east = (179.99, lat), (-179.99, lat)
    d = float(distance_m(*west, *east))
    assert d < 3_000.0  # the short way round
    a = circle(*west, 600.0)
    assert conflicts_both_ways(a, circle(*east, d - 600.0 + CM))
    assert not conflicts_both_ways(a, circle(*east, d - 600.0 - CM))


def test_circle_crossing_the_antimeridian_is_split() -> None:
    fp = circle(179.99, 10.0, 5_000.0)
    assert isinstance(fp.shape, MultiPolygon)
    assert fp.shape.bounds[0] == -180.0 and fp.shape.bounds[2] == 180.0
    assert shapely.intersects_xy(fp.outer, -179.97, 10.0)


@pytest.mark.parametrize("centre_lon", [179.99, 180.0, -180.0, -179.995])
def test_circle_across_the_antimeridian_against_a_meridian_edge(centre_lon: float) -> None:
    radius_m = 3_000.0

    def polygon_at(distance: float) -> Footprint:
        west = point_at(centre_lon, 0.0, 90.0, distance)[0]
        return polygon_footprint([[ring((west, -0.1), (west + 0.2, -0.1), (west + 0.2, 0.1), (west, 0.1))]])

    c = circle(centre_lon, 0.0, radius_m)
    assert conflicts_both_ways(c, polygon_at(radius_m - CM))
    assert not conflicts_both_ways(c, polygon_at(radius_m + CM))


def test_circle_at_plus_and_minus_180_is_the_same_place() -> None:
    assert conflicts_both_ways(circle(180.0, 20.0, 10.0), circle(-180.0, 20.0, 10.0))
    assert conflicts_both_ways(circle(180.0, 20.0, 10.0), box(-180.0, 19.9, -179.9, 20.1))


# --- the poles -----------------------------------------------------------------------


def test_circle_containing_the_pole_against_a_polygon_over_the_pole() -> None:
    # Centre 0 E 89.5 N, 60 km: contains the pole. Heading north crosses the pole
    # and comes down meridian 180, where the triangle's apex points at the centre
    # (on a parallel that close to the pole, points off meridian 180 are nearer,
    # so the apex, not an edge, must be the closest point).
    radius_m = 60_000.0
    centre = (0.0, 89.5)
    assert float(distance_m(*centre, 0.0, 90.0)) < radius_m

    def triangle(distance: float) -> Footprint:
        lon_top, lat_top = point_at(*centre, 0.0, distance)
        assert abs(abs(lon_top) - 180.0) < 1e-6
        return polygon_footprint([[ring((180.0, lat_top), (179.0, 89.0), (-179.0, 89.0))]])

    c = circle(*centre, radius_m)
    assert conflicts_both_ways(c, triangle(radius_m - CM))
    assert not conflicts_both_ways(c, triangle(radius_m + CM))


def test_circles_over_the_pole() -> None:
    a_centre, b_centre = (0.0, 89.5), (180.0, 89.6)
    d = float(distance_m(*a_centre, *b_centre))
    assert d == pytest.approx((0.5 + 0.4) * 111_694.0, rel=1e-3)  # through the pole
    a = circle(*a_centre, 60_000.0)
    assert conflicts_both_ways(a, circle(*b_centre, d - 60_000.0 + CM))
    assert not conflicts_both_ways(a, circle(*b_centre, d - 60_000.0 - CM))


def test_circle_containing_the_south_pole_against_a_polygon() -> None:
    c = circle(45.0, -89.8, 40_000.0)
    assert conflicts_both_ways(c, box(-135.0, -89.9, -134.0, -89.85))  # other side, inside the circle
    assert not conflicts_both_ways(c, box(-135.0, -88.0, -134.0, -87.0))


def test_circle_centred_on_the_pole() -> None:
    c = circle(0.0, 90.0, 20_000.0)
    inside = 90.0 - 19_900.0 / 111_694.0
    outside = 90.0 - 20_100.0 / 111_694.0
    for lon in (-170.0, -30.0, 60.0, 179.0):
        assert conflicts_both_ways(c, box(lon, inside - 0.1, lon + 0.5, inside))
        assert not conflicts_both_ways(c, box(lon, outside - 0.1, lon + 0.5, outside))


# --- property: near the antimeridian and the poles, against geodesic distance -------


def _reference_distance_m(lon: float, lat: float, corners: np.ndarray) -> float:
    """Geodesic distance from a point to a lon/lat polygon's boundary, refined sampling."""
    best = np.inf
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        lo, hi = 0.0, 1.0
        for _ in range(5):
            t = np.linspace(lo, hi, 129)
            d = distance_m(lon, lat, x0 + t * (x1 - x0), y0 + t * (y1 - y0))
            k = int(np.argmin(d))
            step = t[1] - t[0]
            lo, hi = max(0.0, t[k] - step), min(1.0, t[k] + step)
        best = min(best, float(d.min()))
    return best


def _reference_circle_polygon(
    centre: tuple[float, float], radius_m: float, corners_unwrapped: np.ndarray
) -> bool | None:
    """True/False, or None if within the tolerance band."""
    poly = shapely.Polygon(corners_unwrapped)
    lon, lat = centre
    for shift in (-360.0, 0.0, 360.0):
        if shapely.intersects_xy(poly, lon + shift, lat):
            return True
    d = _reference_distance_m(lon, lat, corners_unwrapped)
    if abs(d - radius_m) < 0.05:
        return None
    return d < radius_m


def _wrap(lon: np.ndarray) -> np.ndarray:
    return (lon + 180.0) % 360.0 - 180.0


@settings(max_examples=120, deadline=None)
@given(
    centre_lon=st.floats(min_value=179.0, max_value=181.0),
    centre_lat=st.floats(min_value=-70.0, max_value=70.0),
    radius_m=st.floats(min_value=1.0, max_value=60_000.0),
    dx=st.floats(min_value=-1.0, max_value=1.0),
    dy=st.floats(min_value=-0.6, max_value=0.6),
    width=st.floats(min_value=0.001, max_value=0.8),
    height=st.floats(min_value=0.001, max_value=0.8),
    skew=st.floats(min_value=-0.3, max_value=0.3),
)
def test_circle_polygon_near_the_antimeridian_matches_geodesic_reference(
    centre_lon: float,
    centre_lat: float,
    radius_m: float,
    dx: float,
    dy: float,
    width: float,
    height: float,
    skew: float,
) -> None:
    x0, y0 = centre_lon + dx, centre_lat + dy
    corners = np.array([(x0, y0), (x0 + width, y0 + skew * height), (x0 + width, y0 + height), (x0, y0)])
    expected = _reference_circle_polygon((centre_lon, centre_lat), radius_m, corners)
    assume(expected is not None)
    given_corners = np.column_stack([_wrap(corners[:, 0]), corners[:, 1]])
    fp = polygon_footprint([[given_corners]])
    c = circle(float(_wrap(np.array([centre_lon]))[0]), centre_lat, radius_m)
    event(f"expected {expected}")
    assert conflicts_both_ways(c, fp) is expected


@settings(max_examples=120, deadline=None)
@given(
    centre_lon=st.floats(min_value=-180.0, max_value=180.0),
    centre_lat=st.floats(min_value=88.0, max_value=90.0),
    radius_m=st.floats(min_value=100.0, max_value=250_000.0),
    lon0=st.floats(min_value=-180.0, max_value=180.0),
    width=st.floats(min_value=0.5, max_value=170.0),
    lat0=st.floats(min_value=86.0, max_value=89.9),
    height=st.floats(min_value=0.001, max_value=1.0),
    south=st.booleans(),
)
def test_circle_polygon_near_a_pole_matches_geodesic_reference(
    centre_lon: float,
    centre_lat: float,
    radius_m: float,
    lon0: float,
    width: float,
    lat0: float,
    height: float,
    south: bool,
) -> None:
    lat1 = min(lat0 + height, 89.99)
    assume(lat1 > lat0)
    sign = -1.0 if south else 1.0
    xs = np.linspace(lon0, lon0 + width, 5)
    corners = [(x, sign * lat0) for x in xs] + [(x, sign * lat1) for x in xs[::-1]] + [(lon0, sign * lat0)]
    corners_unwrapped = np.asarray(corners)
    expected = _reference_circle_polygon((centre_lon, sign * centre_lat), radius_m, corners_unwrapped)
    assume(expected is not None)
    given_corners = np.column_stack([_wrap(corners_unwrapped[:, 0]), corners_unwrapped[:, 1]])
    fp = polygon_footprint([[given_corners]])
    event(f"expected {expected}")
    assert conflicts_both_ways(circle(centre_lon, sign * centre_lat, radius_m), fp) is expected


# --- buffers across the antimeridian and over the poles -------------------------------


def test_buffer_reaches_across_the_antimeridian_between_polygons() -> None:
    a = box(179.9, 0.0, 179.9999, 0.1)
    b = box(-180.0, 0.0, -179.9, 0.1)
    gap = gap_m(a, b)
    assert gap == pytest.approx(float(distance_m(179.9999, 0.0, 180.0, 0.0)), abs=1e-3)  # 11.13 m
    assert not conflicts_both_ways(a, b, buffer_m=gap / 2.0 - CM)
    assert conflicts_both_ways(a, b, buffer_m=gap / 2.0 + CM)


def test_buffer_reaches_across_the_antimeridian_between_circle_and_polygon() -> None:
    c = circle(179.999, 0.0, 100.0)
    b = box(-180.0, -0.1, -179.9, 0.1)
    gap = float(distance_m(179.999, 0.0, 180.0, 0.0)) - 100.0  # 11.3 m
    assert conflicts_both_ways(c, b, buffer_m=gap / 2.0 + CM)


def test_touching_at_the_antimeridian_conflicts_with_a_buffer_between_circles() -> None:
    # Circle pairs are decided by centre distance alone, which wraps correctly.
    d = float(distance_m(179.999, 0.0, -179.999, 0.0))
    assert conflicts_both_ways(
        circle(179.999, 0.0, 100.0), circle(-179.999, 0.0, 100.0), buffer_m=(d - 200.0) / 2 + CM
    )


def test_buffer_reaches_over_the_pole_between_polygons() -> None:
    a = box(-1.0, 89.9, 1.0, 89.91)
    b = box(179.0, 89.9, 181.0, 89.91)
    gap = gap_m(a, b)
    assert gap == pytest.approx(2 * 0.09 * 111_694.0, rel=1e-3)  # 20.1 km through the pole
    assert conflicts_both_ways(a, b, buffer_m=gap / 2.0 + 1.0)
