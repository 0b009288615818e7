"""Incidents: actual losses of separation between two parties' aircraft, their comments, their store."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from deconflict.channel.live.alerts import Alert
from deconflict.channel.live.tracks import Aircraft, Pair
from deconflict.channel.paging import Page
from deconflict.errors import InputError, NotFoundError, Problem

__all__ = [
    "MAX_COMMENT_CHARS",
    "ClosestApproach",
    "CommentNotice",
    "Incident",
    "IncidentBatch",
    "IncidentChanges",
    "IncidentComment",
    "IncidentNotice",
    "IncidentState",
    "IncidentStore",
    "IncidentView",
    "TacticalHistory",
    "merge_incidents",
    "new_comment",
]

MAX_COMMENT_CHARS = 2000
"""Longest incident comment."""


@dataclass(frozen=True)
class ClosestApproach:
    """The closest moment of an incident: horizontal and vertical separation, where (midpoint), when."""

    time_s: float
    distance_m: float
    vertical_m: float
    lon_deg: float
    lat_deg: float
    alt_m: float


@dataclass(frozen=True)
class IncidentComment:
    """One side's comment on an incident: kept as written, never edited."""

    party: str
    time_s: float
    text: str


@dataclass(frozen=True)
class Incident:
    """An actual loss of separation between aircraft ``a`` and ``b`` of two parties (``a < b``).

    ``started_s`` is the first cycle that found the pair in loss, ``ended_s`` the
    first that found it separated again (``None`` while open); ``closest`` is the
    cycle with the smallest horizontal distance. ``withheld`` names the parties
    whose own aircraft did not vouch at the latest cycle in loss
    (:mod:`deconflict.channel.gating`): they see the incident without its
    closest approach.
    """

    id: int
    a: Aircraft
    b: Aircraft
    started_s: float
    ended_s: float | None
    closest: ClosestApproach
    comments: tuple[IncidentComment, ...] = ()
    withheld: tuple[str, ...] = ()

    @property
    def parties(self) -> tuple[str, str]:
        """The two parties, sorted."""
        return (min(self.a.party, self.b.party), max(self.a.party, self.b.party))

    @property
    def ref(self) -> str:
        """The reference under which a foreign track in this incident is shown."""
        return f"i-{self.id}"

    def involves(self, party: str) -> bool:
        """Whether one of ``party``'s aircraft is in the incident."""
        return party in (self.a.party, self.b.party)

    def view_for(self, party: str) -> IncidentView:
        """The incident as ``party`` sees it.

        Raises
        ------
        NotFoundError
            If ``party`` has no aircraft in the incident (the caller learns nothing of it).
        """
        if party == self.a.party:
            own, other = self.a, self.b
        elif party == self.b.party:
            own, other = self.b, self.a
        else:
            raise NotFoundError(f"no incident {self.id} for party {party!r}")
        closest = None if party in self.withheld else self.closest
        return IncidentView(
            self.id, own.id, other.party, self.started_s, self.ended_s, closest, self.comments
        )


@dataclass(frozen=True)
class IncidentView:
    """An incident from one side (``closest`` is ``None`` while withheld from it)."""

    id: int
    own_id: str
    other_party: str
    started_s: float
    ended_s: float | None
    closest: ClosestApproach | None
    comments: tuple[IncidentComment, ...]


class IncidentState(StrEnum):
    """What happened to an incident (the ``state`` of an ``incident`` event)."""

    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True)
class IncidentNotice:
    """An incident event's subject: the incident as its recipient sees it."""

    state: IncidentState
    incident: IncidentView


@dataclass(frozen=True)
class IncidentBatch:
    """A party's incidents opened or closed in one detection cycle: the subject of an ``incident`` event.

    History, not state: each notice reaches the party as it is (never merged
    nor dropped); one cycle's, however many, wait in a connection's queue as
    one event, so a burst of losses does not overflow it.
    """

    time_s: float
    notices: tuple[IncidentNotice, ...]


@dataclass(frozen=True)
class CommentNotice:
    """An ``incident_comment`` event's subject."""

    incident_id: int
    comment: IncidentComment


def new_comment(party: str, text: str, now_s: float) -> IncidentComment:
    """A comment of ``party`` on an incident, checked.

    Raises
    ------
    InputError
        Empty (or only blanks), or longer than :data:`MAX_COMMENT_CHARS`.
    """
    if not text.strip():
        raise InputError([Problem("request", "must not be empty", None, "text")])
    if len(text) > MAX_COMMENT_CHARS:
        raise InputError(
            [Problem("request", f"{len(text)} characters, at most {MAX_COMMENT_CHARS}", None, "text")]
        )
    return IncidentComment(party, now_s, text)


class TacticalHistory(Protocol):
    """Counts of past alerts and incidents, for statistics."""

    def monthly_counts(self, party: str) -> dict[tuple[str, str], tuple[int, int]]:
        """``(month "YYYY-MM", other_party) -> (alerts, incidents)`` involving ``party``'s aircraft.

        The party's own non-conformance alerts (logged as an aircraft paired with
        itself) come under ``other_party == party``.

        Months are UTC, by the alert's or incident's start.
        """
        ...


class IncidentStore(TacticalHistory, Protocol):
    """Where incidents, their comments and the alert log are kept durably."""

    def next_ids(self) -> tuple[int, int]:
        """The next alert number and incident id (one more than any recorded)."""
        ...

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed yet (e.g. when the service stopped during one)."""
        ...

    def record_opened(self, incidents: Sequence[Incident]) -> None:
        """Record new incidents, each under its id (one statement for all of a cycle's)."""
        ...

    def record_closest(self, incidents: Sequence[Incident]) -> None:
        """Record closer approaches of open incidents (one statement for all of a cycle's)."""
        ...

    def record_closed(self, incident: Incident) -> Incident:
        """Record an incident's end (and final closest approach); returns it with its comments."""
        ...

    def get_incident(self, incident_id: int) -> Incident | None:
        """One incident with its comments, or ``None``."""
        ...

    def list_incidents(self, party: str) -> list[Incident]:
        """Every incident involving ``party``'s aircraft, oldest first, with comments."""
        ...

    def page_incidents(
        self, party: str, limit: int, after: int | None = None, before: int | None = None
    ) -> Page[Incident]:
        """``limit`` incidents involving ``party``'s aircraft, oldest first, with comments.

        Those after the incident ``after``, or before ``before``, or from the
        first (:mod:`deconflict.channel.paging`).
        """
        ...

    def add_comment(self, incident_id: int, comment: IncidentComment) -> None:
        """Append a comment to an incident's thread."""
        ...

    def log_alerts(self, started: Sequence[Alert], ended: Sequence[Alert]) -> None:
        """Record alerts that started (parties, aircraft, start) and ended (end time)."""
        ...

    def close(self) -> None:
        """Release the storage."""
        ...


@dataclass(frozen=True)
class IncidentChanges:
    """What merging one cycle did to the incidents (see :func:`merge_incidents`)."""

    opened: tuple[Incident, ...]
    closer: tuple[Incident, ...]
    closed: tuple[Incident, ...]
    next_id: int


def merge_incidents(
    open_incidents: dict[Pair, Incident], in_loss: Sequence[Incident], next_id: int, now_s: float
) -> IncidentChanges:
    """Merge the pairs ``in_loss`` at ``now_s`` into ``open_incidents`` (changed in place).

    ``in_loss`` holds one incident per pair in loss now, its ``closest`` the
    moment now and ``withheld`` the parties whose aircraft do not vouch now. A
    new pair opens an incident with the id ``next_id`` (counting on); an open
    one keeps the smaller horizontal distance as its closest approach and takes
    the new ``withheld`` (either change makes it *closer*); an open incident
    whose pair is not in loss any more closes with ``ended_s`` now.
    """
    opened: list[Incident] = []
    closer: list[Incident] = []
    for found in in_loss:
        pair = (found.a, found.b)
        moment, hidden = found.closest, found.withheld
        incident = open_incidents.get(pair)
        if incident is None:
            incident = dataclasses.replace(found, id=next_id)
            next_id += 1
            opened.append(incident)
        elif moment.distance_m < incident.closest.distance_m or hidden != incident.withheld:
            nearer = moment.distance_m < incident.closest.distance_m
            closest = moment if nearer else incident.closest
            incident = dataclasses.replace(incident, closest=closest, withheld=hidden)
            closer.append(incident)
        open_incidents[pair] = incident
    pairs = {(i.a, i.b) for i in in_loss}
    closed = [
        dataclasses.replace(i, ended_s=now_s) for pair, i in open_incidents.items() if pair not in pairs
    ]
    for incident in closed:
        del open_incidents[(incident.a, incident.b)]
    return IncidentChanges(tuple(opened), tuple(closer), tuple(closed), next_id)
