"""Which points lie within a margin of a footprint: vectorised over the points.

A point lies within ``margin_m`` of a footprint when its geodesic distance to it is at most
``margin_m`` (0 inside or on it). A circle is measured exactly, from its centre (at most the
radius plus the margin). A polygon is decided by cheap tests where they can, over all the
points at once:

1. inside (shapely's point-in-polygon over arrays, the polygon prepared once and kept);
2. within ``margin_m / 111.7 km`` in degrees: surely within, since no degree is longer;
3. a local frame whose longitudes are scaled by the cosine of the region's middle latitude:
   surely within, or surely farther (up to 80° of latitude and margins up to 50 km);
4. farther than ``margin_m`` over the shortest degree at the points' highest reach (up to 89°
   of latitude): surely farther;

and the exact distance (:func:`~deconflict.geometry.overlap.point_to_shape_distance_m`, a few
milliseconds each) only for the few points in the thin band around the polygon's edge that
none of them decides, at most ``exact_left`` points: what the others count as is the caller's
``undecided`` (a gate that must not disclose says not within; a check that must not raise a
false alarm says within). Tests 3 and 4 measure in degrees and do not hold across the
antimeridian: a caller whose footprint grown by the margin reaches across it says so
(``local_frame=False``) and the points they would decide are measured.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from deconflict.geometry.footprint import Footprint
from deconflict.geometry.geodesy import distance_m
from deconflict.geometry.overlap import point_to_shape_distance_m

__all__ = ["within_margin"]

Bool = NDArray[np.bool_]
Float = NDArray[np.float64]

_MAX_M_PER_DEG = 111_700.0  # upper bound of metres per degree in any direction
_MIN_M_PER_DEG = 110_574.0  # lower bound of metres per degree (of latitude, or of longitude times cos lat)
_MAX_SCALED_LAT_DEG = 80.0
_MAX_SCALED_MARGIN_M = 50_000.0
_MAX_DEGREE_BOUND_LAT_DEG = 89.0


def within_margin(
    footprint: Footprint,
    lon_deg: Float,
    lat_deg: Float,
    margin_m: float,
    *,
    exact_left: int,
    undecided: bool,
    local_frame: bool = True,
) -> tuple[Bool, int]:
    """Which points lie within ``margin_m`` (geodesic) of ``footprint`` (see the module's rules),
    and how many exact measurements are left of ``exact_left``.

    Parameters
    ----------
    footprint
        A circle or a polygon.
    lon_deg, lat_deg
        The points, in degrees (same shape, one dimension).
    margin_m
        The margin, in metres (0 or less: only points inside or on the footprint).
    exact_left
        How many points may still be measured exactly (the caller's budget for a call).
    undecided
        What a point counts as when it would need the exact distance and none is left.
    local_frame
        Whether the footprint grown by the margin stays clear of the antimeridian, so that
        bounds in degrees hold.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint, polygon_footprint
    >>> square = polygon_footprint([[np.array([[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.1]])]])
    >>> lon = np.array([2.05, 2.11, 2.2, 2.1134, 2.1135])  # inside, 744 m, 6.7 km, 999 m, 1006 m
    >>> lat = np.full(5, 48.05)
    >>> within, left = within_margin(square, lon, lat, 1000.0, exact_left=8, undecided=False)
    >>> within.tolist(), left
    ([True, True, False, True, False], 6)
    >>> within, left = within_margin(square, lon, lat, 1000.0, exact_left=1, undecided=True)
    >>> within.tolist(), left
    ([True, True, False, True, True], 0)
    >>> within_margin(circle_footprint(2.0, 48.0, 5000.0), np.array([2.08]), np.array([48.0]), 1000.0,
    ...               exact_left=0, undecided=False)[0].tolist()
    [True]
    """
    lon = np.asarray(lon_deg, dtype=np.float64)
    lat = np.asarray(lat_deg, dtype=np.float64)
    if footprint.is_circle:
        assert footprint.centre_lon_deg is not None and footprint.centre_lat_deg is not None
        assert footprint.radius_m is not None
        gap_m = distance_m(footprint.centre_lon_deg, footprint.centre_lat_deg, lon, lat)
        return np.asarray(gap_m <= footprint.radius_m + margin_m, dtype=bool), exact_left
    shape = footprint.shape
    shapely.prepare(shape)  # kept on the geometry: later calls reuse it
    # Inside (most aircraft, in their own plans): no point objects needed.
    within = np.asarray(shapely.intersects_xy(shape, lon, lat), dtype=bool)
    rest = np.flatnonzero(~within)
    if rest.size == 0 or margin_m <= 0.0:
        return within, exact_left
    surely = shapely.dwithin(shape, shapely.points(lon[rest], lat[rest]), margin_m / _MAX_M_PER_DEG)
    within[rest[surely]] = True
    rest = rest[~surely]
    if rest.size and local_frame:
        near, far = _scaled_bounds(shape, lon[rest], lat[rest], margin_m)
        within[rest[near]] = True
        rest = rest[~near & ~far]
    if rest.size and local_frame:
        rest = rest[~_farther_in_degrees(shape, lon[rest], lat[rest], margin_m)]
    for k in rest.tolist():
        if exact_left <= 0:
            within[k] = undecided
            continue
        exact_left -= 1
        within[k] = point_to_shape_distance_m(float(lon[k]), float(lat[k]), shape) <= margin_m
    return within, exact_left


def _scaled_bounds(shape: object, lon: Float, lat: Float, margin_m: float) -> tuple[Bool, Bool]:
    """Points surely within ``margin_m`` of ``shape``, and points surely farther, by a local scaled frame.

    Longitudes are scaled by the cosine of the region's middle latitude, so a
    degree is nearly as long east as north; the spread of the cosine over the
    region (and the ellipsoid's 1 %) bounds the error, and only the points in
    the thin band the bounds leave need the exact distance. Neither decides
    (both all false) at high latitudes or for a margin of more than 50 km.
    """
    _, lat_lo, _, lat_hi = shapely.bounds(shape).tolist()
    reach_deg = margin_m / _MIN_M_PER_DEG
    low = max(-90.0, min(lat_lo, float(lat.min())) - reach_deg)
    high = min(90.0, max(lat_hi, float(lat.max())) + reach_deg)
    undecided = np.zeros(lon.shape, dtype=bool)
    if max(abs(low), abs(high)) > _MAX_SCALED_LAT_DEG or margin_m > _MAX_SCALED_MARGIN_M:
        return undecided, undecided
    middle = math.radians((low + high) / 2.0)
    cosines = [math.cos(math.radians(low)), math.cos(math.radians(high)), 1.0 if low <= 0.0 <= high else 0.0]
    spread = (max(cosines) - min(c for c in cosines[:2])) / math.cos(middle) + 0.01
    scale = math.cos(middle)
    scaled = shapely.transform(shape, lambda xy: xy * np.array([scale, 1.0]))
    points = shapely.points(lon * scale, lat)
    near = shapely.dwithin(scaled, points, margin_m / (_MAX_M_PER_DEG * (1.0 + spread)))
    far = ~shapely.dwithin(scaled, points, margin_m / (_MIN_M_PER_DEG * (1.0 - spread)))
    return np.asarray(near, dtype=bool), np.asarray(far, dtype=bool)


def _farther_in_degrees(shape: object, lon: Float, lat: Float, margin_m: float) -> Bool:
    """Points surely farther than ``margin_m`` from ``shape``: beyond the margin over the shortest
    degree (of longitude) at the highest latitude within the margin of any of them; none past 89°."""
    max_lat = float(np.max(np.abs(lat))) + margin_m / _MIN_M_PER_DEG
    if max_lat > _MAX_DEGREE_BOUND_LAT_DEG:
        return np.zeros(lon.shape, dtype=bool)
    shortest_m = _MIN_M_PER_DEG * math.cos(math.radians(max_lat))
    return np.asarray(~shapely.dwithin(shape, shapely.points(lon, lat), margin_m / shortest_m), dtype=bool)
