"""Events across nodes: the outbox's relay to NATS JetStream, and each node's delivery from it.

With PostgreSQL and a NATS JetStream cluster (``serve --db postgresql://... --nats
nats://a,nats://b,nats://c``), every node runs an :class:`EventRelay`:

- **Relay** (one node at a time): the node holding the session advisory lock
  :data:`RELAY_LOCK` on its own connection reads the outbox after the cursor
  ``event_relay.published_id``, in id order, publishes each event to the stream
  :data:`STREAM` (subject :data:`SUBJECT`) with its id as ``Nats-Msg-Id`` (after
  the outbox's epoch, made with the database, so that two databases' events
  sharing a stream are never taken for one another), waits
  for the stream's acknowledgement (stored on a quorum of its replicas, each
  fsynced), and moves the cursor on. Events are published one after another,
  so the stream holds them in id order: per party, and overall. A node that dies
  drops its connection and its lock with it; another node's relay takes it
  within :data:`RELAY_RETRY_S`. Events it published but had not yet marked are
  published again: the stream drops them (same ``Nats-Msg-Id`` within its
  duplicate window) and the nodes would too (below). While the stream cannot
  store (two of three servers down: no quorum), the relay retries every
  :data:`RELAY_RETRY_S`; the events wait in the outbox, committed with their
  facts, and go out in order once it can.
- **Delivery** (every node): an ordered consumer of the stream hands each event
  to the node's bus (:class:`~deconflict.channel.events.EventBus`), which gives it
  to the WebSockets of its party held by this node. An event at or below the
  last id delivered is dropped: delivery is idempotent by event id.

The relay is woken by ``NOTIFY`` (:data:`~deconflict.storage.postgres.events.CHANNEL`)
from whichever node commits events, and looks anyway every :data:`RELAY_POLL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import nats
import psycopg
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from psycopg.rows import dict_row

from deconflict.channel.events import Event, EventBus
from deconflict.channel.outbox import decode_event
from deconflict.storage.postgres.events import CHANNEL

__all__ = [
    "RELAY_LOCK",
    "RELAY_POLL_S",
    "RELAY_RETRY_S",
    "STREAM",
    "SUBJECT",
    "EventRelay",
    "RelayStats",
    "nats_urls",
]

_log = logging.getLogger(__name__)

STREAM = "deconflict-events"
"""The JetStream stream of every party event."""

SUBJECT = "deconflict.events"
"""Its one subject."""

RELAY_LOCK = 0x6465_636F_6E72_6C79  # "deconrly"
"""The session advisory lock held by the node whose relay publishes."""

RELAY_POLL_S = 1.0
"""How often the relay looks at the outbox when no ``NOTIFY`` came."""

RELAY_RETRY_S = 0.5
"""How long the relay (and a node's delivery) waits before trying again after a failure."""

RELAY_BATCH = 500
"""Events the relay reads from the outbox at a time."""

STREAM_MAX_AGE_S = 7 * 24 * 3600.0
"""How long the stream keeps an event by default (``events_keep_s``; resuming reads the outbox)."""

PUBLISH_TIMEOUT_S = 2.0
"""How long the relay waits for the stream to acknowledge one event."""


def nats_urls(text: str) -> list[str]:
    """The server URLs of a comma-separated list.

    >>> nats_urls("nats://10.0.0.1:4222, nats://10.0.0.2:4222")
    ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']
    """
    return [u.strip() for u in text.split(",") if u.strip()]


@dataclass
class RelayStats:
    """What this node's relay and delivery have done (for tests and the log)."""

    published: int = 0
    delivered: int = 0
    duplicates: int = 0
    relaying: bool = False


class EventRelay:
    """This node's part in carrying events across nodes: the relay (when it holds the lock) and delivery.

    Parameters
    ----------
    database_url
        The PostgreSQL database all nodes share (its outbox).
    urls
        The NATS servers (every server of the cluster: a client reconnects to a live one).
    bus
        This node's bus: its :attr:`~deconflict.channel.events.EventBus.deliver` is
        set to nothing (events reach the bus through the stream, on every node alike).
    replicas
        The stream's replicas (3 on a 3-server cluster: a write survives one server's loss).
    keep_s
        How long the stream keeps an event (when it creates the stream).

    Use :meth:`start` on the node's event loop and :meth:`stop` at its end.
    """

    def __init__(
        self,
        database_url: str,
        urls: Sequence[str],
        bus: EventBus,
        replicas: int = 3,
        keep_s: float = STREAM_MAX_AGE_S,
    ) -> None:
        self.database_url = database_url
        self.urls = list(urls)
        self.bus = bus
        self.replicas = replicas
        self.keep_s = keep_s
        self.stats = RelayStats()
        self._last_delivered = 0
        self._epoch = ""
        self._stream_last_seq: int | None = None  # what this relay's last round left the stream at, if known
        self._client: Client | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = asyncio.Event()
        bus.deliver = _nothing

    async def start(self) -> None:
        """Connect to NATS (retrying in the background while it cannot be reached) and start both parts.

        Delivery starts from the events published from now on: what a client missed
        before it connected it reads from the outbox (resuming).
        """
        self._epoch, self._last_delivered = await asyncio.to_thread(self._epoch_and_latest_id)
        self._tasks = [
            asyncio.create_task(self._deliver_forever(), name="deconflict-events-delivery"),
            asyncio.create_task(self._relay_forever(), name="deconflict-events-relay"),
        ]

    def problem(self) -> str | None:
        """Why this node cannot reach the bus now (not connected to any of its servers), or ``None``."""
        client = self._client
        if client is not None and client.is_connected:
            return None
        return f"event bus {', '.join(self.urls)}: not connected"

    async def wait_started(self, timeout_s: float) -> bool:
        """Whether delivery has subscribed to the stream within ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._started.wait(), timeout_s)
        return self._started.is_set()

    async def stop(self) -> None:
        """Stop both parts and close the connection to NATS."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
            self._client = None

    def _epoch_and_latest_id(self) -> tuple[str, int]:
        """The outbox's epoch (made with it: which database the ids count in) and its latest id."""
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(
                "INSERT INTO event_relay (one, epoch, published_id, pruned_id) "
                "VALUES (1, replace(gen_random_uuid()::text, '-', ''), 0, 0) ON CONFLICT (one) DO NOTHING"
            )
            epoch = connection.execute("SELECT epoch FROM event_relay").fetchone()
            latest = connection.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        assert epoch is not None and latest is not None
        return str(epoch[0]), int(latest[0])

    async def _jetstream(self) -> JetStreamContext:
        """The connection's JetStream context, connecting first (each failure retried)."""
        while self._client is None:
            try:
                self._client = await nats.connect(
                    servers=self.urls,
                    name="deconflict",
                    connect_timeout=2,
                    reconnect_time_wait=RELAY_RETRY_S,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                )
            except Exception as exc:  # unreachable at start: try again, the node serves meanwhile
                _log.warning("events: cannot reach NATS %s (%s); retrying", ",".join(self.urls), exc)
                await asyncio.sleep(RELAY_RETRY_S)
        return self._client.jetstream(timeout=PUBLISH_TIMEOUT_S)

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        config = StreamConfig(
            name=STREAM,
            subjects=[SUBJECT],
            num_replicas=self.replicas,
            storage=StorageType.FILE,
            max_age=self.keep_s,
            duplicate_window=120.0,
        )
        try:
            await js.stream_info(STREAM)
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)

    # --- delivery, on every node -------------------------------------------------------------------

    def _deliver(self, event: Event) -> None:
        assert event.id is not None
        if event.id <= self._last_delivered:
            self.stats.duplicates += 1
            return
        self._last_delivered = event.id
        self.stats.delivered += 1
        self.bus.publish([event])

    async def _deliver_forever(self) -> None:
        next_seq: int | None = None
        while True:
            try:
                js = await self._jetstream()
                await self._ensure_stream(js)
                if next_seq is None:
                    config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
                else:
                    config = ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=next_seq
                    )
                subscription = await js.subscribe(SUBJECT, ordered_consumer=True, config=config)
                self._started.set()
                async for message in subscription.messages:
                    next_seq = message.metadata.sequence.stream + 1
                    document = json.loads(message.data)
                    if document.get("epoch") != self._epoch:  # another database's events
                        continue
                    if self.bus.connections(document["party"]) == 0:  # nobody here to tell
                        self._last_delivered = max(self._last_delivered, int(document["id"]))
                        continue
                    self._deliver(
                        decode_event(document["id"], document["kind"], document["party"], document["body"])
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("events: delivery from the stream interrupted (%s); resubscribing", exc)
                await asyncio.sleep(RELAY_RETRY_S)

    # --- the relay, on the node that holds the lock -----------------------------------------------------

    async def _relay_forever(self) -> None:
        while True:
            try:
                js = await self._jetstream()
                await self._ensure_stream(js)
                connection = await psycopg.AsyncConnection.connect(
                    self.database_url, autocommit=True, connect_timeout=5, row_factory=dict_row
                )
                async with connection:
                    await self._relay_while_holding(connection, js)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("events: relay interrupted (%s); retrying", exc)
            self.stats.relaying = False
            await asyncio.sleep(RELAY_RETRY_S)

    async def _relay_while_holding(
        self, connection: psycopg.AsyncConnection[dict[str, object]], js: JetStreamContext
    ) -> None:
        """Take the relay's lock (waiting while another node holds it), then publish until a failure."""
        while True:
            row = await (
                await connection.execute("SELECT pg_try_advisory_lock(%s) AS got", (RELAY_LOCK,))
            ).fetchone()
            if row is not None and row["got"]:
                break
            await asyncio.sleep(RELAY_RETRY_S)
        self.stats.relaying = True
        _log.info("events: this node relays the outbox to the stream %s", STREAM)
        await connection.execute(f"LISTEN {CHANNEL}")
        failing = False
        # Only the holder of the lock moves the cursor: read once, then kept here (a round trip fewer).
        row = await (await connection.execute("SELECT published_id FROM event_relay")).fetchone()
        published_id = 0 if row is None else int(str(row["published_id"]))
        self._stream_last_seq = None
        while True:
            batch = await (
                await connection.execute(
                    "SELECT id, kind, party, body FROM events WHERE id > %s ORDER BY id LIMIT %s",
                    (published_id, RELAY_BATCH),
                )
            ).fetchall()
            try:
                last = await self._publish_in_order(js, batch, published_id)
            except Exception as exc:  # the stream cannot store now (no quorum, no leader): later
                if not failing:
                    _log.warning(
                        "events: the stream does not store (%s); the outbox keeps them, retrying", exc
                    )
                failing = True
                await asyncio.sleep(RELAY_RETRY_S)
                continue
            if failing and last != published_id:
                _log.info("events: the stream stores again; publishing what waited")
                failing = False
            if last != published_id:
                await connection.execute("UPDATE event_relay SET published_id = %s", (last,))
            done = len(batch) < RELAY_BATCH and last == (int(str(batch[-1]["id"])) if batch else published_id)
            published_id = last
            if done:
                async for _ in connection.notifies(timeout=RELAY_POLL_S, stop_after=1):
                    pass

    async def _publish_in_order(
        self, js: JetStreamContext, batch: Sequence[dict[str, object]], published_id: int
    ) -> int:
        """Publish ``batch`` (outbox rows, in id order); the id of the last one the stream stored.

        The events are sent without waiting for each acknowledgement, but each
        expects the stream's last sequence to be the one before it
        (``Nats-Expected-Last-Sequence``): when one is not stored, none after it is,
        so the stream never holds them out of order. A duplicate (published before
        a failover) is stored already: the round ends there and the next one starts
        from the stream's new last sequence. The stream's last sequence is asked
        for (a request to the stream's leader) only when the previous round did not
        store its whole batch: otherwise it is that round's last acknowledgement's,
        and if anyone else stored meanwhile, the first event is refused for it and
        the next round asks.

        Raises
        ------
        Exception
            When the stream cannot say its last sequence, or stores none of the batch.
        """
        if not batch:
            return published_id
        expected = self._stream_last_seq
        self._stream_last_seq = None  # unknown until this round has stored its whole batch
        if expected is None:
            info = await js.stream_info(STREAM)
            expected = int(info.state.last_seq)
        futures = []
        for offset, stored in enumerate(batch):
            document = {
                "epoch": self._epoch,
                "id": stored["id"],
                "party": stored["party"],
                "kind": stored["kind"],
                "body": stored["body"],
            }
            payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers = {
                "Nats-Msg-Id": f"{self._epoch}:{stored['id']}",
                "Nats-Expected-Last-Sequence": str(expected + offset),
            }
            futures.append(await js.publish_async(SUBJECT, payload, headers=headers))
        last = published_id
        stored_seq = None
        try:
            for stored, future in zip(batch, futures, strict=True):
                try:
                    ack = await asyncio.wait_for(asyncio.shield(future), PUBLISH_TIMEOUT_S)
                except Exception:
                    if last == published_id:
                        raise
                    break
                last = int(str(stored["id"]))
                self.stats.published += 1
                if ack.duplicate:
                    break
                stored_seq = int(ack.seq)
            else:
                self._stream_last_seq = stored_seq
        finally:
            for future in futures:
                future.cancel()  # those not answered: their slots are freed, they count for nothing
        return last


def _nothing(events: list[Event]) -> None:
    """Events committed on this node reach its bus through the stream, as every node's do."""
