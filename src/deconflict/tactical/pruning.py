"""Candidate pairs: a uniform grid over each aircraft's swept path (compiled with numba).

Every aircraft gets an axis-aligned box in ECEF around the straight segment it
flies within the look-ahead, and an altitude band it can reach; only pairs
whose boxes and bands overlap can be in conflict. Boxes are hashed into a
uniform grid of cubic cells; pairs are tested within each cell and reported
once, from the cell that holds the lower corner of the two boxes'
intersection. Aircraft whose box spans too many cells (absurd speeds in the
data) are tested against everybody instead, so they cost time, not memory.

The boxes are conservative (a pair in conflict always overlaps): at a time
``t`` in the look-ahead when the pair's horizontal distance in its midpoint
plane is below ``rpz``, the 3-D distance between the two tangent-line points
exceeds it only by its component along the midpoint vertical, which is at most
``(a + b)(rpz + a + b) / 2R <= [a(rpz + 2a) + b(rpz + 2b)] / 2R`` for swept
lengths ``a``, ``b`` and the smallest radius of curvature ``R`` of the
ellipsoid; each box carries its own half of that bound, with 10 % and 50 m to
spare. Memory is linear in the number of aircraft plus the candidates found.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from deconflict.tactical.frames import SurfaceFrame

__all__ = ["MAX_CELLS_PER_BOX", "candidate_pairs", "grid_cell_m", "swept_boxes"]

MAX_CELLS_PER_BOX = 64
"""Boxes spanning more grid cells than this are checked against every aircraft."""
MIN_CURVATURE_RADIUS_M = 6_300_000.0
"""Below the smallest radius of curvature of WGS 84 (6,335 km at the equator, meridional)."""
MIN_CELL_M = 1_000.0
MIN_BAND_M = 10.0

Float = NDArray[np.float64]
Int = NDArray[np.int64]


def swept_boxes(
    frame: SurfaceFrame,
    alt_m: Float,
    vs_mps: Float,
    rpz_m: float,
    hpz_m: float,
    lookahead_s: float,
) -> tuple[Float, Float, Float, Float]:
    """Conservative ECEF boxes and altitude bands over the look-ahead.

    Returns
    -------
    lo_m, hi_m
        ``(n, 3)`` box corners.
    alt_lo_m, alt_hi_m
        Altitude band, widened by half the vertical minimum.
    """
    horizon_s = max(lookahead_s, 0.0)
    end = frame.pos_m + frame.vel_mps * horizon_s
    swept_m = np.sqrt(np.einsum("ij,ij->i", frame.vel_mps, frame.vel_mps)) * horizon_s
    margin_m = (
        0.5 * rpz_m
        + 1.1 * swept_m * (rpz_m + 2.0 * swept_m) / (2.0 * MIN_CURVATURE_RADIUS_M)
        + 1e-3 * swept_m
        + 50.0
    )
    lo = np.minimum(frame.pos_m, end) - margin_m[:, None]
    hi = np.maximum(frame.pos_m, end) + margin_m[:, None]
    alt_end = alt_m + vs_mps * horizon_s
    vertical_margin_m = 0.5 * hpz_m + 1e-9 * np.abs(alt_end) + 1e-6
    alt_lo = np.minimum(alt_m, alt_end) - vertical_margin_m
    alt_hi = np.maximum(alt_m, alt_end) + vertical_margin_m
    return lo, hi, alt_lo, alt_hi


def candidate_pairs(
    lo_m: Float,
    hi_m: Float,
    alt_lo_m: Float,
    alt_hi_m: Float,
    cell_m: float | None = None,
    band_m: float | None = None,
) -> tuple[Int, Int]:
    """All pairs ``(i, j)``, ``i < j``, whose boxes and altitude bands overlap.

    The grid has a fourth dimension, altitude: aircraft that share a cell of
    space but not a band of altitude are never compared, so dense traffic
    spread over the levels costs what each level's traffic costs.

    Parameters
    ----------
    lo_m, hi_m, alt_lo_m, alt_hi_m
        From :func:`swept_boxes`.
    cell_m
        Grid cell size; by default adapted to the boxes and their density
        (:func:`grid_cell_m`).
    band_m
        Height of the grid's altitude bands; by default the median altitude
        band of a box (or a third of the 99th percentile, if larger).

    Returns
    -------
    i, j
        Candidate pairs, unordered, each once.

    Examples
    --------
    >>> lo = np.array([[0.0, 0, 0], [5.0, 5, 5], [50.0, 0, 0]])
    >>> hi = lo + 10.0
    >>> band = np.zeros(3), np.ones(3)
    >>> [p.tolist() for p in candidate_pairs(lo, hi, *band)]
    [[0], [1]]
    """
    n = lo_m.shape[0]
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    alt_lo_m = np.asarray(alt_lo_m, dtype=np.float64)
    alt_hi_m = np.asarray(alt_hi_m, dtype=np.float64)
    if band_m is None:
        height = alt_hi_m - alt_lo_m
        band_m = max(float(np.median(height)), float(np.quantile(height, 0.99)) / 3.0)
    band_m = max(band_m, MIN_BAND_M)
    band_lo = np.floor((alt_lo_m - alt_lo_m.min()) / band_m).astype(np.int64)
    band_hi = np.floor((alt_hi_m - alt_lo_m.min()) / band_m).astype(np.int64)
    if cell_m is None:
        cell_m = grid_cell_m(lo_m, hi_m, band_hi - band_lo + 1, int(band_hi.max()) + 1)
    cell_m = max(cell_m, MIN_CELL_M)
    origin = lo_m.min(axis=0)
    cell_lo = np.column_stack([np.floor((lo_m - origin) / cell_m).astype(np.int64), band_lo])
    cell_hi = np.column_stack([np.floor((hi_m - origin) / cell_m).astype(np.int64), band_hi])
    i, j = _grid_pairs(
        np.ascontiguousarray(cell_lo),
        np.ascontiguousarray(cell_hi),
        np.ascontiguousarray(lo_m),
        np.ascontiguousarray(hi_m),
        alt_lo_m,
        alt_hi_m,
        MAX_CELLS_PER_BOX,
    )
    return np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)


def grid_cell_m(lo_m: Float, hi_m: Float, bands: Int, band_count: int) -> float:
    """A cell size for the boxes ``lo_m``-``hi_m`` (spanning ``bands`` altitude bands of ``band_count``).

    The size of most boxes (the median, or a third of the 99th percentile if
    larger: all but the 1 % largest span at most four cells per axis, so mixed
    traffic stays off the all-pairs path), made smaller while the traffic is
    dense: each halving is taken while it lowers the estimated work, cells
    registered plus pairs compared within cells (from the mean occupancy).
    """
    largest = (hi_m - lo_m).max(axis=1)
    cell_m = max(float(np.median(largest)), float(np.quantile(largest, 0.99)) / 3.0, MIN_CELL_M)
    extent_m = hi_m.max(axis=0) - lo_m.min(axis=0)
    flat = max(float(extent_m.min()), MIN_CELL_M)  # the thin axis of a regional sky
    volume = float(np.prod(np.maximum(extent_m, MIN_CELL_M)))
    if lo_m.shape[0] < 1000:  # too few to be worth it
        return cell_m

    def work(size_m: float) -> float:
        spans = np.prod(np.floor(hi_m / size_m) - np.floor(lo_m / size_m) + 1.0, axis=1) * bands
        if np.mean(spans > MAX_CELLS_PER_BOX) > 0.01:  # onto the all-pairs path
            return math.inf
        entries = float(spans.sum())
        cells = max(volume / size_m**3, 1.0) if flat > size_m else max(volume / flat / size_m**2, 1.0)
        occupancy = entries / (cells * max(band_count, 1))
        return entries + entries * occupancy / 2.0

    best = work(cell_m)
    for _ in range(4):
        smaller = cell_m / 2.0
        if smaller < MIN_CELL_M:
            break
        cost = work(smaller)
        if cost >= best:
            break
        cell_m, best = smaller, cost
    return cell_m


def _overlap_py(i: int, j: int, lo: Float, hi: Float, alt_lo: Float, alt_hi: Float) -> bool:
    if alt_lo[i] > alt_hi[j] or alt_lo[j] > alt_hi[i]:
        return False
    return not (
        lo[i, 0] > hi[j, 0]
        or lo[j, 0] > hi[i, 0]
        or lo[i, 1] > hi[j, 1]
        or lo[j, 1] > hi[i, 1]
        or lo[i, 2] > hi[j, 2]
        or lo[j, 2] > hi[i, 2]
    )


def _grow_py(values: Int, used: int) -> Int:
    bigger = np.empty(2 * values.size, dtype=np.int64)
    bigger[:used] = values[:used]
    return bigger


def _grid_pairs_py(
    cell_lo: Int,
    cell_hi: Int,
    lo: Float,
    hi: Float,
    alt_lo: Float,
    alt_hi: Float,
    max_cells: int,
) -> tuple[Int, Int]:
    n = cell_lo.shape[0]
    dim_y = cell_hi[:, 1].max() + 1
    dim_z = cell_hi[:, 2].max() + 1
    dim_w = cell_hi[:, 3].max() + 1
    spans = (
        (cell_hi[:, 0] - cell_lo[:, 0] + 1)
        * (cell_hi[:, 1] - cell_lo[:, 1] + 1)
        * (cell_hi[:, 2] - cell_lo[:, 2] + 1)
        * (cell_hi[:, 3] - cell_lo[:, 3] + 1)
    )
    big = spans > max_cells
    total = 0
    for k in range(n):
        if not big[k]:
            total += spans[k]
    keys = np.empty(total, dtype=np.int64)
    owner = np.empty(total, dtype=np.int64)
    used = 0
    for k in range(n):
        if big[k]:
            continue
        for cx in range(cell_lo[k, 0], cell_hi[k, 0] + 1):
            for cy in range(cell_lo[k, 1], cell_hi[k, 1] + 1):
                for cz in range(cell_lo[k, 2], cell_hi[k, 2] + 1):
                    for cw in range(cell_lo[k, 3], cell_hi[k, 3] + 1):
                        keys[used] = ((cx * dim_y + cy) * dim_z + cz) * dim_w + cw
                        owner[used] = k
                        used += 1
    order = np.argsort(keys)
    keys = keys[order]
    owner = owner[order]

    out_i = np.empty(max(1024, 4 * n), dtype=np.int64)
    out_j = np.empty(max(1024, 4 * n), dtype=np.int64)
    found = 0
    start = 0
    while start < total:
        stop = start + 1
        while stop < total and keys[stop] == keys[start]:
            stop += 1
        key = keys[start]
        cw = key % dim_w
        cz = (key // dim_w) % dim_z
        cy = (key // (dim_w * dim_z)) % dim_y
        cx = key // (dim_w * dim_z * dim_y)
        for p in range(start, stop):
            a = owner[p]
            for q in range(p + 1, stop):
                b = owner[q]
                # Report each pair once: from the cell holding the intersection's lower corner.
                if max(cell_lo[a, 0], cell_lo[b, 0]) != cx:
                    continue
                if max(cell_lo[a, 1], cell_lo[b, 1]) != cy:
                    continue
                if max(cell_lo[a, 2], cell_lo[b, 2]) != cz:
                    continue
                if max(cell_lo[a, 3], cell_lo[b, 3]) != cw:
                    continue
                if not _overlap(a, b, lo, hi, alt_lo, alt_hi):
                    continue
                if found == out_i.size:
                    out_i = _grow(out_i, found)
                    out_j = _grow(out_j, found)
                out_i[found] = min(a, b)
                out_j[found] = max(a, b)
                found += 1
        start = stop

    for a in range(n):
        if not big[a]:
            continue
        for b in range(n):
            if b == a or (big[b] and b < a):
                continue
            if not _overlap(a, b, lo, hi, alt_lo, alt_hi):
                continue
            if found == out_i.size:
                out_i = _grow(out_i, found)
                out_j = _grow(out_j, found)
            out_i[found] = min(a, b)
            out_j[found] = max(a, b)
            found += 1
    return out_i[:found], out_j[:found]


# nogil: the live picture's cycle runs in a thread, and the API goes on answering meanwhile.
_overlap: Any = numba.njit(cache=True, nogil=True, inline="always")(_overlap_py)
_grow: Any = numba.njit(cache=True, nogil=True)(_grow_py)
_grid_pairs: Any = numba.njit(cache=True, nogil=True)(_grid_pairs_py)
