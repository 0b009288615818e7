"""Geodesy on WGS 84: distances, azimuthal equidistant coordinates, areas.

All functions take and return NumPy arrays (or scalars) in degrees and metres.
"""

from __future__ import annotations

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


@lru_cache(maxsize=1)
def _equal_area() -> Transformer:
    # Lambert cylindrical equal-area on the WGS 84 ellipsoid: areas are exact
    # for the projected shape, whose edges follow lon/lat straight lines closely.
    return Transformer.from_crs("EPSG:4326", "+proj=cea +ellps=WGS84 +units=m", always_xy=True)


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
