"""Polygons that cross the antimeridian, split as RFC 7946 section 3.1.9 asks.

An edge whose longitudes differ by more than 180 degrees is taken to cross the
antimeridian the short way. Rings are unwrapped to continuous longitudes, the
shape is built there, then cut at +-180 and shifted back into [-180, 180].
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["split_at_antimeridian", "unwrap_longitudes"]

_WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)


def unwrap_longitudes(lon_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Make a sequence of longitudes continuous (no step larger than 180 degrees).

    Examples
    --------
    >>> unwrap_longitudes(np.array([179.0, -179.0, -178.0])).tolist()
    [179.0, 181.0, 182.0]
    """
    if lon_deg.size == 0:
        return lon_deg.copy()
    steps = np.diff(lon_deg)
    corrections = -360.0 * np.round(steps / 360.0)
    return np.concatenate(([lon_deg[0]], lon_deg[1:] + np.cumsum(corrections)))


def _polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [p for p in geom.geoms if not p.is_empty]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []


def split_at_antimeridian(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Cut a polygonal shape given in unwrapped longitudes into [-180, 180].

    A shape already inside [-180, 180] is returned unchanged.

    Examples
    --------
    >>> split = split_at_antimeridian(shapely.box(179.0, 0.0, 181.0, 1.0))
    >>> sorted(tuple(round(v, 6) for v in p.bounds) for p in split.geoms)
    [(-180.0, 0.0, -179.0, 1.0), (179.0, 0.0, 180.0, 1.0)]
    """
    minx, _, maxx, _ = geom.bounds
    if minx >= -180.0 and maxx <= 180.0:
        if isinstance(geom, Polygon | MultiPolygon):
            return geom
        return MultiPolygon(_polygon_parts(geom))
    parts: list[Polygon] = []
    for shift in (-720.0, -360.0, 0.0, 360.0, 720.0):
        window = shapely.box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        piece = shapely.intersection(geom, window)
        if piece.is_empty:
            continue
        moved = shapely.transform(piece, lambda xy, s=shift: xy + np.array([s, 0.0]))
        parts.extend(_polygon_parts(shapely.intersection(moved, _WORLD)))
    return MultiPolygon(parts)
