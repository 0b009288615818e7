"""The app factory: one FastAPI app per call, its stores opened by its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol, TypeVar

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from deconflict import __version__
from deconflict.api.deps import Services
from deconflict.api.routers import audit as audit_routes
from deconflict.api.routers import catalogue as catalogue_routes
from deconflict.api.routers import conflicts, health, operations
from deconflict.api.routers import events as event_routes
from deconflict.api.routers import messages as message_routes
from deconflict.api.routers import parties as party_routes
from deconflict.api.schemas import ProblemOut, ProblemsOut
from deconflict.channel.audit import AuditLog
from deconflict.channel.catalogue import load_catalogue
from deconflict.channel.conflicts import ConflictStateStore
from deconflict.channel.deadlines import Clock, HotlineStore, SystemClock
from deconflict.channel.events import EventBus
from deconflict.channel.parties import PartyStore
from deconflict.config import Settings
from deconflict.errors import (
    AlreadyExistsError,
    DeconflictError,
    InputError,
    NotFoundError,
    StaleVersionError,
    TransitionError,
)
from deconflict.strategic.store import Store


class _Closable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closable)

__all__ = ["create_app"]

_DESCRIPTION = """\
The deconfliction channel between parties that share an airspace.

Every `/v1` route but `/v1/health` needs `Authorization: Bearer <token>` (from
`deconflict party add`). A party reads and changes only its own operations; of a
conflict with another party's plan it learns only the shared facts.

`WebSocket /v1/events` (not listed below: OpenAPI has no WebSockets) pushes each
party its own events as JSON frames: `conflict`, `message`, `acknowledgement`,
`deadline_passed`, `escalation`. Authenticate with the same `Authorization`
header, or (browsers) a first frame `{"type": "auth", "token": "..."}`; a bad
token is closed with code 1008.
"""


def _error_response(request: Request, exc: Exception) -> JSONResponse:
    """The HTTP answer to one of our exceptions: same message, the fitting 4xx."""
    if isinstance(exc, InputError):
        problems = [
            ProblemOut(msg=p.message, source=p.source, record=p.record, field=p.field) for p in exc.problems
        ]
        body = ProblemsOut(detail=problems)
        return JSONResponse(body.model_dump(), status.HTTP_422_UNPROCESSABLE_CONTENT)
    if isinstance(exc, StaleVersionError):
        if exc.current_version is None:  # an update of an operation the caller does not have
            return JSONResponse({"detail": f"no operation {exc.operation_id!r}"}, status.HTTP_404_NOT_FOUND)
        return JSONResponse(
            {"detail": str(exc), "current_version": exc.current_version},
            status.HTTP_409_CONFLICT,
            headers={"ETag": f'"{exc.current_version}"'},
        )
    if isinstance(exc, NotFoundError):
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, TransitionError):
        return JSONResponse({"detail": str(exc), "current": exc.current}, status.HTTP_409_CONFLICT)
    if isinstance(exc, AlreadyExistsError):
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)
    return JSONResponse({"detail": str(exc)}, status.HTTP_400_BAD_REQUEST)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    parties: PartyStore | None = None,
    messages: HotlineStore | None = None,
    clock: Clock | None = None,
    audit: AuditLog | None = None,
    conflict_states: ConflictStateStore | None = None,
) -> FastAPI:
    """A new channel-service app.

    Parameters
    ----------
    settings
        Where the database is, buffers, limits.
    store, parties, messages, audit, conflict_states
        Stores to use instead of opening those the settings choose; the caller
        keeps them (the app closes only the stores it opened itself).
    clock
        Where the time comes from (deadlines, timestamps); the system clock by default.

    Notes
    -----
    Stores are opened when the app starts (its lifespan), not here: serve it
    with uvicorn, or in tests enter ``with TestClient(app) as client``.
    """
    # Imported here: the storage package implements the domain's protocols and
    # the API only chooses it through the settings.
    from deconflict.storage import (
        open_audit_log,
        open_conflict_states,
        open_message_store,
        open_party_store,
        open_store,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:

            def own(given: _C | None, opener: Callable[[Settings], _C]) -> _C:
                """The store given (the caller closes it), or one opened here and closed at shutdown."""
                if given is not None:
                    return given
                opened = opener(settings)
                stack.callback(opened.close)
                return opened

            own_store = own(store, open_store)
            own_parties = own(parties, open_party_store)
            own_messages = own(messages, open_message_store)
            own_audit = own(audit, open_audit_log)
            own_states = own(conflict_states, open_conflict_states)
            app.state.services = Services(
                settings=settings,
                store=own_store,
                parties=own_parties,
                messages=own_messages,
                catalogue=load_catalogue(),
                clock=clock if clock is not None else SystemClock(),
                audit=own_audit,
                conflict_states=own_states,
                events=EventBus(settings.events_max_queued, settings.events_max_connections_per_party),
            )
            # Passed deadlines are pushed even when no request comes in to notice them.
            sweeper = asyncio.create_task(event_routes.sweep_deadlines(app.state.services))
            stack.push_async_callback(event_routes.stop_task, sweeper)
            yield
            del app.state.services

    app = FastAPI(
        title="deconflict channel",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_exception_handler(DeconflictError, _error_response)
    for module in (
        health,
        party_routes,
        operations,
        conflicts,
        catalogue_routes,
        message_routes,
        audit_routes,
        event_routes,
    ):
        app.include_router(module.router)
    return app
