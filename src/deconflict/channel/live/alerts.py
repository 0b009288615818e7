"""Alerts: predicted (or current) losses of separation between two parties' aircraft, and each side's view."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from deconflict.channel.gating import Withheld
from deconflict.channel.live.tracks import Aircraft
from deconflict.errors import NotFoundError

__all__ = ["Alert", "AlertLevel", "AlertNotice", "AlertState", "AlertView", "Position"]


class AlertLevel(StrEnum):
    """How urgent an alert is."""

    ADVISORY = "advisory"
    WARNING = "warning"
    LOSS = "loss"


Position = tuple[float, float, float]
"""``(lon_deg, lat_deg, alt_m)``."""


@dataclass(frozen=True)
class Alert:
    """A predicted (or current) loss of separation between aircraft ``a`` and ``b`` (``a < b``).

    Attributes
    ----------
    id
        ``a-<n>``, never reused.
    since_s, last_s
        First and latest cycle the pair was found in conflict.
    time_to_loss_s
        Predicted time to loss of separation at ``last_s`` (0 in loss).
    time_to_cpa_s, distance_cpa_m, vertical_cpa_m
        Closest point of approach predicted at ``last_s`` (``time_to_cpa_s`` 0
        and the distance now when the pair is already diverging).
    position_a, position_b
        Each aircraft dead-reckoned to ``last_s``.
    withheld_a, withheld_b
        Why ``a``'s (``b``'s) party is not shown the other aircraft (its own
        does not vouch, :mod:`deconflict.channel.gating`), or ``None``.
    """

    id: str
    level: AlertLevel
    a: Aircraft
    b: Aircraft
    since_s: float
    last_s: float
    time_to_loss_s: float
    time_to_cpa_s: float
    distance_cpa_m: float
    vertical_cpa_m: float
    position_a: Position
    position_b: Position
    withheld_a: Withheld | None = None
    withheld_b: Withheld | None = None

    @property
    def parties(self) -> tuple[str, str]:
        """The two parties, sorted."""
        return (min(self.a.party, self.b.party), max(self.a.party, self.b.party))

    def involves(self, party: str) -> bool:
        """Whether one of ``party``'s aircraft is in the alert."""
        return party in (self.a.party, self.b.party)

    def withheld_from(self, party: str) -> Withheld | None:
        """Why ``party`` is not shown the other aircraft, or ``None`` when it is."""
        return self.withheld_a if party == self.a.party else self.withheld_b

    def view_for(self, party: str) -> AlertView:
        """The alert as ``party`` sees it (its own aircraft's id, the other's party only).

        While the party's own aircraft does not vouch (``withheld``), every
        figure that would place the other aircraft is left out: the party
        learns that the alert exists, its level and its own aircraft, no more.

        Raises
        ------
        NotFoundError
            If ``party`` has no aircraft in the alert.
        """
        if party == self.a.party:
            own, other, own_pos, other_pos = self.a, self.b, self.position_a, self.position_b
        elif party == self.b.party:
            own, other, own_pos, other_pos = self.b, self.a, self.position_b, self.position_a
        else:
            raise NotFoundError(f"no alert {self.id} for party {party!r}")
        withheld = self.withheld_from(party)
        if withheld is not None:
            return AlertView(
                self.id, self.level, own.id, other.party, self.id, self.since_s,
                None, None, None, None, own_pos, None, withheld,
            )  # fmt: skip
        return AlertView(
            id=self.id,
            level=self.level,
            own_id=own.id,
            other_party=other.party,
            other_ref=self.id,
            since_s=self.since_s,
            time_to_loss_s=self.time_to_loss_s,
            time_to_cpa_s=self.time_to_cpa_s,
            distance_cpa_m=self.distance_cpa_m,
            vertical_cpa_m=self.vertical_cpa_m,
            own=own_pos,
            other=other_pos,
        )


@dataclass(frozen=True)
class AlertView:
    """An alert from one side: ``own_id`` is the caller's aircraft, the other is only a party and a ref.

    ``withheld`` says why the figures that would place the other aircraft are
    ``None`` (the caller's aircraft does not vouch yet); ``None`` when shown.
    """

    id: str
    level: AlertLevel
    own_id: str
    other_party: str
    other_ref: str
    since_s: float
    time_to_loss_s: float | None
    time_to_cpa_s: float | None
    distance_cpa_m: float | None
    vertical_cpa_m: float | None
    own: Position
    other: Position | None
    withheld: Withheld | None = None


class AlertState(StrEnum):
    """What happened to an alert (the ``state`` of an ``alert`` event)."""

    NEW = "new"
    UPDATE = "update"
    CLEARED = "cleared"


@dataclass(frozen=True)
class AlertNotice:
    """An alert event's subject: the alert as its recipient sees it."""

    state: AlertState
    alert: AlertView
