"""The tactical detector: every predicted and every current loss of separation.

:func:`detect` prunes candidate pairs with a grid over swept paths
(:mod:`deconflict.tactical.pruning`), then evaluates the candidates in
bounded chunks (:mod:`deconflict.tactical.frames` for the relative motion,
:mod:`deconflict.tactical.cpa` for the windows). Work and memory grow with the
number of aircraft plus the number of nearby pairs, never with its square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deconflict.tactical.cpa import conflict_windows, in_conflict
from deconflict.tactical.frames import SurfaceFrame, relative_motion, surface_frame
from deconflict.tactical.pruning import candidate_pairs, swept_boxes
from deconflict.tactical.states import States

__all__ = [
    "Conflicts",
    "Detection",
    "DetectionSettings",
    "LossesOfSeparation",
    "detect",
    "evaluate_pairs",
    "warm_up",
]

Float = NDArray[np.float64]
Int = NDArray[np.int64]

CHUNK_PAIRS = 1 << 20
"""Candidate pairs evaluated at once; bounds the temporary arrays to some hundred MiB."""


@dataclass(frozen=True)
class DetectionSettings:
    """Separation minima and look-ahead.

    Attributes
    ----------
    rpz_m
        Horizontal separation minimum (protected-zone radius), default 5 NM.
    hpz_m
        Vertical separation minimum (protected-zone half-height), default 1000 ft.
    lookahead_s
        How far ahead conflicts are predicted, default 300 s.
    """

    rpz_m: float = 9260.0
    hpz_m: float = 304.8
    lookahead_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("rpz_m", "hpz_m", "lookahead_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, eq=False)
class Conflicts:
    """Pairs in conflict within the look-ahead, ``a < b`` (indices into the states).

    ``tin_s`` is ``-inf`` and ``tout_s`` ``+inf`` where the window is unbounded
    (a pair at constant distance and height difference inside both minima).
    """

    a: Int
    b: Int
    tcpa_s: Float
    dcpa_m: Float
    tin_s: Float
    tout_s: Float

    def __len__(self) -> int:
        return int(self.a.size)

    def parallel(self, lookahead_s: float) -> NDArray[np.bool_]:
        """Pairs whose window covers the whole look-ahead and as long before now.

        Their relative motion is (nearly) nil: parallel flights at (nearly) the same
        speed, a formation, two hovering aircraft. Such a pair is in conflict now and
        stays so beyond the look-ahead; its window's ends, tens of thousands of
        seconds away or infinite, say nothing useful.

        Examples
        --------
        >>> pairs = (np.array(v) for v in ([0, 0], [1, 2], [0.0, 50.0], [10.0, 0.0]))
        >>> c = Conflicts(*pairs, np.array([-87_598.0, 40.0]), np.array([87_598.0, 60.0]))
        >>> c.parallel(300.0).tolist()
        [True, False]
        """
        return (self.tin_s <= -lookahead_s) & (self.tout_s >= lookahead_s)


@dataclass(frozen=True, eq=False)
class LossesOfSeparation:
    """Pairs below both minima now, ``a < b``, with horizontal distance and absolute height difference."""

    a: Int
    b: Int
    dist_m: Float
    dalt_m: Float

    def __len__(self) -> int:
        return int(self.a.size)


@dataclass(frozen=True, eq=False)
class Detection:
    """Result of one detection: conflicts and current losses of separation, sorted by ``(a, b)``."""

    conflicts: Conflicts
    los: LossesOfSeparation


def evaluate_pairs(
    states: States,
    i: ArrayLike,
    j: ArrayLike,
    settings: DetectionSettings,
    frame: SurfaceFrame | None = None,
) -> Detection:
    """Evaluate the given pairs exactly (no pruning); keeps those in conflict or in LoS.

    Examples
    --------
    Two aircraft 20 km apart on the equator, head-on at 100 m/s each, same level:

    >>> s = States([0.0, 0.0], [0.0, 0.17966], [3000.0] * 2, [100.0] * 2, [90.0, 270.0], [0.0] * 2)
    >>> c = evaluate_pairs(s, [0], [1], DetectionSettings()).conflicts
    >>> len(c), round(float(c.tcpa_s[0]), 1), round(float(c.tin_s[0]), 1), round(float(c.dcpa_m[0]), 3)
    (1, 100.0, 53.7, 0.0)
    """
    ii = np.asarray(i, dtype=np.int64)
    jj = np.asarray(j, dtype=np.int64)
    if frame is None:
        frame = surface_frame(states.lat_deg, states.lon_deg, states.gs_mps, states.trk_deg)
    d2, dw, w2 = relative_motion(frame, ii, jj)
    dalt = states.alt_m[jj] - states.alt_m[ii]
    dvs = states.vs_mps[jj] - states.vs_mps[ii]
    windows = conflict_windows(d2, dw, w2, dalt, dvs, settings.rpz_m, settings.hpz_m)
    hit = in_conflict(windows, settings.lookahead_s)
    los = (d2 < settings.rpz_m * settings.rpz_m) & (np.abs(dalt) < settings.hpz_m)
    low = np.minimum(ii, jj)
    high = np.maximum(ii, jj)
    return Detection(
        Conflicts(
            low[hit],
            high[hit],
            windows.tcpa_s[hit],
            windows.dcpa_m[hit],
            windows.tin_s[hit],
            windows.tout_s[hit],
        ),
        LossesOfSeparation(low[los], high[los], np.sqrt(d2[los]), np.abs(dalt[los])),
    )


def detect(states: States, settings: DetectionSettings | None = None) -> Detection:
    """All conflict pairs within the look-ahead and all pairs in loss of separation now.

    Parameters
    ----------
    states
        Aircraft states (filter ground and stale states before, see
        :func:`~deconflict.tactical.states.airborne`).
    settings
        Minima and look-ahead; defaults to 5 NM, 1000 ft, 300 s.

    Returns
    -------
    Detection
        Pairs as indices into ``states``, ``a < b``, sorted.

    Examples
    --------
    >>> lat, lon = [0.0, 0.0, 10.0], [0.0, 0.17966, 0.0]
    >>> s = States(lat, lon, [3000.0] * 3, [100.0] * 3, [90.0, 270.0, 0.0], [0.0] * 3)
    >>> d = detect(s)
    >>> d.conflicts.a.tolist(), d.conflicts.b.tolist(), len(d.los)
    ([0], [1], 0)
    """
    settings = settings or DetectionSettings()
    frame = surface_frame(states.lat_deg, states.lon_deg, states.gs_mps, states.trk_deg)
    boxes = swept_boxes(
        frame, states.alt_m, states.vs_mps, settings.rpz_m, settings.hpz_m, settings.lookahead_s
    )
    cand_i, cand_j = candidate_pairs(*boxes)
    parts = [
        evaluate_pairs(
            states, cand_i[start : start + CHUNK_PAIRS], cand_j[start : start + CHUNK_PAIRS], settings, frame
        )
        for start in range(0, max(cand_i.size, 1), CHUNK_PAIRS)
    ]
    return _sorted(_concatenate(parts))


def warm_up() -> None:
    """Load the compiled kernels once (from numba's cache, or compile them), so timings exclude it."""
    detect(States([0.0, 0.0], [0.0, 0.01], [1000.0, 1000.0], [100.0, 100.0], [90.0, 270.0], [0.0, 0.0]))


def _concatenate(parts: list[Detection]) -> Detection:
    if len(parts) == 1:
        return parts[0]
    c = [p.conflicts for p in parts]
    los = [p.los for p in parts]
    return Detection(
        Conflicts(
            *(
                np.concatenate([getattr(x, name) for x in c])
                for name in ("a", "b", "tcpa_s", "dcpa_m", "tin_s", "tout_s")
            )
        ),
        LossesOfSeparation(
            *(np.concatenate([getattr(x, name) for x in los]) for name in ("a", "b", "dist_m", "dalt_m"))
        ),
    )


def _sorted(found: Detection) -> Detection:
    c, los = found.conflicts, found.los
    order = np.lexsort((c.b, c.a))
    los_order = np.lexsort((los.b, los.a))
    return Detection(
        Conflicts(c.a[order], c.b[order], c.tcpa_s[order], c.dcpa_m[order], c.tin_s[order], c.tout_s[order]),
        LossesOfSeparation(los.a[los_order], los.b[los_order], los.dist_m[los_order], los.dalt_m[los_order]),
    )
