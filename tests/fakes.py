"""Fakes of the domain's protocols for tests: a clock that moves only when told."""

from __future__ import annotations

from dataclasses import dataclass

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
