"""Events pushed to parties as they happen: an in-process bus of bounded per-connection queues.

Each connection of a party subscribes to the bus and receives only the events
addressed to that party: a new conflict (as :func:`~deconflict.channel.disclosure.conflict_view`
shows it to that party), a message it received, an acknowledgement of a
message it sent, a deadline passed and each escalation step (both sides),
and the alerts, incidents and incident comments involving one of its aircraft
(each side its own view, :mod:`deconflict.channel.live`), and a probe alarm:
another party's filings that look like a probe of its plans (its ledger entry,
:mod:`deconflict.channel.ledger`).

:func:`~deconflict.channel.service` functions publish after the state change
is committed, from whatever thread runs them; a subscription lives on one
asyncio event loop and the bus hands events over with
``loop.call_soon_threadsafe``. Publishing never blocks: a subscriber whose
queue is full is dropped (its next :meth:`Subscription.next_batch` raises
:class:`SlowConsumerError`) and the others go on. A dropped client
reconnects with its last event id and is given what it missed from the outbox
(below), or reads it from the REST routes (the inbox, ``/v1/conflicts``,
``/v1/escalations``): conflicts, messages and the rest are history, and none is
ever dropped silently.

Alerts are state, not history: a detection cycle publishes one ``alerts``
event per party carrying all of that party's alert changes
(:class:`~deconflict.channel.live.AlertBatch`), and a subscription holds at
most one of them waiting. A newer batch published before the reader took the
waiting one is coalesced into it (each alert once, at its latest state:
:meth:`~deconflict.channel.live.AlertBatch.then`), so however many alerts a
cycle changes, and however slow the reader, alerts never fill the queue nor
drop the connection. The incidents a cycle opens or closes for a party are
one ``incident`` event too (:class:`~deconflict.channel.live.IncidentBatch`):
history, never merged, but one entry in the queue however many there are.

Events are numbered: with an outbox (:mod:`deconflict.channel.outbox`, the
storage's), :meth:`EventBus.record` stores them in the transaction of the fact
they report and they reach the subscriptions once it commits, each with its
``id``, in the order of the commits. A subscription opened to resume
(``resume_after``) holds live events back until the client has been given the
stored ones after its last id (:meth:`Subscription.go_live`), then drops the
live ones it has already been given: every later event once, no gap, no
duplicate. Numbered alert changes waiting take the id of the latest cycle they
carry and move behind the events queued before it, so ids on one connection
only grow (the outbox's numbers, these; parties are shown them permuted:
:mod:`deconflict.channel.public_ids`).

A subscription may be bound to the credential that opened it (its token's
hash): :meth:`EventBus.end_sessions` ends every subscription whose credential
no longer holds (:mod:`deconflict.channel.sessions`), and its next
:meth:`Subscription.next_batch` raises :class:`SessionEndedError` saying why.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.ledger import LedgerEntry
from deconflict.channel.live import AlertBatch, CommentNotice, IncidentBatch
from deconflict.channel.messages import Message
from deconflict.channel.sessions import SessionEnding
from deconflict.errors import DeconflictError

__all__ = [
    "Event",
    "EventBus",
    "EventKind",
    "EventOutbox",
    "EventSink",
    "OperationNotice",
    "SessionEndedError",
    "SlowConsumerError",
    "Subscription",
    "TooManyConnectionsError",
]


class EventKind(StrEnum):
    """What happened; the ``type`` of the event a client receives."""

    CONFLICT = "conflict"
    MESSAGE = "message"
    ACKNOWLEDGEMENT = "acknowledgement"
    DEADLINE_PASSED = "deadline_passed"
    ESCALATION = "escalation"
    ALERTS = "alerts"
    INCIDENT = "incident"
    INCIDENT_COMMENT = "incident_comment"
    PROBE_ALARM = "probe_alarm"
    OPERATION = "operation"


@dataclass(frozen=True)
class OperationNotice:
    """One of the party's own operations as it is after its owner activated, released or extended it.

    Attributes
    ----------
    id, version, state
        The operation's id, its new version (its ETag) and state (``activated``, ``ended``, ...).
    """

    id: str
    version: int
    state: str


EventSubject = (
    ConflictView
    | Message
    | Escalation
    | AlertBatch
    | IncidentBatch
    | CommentNotice
    | LedgerEntry
    | OperationNotice
)


@dataclass(frozen=True)
class Event:
    """One event for one party.

    Attributes
    ----------
    kind
        What happened.
    party
        The party it is for; nobody else receives it.
    subject
        What it is about: the party's own view of a conflict (``conflict``), the
        message (``message``, ``acknowledgement``, ``deadline_passed``), the
        escalation step (``escalation``), or the party's own view of the changes
        to its alerts of a cycle (``alerts``), of the incidents a cycle opened or
        closed (``incident``) or of an incident comment (``incident_comment``)
        involving one of its aircraft, or the ledger entry
        of a probe alarm about another party's filings (``probe_alarm``), or
        the party's own operation after it was activated, released or extended
        (``operation``).
    id
        Its number in the outbox (:mod:`deconflict.channel.outbox`), once stored;
        ``None`` for an event of a bus without one.
    """

    kind: EventKind
    party: str
    subject: EventSubject
    id: int | None = None


class EventSink(Protocol):
    """Where the channel's state changes announce themselves (the bus, or nothing)."""

    def publish(self, events: Iterable[Event]) -> None:
        """Hand the events to their parties' subscribers without blocking."""
        ...

    def record(self, events: Sequence[Event]) -> bool:
        """Inside the transaction of the facts the events report: store them with it, to be
        delivered once it commits; ``False`` when there is nowhere to store them (the caller
        publishes them after the commit)."""
        ...


class EventOutbox(Protocol):
    """Where events are stored with the facts they report (storage implements it)."""

    def record(self, events: Sequence[Event], then: Callable[[list[Event]], None]) -> None:
        """Store ``events`` in the caller's transaction (a transaction of their own outside one).

        Once it commits, ``then`` is called with them numbered (their ``id``), in
        the order given; never when it is rolled back. Commits call it in the
        order they commit where the storage can (SQLite: under its lock).
        """
        ...

    def since(self, party: str, after_id: int, limit: int) -> list[Event]:
        """``party``'s events numbered above ``after_id``, oldest first, ``limit`` at most."""
        ...

    def after(self, after_id: int, limit: int) -> list[Event]:
        """Every party's events numbered above ``after_id``, oldest first, ``limit`` at most."""
        ...

    def latest_id(self) -> int:
        """The number of the latest event stored (0 before any)."""
        ...

    def pruned_id(self) -> int:
        """The number of the latest event pruned (0 before any): resuming from below it has a gap."""
        ...

    def prune(self, before_s: float, published_only: bool) -> int:
        """Delete the events stored before ``before_s`` (Unix time; with ``published_only``, only
        those the relay published); return how many."""
        ...


class TooManyConnectionsError(DeconflictError):
    """A party already has as many event connections as the settings allow."""


class SlowConsumerError(DeconflictError):
    """A subscriber's queue overflowed: it was dropped and must reconnect."""


class SessionEndedError(DeconflictError):
    """The credential that opened a subscription no longer holds: the subscription is over.

    Attributes
    ----------
    ending
        Why (close code and reason).
    """

    def __init__(self, ending: SessionEnding) -> None:
        super().__init__(ending.reason)
        self.ending = ending


_SEEN_KEPT = 4096
"""Numbered events a subscription remembers having queued, to drop a second delivery of one."""


class Subscription:
    """One connection's bounded queue of events, consumed on the loop it was created on.

    Create it with :meth:`EventBus.subscribe`; :meth:`close` (or ``with``) ends it.
    """

    def __init__(
        self,
        bus: EventBus,
        party: str,
        max_queued: int,
        loop: asyncio.AbstractEventLoop,
        credential: str | None = None,
        resume_after: int | None = None,
    ) -> None:
        self.party = party
        self.credential = credential
        """The hash of the token that opened it, or ``None`` (then never ended for its credential)."""
        self.ending: SessionEnding | None = None
        self._bus = bus
        self._loop = loop
        # Unbounded underneath: the bound is ours, so overflow drops the subscriber instead of blocking.
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._max_queued = max_queued
        # The alert changes not yet taken by the reader: one slot, marked in the queue by _alerts_marker.
        self._alerts: Event | None = None
        self._alerts_marker: Event | None = None
        self._stale_markers = 0
        # Resuming: live events held back until the stored ones are given (go_live); then those at
        # or below the last id given are dropped.
        self._held: list[Event] | None = None if resume_after is None else []
        self._given_id = resume_after
        # The latest numbered events queued: one delivered twice (a relay's retry) is dropped.
        self._seen: set[int] = set()
        self._seen_order: collections.deque[int] = collections.deque()
        self.dropped = False

    def _stop(self) -> None:
        """Leave the bus and wake the consumer, whose next batch then raises; on the loop only."""
        self.dropped = True
        self._bus._remove(self)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._alerts = None
        self._alerts_marker = None
        self._held = None
        self._queue.put_nowait(None)

    def _offer(self, event: Event) -> None:
        """Queue ``event``, or coalesce alert changes with those waiting; on the subscription's loop only."""
        if self.dropped:
            return
        if self._held is not None:
            if len(self._held) >= self._max_queued and not isinstance(event.subject, AlertBatch):
                self._stop()
                return
            self._held.append(event)
            return
        if event.id is not None:
            if (self._given_id is not None and event.id <= self._given_id) or event.id in self._seen:
                return  # given already (resumed from the outbox), or delivered twice
            self._seen.add(event.id)
            self._seen_order.append(event.id)
            if len(self._seen_order) > _SEEN_KEPT:
                self._seen.discard(self._seen_order.popleft())
        if isinstance(event.subject, AlertBatch):
            waiting = self._alerts
            if waiting is not None:
                assert isinstance(waiting.subject, AlertBatch)
                event = replace(event, subject=waiting.subject.then(event.subject))
                if event.id is None:  # unnumbered: in the place of the first cycle
                    self._alerts = event
                    return
                # Numbered: the latest cycle's id, and its place, behind what was queued before it.
                self._stale_markers += 1
            self._alerts = event
            self._alerts_marker = Event(EventKind.ALERTS, "", AlertBatch(0.0, ()))
            self._queue.put_nowait(self._alerts_marker)
            return
        waiting_alerts = (self._alerts is not None) + self._stale_markers
        if self._queue.qsize() - waiting_alerts >= self._max_queued:
            self._stop()
            return
        self._queue.put_nowait(event)

    def _go_live(self, given_id: int | None) -> None:
        held, self._held = self._held, None
        if given_id is not None:
            self._given_id = given_id if self._given_id is None else max(given_id, self._given_id)
        for event in held or ():
            self._offer(event)

    def go_live(self, given_id: int | None) -> None:
        """From any thread: the client has every event up to ``given_id``; deliver later ones held back."""
        self._on_loop(self._go_live, given_id)

    def _end(self, ending: SessionEnding) -> None:
        if not self.dropped:
            self.ending = ending
            self._stop()

    def _on_loop(self, callback: Callable[..., None], *args: object) -> None:
        """Run ``callback(*args)`` on the subscription's loop, from any thread, never blocking."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            callback(*args)
        else:
            try:
                self._loop.call_soon_threadsafe(callback, *args)
            except RuntimeError:  # the loop is closed: the connection is gone
                self._bus._remove(self)

    def deliver(self, event: Event) -> None:
        """Queue ``event`` from any thread, never blocking."""
        self._on_loop(self._offer, event)

    def end(self, ending: SessionEnding) -> None:
        """End the subscription from any thread: its next batch raises :class:`SessionEndedError`."""
        self._on_loop(self._end, ending)

    async def next_batch(self, max_events: int = 256) -> list[Event]:
        """Wait for at least one event and return it with whatever else is queued (up to ``max_events``).

        Alert changes come as one ``alerts`` event, in the place of the first
        of the cycles it coalesces; one that coalesced to nothing (alerts new
        and cleared before the reader heard of them) is left out.

        Raises
        ------
        SlowConsumerError
            If the queue overflowed: the subscription is over.
        SessionEndedError
            If its credential no longer holds (:meth:`end`): the subscription is over.
        """
        first = await self._queue.get()
        batch: list[Event] = []
        item: Event | None = first
        while True:
            if item is None:
                if self.ending is not None:
                    raise SessionEndedError(self.ending)
                raise SlowConsumerError(
                    f"more than {self._max_queued} events were waiting for {self.party!r}: "
                    "connection dropped; reconnect and read the inbox"
                )
            if item.party == "" and isinstance(item.subject, AlertBatch):  # a marker of waiting alerts
                if item is self._alerts_marker:
                    item, self._alerts, self._alerts_marker = self._alerts, None, None
                else:  # moved behind later events when more changes came
                    self._stale_markers -= 1
                    item = None
            if item is not None and not (isinstance(item.subject, AlertBatch) and not item.subject.changes):
                batch.append(item)
            if len(batch) >= max_events or self._queue.empty():
                if batch:
                    return batch
                item = await self._queue.get()
                continue
            item = self._queue.get_nowait()

    def close(self) -> None:
        """Stop receiving events."""
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Routes each event to the subscriptions of its party, and to no one else.

    Parameters
    ----------
    max_queued
        Events one connection may have waiting; one more drops the connection.
        Alert changes count as one, however many: they are coalesced.
    max_connections_per_party
        Connections one party may hold at once.
    outbox
        Where :meth:`record` stores events with their facts; ``None``: events are
        published after the commit, unnumbered.

    Attributes
    ----------
    deliver
        What takes the events an outbox committed (numbered, in commit order):
        :meth:`publish` to this node's subscriptions by default; a relay that
        publishes them to every node instead, when events cross nodes.

    Examples
    --------
    >>> bus = EventBus(max_queued=8, max_connections_per_party=2)
    >>> bus.connections("blue")
    0
    """

    def __init__(
        self, max_queued: int = 1000, max_connections_per_party: int = 8, outbox: EventOutbox | None = None
    ) -> None:
        if max_queued < 1 or max_connections_per_party < 1:
            raise ValueError("max_queued and max_connections_per_party must be at least 1")
        self.max_queued = max_queued
        self.max_connections_per_party = max_connections_per_party
        self.outbox = outbox
        self.deliver: Callable[[list[Event]], None] = self.publish
        self._lock = threading.Lock()
        self._subscriptions: dict[str, list[Subscription]] = {}

    def subscribe(
        self, party: str, credential: str | None = None, resume_after: int | None = None
    ) -> Subscription:
        """A new subscription to ``party``'s events, on the running event loop.

        ``credential`` (the hash of the token that opened it) binds it to that
        token: see :meth:`end_sessions`. With ``resume_after`` (the last event
        id the client has) live events are held back until
        :meth:`Subscription.go_live`.

        Raises
        ------
        TooManyConnectionsError
            If the party already holds ``max_connections_per_party`` subscriptions.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            current = self._subscriptions.setdefault(party, [])
            if len(current) >= self.max_connections_per_party:
                raise TooManyConnectionsError(
                    f"party {party!r} already has {len(current)} event connections "
                    f"(at most {self.max_connections_per_party})"
                )
            subscription = Subscription(self, party, self.max_queued, loop, credential, resume_after)
            current.append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            current = self._subscriptions.get(subscription.party, [])
            if subscription in current:
                current.remove(subscription)
            if not current:
                self._subscriptions.pop(subscription.party, None)

    def connections(self, party: str) -> int:
        """How many subscriptions ``party`` holds now."""
        with self._lock:
            return len(self._subscriptions.get(party, ()))

    def end_sessions(self, ending_of: Callable[[str], SessionEnding | None]) -> int:
        """End every subscription whose credential ``ending_of`` says no longer holds; return how many.

        ``ending_of`` is asked once per distinct credential (it may read the
        store: call this from a worker thread, not the event loop).
        """
        bound: list[tuple[str, Subscription]] = []
        with self._lock:
            for group in self._subscriptions.values():
                bound += [(s.credential, s) for s in group if s.credential is not None]
        endings = {credential: ending_of(credential) for credential in {c for c, _ in bound}}
        ended = 0
        for credential, subscription in bound:
            ending = endings[credential]
            if ending is not None:
                subscription.end(ending)
                ended += 1
        return ended

    def publish(self, events: Iterable[Event]) -> None:
        """Queue each event for every subscription of its party; never blocks, never raises for a slow one."""
        for event in events:
            with self._lock:
                targets: Sequence[Subscription] = tuple(self._subscriptions.get(event.party, ()))
            for subscription in targets:
                subscription.deliver(event)

    def record(self, events: Sequence[Event]) -> bool:
        """Store ``events`` in the outbox, in the caller's transaction; :attr:`deliver` gets them once it
        commits. ``False`` without an outbox: the caller publishes them after its commit."""
        if self.outbox is None:
            return False
        if events:
            self.outbox.record(events, self.deliver)
        return True
