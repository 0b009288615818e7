"""Dependencies of the routes, as ``Annotated`` aliases: services, the caller, If-Match, time, language."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deconflict.channel.audit import AuditLog
from deconflict.channel.blind_relay import BlindRelayStore
from deconflict.channel.catalogue import Catalogue, choose_language
from deconflict.channel.cluster import (
    Lease,
    LiveMirror,
    SharedConnections,
    SharedRate,
    SoleHolder,
    TrackPosts,
)
from deconflict.channel.conflicts import ConflictStateStore
from deconflict.channel.deadlines import Clock, HotlineStore
from deconflict.channel.events import EventBus
from deconflict.channel.ledger import DisclosureLedger
from deconflict.channel.live import IncidentStore, LivePicture, TacticalHistory
from deconflict.channel.logins import LoginFailures
from deconflict.channel.parties import Party, PartyStore, authenticate
from deconflict.channel.public_ids import IdKind, PublicIds, new_secret
from deconflict.channel.service.logins import record_login_failure
from deconflict.channel.service.messages import pass_deadlines
from deconflict.channel.stores import Storage
from deconflict.channel.zones import ZoneStore
from deconflict.config import Settings
from deconflict.errors import AuthenticationError, DeconflictError, InputError, Problem
from deconflict.strategic.store import Store

__all__ = [
    "AuditDep",
    "BlindRelayDep",
    "CatalogueDep",
    "ConflictRow",
    "ConflictStatesDep",
    "CurrentParty",
    "EventsDep",
    "HotlineDep",
    "HotlineNow",
    "IfMatch",
    "IncidentRow",
    "Language",
    "LedgerDep",
    "MessageRow",
    "Now",
    "PartyStoreDep",
    "PublicIdsDep",
    "RowId",
    "Services",
    "SettingsDep",
    "StoreDep",
    "ZonesDep",
    "current_party",
    "if_match_version",
]


@dataclass(frozen=True)
class Services:
    """What one app instance runs on; built by the app's lifespan, never at import."""

    settings: Settings
    storage: Storage
    """Every store, over one database (``deconflict.storage.open_storage``)."""
    catalogue: Catalogue
    clock: Clock
    public_ids: PublicIds = field(default_factory=lambda: PublicIds(new_secret()))
    """The ids parties are shown (the database's permutations); a random secret of its own by default."""
    events: EventBus = field(default_factory=EventBus)
    live: LivePicture | None = None
    """The live picture (tracks, alerts, open incidents); ``None`` runs without it."""
    tactical: TacticalHistory | None = None
    """Counts of past alerts and incidents for statistics (the storage's incidents); ``None`` counts none."""
    rate: SharedRate | None = None
    """Each party's hotline rate (``messages_per_minute``), however it sends; ``None`` limits nothing.
    Counted in this process's memory (:class:`~deconflict.api.rates.RateLimiter`), or in the database
    when nodes share it."""
    logins: LoginFailures | None = None
    """Failed logins per source: aggregated in the audit log, limited; ``None`` records each one."""
    filing_rate: SharedRate | None = None
    """Each party's filings and amendments (``filings_per_minute``); ``None`` limits nothing."""
    withdrawal_rate: SharedRate | None = None
    """Each party's withdrawals (``withdrawals_per_minute``); ``None`` limits nothing."""
    lease: Lease = field(default_factory=SoleHolder)
    """The scheduler's lease (:mod:`deconflict.channel.cluster`): deadlines and detection run while held."""
    connections: SharedConnections | None = None
    """Each party's event connections over every node (sharing the database); ``None``: this node's only."""
    track_posts: TrackPosts | None = None
    """Where posted states go for the other nodes (sharing the database); ``None``: no other nodes."""
    live_mirror: LiveMirror | None = None
    """Where the cycle's node leaves its alerts and incidents for the others; ``None``: no other nodes."""

    # The stores the routes use, by the names they use them.

    @property
    def store(self) -> Store:
        """Operations, volumes and conflicts."""
        return self.storage.operations

    @property
    def parties(self) -> PartyStore:
        return self.storage.parties

    @property
    def messages(self) -> HotlineStore:
        return self.storage.messages

    @property
    def audit(self) -> AuditLog:
        return self.storage.audit

    @property
    def conflict_states(self) -> ConflictStateStore:
        return self.storage.conflict_states

    @property
    def incidents(self) -> IncidentStore:
        """Incidents, their comments and the alert log."""
        return self.storage.incidents

    @property
    def ledger(self) -> DisclosureLedger:
        """Where disclosures to other parties are recorded for their subject."""
        return self.storage.ledger

    @property
    def zones(self) -> ZoneStore:
        """Geographical zones published by parties."""
        return self.storage.zones

    @property
    def blind(self) -> BlindRelayStore:
        """Blind sessions and their opaque messages."""
        return self.storage.blind


def _services(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the app is not started: run it under its lifespan (e.g. `with TestClient(app)`)")
    return services


# The getters below are ``async`` because they do no I/O: FastAPI then runs them on
# the event loop instead of handing each to a worker thread (a hop per dependency
# per request, the largest share of a message's cost before).


async def _settings(request: Request) -> Settings:
    return _services(request).settings


async def _store(request: Request) -> Store:
    return _services(request).store


async def _party_store(request: Request) -> PartyStore:
    return _services(request).parties


async def _hotline(request: Request) -> HotlineStore:
    return _services(request).messages


async def _catalogue(request: Request) -> Catalogue:
    return _services(request).catalogue


async def _audit(request: Request) -> AuditLog:
    return _services(request).audit


async def _events(request: Request) -> EventBus:
    return _services(request).events


async def _conflict_states(request: Request) -> ConflictStateStore:
    conflict_states = _services(request).conflict_states
    if conflict_states is None:
        raise RuntimeError("the app runs without a conflict lifecycle store")
    return conflict_states


async def _ledger(request: Request) -> DisclosureLedger | None:
    return _services(request).ledger


async def _zones(request: Request) -> ZoneStore:
    return _services(request).zones


async def _blind(request: Request) -> BlindRelayStore:
    return _services(request).blind


async def _public_ids(request: Request) -> PublicIds:
    return _services(request).public_ids


async def _now(request: Request) -> float:
    return _services(request).clock.now_s()


SettingsDep = Annotated[Settings, Depends(_settings)]
HotlineDep = Annotated[HotlineStore, Depends(_hotline)]
CatalogueDep = Annotated[Catalogue, Depends(_catalogue)]
StoreDep = Annotated[Store, Depends(_store)]
PartyStoreDep = Annotated[PartyStore, Depends(_party_store)]
AuditDep = Annotated[AuditLog, Depends(_audit)]
ConflictStatesDep = Annotated[ConflictStateStore, Depends(_conflict_states)]
LedgerDep = Annotated[DisclosureLedger | None, Depends(_ledger)]
"""The disclosure ledger, or ``None`` when the app runs without one."""
EventsDep = Annotated[EventBus, Depends(_events)]
"""The app's event bus: pass it to the :mod:`~deconflict.channel.service` functions that publish."""
ZonesDep = Annotated[ZoneStore, Depends(_zones)]
"""Published geographical zones: every filing is checked against them."""
BlindRelayDep = Annotated[BlindRelayStore, Depends(_blind)]
"""The blind relay: sessions and the opaque messages of their two parties."""
PublicIdsDep = Annotated[PublicIds, Depends(_public_ids)]
"""The ids parties are shown (:mod:`deconflict.channel.public_ids`): encode every id a response carries."""
Now = Annotated[float, Depends(_now)]
"""Seconds since the epoch now, by the app's clock."""

_bearer = HTTPBearer(auto_error=False, description="the party's token, from `deconflict party add`")


def current_party(
    request: Request,
    parties: PartyStoreDep,
    audit: AuditDep,
    now_s: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Party:
    """The party the request's bearer token belongs to; 401 otherwise, recorded in the audit log.

    The log keeps why, the client's address and the SHA-256 of what was
    presented, never the token; failures of one source are aggregated, and a
    source over ``login_failures_per_minute`` gets 429 with ``Retry-After``
    (:mod:`deconflict.channel.logins`).
    """
    if credentials is None:
        _login_failed(request, parties, audit, None, now_s)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or malformed Authorization header: expected 'Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        party = authenticate(parties, credentials.credentials, now_s)
    except AuthenticationError as exc:
        _login_failed(request, parties, audit, credentials.credentials, now_s)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            str(exc),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    request.state.party = party.name  # for the request's log line (deconflict.api.middleware)
    return party


def _login_failed(
    request: Request, parties: PartyStore, audit: AuditLog, token: str | None, now_s: float
) -> None:
    """Record a failed login; 429 when its source is over its failure rate."""
    source = request.client.host if request.client is not None else "unknown"
    retry_after_s = record_login_failure(
        audit,
        parties,
        request.headers.get("Authorization"),
        token,
        now_s,
        source=source,
        failures=_services(request).logins,
    )
    if retry_after_s is not None:
        seconds = max(1, math.ceil(retry_after_s))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins from {source}: retry in {seconds} s (login_failures_per_minute)",
            headers={"Retry-After": str(seconds)},
        )


CurrentParty = Annotated[Party, Depends(current_party)]


async def if_match_version(
    if_match: Annotated[
        str | None, Header(description='the version the change applies to, e.g. `"3"` (an ETag)')
    ] = None,
) -> int:
    """The version named by ``If-Match``: 428 when missing, 422 when not a version."""
    if if_match is None:
        raise HTTPException(
            status.HTTP_428_PRECONDITION_REQUIRED,
            "If-Match header required: the version you read (the operation's ETag)",
        )
    text = if_match.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise InputError(  # 422 with the body of every other bad input
            [
                Problem(
                    "request",
                    f'expected an operation version such as "3", got {if_match!r}',
                    "header",
                    "If-Match",
                )
            ]
        )
    return int(text)


IfMatch = Annotated[int, Depends(if_match_version)]


def _now_after_deadlines(request: Request) -> float:
    """The clock's time, after recording the deadlines it has passed (idempotent)."""
    services = _services(request)
    now_s = services.clock.now_s()
    pass_deadlines(
        services.messages,
        services.audit,
        now_s,
        services.settings.escalation_ladder_s,
        services.events,
        services.lease,
    )
    return now_s


HotlineNow = Annotated[float, Depends(_now_after_deadlines)]
"""Seconds since the epoch now; overdue messages are marked and escalations recorded first."""


async def _language(
    lang: Annotated[
        Literal["en", "ru"] | None,  # the catalogue's LANGUAGES, so the document lists them
        Query(description="language of rendered texts; default: Accept-Language"),
    ] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> str:
    return choose_language(lang, accept_language)


Language = Annotated[str, Depends(_language)]
"""The language the caller reads in: ``?lang=``, else the best match of ``Accept-Language``, else en."""


@dataclass(frozen=True)
class RowId:
    """The row a path's public id names (:data:`~deconflict.channel.public_ids.NO_ROW` for none).

    ``shown`` is the id as the caller wrote it: errors about the row name that,
    never the row id (which would count the channel's rows).
    """

    kind: IdKind
    row: int
    shown: str

    @contextmanager
    def public_errors(self) -> Iterator[None]:
        """Errors raised inside name the row by the caller's id (an unknown id reads as any missing one)."""
        try:
            yield
        except DeconflictError as exc:
            if exc.args and isinstance(exc.args[0], str):
                shown = f"{self.kind} {self.shown}"  # any text: never read as a template
                text = re.sub(rf"\b{self.kind} {self.row}\b", lambda _: shown, exc.args[0])
                exc.args = (text, *exc.args[1:])
            raise


def _row_id(request: Request, kind: IdKind, public: str) -> RowId:
    return RowId(kind, _services(request).public_ids.row(kind, public), public)


# One function per path name: FastAPI reads the parameter's name and type from each.
async def _message_row(
    request: Request, message_id: Annotated[str, Path(description="the message's id")]
) -> RowId:
    return _row_id(request, IdKind.MESSAGE, message_id)


async def _conflict_row(
    request: Request, conflict_id: Annotated[str, Path(description="the conflict's id")]
) -> RowId:
    return _row_id(request, IdKind.CONFLICT, conflict_id)


async def _incident_row(
    request: Request, incident_id: Annotated[str, Path(description="the incident's id")]
) -> RowId:
    return _row_id(request, IdKind.INCIDENT, incident_id)


MessageRow = Annotated[RowId, Depends(_message_row)]
"""The message of the path's ``{message_id}``; any text is taken (one that names no row is not found)."""
ConflictRow = Annotated[RowId, Depends(_conflict_row)]
"""The conflict of the path's ``{conflict_id}``."""
IncidentRow = Annotated[RowId, Depends(_incident_row)]
"""The incident of the path's ``{incident_id}``."""
