"""``WebSocket /v1/events``: each party's own events, pushed as they happen.

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
"party": NAME}`` once the connection is subscribed; then, as they happen:

- ``conflict``: ``{"conflict": ...}``, the party's own view (as ``GET /v1/conflicts``);
- ``message``: ``{"message": ...}``, a message the party received; pushing it
  marks it delivered, as fetching the inbox does;
- ``acknowledgement``: ``{"message": ...}``, a message the party sent, at its new level;
- ``deadline_passed``: ``{"message": ...}``, to both sides;
- ``escalation``: ``{"escalation": ...}``, each step, to both sides.

A connection whose events pile up beyond ``events_max_queued`` is closed with
code 1013 (try again later), as is one beyond ``events_max_connections_per_party``;
the client reconnects and reads what it missed from the REST routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from deconflict.api.deps import Services
from deconflict.api.schemas import ConflictOut, EscalationOut, MessageOut
from deconflict.channel.catalogue import choose_language
from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.events import (
    Event,
    EventKind,
    SlowConsumerError,
    Subscription,
    TooManyConnectionsError,
)
from deconflict.channel.messages import Message
from deconflict.channel.parties import Party, authenticate
from deconflict.channel.service import deliver_pushed, pass_deadlines, record_login_failure
from deconflict.errors import AuthenticationError

__all__ = [
    "AUTH_TIMEOUT_S",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_TRY_AGAIN_LATER",
    "router",
    "stop_task",
    "sweep_deadlines",
]

_log = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 10.0
"""How long a connection without an ``Authorization`` header has to send its token."""

CLOSE_POLICY_VIOLATION = 1008
"""Close code for a missing, malformed, unknown or revoked token."""

CLOSE_TRY_AGAIN_LATER = 1013
"""Close code for a party over its connection limit, or a client too slow to keep up."""

router = APIRouter(tags=["events"])


def _services(websocket: WebSocket) -> Services:
    services = getattr(websocket.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the app is not started: run it under its lifespan (e.g. `with TestClient(app)`)")
    return services


async def _presented_token(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The ``Authorization`` header (or ``None``) and the bearer token in it or in the first frame."""
    authorization = websocket.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        bearer = scheme.lower() == "bearer" and credentials.strip()
        return authorization, credentials.strip() if bearer else None
    try:
        frame = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        document = json.loads(frame)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        return None, None
    found = document.get("token") if isinstance(document, dict) and document.get("type") == "auth" else None
    return None, found if isinstance(found, str) and found else None


async def _authenticate(websocket: WebSocket, services: Services) -> Party | None:
    authorization, token = await _presented_token(websocket)
    now_s = services.clock.now_s()
    if token is not None:
        try:
            return await run_in_threadpool(authenticate, services.parties, token)
        except AuthenticationError:
            pass
    # A token sent in the first frame is recorded as a bearer header would be.
    shown = authorization if authorization is not None else (None if token is None else f"Bearer {token}")
    await run_in_threadpool(record_login_failure, services.audit, services.parties, shown, token, now_s)
    return None


def _frame(event: Event, services: Services, language: str) -> dict[str, Any]:
    subject = event.subject
    if isinstance(subject, ConflictView):
        return {"type": str(event.kind), "conflict": ConflictOut.of(subject).model_dump(mode="json")}
    if isinstance(subject, Escalation):
        return {"type": str(event.kind), "escalation": EscalationOut.of(subject).model_dump(mode="json")}
    if isinstance(subject, Message):
        out = MessageOut.of(subject, services.catalogue, language)
        return {"type": str(event.kind), "message": out.model_dump(mode="json")}
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
        """Mark what is pending now."""
        batch, self._pending = self._pending, []
        if batch:
            services = self._services
            now_s = services.clock.now_s()
            await run_in_threadpool(
                deliver_pushed, services.messages, services.audit, self._party, batch, now_s
            )

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self.flush()


async def _push(
    websocket: WebSocket,
    subscription: Subscription,
    services: Services,
    language: str,
    deliveries: _Deliveries,
) -> None:
    """Send each batch of events; messages received are then marked delivered (by ``deliveries``)."""
    while True:
        batch = await subscription.next_batch()
        for event in batch:
            await websocket.send_text(json.dumps(_frame(event, services, language)))
        deliveries.add(
            [e.subject.id for e in batch if e.kind is EventKind.MESSAGE and isinstance(e.subject, Message)]
        )


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


@router.websocket("/v1/events")
async def events(websocket: WebSocket, lang: str | None = None) -> None:
    """The caller's events as JSON frames (see the module documentation for the protocol)."""
    services = _services(websocket)
    await websocket.accept()
    party = await _authenticate(websocket, services)
    if party is None:
        await websocket.close(CLOSE_POLICY_VIOLATION, "missing, malformed, unknown or revoked bearer token")
        return
    language = choose_language(lang, websocket.headers.get("accept-language"))
    try:
        subscription = services.events.subscribe(party.name)
    except TooManyConnectionsError as exc:
        await websocket.close(CLOSE_TRY_AGAIN_LATER, str(exc)[:120])
        return
    with subscription:
        await websocket.send_text(json.dumps({"type": "ready", "party": party.name}))
        deliveries = _Deliveries(services, party.name)
        push = asyncio.create_task(_push(websocket, subscription, services, language, deliveries))
        drain = asyncio.create_task(_drain(websocket))
        marking = asyncio.create_task(deliveries.run())
        done, pending = await asyncio.wait({push, drain, marking}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task
        await deliveries.flush()  # what was pushed before the end is delivered
        failed = marking.exception() if marking in done else None
        if failed is not None:
            raise failed
        if push in done:
            error = push.exception()
            if isinstance(error, SlowConsumerError):
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(CLOSE_TRY_AGAIN_LATER, "too slow: events dropped; reconnect")
            elif isinstance(error, WebSocketDisconnect):
                pass
            elif error is not None:
                raise error


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
            )
        except Exception:  # a failed sweep is retried at the next one; requests sweep too
            _log.exception("deadline sweep failed")


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
