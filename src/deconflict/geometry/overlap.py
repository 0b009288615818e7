"""Do two footprints overlap (or come closer than a buffer)? Exact, vectorised.

Decisions are exact to well under a centimetre:

* polygon / polygon without buffer: the interiors intersect (shapely's DE-9IM
  ``T********``), exact for lon/lat edges;
* circle / circle: geodesic distance of the centres against the radii;
* circle / polygon: the polygon against the circle's outer and inner polygons,
  and only the pairs those cannot decide by the exact geodesic distance from the
  centre to the polygon;
* with a buffer ``b``: two footprints conflict when each grown by ``b``
  overlaps the other, i.e. their geodesic gap is below ``2 b``.

Touching footprints (gap exactly zero, no common interior) do not conflict
unless a buffer says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon

from deconflict.geometry.footprint import Footprint, Shape
from deconflict.geometry.geodesy import WGS84, aeqd_pairs, area_m2, distance_m

__all__ = [
    "bbox_across_antimeridian",
    "conflicting_overlaps",
    "footprints_conflict",
    "gap_m",
    "overlap_regions",
    "point_to_shape_distance_m",
]

Bool = NDArray[np.bool_]
_INTERIORS = "T********"
_MAX_M_PER_DEG = 111_700.0  # upper bound of metres per degree in any direction
_MIN_M_PER_DEG_LAT = 110_574.0
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
_POLYGON_TYPE_ID = int(shapely.GeometryType.POLYGON)
_MULTIPOLYGON_TYPE_ID = int(shapely.GeometryType.MULTIPOLYGON)
_EXTREME_DX = np.array([1.0, -1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0])
_EXTREME_DY = np.array([0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0, -1.0])


def _edges(shape: Shape) -> NDArray[np.float64]:
    """All boundary segments of a (multi)polygon as an (n, 4) array lon0, lat0, lon1, lat1."""
    parts = shape.geoms if isinstance(shape, MultiPolygon) else [shape]
    segments = []
    for part in parts:
        for ring in (part.exterior, *part.interiors):
            xy = np.asarray(ring.coords, dtype=np.float64)[:, :2]
            segments.append(np.hstack([xy[:-1], xy[1:]]))
    return np.vstack(segments)


def point_to_shape_distance_m(lon_deg: float, lat_deg: float, shape: Shape) -> float:
    """Geodesic distance from a point to a lon/lat (multi)polygon; 0 inside or on it.

    Each edge is sampled, then the best stretch of every edge is refined by a
    golden-section search on the exact geodesic distance (edges are lon/lat
    straight lines, so a point on an edge is an affine mix of its ends).
    """
    if shapely.intersects_xy(shape, lon_deg, lat_deg):
        return 0.0
    edges = _edges(shape)
    samples = 17
    t = np.linspace(0.0, 1.0, samples)
    lons = edges[:, 0:1] + t * (edges[:, 2:3] - edges[:, 0:1])
    lats = edges[:, 1:2] + t * (edges[:, 3:4] - edges[:, 1:2])
    dist = distance_m(lon_deg, lat_deg, lons, lats)
    best = np.argmin(dist, axis=1)
    lo = t[np.maximum(best - 1, 0)]
    hi = t[np.minimum(best + 1, samples - 1)]

    def along(tt: NDArray[np.float64]) -> NDArray[np.float64]:
        return distance_m(
            lon_deg,
            lat_deg,
            edges[:, 0] + tt * (edges[:, 2] - edges[:, 0]),
            edges[:, 1] + tt * (edges[:, 3] - edges[:, 1]),
        )

    a = hi - _GOLDEN * (hi - lo)
    b = lo + _GOLDEN * (hi - lo)
    fa, fb = along(a), along(b)
    for _ in range(40):
        # Keep the better inner point; one new evaluation per step and edge.
        left = fa < fb
        hi = np.where(left, b, hi)
        lo = np.where(left, lo, a)
        probe = np.where(left, hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo))
        f_probe = along(probe)
        a, b = np.where(left, probe, b), np.where(left, a, probe)
        fa, fb = np.where(left, f_probe, fb), np.where(left, fa, f_probe)
    refined = np.minimum(fa, fb)
    return float(min(refined.min(), dist.min()))


def gap_m(a: Footprint, b: Footprint) -> float:
    """Geodesic gap between two footprints in metres (0 if they touch or overlap)."""
    if a.is_circle and b.is_circle:
        assert a.centre_lon_deg is not None and a.centre_lat_deg is not None
        assert b.centre_lon_deg is not None and b.centre_lat_deg is not None
        assert a.radius_m is not None and b.radius_m is not None
        d = float(distance_m(a.centre_lon_deg, a.centre_lat_deg, b.centre_lon_deg, b.centre_lat_deg))
        return max(0.0, d - (a.radius_m + b.radius_m))
    if a.is_circle or b.is_circle:
        circle, polygon = (a, b) if a.is_circle else (b, a)
        assert circle.centre_lon_deg is not None and circle.centre_lat_deg is not None
        assert circle.radius_m is not None
        d = point_to_shape_distance_m(circle.centre_lon_deg, circle.centre_lat_deg, polygon.shape)
        return max(0.0, d - circle.radius_m)
    if shapely.intersects(a.shape, b.shape):
        return 0.0
    # Between two polygons the closest pair of points has a vertex at one end.
    best = np.inf
    for src, dst in ((a.shape, b.shape), (b.shape, a.shape)):
        vertices = shapely.get_coordinates(src)
        near = shapely.distance(dst, shapely.points(vertices))
        # Only vertices that could be closest in metres need the exact test
        # (all of them where flat distances mislead: seams and poles).
        if _near_seam(_as_array([src, dst]), 0.0).any():
            candidates = vertices
        else:
            lat_abs = max(_max_abs_lat(_as_array([src, dst])))
            candidates = vertices[near * _m_per_deg_lower(lat_abs) <= near.min() * _MAX_M_PER_DEG]
        for lon, lat in candidates:
            best = min(best, point_to_shape_distance_m(float(lon), float(lat), dst))
    return float(best)


def _m_per_deg_lower(lat_abs_deg: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Lower bound of metres per degree, in any direction, up to a latitude."""
    return np.minimum(np.cos(np.radians(lat_abs_deg)) * 111_319.0, _MIN_M_PER_DEG_LAT)


def _near_seam(shapes: NDArray[np.object_], reach_m: float) -> NDArray[np.bool_]:
    """Shapes within ``reach_m`` (generously) of the antimeridian or a pole."""
    bounds = shapely.bounds(shapes)
    reach_deg = reach_m / _MIN_M_PER_DEG_LAT
    near_pole = np.abs(bounds[:, [1, 3]]).max(axis=1) + reach_deg >= 89.0
    lon_reach = reach_deg / np.maximum(
        _m_per_deg_lower(np.abs(bounds[:, [1, 3]]).max(axis=1)) / 111_319.0, 1e-9
    )
    near_seam = (bounds[:, 0] - lon_reach <= -180.0) | (bounds[:, 2] + lon_reach >= 180.0)
    return np.asarray(near_pole | near_seam, dtype=bool)


def _max_abs_lat(shapes: NDArray[np.object_]) -> NDArray[np.float64]:
    return np.asarray(np.abs(shapely.bounds(shapes)[:, [1, 3]]).max(axis=1), dtype=np.float64)


def _as_array(shapes: Sequence[Shape | None]) -> NDArray[np.object_]:
    out = np.empty(len(shapes), dtype=object)
    out[:] = shapes
    return out


def footprints_conflict(a: Sequence[Footprint], b: Sequence[Footprint], buffer_m: float = 0.0) -> Bool:
    """Element-wise: do footprints ``a[i]`` and ``b[i]`` conflict?

    Parameters
    ----------
    a, b
        Footprints of equal length; pair ``i`` is ``(a[i], b[i])``.
    buffer_m
        Each footprint is grown by this many metres first (so a gap below
        ``2 * buffer_m`` conflicts). 0 means the interiors must overlap.
    """
    if len(b) != len(a):
        raise ValueError("footprints_conflict needs sequences of equal length")
    return _decide(a, b, buffer_m)[0]


def conflicting_overlaps(
    a: Sequence[Footprint], b: Sequence[Footprint], buffer_m: float = 0.0
) -> tuple[Bool, NDArray[np.float64], NDArray[np.float64]]:
    """:func:`footprints_conflict`, then :func:`overlap_regions` of the pairs in conflict.

    The same answers as the two calls, with the work they share done once (the
    geodesic from centre to centre of two circles decides them and places their lens).

    Returns
    -------
    hit : (n,) bool array
    area_m2 : (k,) array, for the ``k`` pairs where ``hit``, in order
    bbox : (k, 4) array of min lon, min lat, max lon, max lat

    Examples
    --------
    >>> hit, area_m2, bbox = conflicting_overlaps([], [])
    >>> hit.tolist(), area_m2.shape, bbox.shape
    ([], (0,), (0, 4))
    """
    if len(b) != len(a):
        raise ValueError("conflicting_overlaps needs sequences of equal length")
    hit, azimuth_deg, centres_m = _decide(a, b, buffer_m)
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return hit, np.zeros(0), np.zeros((0, 4))
    pairs = idx.tolist()
    areas, boxes = _regions(
        [a[i] for i in pairs],
        [b[i] for i in pairs],
        buffer_m,
        None if azimuth_deg is None else azimuth_deg[idx],
        None if centres_m is None else centres_m[idx],
    )
    return hit, areas, boxes


def _decide(
    a: Sequence[Footprint], b: Sequence[Footprint], buffer_m: float
) -> tuple[Bool, NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """:func:`footprints_conflict`, with the azimuth (deg) and distance (m) from the first
    centre to the second of each pair of circles (NaN for other pairs; ``None`` if none).
    """
    n = len(a)
    result = np.zeros(n, dtype=bool)
    if n == 0:
        return result, None, None
    # Index bookkeeping in plain lists: a filing has a few pairs, and NumPy's fixed cost per
    # call exceeds the work; only the geometry (GEOS, pyproj) runs on arrays.
    a_circle = [f.radius_m is not None for f in a]
    b_circle = [f.radius_m is not None for f in b]
    limit_m = 2.0 * buffer_m

    both = [i for i in range(n) if a_circle[i] and b_circle[i]]
    azimuth_deg = centres_m = None
    if both:
        ca = np.array([(a[i].centre_lon_deg, a[i].centre_lat_deg, a[i].radius_m) for i in both])
        cb = np.array([(b[i].centre_lon_deg, b[i].centre_lat_deg, b[i].radius_m) for i in both])
        # distance_m's geodesic, with its azimuth kept for the lens (overlap_regions)
        az, _, d = WGS84.inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])
        d = np.asarray(d, dtype=np.float64)
        # One rounding for the radii, whatever the pair's order.
        result[both] = d - (ca[:, 2] + cb[:, 2]) < limit_m
        azimuth_deg, centres_m = np.full(n, np.nan), np.full(n, np.nan)
        azimuth_deg[both], centres_m[both] = az, d
        if len(both) == n:
            return result, azimuth_deg, centres_m

    rest = [i for i in range(n) if not (a_circle[i] and b_circle[i])]
    # Circles are tested through their outer polygon first, polygons as they are.
    outer_a = _as_array([a[i].outer for i in rest])
    outer_b = _as_array([b[i].outer for i in rest])
    if buffer_m == 0.0:
        maybe = shapely.relate_pattern(outer_a, outer_b, _INTERIORS)
    else:
        lat_abs = np.maximum(_max_abs_lat(outer_a), _max_abs_lat(outer_b))
        maybe = shapely.distance(outer_a, outer_b) * _m_per_deg_lower(lat_abs) < limit_m
        # Flat lon/lat distance is no lower bound across the antimeridian or
        # over a pole: leave those pairs to the exact test.
        maybe |= _near_seam(outer_a, limit_m) | _near_seam(outer_b, limit_m)
    undecided = list(itertools.compress(rest, maybe.tolist()))
    pp = [i for i in undecided if not a_circle[i] and not b_circle[i]]
    if buffer_m == 0.0:
        result[pp] = True  # exact for polygons
    else:
        for i in pp:
            result[i] = gap_m(a[i], b[i]) < limit_m
    mixed = [i for i in undecided if a_circle[i] != b_circle[i]]
    if not mixed:
        return result, azimuth_deg, centres_m
    # A polygon overlapping a circle's inner polygon surely overlaps the circle.
    inner_a = [a[i].inner if a_circle[i] else a[i].shape for i in mixed]
    inner_b = [b[i].inner if b_circle[i] else b[i].shape for i in mixed]
    known = [k for k in range(len(mixed)) if inner_a[k] is not None and inner_b[k] is not None]
    sure = [False] * len(mixed)
    if known:
        inside = shapely.relate_pattern(
            _as_array([inner_a[k] for k in known]), _as_array([inner_b[k] for k in known]), _INTERIORS
        )
        for k, yes in zip(known, inside.tolist(), strict=True):
            sure[k] = yes
    for i, yes in zip(mixed, sure, strict=True):
        result[i] = True if yes else _circle_polygon_conflict(a[i], b[i], buffer_m)
    return result, azimuth_deg, centres_m


def _circle_polygon_conflict(a: Footprint, b: Footprint, buffer_m: float) -> bool:
    circle, polygon = (a, b) if a.is_circle else (b, a)
    assert circle.centre_lon_deg is not None and circle.centre_lat_deg is not None
    assert circle.radius_m is not None
    d = point_to_shape_distance_m(circle.centre_lon_deg, circle.centre_lat_deg, polygon.shape)
    if buffer_m == 0.0 and d == 0.0:
        return True  # centre inside the polygon (or on its edge: a radius reaches inside)
    return d - circle.radius_m < 2.0 * buffer_m


def _grown(shapes: NDArray[np.object_], buffer_m: float) -> NDArray[np.object_]:
    """Each shape grown by ``buffer_m`` in its local frame (for drawing, not for decisions).

    Vectorised over the shapes: one buffer call for all of them. Cut at the poles: a
    shape grown past latitude 90 has no area there (nor any place); a shape whose
    growth leaves no polygon is kept as it is.
    """
    if buffer_m == 0.0:
        return shapes
    bounds = shapely.bounds(shapes)
    k = np.maximum(np.cos(np.radians((bounds[:, 1] + bounds[:, 3]) / 2.0)), 1e-3)
    scale = np.column_stack([k, np.ones_like(k)])
    coords, index = shapely.get_coordinates(shapes, return_index=True)
    scaled = shapely.set_coordinates(shapes.copy(), coords * scale[index])
    grown = shapely.buffer(scaled, buffer_m / _MIN_M_PER_DEG_LAT, quad_segs=8)
    coords, index = shapely.get_coordinates(grown, return_index=True)
    out = shapely.clip_by_rect(
        shapely.set_coordinates(grown, coords / scale[index]), -540.0, -90.0, 540.0, 90.0
    )
    type_id = shapely.get_type_id(out)
    polygonal = (type_id == _POLYGON_TYPE_ID) | (type_id == _MULTIPOLYGON_TYPE_ID)
    return np.where(polygonal & ~shapely.is_empty(out), out, shapes)


def overlap_regions(
    a: Sequence[Footprint], b: Sequence[Footprint], buffer_m: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Area (m^2) and lon/lat bounding box of each pair's overlap, for reporting.

    Two circles away from the poles get the lens in the first one's azimuthal
    equidistant plane (exact to about (r/R)^2). Otherwise circles are drawn as
    their inscribed polygons and buffers as a local approximation; where that
    leaves no common area for a pair that the exact test found in conflict (a
    sliver under a metre wide), the area is 0 and the box is that of the outer
    polygons' overlap.

    Returns
    -------
    area_m2 : (n,) array
    bbox : (n, 4) array of min lon, min lat, max lon, max lat
    """
    return _regions(a, b, buffer_m, None, None)


def _regions(
    a: Sequence[Footprint],
    b: Sequence[Footprint],
    buffer_m: float,
    azimuth_deg: NDArray[np.float64] | None,
    centres_m: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`overlap_regions`; given the geodesics from centre to centre of the pairs of circles."""
    lens = [
        x.radius_m is not None and y.radius_m is not None and x.inner is not None and y.inner is not None
        for x, y in zip(a, b, strict=True)
    ]
    k = [i for i, is_lens in enumerate(lens) if is_lens]
    rest = [i for i, is_lens in enumerate(lens) if not is_lens]
    if not k:  # one kind only: its arrays as they come
        return _polygon_regions(a, b, buffer_m)
    known = None if azimuth_deg is None or centres_m is None else (azimuth_deg[k], centres_m[k])
    if not rest:
        return _lens_regions(a, b, buffer_m, known)
    areas = np.zeros(len(a), dtype=np.float64)
    boxes = np.zeros((len(a), 4), dtype=np.float64)
    areas[k], boxes[k] = _lens_regions([a[i] for i in k], [b[i] for i in k], buffer_m, known)
    areas[rest], boxes[rest] = _polygon_regions([a[i] for i in rest], [b[i] for i in rest], buffer_m)
    return areas, boxes


def _lens_regions(
    a: Sequence[Footprint],
    b: Sequence[Footprint],
    buffer_m: float,
    geodesics: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Overlap area and box of pairs of circles, from the lens in a local plane.

    ``geodesics``: the azimuth (deg) and distance (m) from each pair's first centre to
    its second, if known (then :func:`aeqd_pairs`' arithmetic on them, not its geodesic).
    """
    c = np.array(
        [
            (x.centre_lon_deg, x.centre_lat_deg, x.radius_m, y.centre_lon_deg, y.centre_lat_deg, y.radius_m)
            for x, y in zip(a, b, strict=True)
        ],
        dtype=np.float64,
    )
    lon1, lat1, r1, lon2, lat2, r2 = (c[:, i] for i in range(6))
    r1, r2 = r1 + buffer_m, r2 + buffer_m
    if geodesics is None:
        x2, y2 = (v[:, 0] for v in aeqd_pairs(lon1, lat1, lon2, lat2))
    else:
        az_rad = np.radians(geodesics[0])
        x2, y2 = geodesics[1] * np.sin(az_rad), geodesics[1] * np.cos(az_rad)
    d = np.hypot(x2, y2)
    small = np.minimum(r1, r2)
    inside = d <= np.abs(r1 - r2)
    with np.errstate(invalid="ignore", divide="ignore"):
        # np.minimum/np.maximum rather than np.clip: the same values, without np.clip's
        # overhead, which dominates on a filing's few pairs.
        cos1 = np.minimum(np.maximum((d**2 + r1**2 - r2**2) / (2.0 * d * r1), -1.0), 1.0)
        cos2 = np.minimum(np.maximum((d**2 + r2**2 - r1**2) / (2.0 * d * r2), -1.0), 1.0)
        kite = np.sqrt(np.maximum((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2), 0.0))
        area = r1**2 * np.arccos(cos1) + r2**2 * np.arccos(cos2) - 0.5 * kite
        area = np.where(inside, np.pi * small**2, np.maximum(area, 0.0))
        # Points that bound the lens: the two crossings, and each circle's four
        # extreme points that lie inside the other circle.
        ux, uy = x2 / d, y2 / d
        along = r1 * cos1
        half = np.sqrt(np.maximum(r1**2 - along**2, 0.0))
    # Each circle's four extreme points (east, west, north, south), the first's then the
    # second's, as (n, 2, 4) arrays: centre + direction * radius, kept if inside the other
    # circle. Broadcast, not repeated: fewer NumPy calls, the same arithmetic per point.
    n = d.size
    zero = 0.0 * d
    centre_x, centre_y = np.column_stack([zero, x2]), np.column_stack([zero, y2])
    radius = np.column_stack([r1, r2])
    extreme_x = centre_x[:, :, None] + _EXTREME_DX.reshape(2, 4) * radius[:, :, None]
    extreme_y = centre_y[:, :, None] + _EXTREME_DY.reshape(2, 4) * radius[:, :, None]
    px, py = np.empty((n, 10)), np.empty((n, 10))
    px[:, 0], px[:, 1] = along * ux - half * uy, along * ux + half * uy
    py[:, 0], py[:, 1] = along * uy + half * ux, along * uy - half * ux
    px[:, 2:], py[:, 2:] = extreme_x.reshape(n, 8), extreme_y.reshape(n, 8)
    ok = np.empty((n, 10), dtype=bool)
    ok[:, 0] = ok[:, 1] = ~inside
    ok[:, 2:] = (
        np.hypot(extreme_x - centre_x[:, ::-1, None], extreme_y - centre_y[:, ::-1, None])
        <= radius[:, ::-1, None] * (1.0 + 1e-12)
    ).reshape(n, 8)
    # destination()'s geodesics, called directly on flat arrays (its broadcasting is not needed).
    lon, lat, _ = WGS84.fwd(
        np.repeat(lon1, 10),
        np.repeat(lat1, 10),
        np.degrees(np.arctan2(px, py)).ravel(),
        np.hypot(px, py).ravel(),
    )
    lon, lat = (
        np.asarray(lon, dtype=np.float64).reshape(n, 10),
        np.asarray(lat, dtype=np.float64).reshape(n, 10),
    )
    lon = lon1[:, None] + (lon - lon1[:, None] + 180.0) % 360.0 - 180.0  # continuous around the first centre
    west = np.where(ok, lon, np.inf).min(axis=1)
    east = np.where(ok, lon, -np.inf).max(axis=1)
    south = np.where(ok, lat, np.inf).min(axis=1)
    north = np.where(ok, lat, -np.inf).max(axis=1)
    west = (west + 180.0) % 360.0 - 180.0
    east = (east + 180.0) % 360.0 - 180.0  # west > east: the box crosses the antimeridian (RFC 7946)
    return area, np.column_stack([west, south, east, north])


def _polygon_regions(
    a: Sequence[Footprint], b: Sequence[Footprint], buffer_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Overlap area and box from the drawn (multi)polygons."""
    n = len(a)
    # One growth call for both sides.
    grown = _grown(_as_array([f.shape for f in a] + [f.shape for f in b]), buffer_m)
    shapes_a, shapes_b = grown[:n], grown[n:]
    inter = shapely.intersection(shapes_a, shapes_b)
    empty = shapely.area(inter) == 0.0  # an empty intersection has area 0 too
    if empty.any():
        idx = np.flatnonzero(empty)
        outer = _grown(
            _as_array([a[i].outer for i in idx.tolist()] + [b[i].outer for i in idx.tolist()]), buffer_m
        )
        inter[idx] = shapely.intersection(outer[: idx.size], outer[idx.size :])
    areas = area_m2(inter)
    areas[empty] = 0.0
    boxes = np.asarray(shapely.bounds(inter), dtype=np.float64)
    for k, (west, _, east, _) in enumerate(boxes.tolist()):
        if west <= -180.0 and east >= 180.0:
            boxes[k] = bbox_across_antimeridian(inter[k])
    # A grown shape reaches past the seam (clipped in place: a fancy index costs more on few pairs).
    lons = boxes[:, 0::2]
    np.minimum(np.maximum(lons, -180.0, out=lons), 180.0, out=lons)
    return areas, boxes


def bbox_across_antimeridian(shape: Shape) -> tuple[float, float, float, float]:
    """RFC 7946 bounding box of a shape split at the antimeridian (west > east then).

    Examples
    --------
    >>> from shapely import box, MultiPolygon
    >>> bbox_across_antimeridian(MultiPolygon([box(179.5, 0, 180, 1), box(-180, 0, -179.5, 1)]))
    (179.5, 0.0, -179.5, 1.0)
    """
    parts = list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]
    west = [p for p in parts if p.bounds[0] <= -180.0]
    east = [p for p in parts if p.bounds[2] >= 180.0]
    minx, miny, maxx, maxy = (float(v) for v in shape.bounds)
    if not west or not east or len(west) + len(east) < len(parts) or set(map(id, west)) & set(map(id, east)):
        return minx, miny, maxx, maxy  # a band around the globe, or not a split shape
    east_min = min(p.bounds[0] for p in east)
    west_max = max(p.bounds[2] for p in west)
    return float(east_min), miny, float(west_max), maxy
