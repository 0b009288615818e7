"""The live picture's settings: cleaning and detection as a replay applies them, warning, trails, gates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deconflict.channel.gating import GatingSettings
from deconflict.strategic.buffers import Buffers
from deconflict.units import AltitudeMargins

if TYPE_CHECKING:
    from deconflict.tactical.detect import DetectionSettings
    from deconflict.tactical.replay import ReplaySettings

__all__ = ["ConformanceSettings", "LiveSettings"]


def _replay_settings() -> ReplaySettings:
    from deconflict.tactical.replay import ReplaySettings

    return ReplaySettings()


@dataclass(frozen=True)
class ConformanceSettings:
    """How far outside its active plans an aircraft may fly before it is non-conforming.

    Attributes
    ----------
    margin_m
        Horizontal margin around each active volume's footprint, metres (1 NM).
    vertical_margin_m
        Vertical margin above and below each active volume's band, metres (500 ft).
    other_buffers
        The conflict buffers: another party's active volumes grown by these are
        its conflict-relevant space.
    altitude_margins
        The altitude references' uncertainties (counted in the plan's favour).
    """

    margin_m: float = 1852.0
    vertical_margin_m: float = 152.4
    other_buffers: Buffers = Buffers()
    altitude_margins: AltitudeMargins = field(default_factory=AltitudeMargins)

    def __post_init__(self) -> None:
        for name in ("margin_m", "vertical_margin_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def own_margins(self) -> Buffers:
        """The margins around the owner's volumes, as buffers (no time margin)."""
        return Buffers(self.margin_m, self.vertical_margin_m, 0.0)


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
    conformance
        The margins of conformance monitoring (:mod:`deconflict.channel.live.conformance`).
    """

    tracking: ReplaySettings = field(default_factory=_replay_settings)
    warning_s: float = 120.0
    trail_s: float = 600.0
    gating: GatingSettings = field(default_factory=GatingSettings)
    conformance: ConformanceSettings = field(default_factory=ConformanceSettings)

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
