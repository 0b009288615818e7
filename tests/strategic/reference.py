"""A plain, all-pairs reference of strategic conflicts, to check the engine against.

Written from PRODUCT.md's definition, not from the engine: every pair of volumes
of different parties; time and altitude with strict inequalities; footprints by
shapely's DE-9IM for polygons and by geodesic distance (pyproj's Geod directly)
for circles. Distances to polygons are found by refined sampling, so answers
within ``BAND_M`` of a threshold are reported as undecidable (``None``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Geod

from deconflict.strategic.buffers import Buffers
from deconflict.strategic.volume import Volume

GEOD = Geod(ellps="WGS84")
BAND_M = 1e-3
TANGENT_M = 1e-9
"""Circle pairs whose gap is this close to zero are exactly tangent only up to rounding."""


@dataclass(frozen=True)
class Shape:
    """A footprint as the user gave it: a lon/lat polygon (no antimeridian) or a circle."""

    polygon: shapely.Polygon | None = None
    centre: tuple[float, float] | None = None
    radius_m: float | None = None


def geodesic_m(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2))
    )
    _, _, d = GEOD.inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    return np.asarray(d).reshape(lon1.shape)


def point_to_polygon_m(lon: float, lat: float, polygon: shapely.Polygon) -> float:
    """Geodesic distance from a point to a lon/lat polygon (0 inside or on it), refined sampling.

    Every edge is sampled at 129 points; around each edge's best sample the
    search narrows and samples again, five times (all edges at once).
    """
    if shapely.intersects_xy(polygon, lon, lat):
        return 0.0
    rings = [np.asarray(r.coords) for r in (polygon.exterior, *polygon.interiors)]
    edges = np.vstack([np.hstack([xy[:-1], xy[1:]]) for xy in rings])
    lo = np.zeros(len(edges))
    hi = np.ones(len(edges))
    for _ in range(5):
        t = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 129)
        lons = edges[:, 0:1] + t * (edges[:, 2:3] - edges[:, 0:1])
        lats = edges[:, 1:2] + t * (edges[:, 3:4] - edges[:, 1:2])
        d = geodesic_m(np.full(t.shape, lon), np.full(t.shape, lat), lons, lats)
        k = np.argmin(d, axis=1)
        step = (hi - lo) / 128.0
        best_t = t[np.arange(len(edges)), k]
        lo, hi = np.maximum(0.0, best_t - step), np.minimum(1.0, best_t + step)
    return float(d.min())


def gap_m(a: Shape, b: Shape) -> float:
    """Geodesic gap between two footprints (0 when they touch or overlap)."""
    if a.centre is not None and b.centre is not None:
        assert a.radius_m is not None and b.radius_m is not None
        d = float(geodesic_m(*a.centre, *b.centre))
        return max(0.0, d - a.radius_m - b.radius_m)
    if a.centre is not None or b.centre is not None:
        circle, poly = (a, b) if a.centre is not None else (b, a)
        assert poly.polygon is not None and circle.radius_m is not None and circle.centre is not None
        return max(0.0, point_to_polygon_m(*circle.centre, poly.polygon) - circle.radius_m)
    assert a.polygon is not None and b.polygon is not None
    if a.polygon.intersects(b.polygon):
        return 0.0
    best = np.inf
    for src, dst in ((a.polygon, b.polygon), (b.polygon, a.polygon)):
        for x, y in np.asarray(src.exterior.coords)[:-1]:
            best = min(best, point_to_polygon_m(float(x), float(y), dst))
    return best


def footprints_overlap(a: Shape, b: Shape, buffer_m: float) -> bool | None:
    """Do the footprints share area after growing each by ``buffer_m``? ``None``: too close to call."""
    if buffer_m == 0.0:
        if a.polygon is not None and b.polygon is not None:
            return bool(shapely.relate_pattern(a.polygon, b.polygon, "T********"))
        if a.centre is not None and b.centre is not None:
            assert a.radius_m is not None and b.radius_m is not None
            gap = float(geodesic_m(*a.centre, *b.centre)) - a.radius_m - b.radius_m
            return None if abs(gap) < TANGENT_M else gap < 0.0
        circle, poly = (a, b) if a.centre is not None else (b, a)
        assert poly.polygon is not None and circle.radius_m is not None and circle.centre is not None
        d = point_to_polygon_m(*circle.centre, poly.polygon)
        if d == 0.0:
            return True
        if abs(d - circle.radius_m) < BAND_M:
            return None
        return d < circle.radius_m
    gap = gap_m(a, b)
    if abs(gap - 2.0 * buffer_m) < BAND_M:
        return None
    return gap < 2.0 * buffer_m


def volumes_conflict(a: Volume, b: Volume, sa: Shape, sb: Shape, buffers: Buffers) -> bool | None:
    """The reference decision for one pair of same-reference volumes."""
    if a.party == b.party:
        return False
    tb, vb = 2.0 * buffers.time_buffer_s, 2.0 * buffers.vertical_buffer_m
    if not (a.time_start_s < b.time_end_s + tb and b.time_start_s < a.time_end_s + tb):
        return False
    assert len({a.lower.reference, a.upper.reference, b.lower.reference, b.upper.reference}) == 1
    if not (a.lower.value_m < b.upper.value_m + vb and b.lower.value_m < a.upper.value_m + vb):
        return False
    return footprints_overlap(sa, sb, buffers.buffer_m)


def reference_conflicts(
    volumes: Sequence[Volume], shapes: Sequence[Shape], buffers: Buffers
) -> tuple[set[frozenset[tuple[str, str]]], set[frozenset[tuple[str, str]]]]:
    """(pairs that conflict, pairs too close to call), each pair as {(party, id), (party, id)}."""
    sure: set[frozenset[tuple[str, str]]] = set()
    unsure: set[frozenset[tuple[str, str]]] = set()
    for i, j in itertools.combinations(range(len(volumes)), 2):
        a, b = volumes[i], volumes[j]
        key = frozenset({(a.party, a.id), (b.party, b.id)})
        decision = volumes_conflict(a, b, shapes[i], shapes[j], buffers)
        if decision is None:
            unsure.add(key)
        elif decision:
            sure.add(key)
    return sure, unsure
