"""Geodesy on WGS 84: distances, azimuthal equidistant coordinates, areas.

All functions take and return NumPy arrays (or scalars) in degrees and metres.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod, Transformer

__all__ = [
    "EARTH_MEAN_RADIUS_M",
    "WGS84",
    "aeqd_pairs",
    "aeqd_xy_m",
    "area_m2",
    "destination",
    "distance_m",
    "midpoint",
    "midpoints",
]

WGS84 = Geod(ellps="WGS84")
"""The WGS 84 ellipsoid; pyproj's Geod is a thin, stateless wrapper of GeographicLib."""

EARTH_MEAN_RADIUS_M = 6_371_008.8
"""IUGG mean radius, for error bounds only (never for distances)."""

Float = NDArray[np.float64]


def distance_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Float:
    """Geodesic distance on WGS 84, element-wise, in metres.

    Examples
    --------
    >>> round(float(distance_m(0.0, 0.0, 1.0, 0.0)), 3)
    111319.491
    """
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    )
    _, _, dist = WGS84.inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    return np.asarray(dist, dtype=np.float64).reshape(lon1.shape)


def aeqd_xy_m(
    centre_lon_deg: float, centre_lat_deg: float, lon_deg: ArrayLike, lat_deg: ArrayLike
) -> tuple[Float, Float]:
    """Azimuthal equidistant coordinates (east, north) of points around a centre.

    The distance of ``(x, y)`` from the origin is the exact geodesic distance
    from the centre, which is what the circle tests need.

    Examples
    --------
    >>> x, y = aeqd_xy_m(0.0, 0.0, [0.0], [1.0])
    >>> round(float(x[0]), 6), round(float(y[0]), 3)
    (0.0, 110574.389)
    """
    lons = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lats = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    az, _, dist = WGS84.inv(
        np.full(lons.shape, centre_lon_deg), np.full(lats.shape, centre_lat_deg), lons, lats
    )
    az_rad = np.radians(np.asarray(az, dtype=np.float64))
    dist = np.asarray(dist, dtype=np.float64)
    return dist * np.sin(az_rad), dist * np.cos(az_rad)


def aeqd_pairs(
    lon1_deg: ArrayLike, lat1_deg: ArrayLike, lon2_deg: ArrayLike, lat2_deg: ArrayLike
) -> tuple[Float, Float]:
    """Element-wise azimuthal equidistant (east, north) of point 2 around point 1, as (n, 1) arrays.

    Examples
    --------
    >>> x, y = aeqd_pairs([0.0], [0.0], [0.0], [1.0])
    >>> round(float(x[0, 0]), 6), round(float(y[0, 0]), 3)
    (0.0, 110574.389)
    """
    lon1, lat1, lon2, lat2 = (
        np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (lon1_deg, lat1_deg, lon2_deg, lat2_deg)
    )
    az, _, dist = WGS84.inv(lon1, lat1, lon2, lat2)
    az_rad = np.radians(np.asarray(az, dtype=np.float64))
    dist = np.asarray(dist, dtype=np.float64)
    return (dist * np.sin(az_rad))[:, None], (dist * np.cos(az_rad))[:, None]


def destination(
    lon_deg: ArrayLike, lat_deg: ArrayLike, azimuth_deg: ArrayLike, distance_m: ArrayLike
) -> tuple[Float, Float]:
    """Points reached by following geodesics from a start, as (lon, lat) arrays.

    Longitudes are returned in [-180, 180].
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (lon_deg, lat_deg, azimuth_deg, distance_m))
    )
    lon, lat, _ = WGS84.fwd(arrays[0].ravel(), arrays[1].ravel(), arrays[2].ravel(), arrays[3].ravel())
    shape = arrays[0].shape
    return (
        np.asarray(lon, dtype=np.float64).reshape(shape),
        np.asarray(lat, dtype=np.float64).reshape(shape),
    )


def midpoint(lon_a_deg: float, lat_a_deg: float, lon_b_deg: float, lat_b_deg: float) -> tuple[float, float]:
    """The great-circle midpoint of two points, as ``(lon_deg, lat_deg)``.

    The midpoint on the sphere of the two points' geodetic coordinates: within
    0.2 m of the WGS 84 geodesic midpoint for points up to 20 km apart (an
    incident's pair is within the minima), right across the antimeridian and near the poles. The
    longitude is returned in [-180, 180]. Plain floats, no arrays: the callers
    place one pair at a time. Undefined for antipodal points.

    Examples
    --------
    >>> midpoint(179.0, 0.0, -179.0, 0.0)
    (180.0, 0.0)
    >>> lon_deg, lat_deg = midpoint(0.0, 60.0, 2.0, 60.0)
    >>> round(lon_deg, 6), round(lat_deg, 4)  # north of the average latitude
    (1.0, 60.0038)
    """
    x = y = z = 0.0
    for lon_deg, lat_deg in ((lon_a_deg, lat_a_deg), (lon_b_deg, lat_b_deg)):
        lon_rad, lat_rad = math.radians(lon_deg), math.radians(lat_deg)
        x += math.cos(lat_rad) * math.cos(lon_rad)
        y += math.cos(lat_rad) * math.sin(lon_rad)
        z += math.sin(lat_rad)
    return math.degrees(math.atan2(y, x)), math.degrees(math.atan2(z, math.hypot(x, y)))


def midpoints(
    lon_a_deg: NDArray[np.float64],
    lat_a_deg: NDArray[np.float64],
    lon_b_deg: NDArray[np.float64],
    lat_b_deg: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`midpoint` over arrays of pairs: ``(lon_deg, lat_deg)`` arrays.

    Examples
    --------
    >>> lon_a, lon_b = np.array([179.0, 0.0]), np.array([-179.0, 2.0])
    >>> lon_deg, lat_deg = midpoints(lon_a, np.zeros(2), lon_b, np.zeros(2))
    >>> np.round(lon_deg, 9).tolist(), np.round(lat_deg, 9).tolist()
    ([180.0, 1.0], [0.0, 0.0])
    """
    lon_a, lat_a, lon_b, lat_b = (np.radians(v) for v in (lon_a_deg, lat_a_deg, lon_b_deg, lat_b_deg))
    x = np.cos(lat_a) * np.cos(lon_a) + np.cos(lat_b) * np.cos(lon_b)
    y = np.cos(lat_a) * np.sin(lon_a) + np.cos(lat_b) * np.sin(lon_b)
    z = np.sin(lat_a) + np.sin(lat_b)
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


@lru_cache(maxsize=1)
def _equal_area() -> Transformer:
    # Lambert cylindrical equal-area on the WGS 84 ellipsoid: areas are exact
    # for the projected shape, whose edges follow lon/lat straight lines closely.
    return Transformer.from_crs("EPSG:4326", "+proj=cea +ellps=WGS84 +units=m +over", always_xy=True)


def _to_equal_area(coords: Float) -> Float:
    x, y = _equal_area().transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def area_m2(geometries: ArrayLike) -> Float:
    """Areas on the WGS 84 ellipsoid of lon/lat (multi)polygons, in square metres.

    Examples
    --------
    >>> from shapely import box
    >>> round(float(area_m2([box(0, 0, 1, 1)])[0]) / 1e6, 1)
    12308.5
    """
    geoms = np.asarray(geometries, dtype=object)
    projected = shapely.transform(geoms, _to_equal_area)
    return np.asarray(shapely.area(projected), dtype=np.float64)
