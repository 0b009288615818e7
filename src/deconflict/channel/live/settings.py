"""The live picture's settings: cleaning and detection as a replay applies them, warning, trails, gates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deconflict.channel.gating import GatingSettings

if TYPE_CHECKING:
    from deconflict.tactical.detect import DetectionSettings
    from deconflict.tactical.replay import ReplaySettings

__all__ = ["LiveSettings"]


def _replay_settings() -> ReplaySettings:
    from deconflict.tactical.replay import ReplaySettings

    return ReplaySettings()


@dataclass(frozen=True)
class LiveSettings:
    """How the live picture cleans, detects and merges.

    Attributes
    ----------
    tracking
        Staleness, minima, look-ahead, ground filter, glitch limits and alert
        gap, as a replay applies them (``step_s`` is not used: the service's
        cycle period is its own setting).
    warning_s
        An alert whose loss is predicted within this many seconds is a ``warning``.
    trail_s
        How far back own tracks' trails reach; an aircraft not heard of for
        longer than this (and ``stale_s``) is forgotten.
    gating
        The aircraft cap, the plausibility limits, the probation and the
        disclosure policy (:mod:`deconflict.channel.gating`).
    """

    tracking: ReplaySettings = field(default_factory=_replay_settings)
    warning_s: float = 120.0
    trail_s: float = 600.0
    gating: GatingSettings = field(default_factory=GatingSettings)

    def __post_init__(self) -> None:
        for name in ("warning_s", "trail_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def detection(self) -> DetectionSettings:
        """The detector's settings, with the vertical minimum allowing for altitude quantisation."""
        from deconflict.tactical.detect import DetectionSettings

        t = self.tracking
        return DetectionSettings(t.detection.rpz_m, t.vertical_minimum_m, t.detection.lookahead_s)
