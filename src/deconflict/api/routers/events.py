"""``WebSocket /v1/events``: each party's own events, pushed as they happen.

One module though over 600 lines: authentication, pushed frames, sends and the credential
checks all live on one connection's lifecycle (:func:`events`), documented together below.

Authentication
--------------
With the ``Authorization: Bearer <token>`` header of the upgrade request, as
every other route. Browsers cannot set that header, so a connection without it
must send the token as its first message, ``{"type": "auth", "token": "..."}``,
within :data:`AUTH_TIMEOUT_S`. There is deliberately no ``?token=`` query
parameter: URLs end up in access logs (uvicorn's among them), tokens must not.
A bad or missing token closes the connection with code 1008 (policy violation)
and is recorded in the audit log as any failed login (a hash, never the token).

Frames
------
Every frame is a JSON object with a ``type``. First ``{"type": "ready",
"party": NAME}`` once the connection is subscribed; then, as they happen, the
party's events, in the order the facts were committed, each with its ``id``
(after ``type``): the event's number in the database's outbox
(:mod:`deconflict.channel.outbox`) as parties are shown it
(:mod:`deconflict.channel.public_ids`), a whole number from 1 to ``2**52``
unrelated to the ids before and after it. The outbox numbers every party's
events with one counter; shown as they are, the gaps between a party's ids would
count the others' events. So ids are opaque: equal or not, never in an order.
The frames of one event (an ``alerts`` event over :data:`MAX_ALERTS_PER_FRAME`
changes, a cycle's ``incident`` frames) share its id and come together:

- ``conflict``: ``{"conflict": ...}``, the party's own view (as ``GET /v1/conflicts``);
- ``message``: ``{"message": ...}``, a message the party received; pushing it
  marks it delivered, as fetching the inbox does;
- ``acknowledgement``: ``{"message": ...}``, a message the party sent, at its new level;
- ``deadline_passed``: ``{"message": ...}``, to both sides;
- ``escalation``: ``{"escalation": ...}``, each step, to both sides.
- ``alerts``: ``{"time": ISO, "changes": [...], "more": BOOL}``, one per detection
  cycle that changed the party's alerts, to both sides of each alert, each from its
  own side. Each change is ``{"state": "new"|"update"|"cleared", ...}`` and the
  fields of ``GET /v1/alerts``' alerts (``update`` when the level changes or a side
  starts or stops being withheld, or is withheld for another reason: each alert once
  when its aircraft's probation ends outside its party's plans); each alert at most
  once, the most urgent first:
  losses of separation, then by time to closest approach (soonest first, withheld
  figures last), cleared alerts last. More than :data:`MAX_ALERTS_PER_FRAME` changes
  come as consecutive frames, in that order, ``more`` true on all but the last.
  Alerts are state, not history: when the client has not taken a cycle's changes
  by the time the next cycle's come, the two are coalesced into one (each alert at
  its latest state; one new and cleared in between is left out), so a burst of
  alerts, or a slow client, never closes the connection;
- ``incident``: ``{"state": "opened"|"closed", ...}`` and the fields of ``GET
  /v1/incidents``' incidents, to both sides, each from its own side;
- ``incident_comment``: ``{"incident_id": ..., "comment": {"party", "time", "text"}}``, to both sides.
- ``probe_alarm``: ``{"alarm": ...}``, an entry of ``GET /v1/disclosures``: another party
  withdrew an operation right after it revealed this party's plans, or revealed them in a
  burst of filings.
- ``tracks``, only on a connection opened with ``?tracks=true``: ``{"time", "own", "foreign"}``
  as ``GET /v1/tracks/columns`` answers (the party's own aircraft as columns, no trails;
  the foreign aircraft it may see), once at once and then after each detection cycle.
  The picture is state: a client slower than the cycles gets the latest one, never a queue.

Resuming
--------
A client that lost its connection (or its node) reconnects, to any node of the
channel, with the id of the last event it received: the ``Last-Event-ID`` header
(as server-sent events name it), ``"last_event_id"`` in its auth frame, or the
``last_event_id`` query parameter (an id is no secret). After ``ready`` it is sent
every later event of its own, once and in order, read from the outbox (the
frames as they were pushed live, ids included), then the live ones: no gap, no
duplicate. Every node of a cluster shows the same ids (the database's secret
makes them), so the id one node showed resumes on any other.
Live events that come meanwhile wait, and those already sent from the outbox
are dropped. Alerts are resent too: their frames are the changes of each cycle,
and a client that applies them in order ends at the current state (those that
wait together are coalesced as live ones are). A value that is not a whole number
from 0 (below ``2**63``) closes the connection with 1007. Without a last id a
connection gets the events from its ``ready`` on, as before: the REST routes
give the state then; with ``0``, every event the outbox keeps.
The outbox keeps events ``events_keep_s`` (:func:`prune_events`): a client whose
last event was pruned is first sent ``{"type": "gap", "after": LAST,
"pruned_through": ID}`` (``LAST`` the id it gave, ``ID`` the latest pruned
event's, as shown: a client may resume from it), then every event after ``ID``;
what it missed in between it reads from the REST routes. Any other id that is
not one of the party's events the outbox keeps (another party's, a number no
event was shown as) is answered as ``0`` is: that gap frame when events were
pruned, then every event kept; so the answer never tells whose an id is.

Sending
-------
A party may also send hotline messages on its connection, which costs far
less per message than a ``POST`` each: a frame ``{"type": "send", "ref": ANY,
"message": BODY}``, ``BODY`` as for ``POST /v1/messages`` (signed the same
way). Each is answered, in the order sent, by ``{"type": "sent", "ref",
"message"}`` once the message is durably stored (as a 201 is), or ``{"type":
"refused", "ref", "status", "detail"}`` with the status and detail ``POST``
would answer (422, 409, 429 with ``retry_after_s``: the same per-party
``messages_per_minute`` counts both ways; 503 with ``retry_after_s`` while the
database is out of reach); a frame that is not a ``send`` is
refused with 400. Frames that arrive together are stored in one transaction
(:data:`MAX_SEND_BATCH` at most): one commit for many.

A frame the server cannot decode (not JSON, nested deeper than
:data:`MAX_FRAME_DEPTH`, a binary frame) closes the connection with code 1007
(invalid payload), logged in one line; the party's other connections go on.

A connection whose other events pile up beyond ``events_max_queued`` (a cycle's
alert changes count as one, however many, and so do the incidents it opens or
closes) is closed with code 1013 (try again later),
as is one beyond ``events_max_connections_per_party``; the client reconnects with
its last event id (or reads what it missed from the REST routes). So is one that
resumes while the database is out of reach.

Credentials bind the connection
-------------------------------
A connection lasts as long as the token that opened it. Once its party is
revoked, or the token rotated out and past its grace period (both may be
done by the CLI on the database while the server runs), the connection is
closed within ``session_check_s`` (every open connection's token is checked
against the store that often) with:

- ``4001`` ``token revoked``: the party was revoked;
- ``4002`` ``token expired``: the token was rotated out and its grace period is over.

Each batch of ``send`` frames is checked too, just before it is stored: once
the token no longer holds, they are refused with 401 and nothing is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import time
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from deconflict.api.deps import Services
from deconflict.api.problems import error_response, validation_problems
from deconflict.api.rates import RateLimiter
from deconflict.api.schemas.alerts import alerts_json
from deconflict.api.schemas.conflicts import ConflictOut
from deconflict.api.schemas.disclosures import DisclosureOut
from deconflict.api.schemas.incidents import IncidentCommentOut, IncidentOut
from deconflict.api.schemas.messages import EscalationOut, MessageCreate, MessageOut
from deconflict.api.schemas.tracks import TracksColumnsOut
from deconflict.channel.catalogue import choose_language
from deconflict.channel.cluster import SharedConnections
from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.events import (
    Event,
    EventKind,
    EventOutbox,
    OperationNotice,
    SessionEndedError,
    SlowConsumerError,
    Subscription,
    TooManyConnectionsError,
)
from deconflict.channel.ledger import LedgerEntry
from deconflict.channel.live import AlertBatch, CommentNotice, IncidentBatch
from deconflict.channel.messages import Message
from deconflict.channel.parties import Party, authenticate, hash_token
from deconflict.channel.public_ids import NO_ROW, IdKind, PublicIds
from deconflict.channel.service.logins import record_login_failure
from deconflict.channel.service.messages import deliver_pushed, pass_deadlines, send_batch
from deconflict.channel.sessions import credential_ending
from deconflict.errors import AuthenticationError, StorageUnavailableError
from deconflict.strategic.conflicts import format_time

__all__ = [
    "AUTH_TIMEOUT_S",
    "CLOSE_INVALID_PAYLOAD",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_TRY_AGAIN_LATER",
    "MAX_ALERTS_PER_FRAME",
    "MAX_FRAME_DEPTH",
    "MAX_SEND_BATCH",
    "PRUNE_INTERVAL_S",
    "REPLAY_PAGE",
    "TRACKS_POLL_S",
    "end_stale_sessions",
    "prune_events",
    "router",
    "stop_task",
    "sweep_deadlines",
]

_log = logging.getLogger(__name__)

MAX_ALERTS_PER_FRAME = 1000
"""Alert changes in one ``alerts`` frame at most (about 0.4 MB); more come in consecutive frames."""

AUTH_TIMEOUT_S = 10.0
"""How long a connection without an ``Authorization`` header has to send its token."""

CLOSE_POLICY_VIOLATION = 1008
"""Close code for a missing, malformed, unknown or revoked token."""

MAX_SEND_BATCH = 256
"""Messages sent over one connection that share one transaction at most."""

CLOSE_TRY_AGAIN_LATER = 1013
"""Close code for a party over its connection limit, or a client too slow to keep up."""

CLOSE_INVALID_PAYLOAD = 1007
"""Close code for a frame that cannot be decoded: not JSON, nested too deep, or binary."""

MAX_FRAME_DEPTH = 32
"""How deeply a frame's JSON may nest (objects and arrays); a ``send`` frame needs 4."""

REPLAY_PAGE = 500
"""Stored events read at a time when a connection resumes."""

PRUNE_INTERVAL_S = 3600.0
"""How often events older than ``events_keep_s`` are pruned from the outbox."""


TRACKS_POLL_S = 0.1
"""How often a ``tracks`` connection looks for a finished detection cycle (in process: no I/O)."""


class _UndecodableFrameError(Exception):
    """A frame that is not a JSON text the server will read; the connection is closed with 1007."""


def _nested_deeper_than(document: Any, limit: int) -> bool:
    """Whether ``document`` nests objects and arrays more than ``limit`` deep (iteratively: no recursion)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending += [(child, depth + 1) for child in children]
    return False


async def _receive_frame(websocket: WebSocket) -> Any:
    """The next frame, decoded.

    Raises
    ------
    WebSocketDisconnect
        When the client goes away.
    _UndecodableFrameError
        For a binary frame, a text that is not JSON, or JSON nested deeper than :data:`MAX_FRAME_DEPTH`.
    """
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise _UndecodableFrameError("a binary frame: frames are JSON text")
    too_deep = _UndecodableFrameError(f"JSON nested deeper than {MAX_FRAME_DEPTH} levels")
    try:
        document = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:
        raise _UndecodableFrameError(f"not JSON ({exc})") from None
    if _nested_deeper_than(document, MAX_FRAME_DEPTH):
        raise too_deep
    return document


async def _close_undecodable(websocket: WebSocket, party: str | None, error: _UndecodableFrameError) -> None:
    client = websocket.client
    _log.warning(
        "events: closed a connection from %s%s with %d: %s",
        f"{client.host}:{client.port}" if client is not None else "?",
        "" if party is None else f" of {party!r}",
        CLOSE_INVALID_PAYLOAD,
        error,
    )
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(CLOSE_INVALID_PAYLOAD, str(error)[:120])


router = APIRouter(tags=["events"])


def _services(websocket: WebSocket) -> Services:
    services = getattr(websocket.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the app is not started: run it under its lifespan (e.g. `with TestClient(app)`)")
    return services


async def _presented_token(websocket: WebSocket) -> tuple[str | None, str | None, object]:
    """The ``Authorization`` header (or ``None``), the bearer token in it or in the first frame, and
    the ``last_event_id`` of that frame (``None`` when not given)."""
    authorization = websocket.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        bearer = scheme.lower() == "bearer" and credentials.strip()
        return authorization, credentials.strip() if bearer else None, None
    try:
        document = await asyncio.wait_for(_receive_frame(websocket), AUTH_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect):
        return None, None, None
    if not isinstance(document, dict) or document.get("type") != "auth":
        return None, None, None
    found = document.get("token")
    return None, found if isinstance(found, str) and found else None, document.get("last_event_id")


class _BadLastEventIdError(Exception):
    """A ``last_event_id`` that is not a whole number from 0: the connection is closed with 1007."""


def _last_event_id(websocket: WebSocket, in_frame: object) -> int | None:
    """The id of the last event the client has (``Last-Event-ID`` header, ``last_event_id`` query
    parameter or auth frame field), or ``None`` for a connection that does not resume.

    Raises
    ------
    _BadLastEventIdError
        For a value that is not a whole number from 0.
    """
    given: object = in_frame
    if given is None:
        given = websocket.headers.get("last-event-id") or websocket.query_params.get("last_event_id")
    if given is None:
        return None
    if isinstance(given, str) and given.strip().isdigit():
        given = int(given.strip())
    if isinstance(given, bool) or not isinstance(given, int) or given < 0 or given >= 2**63:
        raise _BadLastEventIdError(f"last_event_id: {str(given)[:40]!r} is not a whole number from 0")
    return given


async def _authenticate(websocket: WebSocket, services: Services) -> tuple[Party, str, object] | None:
    """The party, the hash of the token it presented and the auth frame's ``last_event_id``, or
    ``None`` (recorded as a failed login)."""
    authorization, token, last_event_id = await _presented_token(websocket)
    now_s = services.clock.now_s()
    if token is not None:
        try:
            party = await run_in_threadpool(authenticate, services.parties, token, now_s)
            return party, hash_token(token), last_event_id
        except AuthenticationError:
            pass
    # A token sent in the first frame is recorded as a bearer header would be.
    shown = authorization if authorization is not None else (None if token is None else f"Bearer {token}")
    source = websocket.client.host if websocket.client is not None else "unknown"
    # Aggregated per source as on REST routes: a flood of bad tokens adds a handful of entries.
    await run_in_threadpool(
        lambda: record_login_failure(
            services.audit, services.parties, shown, token, now_s, source=source, failures=services.logins
        )
    )
    return None


def _with_id(event: Event, frame: dict[str, Any], ids: PublicIds) -> dict[str, Any]:
    """``frame`` with its event's ``id`` as parties are shown it (first after ``type``), if it has one."""
    if event.id is None:
        return frame
    return {"type": frame["type"], "id": ids.public(IdKind.EVENT, event.id), **frame}


def _alert_frames(batch: AlertBatch, services: Services) -> list[dict[str, Any]]:
    """The ``alerts`` frames of ``batch``: its changes in order, :data:`MAX_ALERTS_PER_FRAME` at most each."""
    ids = services.public_ids
    notices = batch.changes
    shown = alerts_json([notice.alert for notice in notices], ids)
    changes = [{"state": notice.state.value, **alert} for notice, alert in zip(notices, shown, strict=True)]
    time = format_time(batch.time_s)
    starts = range(0, len(changes), MAX_ALERTS_PER_FRAME)
    return [
        {
            "type": str(EventKind.ALERTS),
            "time": time,
            "changes": changes[start : start + MAX_ALERTS_PER_FRAME],
            "more": start + MAX_ALERTS_PER_FRAME < len(changes),
        }
        for start in starts
    ]


def _alert_texts(event: Event, services: Services) -> list[str]:
    """The ``alerts`` frames of an ``alerts`` event as JSON texts, each with the event's id."""
    assert isinstance(event.subject, AlertBatch)
    ids = services.public_ids
    frames = [_with_id(event, frame, ids) for frame in _alert_frames(event.subject, services)]
    if event.subject.numbers_finite():  # msgspec writes an infinity or NaN as null, json.dumps as it is
        try:
            return [_FRAME_ENCODER.encode(frame).decode() for frame in frames]  # 4 times json.dumps' speed
        except (TypeError, UnicodeEncodeError, OverflowError):  # numpy's floats, a lone surrogate
            pass
    return [json.dumps(frame) for frame in frames]


_FRAME_ENCODER = msgspec.json.Encoder()


def _frame(event: Event, services: Services, language: str) -> dict[str, Any]:
    subject = event.subject
    ids = services.public_ids
    if isinstance(subject, ConflictView):
        return {"type": str(event.kind), "conflict": ConflictOut.of(subject, ids).model_dump(mode="json")}
    if isinstance(subject, Escalation):
        return {"type": str(event.kind), "escalation": EscalationOut.of(subject, ids).model_dump(mode="json")}
    if isinstance(subject, Message):
        out = MessageOut.of(subject, services.catalogue, language, ids)
        return {"type": str(event.kind), "message": out.model_dump(mode="json")}
    if isinstance(subject, CommentNotice):
        comment = IncidentCommentOut.of(subject.comment).model_dump(mode="json")
        incident_id = ids.public(IdKind.INCIDENT, subject.incident_id)
        return {"type": str(event.kind), "incident_id": incident_id, "comment": comment}
    if isinstance(subject, LedgerEntry):
        return {"type": str(event.kind), "alarm": DisclosureOut.of(subject, ids).model_dump(mode="json")}
    if isinstance(subject, OperationNotice):
        operation = {"id": subject.id, "version": subject.version, "state": subject.state}
        return {"type": str(event.kind), "operation": operation}
    raise TypeError(f"no frame for {type(subject).__name__}")  # pragma: no cover - Event's types are closed


class _Deliveries:
    """Messages pushed to the recipient and not yet marked delivered, marked in batches off the push path.

    Marking commits to the store; doing it in its own task keeps those commits
    out of the latency of the next push, and whatever was pushed while one batch
    was being marked goes into the next batch.
    """

    def __init__(self, services: Services, party: str) -> None:
        self._services = services
        self._party = party
        self._pending: list[int] = []
        self._wakeup = asyncio.Event()

    def add(self, message_ids: list[int]) -> None:
        self._pending += message_ids
        self._wakeup.set()

    async def flush(self) -> None:
        """Mark what is pending now.

        Raises
        ------
        StorageUnavailableError
            The database is out of reach: what was pending stays pending.
        """
        batch, self._pending = self._pending, []
        if batch:
            services = self._services
            now_s = services.clock.now_s()
            try:
                await run_in_threadpool(
                    deliver_pushed, services.messages, services.audit, self._party, batch, now_s
                )
            except StorageUnavailableError:
                self._pending[:0] = batch
                raise

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self.flush()
            except StorageUnavailableError as exc:  # the socket stays open; marked once the database is back
                await asyncio.sleep(exc.retry_after_s)
                self._wakeup.set()


async def _send_events(
    websocket: WebSocket, batch: list[Event], services: Services, language: str, deliveries: _Deliveries
) -> None:
    """Send each event of ``batch`` as its frames; messages received are then marked delivered."""
    metrics = getattr(websocket.app.state, "metrics", None)
    for event in batch:
        if isinstance(event.subject, AlertBatch):
            if metrics is not None:
                metrics.coalesced.observe(len(event.subject.changes))
            # Off the event loop: a dense cycle's thousands of changes would stall every request.
            texts = await run_in_threadpool(_alert_texts, event, services)
            for text in texts:
                await websocket.send_text(text)
        elif isinstance(event.subject, IncidentBatch):
            for notice in event.subject.notices:
                incident = IncidentOut.of(notice.incident, services.public_ids).model_dump(mode="json")
                frame = {"type": str(event.kind), "state": str(notice.state), **incident}
                await websocket.send_text(json.dumps(_with_id(event, frame, services.public_ids)))
        else:
            frame = _frame(event, services, language)
            await websocket.send_text(json.dumps(_with_id(event, frame, services.public_ids)))
    deliveries.add(
        [e.subject.id for e in batch if e.kind is EventKind.MESSAGE and isinstance(e.subject, Message)]
    )


async def _push(
    websocket: WebSocket,
    subscription: Subscription,
    services: Services,
    language: str,
    deliveries: _Deliveries,
    resume_after: int | None,
) -> None:
    """Send what the client missed after ``resume_after`` (the id of its last event, as shown: the
    outbox's events), then each batch of live events; messages received are then marked delivered
    (by ``deliveries``)."""
    outbox = services.events.outbox
    if resume_after is not None:
        pruned_id = NO_ROW if outbox is None else await run_in_threadpool(outbox.pruned_id)
        given = NO_ROW
        if outbox is not None:
            given = await run_in_threadpool(
                _resumed_row, outbox, services.public_ids, subscription.party, resume_after, pruned_id
            )
        if given < pruned_id:  # some of what the client missed is gone: say so, then the rest
            shown_pruned = services.public_ids.public(IdKind.EVENT, pruned_id)
            gap = {"type": "gap", "after": resume_after, "pruned_through": shown_pruned}
            await websocket.send_text(json.dumps(gap))
            given = pruned_id
        while outbox is not None:
            page = await run_in_threadpool(outbox.since, subscription.party, given, REPLAY_PAGE)
            if page:
                await _send_events(websocket, page, services, language, deliveries)
                given = page[-1].id or given
            if len(page) < REPLAY_PAGE:
                break
        subscription.go_live(given)
    while True:
        batch = await subscription.next_batch()
        await _send_events(websocket, batch, services, language, deliveries)


def _resumed_row(outbox: EventOutbox, ids: PublicIds, party: str, shown: int, pruned_id: int) -> int:
    """The outbox row to resume ``party``'s events after, from the id its client gave (``shown``).

    One of the party's events the outbox keeps resumes after its row; one pruned
    (or the latest pruned, as the ``gap`` frame shows it) after its row too, which
    is the gap. Any other, another party's event or no event at all, is
    :data:`~deconflict.channel.public_ids.NO_ROW`, as ``0`` is: the same answer
    whoever's it is, so resuming tells no party whether an id is another's.
    """
    row = ids.row(IdKind.EVENT, shown)
    if row == NO_ROW or row <= pruned_id:
        return row
    kept = outbox.since(party, row - 1, 1)
    return row if kept and kept[0].id == row else NO_ROW


def _tracks_frame(services: Services, party: str) -> str:
    """The ``tracks`` frame of ``party`` now, as JSON text (built off the event loop: a fleet is large)."""
    assert services.live is not None
    picture = services.live.columns_for(party, services.clock.now_s())
    body = TracksColumnsOut.of(picture, services.public_ids).model_dump_json()
    return '{"type":"tracks",' + body[1:]


async def _push_tracks(websocket: WebSocket, services: Services, party: str) -> None:
    """Send ``party``'s picture at once and after each detection cycle; ends when the socket is gone.

    One frame per cycle at most, the latest picture: a cycle finished while a
    frame was being built or sent is covered by the next frame.
    """
    live = services.live
    if live is None:  # no live picture on this server: nothing to send, ever
        await asyncio.Event().wait()
        return
    sent_for: float | None = math.nan
    try:
        while True:
            cycled_s = live.cycled_s
            if cycled_s != sent_for:
                sent_for = cycled_s
                await websocket.send_text(await run_in_threadpool(_tracks_frame, services, party))
            await asyncio.sleep(TRACKS_POLL_S)
    except (WebSocketDisconnect, RuntimeError):  # the socket closed: the other tasks say why
        return


async def _admit(services: Services, party: str, count: int, now_s: float) -> tuple[int, float | None]:
    """``count`` messages of ``party`` counted against its hotline rate at once: how many were
    admitted (the first ones), and when the rest could be (see :class:`_Outbox`)."""
    rate = services.rate
    if rate is None:
        return count, None
    if isinstance(rate, RateLimiter):  # in memory: no I/O, on the event loop
        return rate.admit_many(party, count, now_s)
    return await run_in_threadpool(rate.admit_many, party, count, now_s)  # in the database: the cluster's


class _Outbox:
    """Messages the party sends over its connection, sent in batches: one durable commit per batch.

    The reader queues each ``send`` frame; the sender takes all that are
    queued (at most :data:`MAX_SEND_BATCH`), sends them in one transaction
    (:func:`~deconflict.channel.service.messages.send_batch`) and answers each with
    ``sent`` or ``refused``, in the order received. While one batch commits,
    the next one fills: the busier the connection, the fewer commits per message.
    """

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        subscription: Subscription,
        party: Party,
        language: str,
    ) -> None:
        self._websocket = websocket
        self._services = services
        self._subscription = subscription
        self._party = party
        self._language = language
        self._queued: list[tuple[Any, MessageCreate]] = []
        self._wakeup = asyncio.Event()

    async def _refuse(self, ref: Any, status: int, detail: Any, retry_after_s: int | None = None) -> None:
        frame = {"type": "refused", "ref": ref, "status": status, "detail": detail}
        if retry_after_s is not None:
            frame["retry_after_s"] = retry_after_s
        await self._websocket.send_text(json.dumps(frame))

    async def _unavailable(
        self, batch: list[tuple[Any, MessageCreate]], exc: StorageUnavailableError
    ) -> None:
        """The database is out of reach: each is refused with 503 and when to retry; the socket stays open."""
        for ref, _ in batch:
            await self._refuse(ref, 503, str(exc), retry_after_s=exc.retry_after_s)

    async def read(self) -> None:
        """Read the client's frames until it goes away; queue ``send`` frames, refuse anything else.

        Raises
        ------
        _UndecodableFrameError
            For a frame that cannot be decoded: the connection is to be closed with 1007.
        """
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                frame = await _receive_frame(self._websocket)
                ref = frame.get("ref") if isinstance(frame, dict) else None
                if not isinstance(frame, dict) or frame.get("type") != "send":
                    await self._refuse(ref, 400, 'unknown frame: expected {"type": "send", "ref", "message"}')
                    continue
                try:
                    body = MessageCreate.model_validate(frame.get("message"))
                except ValidationError as exc:
                    problems = validation_problems(exc.errors(include_url=False), "message")
                    await self._refuse(ref, 422, [p.model_dump() for p in problems])
                    continue
                self._queued.append((ref, body))
                self._wakeup.set()

    async def run(self) -> None:
        """Send what is queued, batch after batch (runs until cancelled)."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queued:
                batch = self._queued[:MAX_SEND_BATCH]
                del self._queued[:MAX_SEND_BATCH]
                await self._send(batch)

    async def _send(self, batch: list[tuple[Any, MessageCreate]]) -> None:
        services = self._services
        now_s = services.clock.now_s()
        credential = self._subscription.credential
        if credential is not None:
            try:
                ending = await run_in_threadpool(credential_ending, services.parties, credential, now_s)
            except StorageUnavailableError as exc:
                await self._unavailable(batch, exc)
                return
            if ending is not None:  # revoked or rotated out since the last check: nothing is stored
                for ref, _ in batch:
                    await self._refuse(ref, 401, f"{ending.reason}: not sent")
                self._subscription.end(ending)
                return
        try:
            count, wait_s = await _admit(services, self._party.name, len(batch), now_s)
        except StorageUnavailableError as exc:
            await self._unavailable(batch, exc)
            return
        admitted = batch[:count]
        if wait_s is not None:
            retry_s = max(1, math.ceil(wait_s))
            limit = services.settings.messages_per_minute
            for ref, _ in batch[count:]:
                await self._refuse(
                    ref,
                    429,
                    f"over messages_per_minute ({limit}): retry in {retry_s} s",
                    retry_after_s=retry_s,
                )
        try:
            results = await run_in_threadpool(
                send_batch,
                services.messages,
                services.parties,
                services.catalogue,
                services.audit,
                [(body.content(self._party.name), body.signature) for _, body in admitted],
                now_s,
                services.events,
            )
        except StorageUnavailableError as exc:
            await self._unavailable(admitted, exc)
            return
        for (ref, _), result in zip(admitted, results, strict=True):
            if isinstance(result, Message):
                shown = MessageOut.of(result, services.catalogue, self._language, services.public_ids)
                out = shown.model_dump(mode="json")
                await self._websocket.send_text(json.dumps({"type": "sent", "ref": ref, "message": out}))
            else:
                answer = error_response(result)
                await self._refuse(ref, answer.status_code, json.loads(bytes(answer.body))["detail"])


@router.websocket("/v1/events")
async def events(websocket: WebSocket, lang: str | None = None, tracks: bool = False) -> None:
    """The caller's events as JSON frames (see the module documentation for the protocol)."""
    services = _services(websocket)
    await websocket.accept()
    try:
        authenticated = await _authenticate(websocket, services)
    except _UndecodableFrameError as exc:
        await _close_undecodable(websocket, None, exc)
        return
    if authenticated is None:
        await websocket.close(CLOSE_POLICY_VIOLATION, "missing, malformed, unknown or revoked bearer token")
        return
    party, credential, in_frame = authenticated
    try:
        resume_after = _last_event_id(websocket, in_frame)
    except _BadLastEventIdError as exc:
        await _close_undecodable(websocket, party.name, _UndecodableFrameError(str(exc)))
        return
    language = choose_language(lang, websocket.headers.get("accept-language"))
    try:
        # Resuming, live events wait from now on; after which row is known once the outbox is read (_push).
        held_after = None if resume_after is None else NO_ROW
        subscription = services.events.subscribe(party.name, credential, held_after)
    except TooManyConnectionsError as exc:
        await websocket.close(CLOSE_TRY_AGAIN_LATER, str(exc)[:120])
        return
    with subscription, contextlib.ExitStack() as counted:
        if services.connections is not None:  # the cap holds over every node sharing the database
            refused = await _count_connection(services, services.connections, party.name, counted)
            if refused is not None:
                await websocket.close(CLOSE_TRY_AGAIN_LATER, refused[:120])
                return
        await websocket.send_text(json.dumps({"type": "ready", "party": party.name}))
        deliveries = _Deliveries(services, party.name)
        push = asyncio.create_task(
            _push(websocket, subscription, services, language, deliveries, resume_after)
        )
        outbox = _Outbox(websocket, services, subscription, party, language)
        drain = asyncio.create_task(outbox.read())
        marking = asyncio.create_task(deliveries.run())
        sending = asyncio.create_task(outbox.run())
        tasks = {push, drain, marking, sending}
        if tracks:
            tasks.add(asyncio.create_task(_push_tracks(websocket, services, party.name)))
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task
        # What was pushed before the end is delivered (unless the database is out of reach: those
        # messages stay "sent", and the recipient's next fetch delivers them).
        with contextlib.suppress(StorageUnavailableError):
            await deliveries.flush()
        failed = next((t.exception() for t in (marking, sending) if t in done), None)
        if failed is not None:
            raise failed
        if drain in done:
            undecodable = drain.exception()
            if isinstance(undecodable, _UndecodableFrameError):
                await _close_undecodable(websocket, party.name, undecodable)
            elif undecodable is not None:
                raise undecodable
        if push in done:
            error = push.exception()
            if isinstance(error, SlowConsumerError):
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(CLOSE_TRY_AGAIN_LATER, "too slow: events dropped; reconnect")
            elif isinstance(error, SessionEndedError):
                _log.info("events: closed a connection of %r: %s", party.name, error.ending.reason)
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(error.ending.code, error.ending.reason)
            elif isinstance(error, StorageUnavailableError):  # resuming, and the outbox out of reach
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(CLOSE_TRY_AGAIN_LATER, "database unavailable: reconnect")
            elif isinstance(error, WebSocketDisconnect):
                pass
            elif error is not None:
                raise error


async def _count_connection(
    services: Services, connections: SharedConnections, party: str, counted: contextlib.ExitStack
) -> str | None:
    """Count a connection of ``party`` in the cluster (uncounted when ``counted`` closes); why not, if not."""
    limit = services.settings.events_max_connections_per_party
    try:
        connection_id = await run_in_threadpool(connections.open, party, limit)
    except StorageUnavailableError as exc:
        return str(exc)
    if connection_id is None:
        return f"party {party!r} already has {limit} event connections (at most {limit})"

    def uncount() -> None:
        try:
            connections.close(connection_id)
        except StorageUnavailableError as exc:  # it stops counting once this node's heartbeat stops
            _log.warning("event connection of %r not uncounted: %s", party, exc)

    # Off the event loop, not awaited: the socket has ended, and a database outage must not hold the loop.
    loop = asyncio.get_running_loop()
    counted.callback(lambda: loop.run_in_executor(None, uncount))
    return None


async def sweep_deadlines(services: Services) -> None:
    """Every ``deadline_sweep_s``, record the deadlines passed and push them (runs until cancelled).

    Requests to the hotline routes do the same on the way in; this covers the
    quiet times, so a party connected only to ``/v1/events`` still hears of a
    deadline as it passes. Each deadline and step is announced once either way.
    """
    while True:
        await asyncio.sleep(services.settings.deadline_sweep_s)
        try:
            await run_in_threadpool(
                pass_deadlines,
                services.messages,
                services.audit,
                services.clock.now_s(),
                services.settings.escalation_ladder_s,
                services.events,
                services.lease,
            )
        except StorageUnavailableError as exc:  # one line, not a traceback, for a known outage
            _log.warning("deadline sweep failed, retried at the next one: %s", exc)
        except Exception:  # a failed sweep is retried at the next one; requests sweep too
            _log.exception("deadline sweep failed")


async def end_stale_sessions(services: Services) -> None:
    """Every ``session_check_s``, end the connections whose token no longer holds (runs until cancelled).

    The CLI revokes and rotates on the database, possibly from another process,
    so the store is asked again: once per distinct open token per check.
    """
    while True:
        await asyncio.sleep(services.settings.session_check_s)
        try:
            now_s = services.clock.now_s()
            await run_in_threadpool(
                services.events.end_sessions,
                functools.partial(credential_ending, services.parties, now_s=now_s),
            )
        except StorageUnavailableError as exc:
            _log.warning("credential check of the open event connections failed, retried: %s", exc)
        except Exception:  # retried at the next check
            _log.exception("credential check of the open event connections failed")


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def prune_events(services: Services) -> None:
    """Every :data:`PRUNE_INTERVAL_S`, delete the outbox's events older than ``events_keep_s``
    (with a relay, only those it published); runs until cancelled."""
    outbox = services.events.outbox
    if outbox is None:
        return
    relayed = services.settings.nats_url is not None and services.settings.db_url is not None
    while True:
        try:
            before_s = time.time() - services.settings.events_keep_s  # stored times are the system's
            await run_in_threadpool(outbox.prune, before_s, relayed)
        except StorageUnavailableError as exc:
            _log.warning("pruning the event outbox failed, retried at the next one: %s", exc)
        except Exception:  # retried at the next one
            _log.exception("pruning the event outbox failed")
        await asyncio.sleep(PRUNE_INTERVAL_S)
