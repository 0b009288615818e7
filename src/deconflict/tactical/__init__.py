"""Tactical conflict detection: aircraft states, CPA prediction, alerts, incidents, replay.

The detector follows BlueSky's state-based semantics (straight-line motion,
conflict when the horizontal and vertical windows overlap within the
look-ahead) with exact degenerate cases, a geodetic frame that is right at any
latitude, and a spatial grid instead of all pairs.
"""

from deconflict.tactical.cpa import Windows, conflict_windows, in_conflict
from deconflict.tactical.detect import (
    Conflicts,
    Detection,
    DetectionSettings,
    LossesOfSeparation,
    detect,
    evaluate_pairs,
    warm_up,
)
from deconflict.tactical.states import GroundFilter, States, airborne, dead_reckon, left_out

__all__ = [
    "Conflicts",
    "Detection",
    "DetectionSettings",
    "GroundFilter",
    "LossesOfSeparation",
    "States",
    "Windows",
    "airborne",
    "conflict_windows",
    "dead_reckon",
    "detect",
    "evaluate_pairs",
    "in_conflict",
    "left_out",
    "warm_up",
]
