"""Channel statistics for review: per month and per pair of parties, what the hotline and the plans saw.

For one party (the caller) and each month (UTC) and each other party it dealt
with, :func:`channel_stats` counts:

* ``messages`` between the two, both directions, by the month they were sent;
* the median and 95th percentile of the time to acknowledge (sent to accepted
  or disputed) of those that were answered; ``None`` when none was;
* ``overdue``: those that missed their reply-by deadline (unanswered at the
  deadline; a late answer does not undo it);
* conflicts between the two parties' plans by lifecycle state, by the month
  they were detected;
* alerts and incidents between their aircraft, as the tactical history counts
  them (by the month of the alert or incident);

and per month, ``non_conformance``: the non-conformance alerts of its own
aircraft (:mod:`deconflict.channel.live.conformance`; the tactical history
logs each as its aircraft paired with itself, so they come as the party's
count against itself).

Everything is a pure function of what the stores return for that party, so a
party never sees statistics of a pair it is not in: the inputs hold only what
involves it, and anything else is ignored all the same.

Percentiles interpolate linearly between the closest ranks (NumPy's default
``linear`` method): the median of 10, 20, 30, 40 s is 25 s, their 95th
percentile 38.5 s.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from deconflict.channel.conflicts import (
    ConflictLifecycle,
    ConflictState,
    ConflictStateStore,
    current_lifecycles,
)
from deconflict.channel.deadlines import is_overdue
from deconflict.channel.messages import Message, MessageStore
from deconflict.strategic.store import Store

__all__ = [
    "ChannelStats",
    "ConflictCounts",
    "MonthStats",
    "PairStats",
    "TacticalCounts",
    "channel_stats",
    "month_of",
    "party_stats",
]

TacticalCounts = Callable[[str], Mapping[tuple[str, str], tuple[int, int]]]
"""``TacticalHistory.monthly_counts``: a party -> ``{(month, other party): (alerts, incidents)}``."""


def month_of(time_s: float) -> str:
    """The UTC month ``"YYYY-MM"`` of a time in seconds since the epoch.

    Examples
    --------
    >>> month_of(1_767_225_600.0), month_of(1_767_225_599.0)
    ('2026-01', '2025-12')
    """
    return time.strftime("%Y-%m", time.gmtime(time_s))


@dataclass(frozen=True)
class ConflictCounts:
    """Conflicts of a pair detected in a month, by the lifecycle state they are in now."""

    open: int = 0
    acknowledged: int = 0
    resolved: int = 0
    accepted: int = 0


@dataclass(frozen=True)
class PairStats:
    """One month of one pair of parties (one of which is the caller).

    Attributes
    ----------
    parties
        The two parties, sorted.
    messages
        Messages sent between them, both directions.
    ack_median_s, ack_p95_s
        Median and 95th percentile of the seconds from sent to accepted or
        disputed, over the messages answered; ``None`` when none was.
    overdue
        Messages that missed their reply-by deadline.
    conflicts
        Conflicts between their plans detected in the month, by current state.
    alerts, incidents
        Alerts and incidents (losses of separation) between their aircraft.
    """

    parties: tuple[str, str]
    messages: int = 0
    ack_median_s: float | None = None
    ack_p95_s: float | None = None
    overdue: int = 0
    conflicts: ConflictCounts = field(default_factory=ConflictCounts)
    alerts: int = 0
    incidents: int = 0


@dataclass(frozen=True)
class MonthStats:
    """One UTC month (``"YYYY-MM"``), its pairs by the other party's name, its own non-conformance alerts."""

    month: str
    pairs: tuple[PairStats, ...]
    non_conformance: int = 0


@dataclass(frozen=True)
class ChannelStats:
    """The statistics one party may see: only pairs it is in, months in time order."""

    party: str
    months: tuple[MonthStats, ...]


@dataclass
class _Tally:
    messages: int = 0
    ack_s: list[float] = field(default_factory=list)
    overdue: int = 0
    conflicts: dict[ConflictState, int] = field(default_factory=lambda: defaultdict(int))
    alerts: int = 0
    incidents: int = 0


def _percentile(values: list[float], q: float) -> float | None:
    return None if not values else float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _pair_stats(pair: tuple[str, str], tally: _Tally) -> PairStats:
    return PairStats(
        parties=pair,
        messages=tally.messages,
        ack_median_s=_percentile(tally.ack_s, 50.0),
        ack_p95_s=_percentile(tally.ack_s, 95.0),
        overdue=tally.overdue,
        conflicts=ConflictCounts(
            open=tally.conflicts[ConflictState.OPEN],
            acknowledged=tally.conflicts[ConflictState.ACKNOWLEDGED],
            resolved=tally.conflicts[ConflictState.RESOLVED],
            accepted=tally.conflicts[ConflictState.ACCEPTED],
        ),
        alerts=tally.alerts,
        incidents=tally.incidents,
    )


def channel_stats(
    party: str,
    messages: Iterable[Message],
    conflicts: Iterable[ConflictLifecycle],
    detected_s: Mapping[int, float],
    tactical: Mapping[tuple[str, str], tuple[int, int]],
    now_s: float,
) -> ChannelStats:
    """Statistics of ``party``'s channel by month and pair (pure).

    Parameters
    ----------
    party
        The caller: every pair counted includes it.
    messages
        The messages it sent or received (others are ignored).
    conflicts
        Its conflicts with their lifecycle, in any state (others are ignored).
    detected_s
        When each conflict was detected, seconds since the epoch, by conflict
        id; a conflict missing here counts in the month of ``now_s``.
    tactical
        Alerts and incidents involving its aircraft: ``(month, other party) ->
        (alerts, incidents)``, as
        :meth:`~deconflict.channel.live.TacticalHistory.monthly_counts` returns.
    now_s
        The time now: a message whose deadline has not passed is not overdue yet.

    Returns
    -------
    ChannelStats
        Months ascending; in each, the pairs with anything to count, by the other party.

    Examples
    --------
    >>> stats = channel_stats("blue", [], [], {}, {("2026-01", "red"): (3, 1)}, 0.0)
    >>> pair = stats.months[0].pairs[0]
    >>> stats.months[0].month, pair.parties, pair.alerts, pair.incidents, pair.ack_median_s
    ('2026-01', ('blue', 'red'), 3, 1, None)
    >>> channel_stats("blue", [], [], {}, {("2026-02", "blue"): (2, 0)}, 0.0).months
    (MonthStats(month='2026-02', pairs=(), non_conformance=2),)
    """
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)  # (month, other party)
    for message in messages:
        sender, recipient = message.content.sender, message.content.recipient
        if party not in (sender, recipient):
            continue
        tally = tallies[month_of(message.created_s), recipient if sender == party else sender]
        tally.messages += 1
        if message.answered_s is not None:
            tally.ack_s.append(message.answered_s - message.created_s)
        if is_overdue(message, now_s):
            tally.overdue += 1
    for lifecycle in conflicts:
        sides = (lifecycle.side_a.party, lifecycle.side_b.party)
        if party not in sides:
            continue
        other = sides[1] if sides[0] == party else sides[0]
        found_s = detected_s.get(lifecycle.conflict_id, now_s)
        tallies[month_of(found_s), other].conflicts[lifecycle.state] += 1
    strays: dict[str, int] = defaultdict(int)
    for (month, other), (alerts, incidents) in tactical.items():
        if other == party:  # its own aircraft paired with itself: non-conformance alerts
            if alerts:
                strays[month] += alerts
            continue
        if alerts or incidents:
            tally = tallies[month, other]
            tally.alerts += alerts
            tally.incidents += incidents
    by_month: dict[str, list[PairStats]] = defaultdict(list)
    for month, other in sorted(tallies):
        pair = (party, other) if party <= other else (other, party)
        by_month[month].append(_pair_stats(pair, tallies[month, other]))
    months = sorted(set(by_month) | set(strays))
    return ChannelStats(
        party, tuple(MonthStats(m, tuple(by_month.get(m, ())), strays.get(m, 0)) for m in months)
    )


def party_stats(
    party: str,
    messages: MessageStore,
    store: Store,
    conflict_states: ConflictStateStore,
    tactical: TacticalCounts | None,
    now_s: float,
) -> ChannelStats:
    """:func:`channel_stats` of ``party`` over what the stores hold for it.

    Parameters
    ----------
    tactical
        The live picture's ``monthly_counts``, or ``None`` when the service
        keeps no tactical history (then alerts and incidents are 0).
    """
    sent = messages.list_messages(party, "outbox")
    received = messages.list_messages(party, "inbox")
    lifecycles = current_lifecycles(store.list_conflict_records(party), conflict_states.list_for(party))
    counts = {} if tactical is None else tactical(party)
    return channel_stats(
        party, [*sent, *received], lifecycles, store.conflict_detection_times(party), counts, now_s
    )
