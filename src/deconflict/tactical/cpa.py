"""Closest point of approach and conflict windows of aircraft pairs (vectorised).

The semantics are those of PRODUCT.md (BlueSky's state-based detector),
restated for every case, including the degenerate ones BlueSky gets wrong:

- Straight-line relative motion ``d(t) = d + w t`` in the horizontal plane and
  ``dalt(t) = dalt + dvs t`` vertically.
- Horizontal window: the open interval where ``|d(t)| < rpz``. With relative
  speed ``|w| > 0`` it is ``(tcpa - h, tcpa + h)``, ``h = sqrt(rpz**2 -
  dcpa**2) / |w|``, when ``dcpa < rpz``, else empty. With ``|w| = 0`` (a
  hovering pair, parallel flights at equal speed) the distance never changes:
  the window is all time if the pair is inside now, else empty; ``tcpa`` is
  then 0 and ``dcpa`` the distance now.
- Vertical window: the open interval where ``|dalt(t)| < hpz``; with ``dvs = 0``
  all time or nothing.
- Conflict window ``(tin, tout)``: the intersection. A pair is in conflict when
  it is non-empty (``tin < tout``), has not ended (``tout > 0``) and starts
  within the look-ahead (``tin < lookahead``). So a pair in loss of separation
  that diverges stays in conflict until it exits, and one whose loss of
  separation ended a moment ago is not in conflict.

Unbounded ends are ``-inf``/``+inf``; an empty window is ``tin = +inf``,
``tout = -inf``. Relative speeds below :data:`MIN_SPEED_MPS` (horizontal) and
:data:`MIN_VS_MPS` (vertical) count as zero: over any look-ahead they move the
pair by less than a millimetre, and dividing by them would only add overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MIN_SPEED_MPS",
    "MIN_VS_MPS",
    "Windows",
    "conflict_windows",
    "in_conflict",
]

MIN_SPEED_MPS = 1e-6
"""Relative horizontal speeds below this are treated as exactly zero."""
MIN_VS_MPS = 1e-9
"""Relative vertical speeds below this are treated as exactly zero."""

Float = NDArray[np.float64]
Bool = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Windows:
    """CPA and conflict window of each pair (arrays of equal length).

    Attributes
    ----------
    tcpa_s, dcpa_m
        Time (from now, may be negative) and horizontal distance of the closest point of approach.
    tin_s, tout_s
        Entry into and exit from the combined horizontal and vertical conflict
        window; ``+inf``/``-inf`` when empty, ``-inf``/``+inf`` when unbounded.
    """

    tcpa_s: Float
    dcpa_m: Float
    tin_s: Float
    tout_s: Float


def conflict_windows(
    dist2_m2: ArrayLike,
    dot_m2ps: ArrayLike,
    speed2_m2ps2: ArrayLike,
    dalt_m: ArrayLike,
    dvs_mps: ArrayLike,
    rpz_m: float,
    hpz_m: float,
) -> Windows:
    """Conflict windows from relative motion (see the module docstring).

    Parameters
    ----------
    dist2_m2, dot_m2ps, speed2_m2ps2
        ``|d|**2``, ``d . w`` and ``|w|**2`` of the horizontal relative motion.
    dalt_m, dvs_mps
        Altitude difference and relative vertical speed (same sign convention).
    rpz_m, hpz_m
        Horizontal radius and vertical half-height of the protected zone.

    Examples
    --------
    Head-on at 200 m/s closing, 20 km apart, level at the same altitude:

    >>> w = conflict_windows([20000.0**2], [-20000.0 * 200.0], [200.0**2], [0.0], [0.0], 9260.0, 304.8)
    >>> float(w.tcpa_s[0]), float(w.dcpa_m[0]), float(w.tin_s[0]), float(w.tout_s[0])
    (100.0, 0.0, 53.7, 146.3)

    A hovering pair 5 km apart, 100 m apart in height: in conflict for ever.

    >>> w = conflict_windows([5000.0**2], [0.0], [0.0], [100.0], [0.0], 9260.0, 304.8)
    >>> float(w.tcpa_s[0]), float(w.dcpa_m[0]), float(w.tin_s[0]), float(w.tout_s[0])
    (0.0, 5000.0, -inf, inf)
    """
    d2 = np.asarray(dist2_m2, dtype=np.float64)
    dw = np.asarray(dot_m2ps, dtype=np.float64)
    w2 = np.asarray(speed2_m2ps2, dtype=np.float64)
    dalt = np.asarray(dalt_m, dtype=np.float64)
    dvs = np.asarray(dvs_mps, dtype=np.float64)
    rpz2 = rpz_m * rpz_m

    moving = w2 >= MIN_SPEED_MPS * MIN_SPEED_MPS
    safe_w2 = np.where(moving, w2, 1.0)
    tcpa = np.where(moving, -dw / safe_w2, 0.0)
    dcpa2 = np.where(moving, np.maximum(d2 - dw * dw / safe_w2, 0.0), d2)
    inside_h = dcpa2 < rpz2
    half = np.sqrt(np.maximum(rpz2 - dcpa2, 0.0) / safe_w2)
    tin_h = np.where(moving, tcpa - half, -np.inf)
    tout_h = np.where(moving, tcpa + half, np.inf)

    climbing = np.abs(dvs) >= MIN_VS_MPS
    safe_dvs = np.where(climbing, dvs, 1.0)
    cross_low = (-hpz_m - dalt) / safe_dvs
    cross_high = (hpz_m - dalt) / safe_dvs
    inside_v = climbing | (np.abs(dalt) < hpz_m)
    tin_v = np.where(climbing, np.minimum(cross_low, cross_high), -np.inf)
    tout_v = np.where(climbing, np.maximum(cross_low, cross_high), np.inf)

    both = inside_h & inside_v
    tin = np.where(both, np.maximum(tin_h, tin_v), np.inf)
    tout = np.where(both, np.minimum(tout_h, tout_v), -np.inf)
    return Windows(tcpa, np.sqrt(dcpa2), tin, tout)


def in_conflict(windows: Windows, lookahead_s: float) -> Bool:
    """Which pairs are in conflict: a non-empty window, not over, starting within the look-ahead.

    Examples
    --------
    >>> w = Windows(*(np.array(v) for v in ([0.0, 0.0], [0.0, 0.0], [-10.0, -10.0], [5.0, -0.001])))
    >>> in_conflict(w, 300.0).tolist()
    [True, False]
    """
    return (windows.tin_s < windows.tout_s) & (windows.tout_s > 0.0) & (windows.tin_s < lookahead_s)
