"""Footprints: the horizontal extent of a volume, a lon/lat polygon or a geodesic circle.

Polygon edges are straight lines in longitude/latitude (RFC 7946), so a polygon
is exact as a shapely geometry in degrees. A circle is exact only as centre and
radius; for fast filtering it also carries an *outer* polygon that surely
contains it and an *inner* polygon that surely lies inside it. Pairs that the
two cannot decide are settled exactly by geodesic distance (:mod:`.overlap`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

from deconflict.geometry.antimeridian import split_at_antimeridian, unwrap_longitudes
from deconflict.geometry.geodesy import EARTH_MEAN_RADIUS_M, destination, distance_m

__all__ = [
    "CIRCLE_SEGMENTS",
    "Footprint",
    "circle_footprint",
    "polygon_footprint",
]

CIRCLE_SEGMENTS = 64
"""Vertices of the polygons that stand in for a circle when filtering and drawing."""

_POLAR_LAT_DEG = 80.0
# Metres per degree of latitude, lower bound (meridian radius at the equator).
_MIN_M_PER_DEG_LAT = 110_574.0

Shape: TypeAlias = Polygon | MultiPolygon


@dataclass(frozen=True, eq=False)
class Footprint:
    """Horizontal extent of a volume.

    Attributes
    ----------
    shape
        Lon/lat (multi)polygon, split at the antimeridian. For a circle, the
        polygon whose vertices lie on the circle (for drawing and overlap regions).
    outer
        A polygon that contains the true footprint (the shape itself for polygons).
    inner
        A polygon inside the true footprint, or ``None`` when none is known.
    centre_lon_deg, centre_lat_deg, radius_m
        The circle's definition; ``None`` for polygons.
    """

    shape: Shape
    outer: Shape
    inner: Shape | None
    centre_lon_deg: float | None = None
    centre_lat_deg: float | None = None
    radius_m: float | None = None

    @property
    def is_circle(self) -> bool:
        """Whether this footprint is a geodesic circle."""
        return self.radius_m is not None

    def part_bounds(self) -> list[tuple[float, float, float, float]]:
        """(min lon, min lat, max lon, max lat) of each part of :attr:`outer`."""
        parts = self.outer.geoms if isinstance(self.outer, MultiPolygon) else [self.outer]
        return [tuple(float(v) for v in p.bounds) for p in parts]  # type: ignore[misc]


def _ring_array(ring: NDArray[np.float64]) -> NDArray[np.float64]:
    lons = unwrap_longitudes(ring[:, 0])
    return np.column_stack([lons, ring[:, 1]])


def polygon_footprint(rings: list[list[NDArray[np.float64]]]) -> Footprint:
    """Footprint of a Polygon (one entry) or MultiPolygon (several), as lon/lat rings.

    Each entry is ``[exterior, hole, ...]``, every ring an (n, 2) array of
    (lon, lat) with the first position repeated at the end.

    Raises
    ------
    ValueError
        If a ring is unclosed, too short, or the polygon is not valid (with
        shapely's explanation of where).
    """
    polygons: list[Polygon] = []
    for part_index, part in enumerate(rings):
        arrays = [_ring_array(np.asarray(r, dtype=np.float64)) for r in part]
        # Holes are unwrapped on their own; bring them next to the exterior.
        exterior = arrays[0]
        holes = []
        for hole in arrays[1:]:
            offset = 360.0 * np.round((exterior[0, 0] - hole[0, 0]) / 360.0)
            holes.append(hole + np.array([offset, 0.0]))
        polygon = Polygon(exterior, holes)
        if not polygon.is_valid:
            where = f"polygon {part_index}: " if len(rings) > 1 else ""
            raise ValueError(f"{where}invalid polygon: {shapely.is_valid_reason(polygon)}")
        if polygon.area <= 0.0:
            raise ValueError("polygon has zero area")
        polygons.append(polygon)
    geom: Shape = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if len(polygons) > 1 and not geom.is_valid:
        raise ValueError(f"invalid multipolygon: {shapely.is_valid_reason(geom)}")
    shape = split_at_antimeridian(geom)
    return Footprint(shape=shape, outer=shape, inner=shape)


def _circle_ring(lon_deg: float, lat_deg: float, radius_m: float, segments: int) -> NDArray[np.float64]:
    """Vertices on the geodesic circle, lon unwrapped around the centre, ring closed."""
    azimuths = np.linspace(0.0, 360.0, segments, endpoint=False)
    lons, lats = destination(lon_deg, lat_deg, azimuths, radius_m)
    lons = lon_deg + (lons - lon_deg + 180.0) % 360.0 - 180.0
    ring = np.column_stack([lons, lats])
    return np.vstack([ring, ring[:1]])


def _pole_inside(lon_deg: float, lat_deg: float, radius_m: float) -> int:
    """+1 / -1 if the circle contains the north / south pole, else 0."""
    if float(distance_m(lon_deg, lat_deg, 0.0, 90.0)) < radius_m:
        return 1
    if float(distance_m(lon_deg, lat_deg, 0.0, -90.0)) < radius_m:
        return -1
    return 0


def _polar_cap(ring: NDArray[np.float64], pole: int) -> Polygon:
    """A ring around a pole, as a lon/lat polygon from -180 to 180 closed along the pole line."""
    points = ring[:-1]
    lons = (points[:, 0] + 180.0) % 360.0 - 180.0
    order = np.argsort(lons)
    lons, lats = lons[order], points[order, 1]
    # Latitude where the ring crosses the antimeridian, between its last and first points.
    span = lons[0] + 360.0 - lons[-1]
    seam_lat = lats[-1] + (lats[0] - lats[-1]) * ((180.0 - lons[-1]) / span if span > 0 else 0.0)
    pole_lat = 90.0 * pole
    coords = [
        (-180.0, seam_lat),
        *zip(lons, lats, strict=True),
        (180.0, seam_lat),
        (180.0, pole_lat),
        (-180.0, pole_lat),
    ]
    return Polygon(coords)


def circle_footprint(
    lon_deg: float, lat_deg: float, radius_m: float, segments: int = CIRCLE_SEGMENTS
) -> Footprint:
    """Footprint of a geodesic circle on WGS 84.

    Examples
    --------
    >>> fp = circle_footprint(36.0, 35.0, 1000.0)
    >>> fp.is_circle, fp.outer.contains(fp.shape), fp.shape.contains(fp.inner)
    (True, True, True)
    """
    if not radius_m > 0.0 or not math.isfinite(radius_m):
        raise ValueError(f"radius must be a positive finite number of metres, got {radius_m!r}")
    ring = _circle_ring(lon_deg, lat_deg, radius_m, segments)
    pole = _pole_inside(lon_deg, lat_deg, radius_m)
    radius_deg_lat = radius_m / _MIN_M_PER_DEG_LAT
    near_pole = abs(lat_deg) + radius_deg_lat > _POLAR_LAT_DEG
    shape = split_at_antimeridian(_polar_cap(ring, pole) if pole else Polygon(ring))
    common = {"centre_lon_deg": lon_deg, "centre_lat_deg": lat_deg, "radius_m": radius_m}
    if pole or near_pole:
        # Near a pole lon/lat distortion is large: bound generously and let the
        # exact distance test decide every candidate.
        dense = _circle_ring(lon_deg, lat_deg, radius_m, 720)
        lat_lo = max(-90.0, lat_deg - radius_deg_lat - 1e-3)
        lat_hi = min(90.0, lat_deg + radius_deg_lat + 1e-3)
        if pole or lat_hi >= 90.0 or lat_lo <= -90.0:
            outer: Shape = shapely.box(-180.0, lat_lo, 180.0, lat_hi)
        else:
            lon_lo, lon_hi = float(dense[:, 0].min()), float(dense[:, 0].max())
            pad = 0.1 * (lon_hi - lon_lo) + 1e-2
            outer = split_at_antimeridian(
                shapely.box(
                    max(lon_lo - pad, lon_deg - 180.0), lat_lo, min(lon_hi + pad, lon_deg + 180.0), lat_hi
                )
            )
        return Footprint(shape=shape, outer=outer, inner=None, **common)
    # Chords of a polygon in lon/lat stray from those of the true circle's local
    # plane by at most L^2 * tan(lat) / (8 R); pad by four times that.
    half_angle = math.pi / segments
    outer_radius = radius_m / math.cos(half_angle)
    chord_m = 2.0 * outer_radius * math.sin(half_angle)
    tan_lat = math.tan(math.radians(min(abs(lat_deg) + radius_deg_lat, _POLAR_LAT_DEG)))
    margin_m = 0.5 + 1e-6 * radius_m + 4.0 * chord_m**2 * (tan_lat + 1.0) / (8 * EARTH_MEAN_RADIUS_M)
    outer = split_at_antimeridian(
        Polygon(_circle_ring(lon_deg, lat_deg, (radius_m + margin_m) / math.cos(half_angle), segments))
    )
    inner: Shape | None = None
    if radius_m > 2.0 * margin_m:
        inner = split_at_antimeridian(Polygon(_circle_ring(lon_deg, lat_deg, radius_m - margin_m, segments)))
    return Footprint(shape=shape, outer=outer, inner=inner, **common)
