"""Alerts: predicted (or current) losses of separation between two parties' aircraft, and each side's view."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from deconflict.channel.gating import Shown, Withheld
from deconflict.channel.live.tracks import Aircraft, Pair
from deconflict.errors import NotFoundError

__all__ = [
    "Alert",
    "AlertBatch",
    "AlertChanges",
    "AlertKind",
    "AlertLevel",
    "AlertNotice",
    "AlertState",
    "AlertView",
    "Position",
    "alert_level",
    "alert_number",
    "by_urgency",
    "coalesce_notices",
    "merge_alerts",
]


class AlertLevel(StrEnum):
    """How urgent an alert is."""

    ADVISORY = "advisory"
    WARNING = "warning"
    LOSS = "loss"


class AlertKind(StrEnum):
    """What an alert is about."""

    SEPARATION = "separation"
    """A predicted (or current) loss of separation between two parties' aircraft (:class:`Alert`)."""
    NON_CONFORMANCE = "non_conformance"
    """An aircraft outside all of its party's active plans (:mod:`deconflict.channel.live.conformance`)."""


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

    A ``non_conformance`` alert (``kind``) has one aircraft: its owner sees it
    as ``own_id`` and ``own`` (``other_party``, ``other_ref`` and ``other``
    ``None``); a party whose space it entered sees it as ``other_party``,
    ``other_ref`` and ``other`` (``own_id`` and ``own`` ``None``). The figures
    of closest approach are ``None`` in both.
    """

    id: str
    level: AlertLevel
    own_id: str | None
    other_party: str | None
    other_ref: str | None
    since_s: float
    time_to_loss_s: float | None
    time_to_cpa_s: float | None
    distance_cpa_m: float | None
    vertical_cpa_m: float | None
    own: Position | None
    other: Position | None
    withheld: Withheld | None = None
    kind: AlertKind = AlertKind.SEPARATION


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


def alert_number(alert: Alert | AlertView) -> int:
    """The number ``n`` of an alert ``a-<n>`` (0 for another form): alerts are numbered as they appear."""
    number = alert.id.removeprefix("a-")
    return int(number) if number.isdigit() else 0


def _urgency(notice: AlertNotice) -> tuple[bool, bool, float, int, str]:
    view = notice.alert
    return (
        notice.state is AlertState.CLEARED,
        view.level is not AlertLevel.LOSS,
        math.inf if view.time_to_cpa_s is None else view.time_to_cpa_s,
        alert_number(view),
        view.id,
    )


def by_urgency(notices: Iterable[AlertNotice]) -> tuple[AlertNotice, ...]:
    """``notices``, the most urgent first.

    Alerts in loss of separation first, then by time to closest approach
    (soonest first; an alert whose figures are withheld after those that have
    them), then by id; cleared alerts after every alert still open.
    """
    return tuple(sorted(notices, key=_urgency))


def coalesce_notices(
    pending: dict[str, AlertNotice], incoming: Iterable[AlertNotice]
) -> dict[str, AlertNotice]:
    """Fold ``incoming`` into ``pending`` (changed in place, by alert id): what a reader still has to hear.

    Alerts are state, not history: a reader that has not yet been told of
    ``pending`` needs only the latest view of each alert. An alert still
    ``new`` to the reader stays ``new`` with its latest figures, and one that
    is new and cleared before the reader heard of it is left out altogether;
    otherwise the latest notice replaces the earlier one.
    """
    for notice in incoming:
        key = notice.alert.id
        before = pending.get(key)
        if before is not None and before.state is AlertState.NEW:
            if notice.state is AlertState.CLEARED:
                del pending[key]
                continue
            notice = AlertNotice(AlertState.NEW, notice.alert)
        pending[key] = notice
    return pending


@dataclass(frozen=True)
class AlertBatch:
    """Every change to one party's alerts of one or more detection cycles: the subject of an ``alerts`` event.

    Attributes
    ----------
    time_s
        The latest cycle whose changes it carries.
    changes
        Each alert at most once, the most urgent first (:func:`by_urgency`).
    """

    time_s: float
    changes: tuple[AlertNotice, ...]

    @classmethod
    def of(cls, time_s: float, notices: Iterable[AlertNotice]) -> AlertBatch:
        """A batch of ``notices`` (at most one per alert), ordered by urgency."""
        return cls(time_s, by_urgency(notices))

    def numbers_finite(self) -> bool:
        """Whether every number of the batch is a finite float or int (``False`` for any other value).

        JSON writers that take no infinity or NaN (msgspec writes ``null``) are
        used on the batches where this holds, the standard library's elsewhere.

        >>> view = AlertView("a-1", AlertLevel.WARNING, "A1", "red", "a-1", 0.0,
        ...                  30.0, None, 100.0, 0.0, (0.0, 0.0, 0.0), None)
        >>> AlertBatch(1.0, (AlertNotice(AlertState.NEW, view),)).numbers_finite()
        True
        >>> bad = dataclasses.replace(view, time_to_cpa_s=math.inf)
        >>> AlertBatch(1.0, (AlertNotice(AlertState.NEW, bad),)).numbers_finite()
        False
        """
        try:  # one exact sum: an infinity or NaN anywhere makes it one (None counts as 0)
            views = [notice.alert for notice in self.changes]
            figures = (
                value or 0.0
                for view in views
                for value in (view.since_s, view.time_to_loss_s, view.time_to_cpa_s, view.distance_cpa_m,
                              view.vertical_cpa_m, *(view.own or ()), *(view.other or ()))
            )  # fmt: skip
            return math.isfinite(math.fsum(figures) + float(self.time_s))
        except (TypeError, ValueError, OverflowError):  # not numbers; inf - inf; beyond a float
            return False

    def then(self, later: AlertBatch) -> AlertBatch:
        """This batch then ``later``, coalesced (:func:`coalesce_notices`) for a reader that heard neither.

        >>> view = AlertView("a-1", AlertLevel.WARNING, "A1", "red", "a-1", 0.0,
        ...                  30.0, 60.0, 100.0, 0.0, (0.0, 0.0, 0.0), None)
        >>> first = AlertBatch.of(1.0, [AlertNotice(AlertState.NEW, view)])
        >>> first.then(AlertBatch.of(2.0, [AlertNotice(AlertState.CLEARED, view)])).changes
        ()
        """
        pending = {n.alert.id: n for n in self.changes}
        return AlertBatch.of(
            max(self.time_s, later.time_s), coalesce_notices(pending, later.changes).values()
        )


def alert_level(in_loss: bool, time_to_loss_s: float, warning_s: float) -> AlertLevel:
    """``loss`` in loss now, ``warning`` with a loss predicted within ``warning_s``, else ``advisory``."""
    if in_loss:
        return AlertLevel.LOSS
    if time_to_loss_s <= warning_s:
        return AlertLevel.WARNING
    return AlertLevel.ADVISORY


@dataclass(frozen=True)
class AlertChanges:
    """What merging one cycle did to the alerts (see :func:`merge_alerts`)."""

    new: tuple[Alert, ...]
    changed: tuple[Alert, ...]
    cleared: tuple[Alert, ...]
    open: tuple[Alert, ...]
    shown: tuple[Shown, ...]
    next_number: int


def merge_alerts(
    open_alerts: dict[Pair, Alert], seen: Sequence[Alert], next_number: int, now_s: float, gap_s: float
) -> AlertChanges:
    """Merge the alerts ``seen`` at ``now_s`` into ``open_alerts`` (changed in place).

    A pair seen again keeps its alert's id and ``since_s`` and takes the new
    figures; a new pair gets the id ``a-<next_number>`` (counting on). An
    alert is *changed* when its level changes or a side starts or stops being
    withheld or is withheld for another reason; one not seen for more than
    ``gap_s`` is cleared. ``shown`` lists the sides newly shown the other
    aircraft (for the disclosure ledger).
    """
    new: list[Alert] = []
    changed: list[Alert] = []
    shown: list[Shown] = []
    for found in seen:
        pair = (found.a, found.b)
        previous = open_alerts.get(pair)
        if previous is None:
            alert = dataclasses.replace(found, id=f"a-{next_number}", since_s=now_s)
            next_number += 1
            new.append(alert)
            if alert.withheld_a is None or alert.withheld_b is None:
                shown += _newly_shown(previous, alert, now_s)
        else:
            alert = dataclasses.replace(found, id=previous.id, since_s=previous.since_s)
            if (previous.withheld_a, previous.withheld_b) != (alert.withheld_a, alert.withheld_b):
                changed.append(alert)
                shown += _newly_shown(previous, alert, now_s)
            elif previous.level is not alert.level:
                changed.append(alert)
        open_alerts[pair] = alert
    seen_pairs = {(a.a, a.b) for a in seen}
    cleared = [a for pair, a in open_alerts.items() if pair not in seen_pairs and now_s - a.last_s > gap_s]
    for alert in cleared:
        del open_alerts[(alert.a, alert.b)]
    return AlertChanges(
        tuple(new), tuple(changed), tuple(cleared), tuple(open_alerts.values()), tuple(shown), next_number
    )


def _newly_shown(previous: Alert | None, alert: Alert, now_s: float) -> list[Shown]:
    """The sides of ``alert`` shown the other aircraft now that were not before."""
    out = []
    for viewer, subject, before, now in (
        (alert.a, alert.b, previous.withheld_a if previous else Withheld.PROBATION, alert.withheld_a),
        (alert.b, alert.a, previous.withheld_b if previous else Withheld.PROBATION, alert.withheld_b),
    ):
        if now is None and before is not None:
            out.append(Shown(viewer.party, viewer.id, subject.party, subject.id, alert.id, now_s))
    return out
