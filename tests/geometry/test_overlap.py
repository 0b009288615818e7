"""Footprint overlap decided at the centimetre, with and without buffers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.geometry.geodesy import WGS84, area_m2, destination, distance_m
from deconflict.geometry.overlap import (
    conflicting_overlaps,
    footprints_conflict,
    gap_m,
    overlap_regions,
    point_to_shape_distance_m,
)
from tests.builders import box, box_ring, circle, conflicts_both_ways, point_at, polygon

CM = 0.01


def lon_at(lon: float, lat: float, azimuth_deg: float, distance: float) -> float:
    return float(destination(lon, lat, azimuth_deg, distance)[0])


# --- polygons --------------------------------------------------------------------


def test_polygons_overlapping_by_one_centimetre_conflict() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    west = lon_at(10.01, 45.01, 270.0, CM)  # 1 cm west of a's east edge, at its top
    assert 10.01 - west == pytest.approx(CM / 78_870.0, rel=1e-2)
    b = box(west, 45.0, 10.02, 45.01)
    assert conflicts_both_ways(a, b)


def test_polygons_five_metres_apart_do_not_conflict() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    b = box(lon_at(10.01, 45.0, 90.0, 5.0), 45.0, 10.02, 45.01)
    assert not conflicts_both_ways(a, b)


def test_polygons_sharing_an_edge_do_not_conflict() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    b = box(10.01, 45.0, 10.02, 45.01)
    assert not conflicts_both_ways(a, b)
    assert gap_m(a, b) == 0.0


def test_polygons_sharing_part_of_an_edge_or_a_corner_do_not_conflict() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    assert not conflicts_both_ways(a, box(10.01, 45.005, 10.02, 45.02))
    assert not conflicts_both_ways(a, box(10.01, 45.01, 10.02, 45.02))
    assert not conflicts_both_ways(a, polygon((10.01, 45.005), (10.02, 45.0), (10.02, 45.01)))


def test_polygon_inside_another_conflicts() -> None:
    assert conflicts_both_ways(box(10.0, 45.0, 11.0, 46.0), box(10.4, 45.4, 10.5, 45.5))
    assert conflicts_both_ways(box(10.0, 45.0, 11.0, 46.0), box(10.0, 45.0, 11.0, 46.0))


def test_polygon_inside_a_hole_does_not_conflict() -> None:
    donut = polygon_footprint([[box_ring(0.0, 0.0, 1.0, 1.0), box_ring(0.25, 0.25, 0.75, 0.75)]])
    assert not conflicts_both_ways(donut, box(0.3, 0.3, 0.7, 0.7))
    assert not conflicts_both_ways(donut, box(0.25, 0.25, 0.75, 0.75))
    assert conflicts_both_ways(donut, box(0.2, 0.3, 0.7, 0.7))


def _top_corner_gap(a_east: float, b_west: float, lat: float) -> float:
    # Between two meridian edges the closest points are the corners nearest the pole.
    return float(distance_m(a_east, lat, b_west, lat))


@pytest.mark.parametrize("gap_target_m", [0.05, 5.0, 250.0])
def test_polygon_buffer_conflicts_below_twice_the_gap(gap_target_m: float) -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    west = lon_at(10.01, 45.01, 90.0, gap_target_m)
    b = box(west, 45.0, 10.02, 45.01)
    gap = _top_corner_gap(10.01, west, 45.01)
    assert gap == pytest.approx(gap_target_m, abs=1e-6)
    assert gap_m(a, b) == pytest.approx(gap, abs=1e-4)
    assert not conflicts_both_ways(a, b)
    assert conflicts_both_ways(a, b, buffer_m=gap / 2.0 + CM)
    assert not conflicts_both_ways(a, b, buffer_m=gap / 2.0 - CM)


def test_polygon_buffer_across_latitude() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    _, south = point_at(10.005, 45.01, 0.0, 30.0)
    b = box(10.0, south, 10.01, 45.02)
    gap = float(distance_m(10.005, 45.01, 10.005, south))
    assert gap == pytest.approx(30.0, abs=1e-6)
    assert conflicts_both_ways(a, b, buffer_m=15.0 + CM)
    assert not conflicts_both_ways(a, b, buffer_m=15.0 - CM)


def test_polygons_touching_conflict_with_any_buffer() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    b = box(10.01, 45.0, 10.02, 45.01)
    assert conflicts_both_ways(a, b, buffer_m=CM)


# --- circles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "azimuth"),
    [(36.0, 35.0, 37.0), (0.0, 0.0, 90.0), (-70.0, -55.0, 200.0), (15.0, 78.0, 0.0)],
)
def test_circles_at_radius_sum_plus_minus_one_centimetre(lon: float, lat: float, azimuth: float) -> None:
    other = point_at(lon, lat, azimuth, 10_000.0)
    d = float(distance_m(lon, lat, *other))
    a = circle(lon, lat, 4_000.0)
    assert conflicts_both_ways(a, circle(*other, d - 4_000.0 + CM))
    assert not conflicts_both_ways(a, circle(*other, d - 4_000.0 - CM))
    # Exactly tangent: they touch, they do not share area.
    assert not conflicts_both_ways(a, circle(*other, d - 4_000.0))


def test_tangent_circles_give_the_same_answer_in_both_orders() -> None:
    a_centre, b_centre = (10.123456789012, 46.027654321098), (10.128456789012, 45.987654321098)
    d = float(distance_m(*b_centre, *a_centre))
    a, b = circle(*a_centre, 1111.95), circle(*b_centre, d - 1111.95)
    assert footprints_conflict([a], [b]).tolist() == footprints_conflict([b], [a]).tolist()


def test_concentric_and_nested_circles_conflict() -> None:
    assert conflicts_both_ways(circle(36.0, 35.0, 1.0), circle(36.0, 35.0, 1.0))
    assert conflicts_both_ways(circle(36.0, 35.0, 1.0), circle(36.0, 35.0, 10_000.0))


def test_circle_buffer_conflicts_below_twice_the_gap() -> None:
    other = point_at(36.0, 35.0, 123.0, 2_000.0)
    a, b = circle(36.0, 35.0, 900.0), circle(*other, 1_000.0)  # gap 100 m
    assert not conflicts_both_ways(a, b)
    assert conflicts_both_ways(a, b, buffer_m=50.0 + CM)
    assert not conflicts_both_ways(a, b, buffer_m=50.0 - CM)
    assert gap_m(a, b) == pytest.approx(100.0, abs=1e-6)


@pytest.mark.parametrize("radius_m", [1.0, 250.0, 15_000.0])
@pytest.mark.parametrize("lon0", [0.0, 36.0, -120.0])
def test_circle_against_a_meridian_edge_on_the_equator(radius_m: float, lon0: float) -> None:
    # On the equator the closest point of a meridian edge is on the equator, at
    # exactly the geodesic distance of the edge's longitude.
    def edge_at(distance: float) -> Footprint:
        west = lon_at(lon0, 0.0, 90.0, distance)
        return box(west, -0.05, west + 0.1, 0.05)

    c = circle(lon0, 0.0, radius_m)
    assert conflicts_both_ways(c, edge_at(radius_m - CM))
    assert not conflicts_both_ways(c, edge_at(radius_m + CM))
    assert conflicts_both_ways(c, edge_at(radius_m - 0.001))
    assert not conflicts_both_ways(c, edge_at(radius_m + 0.001))


def _wedge_towards(lon: float, lat: float, azimuth: float, apex_m: float) -> Footprint:
    """A narrow triangle pointing at the centre, apex at ``apex_m``: the apex is its closest point."""
    apex = point_at(lon, lat, azimuth, apex_m)
    far = apex_m + max(50.0, apex_m)
    left = point_at(lon, lat, azimuth - 3.0, far)
    right = point_at(lon, lat, azimuth + 3.0, far)
    return polygon(apex, left, right)


@pytest.mark.parametrize(
    ("lon", "lat", "azimuth", "radius_m"),
    [
        (36.0, 35.0, 10.0, 5_000.0),
        (36.0, 35.0, 250.0, 30.0),
        (-3.0, 60.0, 135.0, 20_000.0),
        (140.0, -45.0, 300.0, 100_000.0),
        (20.0, 82.0, 45.0, 10_000.0),
    ],
)
def test_circle_against_a_polygon_vertex_at_radius_plus_minus_one_centimetre(
    lon: float, lat: float, azimuth: float, radius_m: float
) -> None:
    c = circle(lon, lat, radius_m)
    inside = _wedge_towards(lon, lat, azimuth, radius_m - CM)
    outside = _wedge_towards(lon, lat, azimuth, radius_m + CM)
    assert conflicts_both_ways(c, inside)
    assert not conflicts_both_ways(c, outside)
    assert gap_m(c, outside) == pytest.approx(CM, abs=1e-4)
    assert conflicts_both_ways(c, outside, buffer_m=CM / 2.0 + 1e-4)
    assert not conflicts_both_ways(c, outside, buffer_m=CM / 2.0 - 1e-4)


def test_circle_inside_a_polygon_and_polygon_inside_a_circle_conflict() -> None:
    assert conflicts_both_ways(circle(10.5, 45.5, 10.0), box(10.0, 45.0, 11.0, 46.0))
    assert conflicts_both_ways(circle(10.5, 45.5, 100_000.0), box(10.49, 45.49, 10.51, 45.51))


def test_circle_centred_on_a_polygon_edge_conflicts() -> None:
    assert conflicts_both_ways(circle(11.0, 45.5, 1.0), box(10.0, 45.0, 11.0, 46.0))


def test_circle_in_a_polygon_hole_does_not_conflict() -> None:
    donut = polygon_footprint([[box_ring(0.0, -1.0, 2.0, 1.0), box_ring(0.5, -0.5, 1.5, 0.5)]])
    # The hole's nearest edge is its top (half a degree of latitude is shorter than of longitude).
    to_edge_m = float(distance_m(1.0, 0.0, 1.0, 0.5))
    assert to_edge_m < float(distance_m(1.0, 0.0, 1.5, 0.0))
    assert not conflicts_both_ways(circle(1.0, 0.0, to_edge_m - CM), donut)
    assert conflicts_both_ways(circle(1.0, 0.0, to_edge_m + CM), donut)


# --- the vectorised batch and its helpers ------------------------------------------


def test_batch_keeps_pair_order_and_mixes_kinds() -> None:
    a = [box(0, 0, 1, 1), box(0, 0, 1, 1), circle(0.5, 0.5, 10.0), circle(5.0, 5.0, 10.0), box(0, 0, 1, 1)]
    b = [box(0.5, 0.5, 2, 2), box(1, 0, 2, 1), box(0, 0, 1, 1), circle(5.0, 5.0001, 10.0), circle(3, 3, 1.0)]
    assert footprints_conflict(a, b).tolist() == [True, False, True, True, False]


@pytest.mark.parametrize("buffer_m", [0.0, 2_000.0])
def test_conflicting_overlaps_are_the_two_calls_bit_for_bit(buffer_m: float) -> None:
    # Circles lens-to-lens (sharing their centre-to-centre geodesic), nested, apart, at a
    # pole (no lens), polygons and both mixes, in one batch.
    a = [
        circle(36.0, 35.0, 20_000.0),
        circle(36.0, 35.0, 20_000.0),
        circle(36.0, 35.0, 5_000.0),
        circle(0.0, 89.9, 20_000.0),
        box(36.0, 35.0, 36.3, 35.3),
        box(36.0, 35.0, 36.3, 35.3),
        circle(36.1, 35.1, 9_000.0),
        circle(170.0, 5.0, 1_000.0),
    ]
    b = [
        circle(36.3, 35.1, 15_000.0),
        circle(36.01, 35.0, 30_000.0),
        circle(38.0, 35.0, 5_000.0),
        circle(90.0, 89.95, 15_000.0),
        box(36.2, 35.2, 36.5, 35.5),
        circle(36.35, 35.15, 8_000.0),
        box(36.0, 35.0, 36.3, 35.3),
        circle(170.5, 5.0, 1_000.0),
    ]
    hit, areas, boxes = conflicting_overlaps(a, b, buffer_m)
    expected = footprints_conflict(a, b, buffer_m)
    assert hit.tolist() == expected.tolist()
    assert 0 < hit.sum() < len(a)
    pairs = np.flatnonzero(expected).tolist()
    want_areas, want_boxes = overlap_regions([a[i] for i in pairs], [b[i] for i in pairs], buffer_m)
    assert areas.tobytes() == want_areas.tobytes()
    assert boxes.tobytes() == want_boxes.tobytes()
    with pytest.raises(ValueError, match="equal length"):
        conflicting_overlaps(a, b[:1])


def test_batch_of_nothing_and_mismatched_lengths() -> None:
    assert footprints_conflict([], []).tolist() == []
    with pytest.raises(ValueError, match="equal length"):
        footprints_conflict([box(0, 0, 1, 1)], [])


def test_point_to_shape_distance_is_zero_inside_and_on_the_edge() -> None:
    shape = box(10.0, 45.0, 11.0, 46.0).shape
    assert point_to_shape_distance_m(10.5, 45.5, shape) == 0.0
    assert point_to_shape_distance_m(11.0, 45.5, shape) == 0.0


def _brute_point_to_edges_m(
    lon: float, lat: float, shape: shapely.Geometry, samples: int = 4_001
) -> tuple[float, float]:
    """Distance to the boundary by dense sampling of every lon/lat edge, and its error bound.

    The sampled minimum is an upper bound; the true distance is at most half a
    sample spacing below it.
    """
    coords = np.asarray(shape.exterior.coords)
    t = np.linspace(0.0, 1.0, samples)[:, None]
    best, spacing = np.inf, 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(coords):
        pts = np.array([x0, y0]) + t * np.array([x1 - x0, y1 - y0])
        best = min(best, float(distance_m(lon, lat, pts[:, 0], pts[:, 1]).min()))
        steps = distance_m(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1])
        spacing = max(spacing, float(steps.max()))
    return best, spacing / 2.0


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(min_value=-1.0, max_value=2.0),
    lat=st.floats(min_value=44.0, max_value=47.0),
    corners=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=45.0, max_value=46.0)),
        min_size=3,
        max_size=3,
    ),
)
def test_point_to_shape_distance_matches_dense_sampling(
    lon: float, lat: float, corners: list[tuple[float, float]]
) -> None:
    tri = shapely.Polygon(corners)
    assume(tri.is_valid and tri.area > 1e-4)
    assume(not shapely.intersects_xy(tri, lon, lat))
    got = point_to_shape_distance_m(lon, lat, tri)
    brute, error_m = _brute_point_to_edges_m(lon, lat, tri)
    assert brute - error_m - 1e-6 <= got <= brute + 1e-6


def test_gap_between_polygons_is_geodesic() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    b = box(10.02, 45.0, 10.03, 45.01)
    assert gap_m(a, b) == pytest.approx(float(distance_m(10.01, 45.01, 10.02, 45.01)), abs=1e-4)
    assert gap_m(a, box(10.005, 45.005, 10.03, 45.03)) == 0.0


def _box_area_m2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Area of a lon/lat box on WGS 84 by integrating M N cos(lat) (independent of pyproj)."""
    a = 6_378_137.0
    f = 1 / 298.257223563
    e2 = f * (2 - f)
    lat = np.radians(np.linspace(lat0, lat1, 200_001))
    integrand = np.cos(lat) / (1.0 - e2 * np.sin(lat) ** 2) ** 2
    integral = float(np.sum((integrand[1:] + integrand[:-1]) / 2.0 * np.diff(lat)))
    return np.radians(lon1 - lon0) * a * a * (1.0 - e2) * integral


def test_area_of_a_lon_lat_box_on_the_ellipsoid() -> None:
    got = area_m2([shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(36.0, 35.0, 36.5, 35.5)])
    assert got[0] == pytest.approx(_box_area_m2(0.0, 0.0, 1.0, 1.0), rel=1e-7)
    assert got[1] == pytest.approx(_box_area_m2(36.0, 35.0, 36.5, 35.5), rel=1e-7)


def test_overlap_region_of_two_boxes() -> None:
    areas, bbox = overlap_regions([box(36.0, 35.0, 36.5, 35.5)], [box(36.25, 35.25, 37.0, 36.0)])
    assert areas[0] == pytest.approx(_box_area_m2(36.25, 35.25, 36.5, 35.5), rel=1e-7)
    np.testing.assert_allclose(bbox[0], [36.25, 35.25, 36.5, 35.5], atol=1e-12)


def test_overlap_region_of_two_circles_is_close_to_the_lens() -> None:
    other = point_at(36.0, 35.0, 90.0, 10_000.0)
    d = float(distance_m(36.0, 35.0, *other))
    r = 6_000.0
    lens = 2 * r * r * np.arccos(d / (2 * r)) - d / 2 * np.sqrt(4 * r * r - d * d)
    areas, _ = overlap_regions([circle(36.0, 35.0, r)], [circle(*other, r)])
    # Circles are drawn as 64-gons: the lens is reported within a few percent.
    assert areas[0] == pytest.approx(lens, rel=0.05)


def test_overlap_region_of_a_one_centimetre_sliver() -> None:
    a = box(10.0, 45.0, 10.01, 45.01)
    west = lon_at(10.01, 45.01, 270.0, CM)
    b = box(west, 45.0, 10.02, 45.01)
    areas, bbox = overlap_regions([a], [b])
    height_m = float(distance_m(10.01, 45.0, 10.01, 45.01))
    assert areas[0] == pytest.approx(CM * height_m, rel=1e-3)
    np.testing.assert_allclose(bbox[0], [west, 45.0, 10.01, 45.01], atol=1e-12)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((10.0, 89.5, 100_000.0), (-30.0, 89.7, 80_000.0)),  # both around the north pole
        ((10.0, -89.6, 90_000.0), (150.0, -89.8, 60_000.0)),  # the south pole
        ((179.9, 10.0, 100_000.0), (-179.9, 10.1, 80_000.0)),  # across the antimeridian
    ],
)
def test_a_buffered_overlap_at_a_pole_or_the_seam_is_larger_and_stays_on_the_globe(
    a: tuple[float, float, float], b: tuple[float, float, float]
) -> None:
    """A buffer grows the overlap (once it grew past latitude 90: a NaN area, or wrapped at 180)."""
    fa, fb = circle_footprint(*a), circle_footprint(*b)
    plain, _ = overlap_regions([fa], [fb])
    with np.errstate(all="raise"):
        grown, bbox = overlap_regions([fa], [fb], 5_000.0)
    assert np.isfinite(grown[0]) and grown[0] > plain[0]
    west, south, east, north = bbox[0]
    assert min(west, east) >= -180.0 and max(west, east) <= 180.0 and -90.0 <= south < north <= 90.0


def test_geodesic_helpers_are_pyproj_geod() -> None:
    _, _, d = WGS84.inv(36.0, 35.0, 37.0, 36.0)
    assert float(distance_m(36.0, 35.0, 37.0, 36.0)) == d


# --- overlap facts of two circles: the analytic lens against dense polygons --------


@pytest.mark.parametrize(
    ("lon_deg", "lat_deg", "r1_m", "r2_m", "d_m", "azimuth_deg"),
    [
        (36.0, 35.0, 10_000.0, 8_000.0, 12_000.0, 60.0),
        (36.0, 35.0, 25_000.0, 2_000.0, 5_000.0, 200.0),  # one inside the other
        (10.0, -60.0, 30_000.0, 30_000.0, 59_000.0, 10.0),  # a thin lens at high latitude
        (179.99, 5.0, 8_000.0, 8_000.0, 9_000.0, 90.0),  # across the antimeridian
    ],
)
def test_circle_lens_matches_a_dense_polygon_overlap(
    lon_deg: float, lat_deg: float, r1_m: float, r2_m: float, d_m: float, azimuth_deg: float
) -> None:
    lon2, lat2 = destination(lon_deg, lat_deg, azimuth_deg, d_m)
    a = circle_footprint(lon_deg, lat_deg, r1_m)
    b = circle_footprint(float(lon2), float(lat2), r2_m)
    areas, boxes = overlap_regions([a], [b])
    dense_a = circle_footprint(lon_deg, lat_deg, r1_m, segments=4096).shape
    dense_b = circle_footprint(float(lon2), float(lat2), r2_m, segments=4096).shape
    dense = shapely.intersection(dense_a, dense_b)
    assert areas[0] == pytest.approx(float(area_m2([dense])[0]), rel=2e-4)
    west, south, east, north = boxes[0]
    if west > east:  # across the antimeridian: compare in continuous longitudes
        east += 360.0
    parts = dense.geoms if hasattr(dense, "geoms") else [dense]
    lons = np.concatenate([np.asarray(p.exterior.coords)[:, 0] for p in parts])
    lats = np.concatenate([np.asarray(p.exterior.coords)[:, 1] for p in parts])
    lons = np.where(lons < west - 180.0, lons + 360.0, lons)
    tolerance_deg = 5.0 / 111_000.0 / max(np.cos(np.radians(abs(lat_deg) + 1.0)), 0.1)
    assert south == pytest.approx(lats.min(), abs=tolerance_deg)
    assert north == pytest.approx(lats.max(), abs=tolerance_deg)
    assert west == pytest.approx(lons.min(), abs=tolerance_deg)
    assert east == pytest.approx(lons.max(), abs=tolerance_deg)
