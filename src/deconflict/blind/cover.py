"""Covers: every grid cell whose closure meets a buffered volume.

Two volumes that the exact engine finds in conflict always share a cell of
their covers (no false negatives), because each cover contains, as a set of
grid cells, a region known to contain the volume grown by its buffers:

* horizontally, the footprint's *outer* polygon (which contains the true
  footprint, circles included) grown by the buffer ``b``: a point within
  geodesic distance ``b`` of the footprint is within ``dlat = b / 110,574 m``
  degrees of latitude and ``dlon = dlat / cos(lat_max)`` of longitude of it
  (``lat_max`` the largest latitude the grown part reaches; the whole circle of
  longitude when that is within reach of a pole). The box ``dlon x dlat`` lies
  inside a disc of radius ``sqrt(2)`` once scaled to a unit square, so the part
  is scaled, buffered by that radius (its polygon outside the disc) and scaled
  back, then cut at the antimeridian. Every cell whose closed box meets it is
  taken, columns wrapping at 180 degrees, rows clamped at the poles.
* in time, the window grown by the time buffer, ``[start - tb, end + tb]``:
  every slot containing a point of it;
* in altitude, the widest MSL interval of the band (``AltitudeMargins``),
  grown by ``(1 + temperature_error_fraction)`` times the vertical buffer (a
  buffer on a flight level moves its MSL bound by up to that much): every band
  containing a point of it.

Where the exact engine finds a conflict, a witness point lies in both grown
volumes; the one cell holding it (:func:`~deconflict.blind.grid.cell_of_points`)
is in both covers. The cover over-reports by up to a cell, a slot and a band on
each side (and by the outer polygon's margin around a circle).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

from deconflict.blind.grid import GridParameters
from deconflict.errors import BlindSessionError
from deconflict.geometry.antimeridian import split_at_antimeridian
from deconflict.geometry.footprint import Footprint
from deconflict.strategic.volume import Volume

__all__ = ["Cover", "cover_footprint", "cover_volume", "cover_volumes", "grown_footprint"]

# Degrees of latitude per metre, upper bound (meridian radius at the equator), with a margin.
_DEG_LAT_PER_M = 1.001 / 110_574.0
_QUAD_SEGS = 8
# A buffer of radius r with round joins of _QUAD_SEGS segments a quarter stays outside the disc r / cos.
_UNIT_SQUARE_RADIUS = math.sqrt(2.0) / math.cos(math.pi / (4 * _QUAD_SEGS)) * (1.0 + 1e-9)
# Cell boxes are tested grown by this much (degrees, about 0.1 mm), so rounding never loses a cell.
_EPS_DEG = 1e-9


def _parts(shape: Polygon | MultiPolygon) -> list[Polygon]:
    return list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]


def grown_footprint(footprint: Footprint, buffer_m: float) -> list[Polygon]:
    """Lon/lat polygons in [-180, 180] x [-90, 90] that contain the footprint grown by ``buffer_m``.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> [p.bounds[0] < 179.9 for p in grown_footprint(circle_footprint(179.95, 0.0, 1000.0), 10_000.0)]
    [True, True]
    """
    grown: list[Polygon] = []
    for part in _parts(footprint.outer):
        if buffer_m <= 0.0:
            grown.append(part)
            continue
        _, lat_lo, _, lat_hi = part.bounds
        dlat = buffer_m * _DEG_LAT_PER_M
        lat_reach = min(90.0, max(abs(lat_lo), abs(lat_hi)) + dlat)
        cos_lat = math.cos(math.radians(lat_reach))
        if cos_lat < 1e-9 or dlat / cos_lat >= 180.0:
            grown.append(shapely.box(-180.0, max(-90.0, lat_lo - dlat), 180.0, min(90.0, lat_hi + dlat)))
            continue
        scale = np.array([cos_lat / dlat, 1.0 / dlat])
        scaled = shapely.transform(part, lambda xy, k=scale: xy * k)
        buffered = shapely.buffer(scaled, _UNIT_SQUARE_RADIUS, quad_segs=_QUAD_SEGS)
        back = shapely.transform(buffered, lambda xy, k=scale: xy / k)
        back = shapely.intersection(back, shapely.box(-1e3, -90.0, 1e3, 90.0))
        grown.extend(_parts(split_at_antimeridian(back)))
    return grown


def _cells_meeting(shape: Polygon, params: GridParameters) -> NDArray[np.int64]:
    """(column, row) of every cell whose closed box meets ``shape`` (in [-180, 180] longitudes).

    Row by row: the shape's piece in each row's strip bounds the columns to test,
    so the work follows the cells found, not the shape's bounding box.
    """
    c = params.cell_deg
    lon_lo, lat_lo, lon_hi, lat_hi = shape.bounds
    rows = np.arange(
        max(0, math.floor((lat_lo + 90.0) / c) - 1),
        min(params.lat_cells, math.floor((lat_hi + 90.0) / c) + 2),
    )
    strips = shapely.box(
        lon_lo - 1.0, -90.0 + rows * c - _EPS_DEG, lon_hi + 1.0, -90.0 + (rows + 1) * c + _EPS_DEG
    )
    pieces = shapely.intersection(shape, strips)
    found = []
    for row, piece in zip(rows.tolist(), pieces.tolist(), strict=True):
        if piece.is_empty:
            continue
        x0, y0, x1, y1 = piece.bounds
        columns = np.arange(math.floor((x0 + 180.0) / c) - 1, math.floor((x1 + 180.0) / c) + 2)
        west = -180.0 + columns * c - _EPS_DEG
        east = -180.0 + (columns + 1) * c + _EPS_DEG
        # A cell's box spans its strip's latitudes, so it meets the shape exactly where it meets the piece.
        if isinstance(piece, Polygon) and piece.area >= (x1 - x0) * (y1 - y0) * (1.0 - 1e-9):
            # A rectangle (a band around a pole, a box): the columns it spans, no geometry needed.
            hit = (east >= x0) & (west <= x1)
        else:
            boxes = shapely.box(west, -90.0 + row * c - _EPS_DEG, east, -90.0 + (row + 1) * c + _EPS_DEG)
            hit = shapely.intersects(piece, boxes)
        found.append(np.column_stack([columns[hit] % params.lon_cells, np.full(int(hit.sum()), row)]))
    return np.concatenate(found).astype(np.int64) if found else np.empty((0, 2), dtype=np.int64)


def _unique(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted unique values (a sort and a comparison: faster here than ``np.unique``'s hashing)."""
    keys = np.sort(keys)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys


def cover_footprint(footprint: Footprint, params: GridParameters) -> NDArray[np.int64]:
    """Unique (column, row) of the cells covering ``footprint`` grown by the session's buffer."""
    found = [_cells_meeting(p, params) for p in grown_footprint(footprint, params.buffers.buffer_m)]
    cells = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    # One integer per cell (column-major, as np.unique(axis=0) would sort), much faster to deduplicate.
    keys = _unique(cells[:, 0] * params.lat_cells + cells[:, 1])
    return np.column_stack([keys // params.lat_cells, keys % params.lat_cells]).astype(np.int64)


def _over_cap(count: int, cap: int) -> BlindSessionError:
    return BlindSessionError(
        f"the volumes cover {count} cells or more, more than the session's cap of {cap}: "
        "agree coarser cells, slots or bands, or a larger cap"
    )


def _indices(lo: float, hi: float, size: float) -> NDArray[np.int64]:
    return np.arange(math.floor(lo / size), math.floor(hi / size) + 1, dtype=np.int64)


def volume_intervals(volume: Volume, params: GridParameters) -> tuple[float, float, float, float]:
    """(time from, time to, MSL altitude from, MSL altitude to) the cover spans, buffers included."""
    b = params.buffers
    vertical_m = b.vertical_buffer_m * (1.0 + params.margins.temperature_error_fraction)
    return (
        volume.time_start_s - b.time_buffer_s,
        volume.time_end_s + b.time_buffer_s,
        volume.lower.msl_range_m(params.margins)[0] - vertical_m,
        volume.upper.msl_range_m(params.margins)[1] + vertical_m,
    )


def cover_volume(volume: Volume, params: GridParameters) -> NDArray[np.int64]:
    """Unique cells (rows of column, row, slot, band) covering ``volume`` grown by the buffers.

    Raises
    ------
    BlindSessionError
        If the volume alone covers more cells than the session's cap.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> from deconflict.units import Altitude, AltitudeReference
    >>> msl = AltitudeReference.MSL
    >>> v = Volume("v", "blue", "op", circle_footprint(36.0, 35.0, 10_000.0),
    ...            Altitude(0.0, msl), Altitude(1524.0, msl), 0.0, 7200.0)
    >>> cover_volume(v, GridParameters("s", 0.1, 900.0, 500.0, cap=10_000)).shape
    (288, 4)
    """
    t0, t1, a0, a1 = volume_intervals(volume, params)
    slots = _indices(t0, t1, params.slot_s)
    bands = _indices(a0, a1, params.band_m)
    if slots.size * bands.size > params.cap:
        raise _over_cap(slots.size * bands.size, params.cap)
    horizontal = cover_footprint(volume.footprint, params)
    if horizontal.shape[0] * slots.size * bands.size > params.cap:
        raise _over_cap(horizontal.shape[0] * slots.size * bands.size, params.cap)
    h = np.repeat(horizontal, slots.size * bands.size, axis=0)
    k = np.tile(np.repeat(slots, bands.size), horizontal.shape[0])
    band = np.tile(bands, horizontal.shape[0] * slots.size)
    return np.column_stack([h, k, band])


@dataclass(frozen=True, eq=False)
class Cover:
    """The cells of a party's volumes, each once, and which volumes each came from.

    Attributes
    ----------
    cells
        (n, 4) unique rows of (column, row, slot, band), sorted.
    starts, owners
        The volumes (indices into the covered sequence) of cell ``r`` are
        ``owners[starts[r]:starts[r + 1]]``.
    """

    cells: NDArray[np.int64]
    starts: NDArray[np.int64]
    owners: NDArray[np.int64]

    def volumes_of(self, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sorted unique indices of the volumes that own any of the cells ``rows``."""
        found = [self.owners[self.starts[r] : self.starts[r + 1]] for r in np.asarray(rows).tolist()]
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


def cover_volumes(volumes: Sequence[Volume], params: GridParameters) -> Cover:
    """The :class:`Cover` of a party's volumes.

    Raises
    ------
    BlindSessionError
        If the cover has more cells than the session's cap (coarser cells, slots or
        bands, or a larger cap, would do).
    """
    covers = [cover_volume(v, params) for v in volumes]
    if not covers:
        empty = np.empty(0, dtype=np.int64)
        return Cover(np.empty((0, 4), dtype=np.int64), np.zeros(1, dtype=np.int64), empty)
    every = np.concatenate(covers)
    owner = np.repeat(np.arange(len(covers), dtype=np.int64), [c.shape[0] for c in covers])
    cells, inverse = np.unique(every, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if cells.shape[0] > params.cap:
        raise _over_cap(cells.shape[0], params.cap)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=cells.shape[0])
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Cover(cells.astype(np.int64), starts, owner[order])
