"""Request limits: body size (413, before any route runs), each party's hotline and filing rates (429).

- :class:`RequestLimits` is plain ASGI middleware, so it sees a request before
  FastAPI parses anything: a body larger than ``Settings.max_request_bytes`` is
  refused with 413. A ``Content-Length`` over the limit is refused without
  reading the body; a body without one (chunked) is read only up to the limit.
  What is read is handed on to the app unchanged.
- :func:`rated_sender`, a dependency of ``POST /v1/messages`` after
  authentication, counts each party's sends (whichever connection or token they
  come through; messages sent over ``/v1/events`` count against the same
  limiter, ``Services.rate``): more than ``Settings.messages_per_minute`` in any
  60 s of the app's clock is refused with 429 and ``Retry-After`` (whole seconds
  until one more would be accepted). Every authenticated attempt counts, accepted
  or not; refused ones do not. Other parties are not affected.
- :func:`rated_filer` and :func:`rated_withdrawer`, dependencies of the
  ``/v1/operations`` routes that file, amend and withdraw, count each party's
  filings (with amendments) and withdrawals the same way, against
  ``filings_per_minute`` and ``withdrawals_per_minute``: file-and-withdraw is
  how a party would probe the others' plans.

WebSocket connections are limited by the event bus (``events_max_connections_per_party``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconflict.api.deps import CurrentParty, Services
from deconflict.api.rates import RATE_WINDOW_S, RateLimiter
from deconflict.channel.cluster import SharedRate
from deconflict.channel.parties import Party

__all__ = [
    "RatedFiler",
    "RatedSender",
    "RatedWithdrawer",
    "RequestLimits",
    "rated_filer",
    "rated_sender",
    "rated_withdrawer",
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Receive, max_bytes: int) -> list[Message] | None:
    """The request's messages up to the end of its body; ``None`` once it passes ``max_bytes``."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # the client went away: let the app see it
            return messages
        size += len(message.get("body", b""))
        if size > max_bytes:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: Iterable[Message], receive: Receive) -> Receive:
    """A ``receive`` that yields ``messages`` first, then whatever ``receive`` gives."""
    pending = deque(messages)

    async def replayed() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replayed


def _too_large(max_bytes: int, content_length: int | None) -> JSONResponse:
    size = "" if content_length is None else f" of {content_length} bytes"
    return JSONResponse(
        {"detail": f"request body{size} over the limit of {max_bytes} bytes (max_request_bytes)"},
        status_code=413,
        headers={"Connection": "close"},  # the rest of the body is not read
    )


class RequestLimits:
    """ASGI middleware: 413 for bodies over ``max_request_bytes`` (the started app's settings).

    Before the app has started, requests pass through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = getattr(scope["app"].state, "services", None) if "app" in scope else None
        if scope["type"] != "http" or not isinstance(services, Services):
            await self.app(scope, receive, send)
            return
        max_bytes = services.settings.max_request_bytes
        declared = _header(scope, b"content-length")
        content_length = int(declared) if declared is not None and declared.isdigit() else None
        if content_length is not None and content_length > max_bytes:
            await _too_large(max_bytes, content_length)(scope, receive, send)
            return
        messages = await _read_body(receive, max_bytes)
        if messages is None:
            await _too_large(max_bytes, None)(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)


async def _admit(
    services: Services, limiter: SharedRate | None, party: Party, what: str, setting: str
) -> Party:
    """``party`` counted against ``limiter``: 429 with ``Retry-After`` naming ``setting`` when over it.

    ``what`` says what the party did, with ``{limit}`` for the limit's number.
    """
    if limiter is None:
        return party
    now_s = services.clock.now_s()
    if isinstance(limiter, RateLimiter):  # in memory: no I/O, on the event loop
        wait_s = limiter.admit(party.name, now_s)
    else:  # counted in the database, for the cluster
        wait_s = await run_in_threadpool(limiter.admit, party.name, now_s)
    if wait_s is None:
        return party
    retry_after_s = max(1, math.ceil(wait_s))
    raise HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"party {party.name!r} {what.format(limit=limiter.limit)} in the last "
        f"{RATE_WINDOW_S:.0f} s ({setting}); retry in {retry_after_s} s",
        headers={"Retry-After": str(retry_after_s)},
    )


async def rated_sender(request: Request, party: CurrentParty) -> Party:
    """The caller, counted against its hotline rate: 429 with ``Retry-After`` past ``messages_per_minute``.

    A dependency of ``POST /v1/messages``, after authentication (no second
    token lookup); messages sent over ``/v1/events`` count against the same
    limiter, ``Services.rate``.
    """
    services: Services = request.app.state.services
    return await _admit(services, services.rate, party, "sent {limit} messages", "messages_per_minute")


async def rated_filer(request: Request, party: CurrentParty) -> Party:
    """The caller, counted against its filing rate: 429 with ``Retry-After`` past ``filings_per_minute``."""
    services: Services = request.app.state.services
    return await _admit(
        services, services.filing_rate, party, "filed or amended {limit} operations", "filings_per_minute"
    )


async def rated_withdrawer(request: Request, party: CurrentParty) -> Party:
    """The caller, counted against its withdrawal rate: 429 with ``Retry-After`` past the setting.

    The setting is ``withdrawals_per_minute``.
    """
    services: Services = request.app.state.services
    return await _admit(
        services, services.withdrawal_rate, party, "withdrew {limit} operations", "withdrawals_per_minute"
    )


RatedSender = Annotated[Party, Depends(rated_sender)]
"""The authenticated caller of a hotline send, within its rate."""
RatedFiler = Annotated[Party, Depends(rated_filer)]
"""The authenticated caller of a filing or an amendment, within its rate."""
RatedWithdrawer = Annotated[Party, Depends(rated_withdrawer)]
"""The authenticated caller of a withdrawal, within its rate."""
