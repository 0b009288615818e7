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

Work per volume: one comparison over all points for time and altitude, one
against the volume's search boxes (grown by the buffer), then the footprint only
for the points in a box: circles by one vectorised geodesic distance, polygons by
shapely's point-in-polygon over arrays, then a cheap bound in degrees, and the
exact distance only for the few points in the band around the polygon's edge
that neither decides (at most :data:`MAX_EXACT` a call; what the caller says for
the rest: ``undecided``).
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
    for volume in active_volumes(volumes, time_s, grow):
        low_m = volume.lower.msl_range_m(margins)[0] - grow.vertical_buffer_m
        high_m = volume.upper.msl_range_m(margins)[1] + grow.vertical_buffer_m
        todo = np.flatnonzero(~inside & (alt >= low_m) & (alt <= high_m))
        if todo.size == 0:
            continue
        in_box = np.zeros(todo.size, dtype=bool)
        for box in volume.search_boxes(margins, grow):
            in_box |= (
                (lon[todo] >= box.lon_min_deg)
                & (lon[todo] <= box.lon_max_deg)
                & (lat[todo] >= box.lat_min_deg)
                & (lat[todo] <= box.lat_max_deg)
            )
        todo = todo[in_box]
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
        for k in rest[~surely].tolist():
            if inside[k]:
                continue
            if exact_left <= 0:
                inside[k] = undecided
                continue
            exact_left -= 1
            if point_to_shape_distance_m(float(lon[k]), float(lat[k]), shape) <= margin_m:
                inside[k] = True
    return inside
