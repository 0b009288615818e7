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
reconnects and reads what it missed from the REST routes (the inbox,
``/v1/conflicts``, ``/v1/escalations``): conflicts, messages and the rest are
history, and none is ever dropped silently.

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

A subscription may be bound to the credential that opened it (its token's
hash): :meth:`EventBus.end_sessions` ends every subscription whose credential
no longer holds (:mod:`deconflict.channel.sessions`), and its next
:meth:`Subscription.next_batch` raises :class:`SessionEndedError` saying why.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
    "EventSink",
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


EventSubject = ConflictView | Message | Escalation | AlertBatch | IncidentBatch | CommentNotice | LedgerEntry


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
        of a probe alarm about another party's filings (``probe_alarm``).
    """

    kind: EventKind
    party: str
    subject: EventSubject


class EventSink(Protocol):
    """Where the channel's state changes announce themselves (the bus, or nothing)."""

    def publish(self, events: Iterable[Event]) -> None:
        """Hand the events to their parties' subscribers without blocking."""
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


_ALERTS_WAITING = Event(EventKind.ALERTS, "", AlertBatch(0.0, ()))
"""Marks, in a subscription's queue, where its waiting alert changes go (itself never delivered)."""


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
        # The alert changes not yet taken by the reader: one slot, marked in the queue by _ALERTS_WAITING.
        self._alerts: Event | None = None
        self.dropped = False

    def _stop(self) -> None:
        """Leave the bus and wake the consumer, whose next batch then raises; on the loop only."""
        self.dropped = True
        self._bus._remove(self)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._alerts = None
        self._queue.put_nowait(None)

    def _offer(self, event: Event) -> None:
        """Queue ``event``, or coalesce alert changes with those waiting; on the subscription's loop only."""
        if self.dropped:
            return
        if isinstance(event.subject, AlertBatch):
            waiting = self._alerts
            if waiting is None:
                self._alerts = event
                self._queue.put_nowait(_ALERTS_WAITING)
            else:
                assert isinstance(waiting.subject, AlertBatch)
                self._alerts = Event(event.kind, event.party, waiting.subject.then(event.subject))
            return
        if self._queue.qsize() - (self._alerts is not None) >= self._max_queued:
            self._stop()
            return
        self._queue.put_nowait(event)

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
            if item is _ALERTS_WAITING:
                item, self._alerts = self._alerts, None
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

    Examples
    --------
    >>> bus = EventBus(max_queued=8, max_connections_per_party=2)
    >>> bus.connections("blue")
    0
    """

    def __init__(self, max_queued: int = 1000, max_connections_per_party: int = 8) -> None:
        if max_queued < 1 or max_connections_per_party < 1:
            raise ValueError("max_queued and max_connections_per_party must be at least 1")
        self.max_queued = max_queued
        self.max_connections_per_party = max_connections_per_party
        self._lock = threading.Lock()
        self._subscriptions: dict[str, list[Subscription]] = {}

    def subscribe(self, party: str, credential: str | None = None) -> Subscription:
        """A new subscription to ``party``'s events, on the running event loop.

        ``credential`` (the hash of the token that opened it) binds it to that
        token: see :meth:`end_sessions`.

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
            subscription = Subscription(self, party, self.max_queued, loop, credential)
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
