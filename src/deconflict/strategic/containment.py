"""Which points (aircraft) lie inside a party's planned volumes: vectorised over the points.

A point ``(lon_deg, lat_deg, alt_m)`` at ``time_s`` lies in a volume grown by
:class:`~deconflict.strategic.buffers.Buffers` ``b`` when

* the volume's time window grown by ``b.time_buffer_s`` holds the time (start
  included, end excluded: a window ending at 12:00 no longer holds 12:00);
* the altitude lies in the band from the lowest possible MSL height of the
  lower bound to the highest possible of the upper bound (each reference's
  uncertainty counted in the volume's favour,
  :meth:`~deconflict.units.Altitude.msl_range_m`), grown by ``b.vertical_buffer_m``;
* the geodesic distance from the point to the footprint is at most
  ``b.buffer_m`` (0 inside or on it): from a circle's centre, at most the
  radius plus the buffer; to a polygon, as
  :func:`~deconflict.geometry.overlap.point_to_shape_distance_m` measures it.

Work: every active volume's search boxes (grown by the buffer; their altitude
bounds are the band test) against every point at once, then, volume by volume,
the footprint only for the points in one of its boxes not yet found inside:
circles by one vectorised geodesic distance, polygons by shapely's
point-in-polygon over arrays, then bounds in degrees and in a local frame whose
longitudes are scaled by the cosine of the latitude, and the exact distance only
for the few points in the thin band around the polygon's edge that neither
decides (at most :data:`MAX_EXACT` a call; what the caller says for the rest:
``undecided``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deconflict.strategic.buffers import Buffers
from deconflict.strategic.volume import Volume
from deconflict.units import AltitudeMargins

__all__ = ["MAX_EXACT", "active_volumes", "within_volumes"]

Bool = NDArray[np.bool_]
Float = NDArray[np.float64]

MAX_EXACT = 256
"""Points a call of :func:`within_volumes` measures exactly at most (a few milliseconds each)."""
_MAX_M_PER_DEG = 111_700.0  # upper bound of metres per degree in any direction


def active_volumes(volumes: Sequence[Volume], time_s: float, grow: Buffers = Buffers()) -> list[Volume]:
    """The volumes whose window grown by ``grow.time_buffer_s`` holds ``time_s`` (start in, end out)."""
    pad_s = grow.time_buffer_s
    return [v for v in volumes if v.time_start_s - pad_s <= time_s < v.time_end_s + pad_s]


def within_volumes(
    volumes: Sequence[Volume],
    lon_deg: ArrayLike,
    lat_deg: ArrayLike,
    alt_m: ArrayLike,
    time_s: float,
    grow: Buffers = Buffers(),
    margins: AltitudeMargins = AltitudeMargins(),
    undecided: bool = True,
) -> Bool:
    """Which points lie in one of ``volumes`` grown by ``grow`` at ``time_s`` (see the module's rules).

    Parameters
    ----------
    volumes
        Any volumes (those whose window does not hold ``time_s`` are skipped).
    lon_deg, lat_deg, alt_m
        The points: degrees, degrees, metres above MSL (same shape).
    grow
        Horizontal margin (m), vertical margin (m) and time margin (s).
    margins
        The altitude references' uncertainties.
    undecided
        What a point counts as when it would need the exact polygon distance
        after :data:`MAX_EXACT` points were measured in this call.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> from deconflict.units import Altitude, AltitudeReference
    >>> msl = AltitudeReference.MSL
    >>> v = Volume("v", "blue", "op", circle_footprint(2.0, 48.0, 5000.0),
    ...            Altitude(0.0, msl), Altitude(1000.0, msl), 0.0, 3600.0)
    >>> within_volumes([v], [2.0, 2.0, 2.1, 2.0], [48.0, 48.0, 48.0, 48.0], [500.0, 1200.0, 500.0, 500.0],
    ...                100.0).tolist()
    [True, False, False, True]
    >>> within_volumes([v], [2.07], [48.0], [1100.0], 100.0, Buffers(1000.0, 200.0)).tolist()
    [True]
    >>> within_volumes([v], [2.0], [48.0], [500.0], 3600.0).tolist()
    [False]
    """
    import shapely

    from deconflict.geometry.geodesy import distance_m
    from deconflict.geometry.overlap import point_to_shape_distance_m

    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    alt = np.atleast_1d(np.asarray(alt_m, dtype=np.float64))
    inside = np.zeros(lon.shape, dtype=bool)
    exact_left = MAX_EXACT
    margin_m = grow.buffer_m
    active = active_volumes(volumes, time_s, grow)
    if not active or lon.size == 0:
        return inside
    # Every (grown) box of every active volume as columns; the points in each, all at once.
    boxes = [(k, b) for k, v in enumerate(active) for b in v.search_boxes(margins, grow)]
    owner = np.fromiter((k for k, _ in boxes), np.int64, len(boxes))
    bounds = np.array(
        [
            (b.lon_min_deg, b.lon_max_deg, b.lat_min_deg, b.lat_max_deg, b.alt_min_m, b.alt_max_m)
            for _, b in boxes
        ]
    )
    in_box = _in_boxes(lon, lat, alt, bounds)
    for k in np.unique(owner[in_box.any(axis=1)]).tolist():
        volume = active[k]
        todo = np.flatnonzero(~inside & in_box[owner == k].any(axis=0))
        if todo.size == 0:
            continue
        footprint = volume.footprint
        if footprint.is_circle:
            assert footprint.centre_lon_deg is not None and footprint.centre_lat_deg is not None
            assert footprint.radius_m is not None
            gap_m = distance_m(footprint.centre_lon_deg, footprint.centre_lat_deg, lon[todo], lat[todo])
            inside[todo[gap_m <= footprint.radius_m + margin_m]] = True
            continue
        shape = footprint.shape
        shapely.prepare(shape)  # kept on the geometry: later calls reuse it
        hit = shapely.intersects_xy(shape, lon[todo], lat[todo])
        inside[todo[hit]] = True
        rest = todo[~hit]
        if rest.size == 0 or margin_m <= 0.0:
            continue
        # Within margin / 111.7 km in degrees: surely within the margin in metres.
        surely = shapely.dwithin(shape, shapely.points(lon[rest], lat[rest]), margin_m / _MAX_M_PER_DEG)
        inside[rest[surely]] = True
        rest = rest[~surely]
        if rest.size and np.count_nonzero(owner == k) == 1:  # one box: not across the antimeridian
            near, far = _scaled_bounds(shape, lon[rest], lat[rest], margin_m)
            inside[rest[near]] = True
            rest = rest[~near & ~far]
        for k in rest.tolist():
            if inside[k]:
                continue
            if exact_left <= 0:
                inside[k] = undecided
                continue
            exact_left -= 1
            if point_to_shape_distance_m(float(lon[k]), float(lat[k]), shape) <= margin_m:
                inside[k] = True
    return inside


_MIN_M_PER_DEG = 110_574.0  # lower bound of metres per degree (of latitude, or of longitude times cos lat)
_MAX_SCALED_LAT_DEG = 80.0
_MAX_SCALED_MARGIN_M = 50_000.0


def _scaled_bounds(shape: object, lon: Float, lat: Float, margin_m: float) -> tuple[Bool, Bool]:
    """Points surely within ``margin_m`` of ``shape``, and points surely farther, by a local scaled frame.

    Longitudes are scaled by the cosine of the region's middle latitude, so a
    degree is nearly as long east as north; the spread of the cosine over the
    region (and the ellipsoid's 1 %) bounds the error, and only the points in
    the thin band the bounds leave need the exact distance. Neither decides
    (both all false) at high latitudes or for a margin of more than 50 km.
    """
    import shapely

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
    return near, far


_CELLS = 4_000_000  # box x point comparisons at once (a few MB of booleans)


def _in_boxes(lon: Float, lat: Float, alt: Float, bounds: Float) -> Bool:
    """``(boxes, points)``: which points lie in each box (``bounds`` rows: lon, lat and altitude bounds).

    The boxes are :meth:`~deconflict.strategic.volume.Volume.search_boxes`: their
    altitude bounds are the volume's band grown by the vertical buffer, exactly.
    """
    out = np.zeros((len(bounds), lon.size), dtype=bool)
    step = max(1, _CELLS // max(1, len(bounds)))
    for start in range(0, lon.size, step):
        x, y, z = (c[None, start : start + step] for c in (lon, lat, alt))
        out[:, start : start + step] = (
            (x >= bounds[:, 0:1])
            & (x <= bounds[:, 1:2])
            & (y >= bounds[:, 2:3])
            & (y <= bounds[:, 3:4])
            & (z >= bounds[:, 4:5])
            & (z <= bounds[:, 5:6])
        )
    return out
