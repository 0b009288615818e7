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
the footprint only for the points in one of its boxes not yet found inside, by
:func:`~deconflict.geometry.margin.within_margin`: circles by one vectorised
geodesic distance, polygons by shapely's point-in-polygon over arrays, then
bounds in degrees and in a local frame whose longitudes are scaled by the cosine
of the latitude (not for a volume whose grown boxes wrap across the
antimeridian), and the exact distance only for the few points in the thin band
around the polygon's edge that none decides (at most :data:`MAX_EXACT` a call;
what the caller says for the rest: ``undecided``).
"""

from __future__ import annotations

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
    from deconflict.geometry.margin import within_margin

    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    alt = np.atleast_1d(np.asarray(alt_m, dtype=np.float64))
    inside = np.zeros(lon.shape, dtype=bool)
    exact_left = MAX_EXACT
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
        todo = np.flatnonzero(~inside & in_box[owner == k].any(axis=0))
        if todo.size == 0:
            continue
        found, exact_left = within_margin(
            active[k].footprint,
            lon[todo],
            lat[todo],
            grow.buffer_m,
            exact_left=exact_left,
            undecided=undecided,
            local_frame=np.count_nonzero(owner == k) == 1,  # one box: not across the antimeridian
        )
        inside[todo[found]] = True
    return inside


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
