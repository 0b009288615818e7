"""Fakes of the domain's protocols for tests: a clock moved when told, plans as footprints, events kept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.events import Event
from deconflict.channel.gating import near_footprints
from deconflict.geometry.footprint import Footprint
from tests.builders import T0_S


@dataclass
class FakeClock:
    """A :class:`~deconflict.channel.deadlines.Clock` at ``now_s`` until advanced: no sleeping in tests."""

    now: float = T0_S

    def now_s(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass
class FootprintPlans:
    """A :class:`~deconflict.channel.gating.PlanAreas` over given footprints, live at any time."""

    footprints: dict[str, list[Footprint]]

    def near_plans(
        self,
        party: str,
        lon_deg: NDArray[np.float64],
        lat_deg: NDArray[np.float64],
        now_s: float,
        margin_m: float,
    ) -> NDArray[np.bool_]:
        return near_footprints(self.footprints.get(party, []), lon_deg, lat_deg, margin_m)


class EventList:
    """An :class:`~deconflict.channel.events.EventSink` that keeps every event published, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, events: Iterable[Event]) -> None:
        self.events.extend(events)

    def record(self, events: Sequence[Event]) -> bool:
        return False  # nowhere to store them: published after the commit
