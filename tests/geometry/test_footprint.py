"""Footprints: lon/lat polygons as given, geodesic circles with sure outer/inner bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from deconflict.geometry.footprint import CIRCLE_SEGMENTS, circle_footprint, polygon_footprint
from deconflict.geometry.geodesy import destination, distance_m
from tests.builders import box, box_ring, ring


def test_polygon_footprint_is_the_polygon_as_given() -> None:
    fp = box(36.0, 35.0, 36.5, 35.25)
    assert not fp.is_circle
    assert isinstance(fp.shape, Polygon)
    assert fp.shape.equals(shapely.box(36.0, 35.0, 36.5, 35.25))
    assert fp.outer is fp.shape
    assert fp.inner is fp.shape
    assert fp.centre_lon_deg is None and fp.radius_m is None
    assert fp.part_bounds() == [(36.0, 35.0, 36.5, 35.25)]


def test_polygon_with_hole_excludes_the_hole() -> None:
    fp = polygon_footprint([[box_ring(0.0, 0.0, 1.0, 1.0), box_ring(0.4, 0.4, 0.6, 0.6)]])
    assert shapely.intersects_xy(fp.shape, 0.2, 0.2)
    assert not shapely.intersects_xy(fp.shape, 0.5, 0.5)
    assert fp.shape.area == pytest.approx(1.0 - 0.04)


def test_multipolygon_keeps_every_part() -> None:
    fp = polygon_footprint([[box_ring(0.0, 0.0, 1.0, 1.0)], [box_ring(2.0, 0.0, 3.0, 1.0)]])
    assert isinstance(fp.shape, MultiPolygon)
    assert sorted(fp.part_bounds()) == [(0.0, 0.0, 1.0, 1.0), (2.0, 0.0, 3.0, 1.0)]


def test_self_intersecting_ring_is_refused_with_shapely_explanation() -> None:
    bow_tie = ring((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0))
    with pytest.raises(ValueError, match=r"invalid polygon: Self-intersection\[0\.5 0\.5\]"):
        polygon_footprint([[bow_tie]])


def test_collinear_ring_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid polygon"):
        polygon_footprint([[ring((0.0, 0.0), (1.0, 0.0), (2.0, 0.0))]])


def test_overlapping_multipolygon_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid multipolygon: Self-intersection"):
        polygon_footprint([[box_ring(0.0, 0.0, 2.0, 2.0)], [box_ring(1.0, 1.0, 3.0, 3.0)]])


def test_invalid_part_of_a_multipolygon_is_located() -> None:
    bow_tie = ring((5.0, 0.0), (6.0, 1.0), (6.0, 0.0), (5.0, 1.0))
    with pytest.raises(ValueError, match=r"^polygon 1: invalid polygon: Self-intersection"):
        polygon_footprint([[box_ring(0.0, 0.0, 1.0, 1.0)], [bow_tie]])


def test_hole_outside_the_shell_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid polygon: Hole lies outside shell"):
        polygon_footprint([[box_ring(0.0, 0.0, 1.0, 1.0), box_ring(2.0, 2.0, 3.0, 3.0)]])


@pytest.mark.parametrize("radius_m", [0.0, -1.0, math.nan, math.inf])
def test_circle_radius_must_be_positive_and_finite(radius_m: float) -> None:
    with pytest.raises(ValueError, match="radius must be a positive finite number"):
        circle_footprint(36.0, 35.0, radius_m)


def test_circle_vertices_lie_on_the_geodesic_circle() -> None:
    fp = circle_footprint(36.0, 35.0, 12_345.0)
    assert fp.is_circle
    assert (fp.centre_lon_deg, fp.centre_lat_deg, fp.radius_m) == (36.0, 35.0, 12_345.0)
    xy = np.asarray(fp.shape.exterior.coords)
    assert len(xy) == CIRCLE_SEGMENTS + 1
    np.testing.assert_allclose(distance_m(36.0, 35.0, xy[:, 0], xy[:, 1]), 12_345.0, atol=1e-6)


def test_circle_bounds_nest() -> None:
    fp = circle_footprint(36.0, 35.0, 1000.0)
    assert fp.inner is not None
    assert fp.outer.contains(fp.shape)
    assert fp.shape.contains(fp.inner)


def test_circle_containing_the_north_pole_covers_every_longitude_near_it() -> None:
    # (0, 89.5) is 55.8 km from the pole, so a 60 km circle contains it.
    fp = circle_footprint(0.0, 89.5, 60_000.0)
    assert fp.outer.bounds[3] == 90.0
    assert fp.inner is None
    lons = np.linspace(-180.0, 180.0, 73)
    assert shapely.intersects_xy(fp.outer, lons, np.full_like(lons, 89.99)).all()
    assert shapely.intersects_xy(fp.shape, lons, np.full_like(lons, 89.99)).all()


def test_circle_containing_the_south_pole() -> None:
    fp = circle_footprint(120.0, -89.8, 30_000.0)
    assert fp.outer.bounds[1] == -90.0
    lons = np.linspace(-180.0, 180.0, 73)
    assert shapely.intersects_xy(fp.outer, lons, np.full_like(lons, -89.99)).all()


@pytest.mark.parametrize(("lon", "lat"), [(10.0, 89.5), (-170.0, 89.5), (0.0, -89.7)])
def test_circle_containing_a_pole_has_a_valid_shape(lon: float, lat: float) -> None:
    fp = circle_footprint(lon, lat, 60_000.0)
    assert shapely.is_valid_reason(fp.shape) == "Valid Geometry"


def _outer_boundary_points(shape: Polygon | MultiPolygon) -> np.ndarray:
    parts = shape.geoms if isinstance(shape, MultiPolygon) else [shape]
    points = []
    for part in parts:
        line = part.exterior
        dense = shapely.segmentize(line, max_segment_length=line.length / 400.0)
        points.append(np.asarray(dense.coords))
    return np.vstack(points)


@settings(max_examples=150, deadline=None)
@given(
    lon=st.floats(min_value=-180.0, max_value=180.0),
    lat=st.floats(min_value=-89.0, max_value=89.0),
    radius_m=st.floats(min_value=1.0, max_value=500_000.0),
)
def test_circle_outer_contains_and_inner_lies_inside_the_true_circle(
    lon: float, lat: float, radius_m: float
) -> None:
    fp = circle_footprint(lon, lat, radius_m)
    azimuths = np.linspace(0.0, 360.0, 2048, endpoint=False)
    on_lon, on_lat = destination(lon, lat, azimuths, radius_m)
    # Every point of the true circle is in the outer polygon.
    assert shapely.intersects_xy(fp.outer, on_lon, on_lat).all()
    assert shapely.intersects_xy(fp.outer, lon, lat)
    if fp.inner is not None:
        # Every point of the inner polygon (its boundary, densely along its
        # lon/lat edges, including cut lines at +-180) is inside the circle.
        edge = _outer_boundary_points(fp.inner)
        assert (distance_m(lon, lat, edge[:, 0], edge[:, 1]) < radius_m).all()
