"""The app factory: one FastAPI app per call, its storage opened by its lifespan."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, status
from fastapi.exceptions import RequestValidationError

from deconflict import __version__
from deconflict.api import cluster, problems
from deconflict.api.deps import Services
from deconflict.api.limits import RequestLimits
from deconflict.api.metrics import Metrics
from deconflict.api.middleware import RequestObserver
from deconflict.api.rates import RATE_WINDOW_S, RateLimiter
from deconflict.api.routers import audit as audit_routes
from deconflict.api.routers import blind as blind_routes
from deconflict.api.routers import catalogue as catalogue_routes
from deconflict.api.routers import conflicts, disclosures, docs, health, operations
from deconflict.api.routers import events as event_routes
from deconflict.api.routers import map as map_routes
from deconflict.api.routers import messages as message_routes
from deconflict.api.routers import ops as ops_routes
from deconflict.api.routers import parties as party_routes
from deconflict.api.routers import stats as stats_routes
from deconflict.api.routers import tracks as tracks_routes
from deconflict.api.routers import ui as ui_routes
from deconflict.api.routers import zones as zone_routes
from deconflict.channel.catalogue import load_catalogue
from deconflict.channel.cluster import (
    SCHEDULER_LEASE,
    Coordination,
    SharedRate,
    SoleHolder,
    default_node_name,
)
from deconflict.channel.deadlines import Clock, SystemClock
from deconflict.channel.events import EventBus
from deconflict.channel.gating import StorePlanAreas
from deconflict.channel.live import LivePicture
from deconflict.channel.logins import MINUTE_S, LoginFailures
from deconflict.channel.overlays import read_overlays
from deconflict.channel.service.logins import record_counted_login_failures
from deconflict.channel.stores import Storage
from deconflict.config import Settings
from deconflict.errors import (
    DeconflictError,
)

__all__ = ["create_app"]

_DESCRIPTION = """\
The deconfliction channel between parties that share an airspace.

Every `/v1` route but `/v1/health` and `/v1/ready` needs `Authorization: Bearer <token>`
(from `deconflict party add`; the metrics are the operator's, not on this port). A party reads and changes
only its own operations; of a conflict with another party's plan it learns only the
shared facts.

`WebSocket /v1/events` (not listed below: OpenAPI has no WebSockets) pushes each
party its own events as JSON frames: `conflict`, `message`, `acknowledgement`,
`deadline_passed`, `escalation`, and (to the two parties whose aircraft are
involved, each from its own side) `alert`, `incident`, `incident_comment`;
`probe_alarm` when another party's filings look like a probe of the party's
plans (an entry of its `GET /v1/disclosures` ledger).
Authenticate with the same `Authorization` header, or (browsers) a first frame
`{"type": "auth", "token": "..."}`; a bad token is closed with code 1008, a frame
that is not JSON (or nests deeper than 32 levels) with 1007. Once the token is
revoked, or rotated out past its grace, the socket is closed with 4001 `token
revoked` or 4002 `token expired`.
"""


def _record_counted_logins(services: Services) -> None:
    if services.logins is not None:
        record_counted_login_failures(services.audit, services.logins, services.clock.now_s())


def _per_minute(shared: Coordination | None, name: str, limit: int) -> SharedRate:
    """A party's rate called ``name``: counted in this process, or for the cluster when nodes share it."""
    if shared is None:
        return RateLimiter(limit)
    return shared.rate(name, limit, RATE_WINDOW_S)


def _login_failures(shared: Coordination | None, settings: Settings) -> LoginFailures:
    """Failed logins per source: limited for the cluster when nodes share the database."""
    limit = settings.login_failures_per_minute
    rate = None if shared is None else shared.rate("logins", limit, MINUTE_S)
    return LoginFailures(settings.login_failure_interval_s, limit, rate)


def create_app(settings: Settings, *, storage: Storage | None = None, clock: Clock | None = None) -> FastAPI:
    """A new channel-service app.

    Parameters
    ----------
    settings
        Where the database is, buffers, limits, the map's overlay files.
    storage
        The stores to use instead of opening those the settings choose; the
        caller keeps it (the app closes only a storage it opened itself).
    clock
        Where the time comes from (deadlines, timestamps); the system clock by default.

    Raises
    ------
    InputError
        If an overlay file of ``settings.map_overlays`` is bad (naming the file, feature and field).

    Notes
    -----
    The storage is opened when the app starts (its lifespan), not here: serve it
    with uvicorn, or in tests enter ``with TestClient(app) as client``.
    """
    # Imported here: the storage package implements the domain's protocols and
    # the API only chooses it through the settings.
    from deconflict.storage import open_storage

    # Read once, at start: a bad overlay file is an InputError here, before the app serves anything.
    overlays = read_overlays(settings.map_overlays)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if storage is not None:
                stores: Storage = storage
            else:
                stores = stack.enter_context(open_storage(settings))
            bus = EventBus(
                settings.events_max_queued, settings.events_max_connections_per_party, stores.outbox
            )
            if settings.nats_url is not None and settings.db_url is not None:
                # Events cross nodes through the stream: the relay and this node's delivery.
                from deconflict.storage.relay import EventRelay, nats_urls

                relay = EventRelay(
                    settings.db_url.get_secret_value(),
                    nats_urls(settings.nats_url),
                    bus,
                    settings.nats_stream_replicas,
                    settings.events_keep_s,
                )
                await relay.start()
                stack.push_async_callback(relay.stop)
                app.state.relay = relay
            # One name per process: a node restarted under its name is not taken for its former self
            # (whose sockets and lease it would keep alive).
            node = f"{settings.node_name or default_node_name()}#{secrets.token_hex(3)}"
            shared = stores.coordination(node)  # None: this node is alone on its database
            plans = StorePlanAreas(
                stores.operations, parties=lambda: [p.name for p in stores.parties.list_parties()]
            )
            app.state.services = Services(
                settings=settings,
                storage=stores,
                catalogue=load_catalogue(),
                clock=clock if clock is not None else SystemClock(),
                public_ids=stores.audit.public_ids,
                events=bus,
                live=LivePicture.resume(
                    tracks_routes.live_settings(settings), stores.incidents, plans, plans
                ),
                tactical=stores.incidents,
                rate=_per_minute(shared, "messages", settings.messages_per_minute),
                logins=_login_failures(shared, settings),
                filing_rate=_per_minute(shared, "filings", settings.filings_per_minute),
                withdrawal_rate=_per_minute(shared, "withdrawals", settings.withdrawals_per_minute),
                lease=SoleHolder() if shared is None else shared.lease(SCHEDULER_LEASE, settings.lease_ttl_s),
                connections=None if shared is None else shared.connections(settings.lease_ttl_s),
                track_posts=None if shared is None else shared.track_posts(),
                live_mirror=None if shared is None else shared.live_mirror(),
            )
            if shared is not None:
                # First: the node that takes the lease continues the live picture before its first cycle.
                holder = asyncio.create_task(cluster.hold_lease(app.state.services, node))
                stack.push_async_callback(event_routes.stop_task, holder)
                posts = shared.track_posts()
                follower = asyncio.create_task(cluster.follow_tracks(app.state.services, posts))
                stack.push_async_callback(event_routes.stop_task, follower)
            # Failed logins still only counted are recorded before the stores close.
            stack.callback(_record_counted_logins, app.state.services)
            # Passed deadlines are pushed even when no request comes in to notice them.
            sweeper = asyncio.create_task(event_routes.sweep_deadlines(app.state.services))
            stack.push_async_callback(event_routes.stop_task, sweeper)
            # Events older than events_keep_s leave the outbox.
            pruner = asyncio.create_task(event_routes.prune_events(app.state.services))
            stack.push_async_callback(event_routes.stop_task, pruner)
            # Revoked and expired tokens end their open connections (the CLI changes the database).
            guard = asyncio.create_task(event_routes.end_stale_sessions(app.state.services))
            stack.push_async_callback(event_routes.stop_task, guard)
            # Live detection runs every tactical_cycle_s over all parties' latest states.
            detection = asyncio.create_task(
                tracks_routes.run_cycles(app.state.services, app.state.metrics.cycle_seconds.observe)
            )
            stack.push_async_callback(event_routes.stop_task, detection)
            yield
            del app.state.services

    app = FastAPI(
        title="deconflict channel",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        # /docs is served from the service's own files (routers/docs.py), never from a CDN;
        # ReDoc would load from one, so it is off.
        docs_url=None,
        redoc_url=None,
    )
    app.state.overlays = map_routes.overlays_body(overlays)
    app.add_exception_handler(DeconflictError, problems.domain_error_handler)
    app.add_exception_handler(RequestValidationError, problems.validation_error_handler)
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, problems.method_not_allowed_handler)
    app.add_middleware(RequestLimits)
    # Outermost: requests refused by the limits are logged and counted too.
    app.state.metrics = Metrics(lambda: getattr(app.state, "services", None))
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    for module in (
        health,
        party_routes,
        operations,
        zone_routes,
        conflicts,
        disclosures,
        catalogue_routes,
        map_routes,
        message_routes,
        audit_routes,
        event_routes,
        stats_routes,
        tracks_routes,
        ops_routes,
        blind_routes,
        ui_routes,
        docs,
    ):
        app.include_router(module.router)
    return app
