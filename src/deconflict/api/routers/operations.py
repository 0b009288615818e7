"""``/v1/operations``: a party files, amends, withdraws and reads its own operations.

Every route works on the caller's operations only: another party's operation
is not found (404), never forbidden, so its existence does not leak. An
operation is bounded in area, time span and altitude span (422 naming the
setting); filings and withdrawals are rate-limited per party (429 with
``Retry-After``); each conflict found is recorded in the other side's
disclosure ledger, and a withdrawal right after a filing revealed other
parties' plans raises a probe alarm to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from deconflict.api.deps import (
    AuditDep,
    ConflictStatesDep,
    CurrentParty,
    EventsDep,
    IfMatch,
    LedgerDep,
    Now,
    PublicIdsDep,
    SettingsDep,
    StoreDep,
    ZonesDep,
    current_party,
)
from deconflict.api.limits import RatedFiler, RatedWithdrawer
from deconflict.api.schemas.common import COMMON_RESPONSES, ErrorOut, ProblemsOut
from deconflict.api.schemas.conflicts import ConflictOut
from deconflict.api.schemas.operations import (
    DOWNLOAD_MEDIA_TYPES,
    OPERATION_ID_PATTERN,
    FilingOut,
    OperationCreate,
    OperationExtend,
    OperationOut,
    OperationUpdate,
    PlanFormat,
    ReadableFormat,
    VersionConflictOut,
    VolumeCollectionOut,
)
from deconflict.channel.audit import AuditLog
from deconflict.channel.conflicts import ConflictStateStore
from deconflict.channel.disclosure import conflict_view
from deconflict.channel.events import EventSink
from deconflict.channel.ledger import DisclosureLedger
from deconflict.channel.plans import plan_volumes
from deconflict.channel.public_ids import PublicIds
from deconflict.channel.service.operations import (
    activate_plan,
    extend_plan,
    file_plan,
    release_plan,
    withdraw_plan,
)
from deconflict.channel.zones import ZoneStore
from deconflict.config import Settings
from deconflict.errors import InputError, NotFoundError, Problem
from deconflict.formats import decode_document, parse_plan, write_plan
from deconflict.formats.notam import DEFAULT_FIR
from deconflict.strategic.filing import FilingResult
from deconflict.strategic.geojson import volume_feature
from deconflict.strategic.store import Store
from deconflict.strategic.volume import Operation
from deconflict.strategic.zones import Zone

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/operations",
    tags=["operations"],
    dependencies=[Depends(current_party)],
    responses=COMMON_RESPONSES,
)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
_RATED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorOut, "description": "over the party's filing or withdrawal rate; see Retry-After"},
}
_CHANGE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut},
    409: {"model": VersionConflictOut, "description": "stale If-Match: the body names the current version"},
    422: {"model": ProblemsOut},
    428: {"model": ErrorOut, "description": "If-Match missing"},
    **_RATED,
}


def _set_version_headers(response: Response, operation: Operation) -> None:
    response.headers["ETag"] = f'"{operation.version}"'


def _operation_out(response: Response, operation: Operation) -> OperationOut:
    """The operation as a change returns it, its version in the ``ETag`` header."""
    _set_version_headers(response, operation)
    return OperationOut.of(operation)


def _filing_out(response: Response, result: FilingResult, party: str, ids: PublicIds) -> FilingOut:
    """A filing as a change returns it (the conflicts it found), its version in the ``ETag`` header."""
    _set_version_headers(response, result.operation)
    views = [
        conflict_view(c, party, conflict_id=i, state="open")
        for c, i in zip(result.conflicts, result.conflict_ids, strict=True)
    ]
    return FilingOut(
        operation=OperationOut.of(result.operation), conflicts=[ConflictOut.of(v, ids) for v in views]
    )


def _published(zones: ZoneStore | None) -> list[tuple[str, Zone]]:
    """The zones published now, each with its authority: what a filing is checked against."""
    return [] if zones is None else [(z.party, z.zone) for z in zones.list_zones()]


@dataclass(frozen=True)
class _Change:
    """What a change of an operation (amend, withdraw, release, extend) needs: one dependency for each."""

    store: Store
    audit: AuditLog
    now_s: float
    settings: Settings
    events: EventSink
    conflict_states: ConflictStateStore
    ledger: DisclosureLedger | None
    zones: ZoneStore

    def end(
        self, end_plan: Callable[..., Operation], party: str, operation_id: str, version: int
    ) -> Operation:
        """Withdraw or release (``end_plan``) one of ``party``'s operations."""
        return end_plan(
            self.store,
            self.audit,
            party,
            operation_id,
            version,
            self.now_s,
            self.conflict_states,
            ledger=self.ledger,
            probes=self.settings.probe_rules(),
            events=self.events,
        )


def _change(
    store: StoreDep,
    audit: AuditDep,
    now_s: Now,
    settings: SettingsDep,
    events: EventsDep,
    conflict_states: ConflictStatesDep,
    ledger: LedgerDep,
    zones: ZonesDep,
) -> _Change:
    return _Change(store, audit, now_s, settings, events, conflict_states, ledger, zones)


ChangeDep = Annotated[_Change, Depends(_change)]


def _file(
    store: Store,
    audit: AuditLog,
    now_s: float,
    settings: Settings,
    party: str,
    operation_id: str,
    body: OperationCreate | OperationUpdate,
    replaces_version: int | None,
    events: EventSink | None = None,
    conflict_states: ConflictStateStore | None = None,
    ledger: DisclosureLedger | None = None,
    zones: ZoneStore | None = None,
) -> FilingResult:
    document = body.document()
    volumes = plan_volumes(document, party, limits=settings.limits())
    return file_plan(
        store,
        audit,
        party,
        operation_id,
        volumes,
        document=document,
        priority=body.priority,
        replaces_version=replaces_version,
        buffers=settings.buffers(),
        limits=settings.limits(),
        now_s=now_s,
        events=events,
        conflict_states=conflict_states,
        ledger=ledger,
        probes=settings.probe_rules(),
        zones=_published(zones),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FilingOut,
    responses={409: {"model": VersionConflictOut}, 422: {"model": ProblemsOut}, **_RATED},
)
def file_new(
    body: OperationCreate,
    party: RatedFiler,
    store: StoreDep,
    audit: AuditDep,
    now_s: Now,
    settings: SettingsDep,
    events: EventsDep,
    ledger: LedgerDep,
    zones: ZonesDep,
    response: Response,
    ids: PublicIdsDep,
) -> FilingOut:
    """File a new operation; the strategic check runs atomically with the commit.

    Each applicable restriction of a published zone it enters is a conflict with
    the zone's authority, with the zone's public facts.
    """
    result = _file(
        store, audit, now_s, settings, party.name, body.id, body, None, events, None, ledger, zones
    )
    response.headers["Location"] = f"/v1/operations/{result.operation.id}"
    return _filing_out(response, result, party.name, ids)


@router.put("/{operation_id}", response_model=FilingOut, responses=_CHANGE)
def amend(
    operation_id: str,
    body: OperationUpdate,
    version: IfMatch,
    party: RatedFiler,
    change: ChangeDep,
    response: Response,
    ids: PublicIdsDep,
) -> FilingOut:
    """Replace an operation's volumes and priority; ``If-Match`` names the version replaced.

    It is checked against the zones published now, as a new filing is.
    """
    if body.id is not None and body.id != operation_id:
        raise InputError(
            [
                Problem(
                    "request",
                    f"{body.id!r} differs from the operation in the URL, {operation_id!r}",
                    None,
                    "id",
                )
            ]
        )
    c = change
    result = _file(
        c.store,
        c.audit,
        c.now_s,
        c.settings,
        party.name,
        operation_id,
        body,
        version,
        c.events,
        c.conflict_states,
        c.ledger,
        c.zones,
    )
    return _filing_out(response, result, party.name, ids)


@router.post("/{operation_id}/withdraw", response_model=OperationOut, responses=_CHANGE)
def withdraw(
    operation_id: str,
    version: IfMatch,
    party: RatedWithdrawer,
    change: ChangeDep,
    response: Response,
) -> OperationOut:
    """Withdraw an operation: its volumes stop conflicting; its conflicts become resolved (withdrawn).

    Withdrawn within ``probe_window_s`` of its conflicts being found, it raises a
    probe alarm to the party on the other side of each.
    """
    return _operation_out(response, change.end(withdraw_plan, party.name, operation_id, version))


async def _upload(request: Request) -> bytes:
    return await request.body()


_CONVERT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a plan file as uploaded: GeoJSON, F3548, ED-269 or ED-318 JSON, or ICAO NOTAM text",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/convert",
    response_model=VolumeCollectionOut,
    responses={422: {"model": ProblemsOut}},
    openapi_extra=_CONVERT_BODY,
)
def convert(
    party: CurrentParty,
    settings: SettingsDep,
    upload: Annotated[bytes, Depends(_upload)],
    plan_format: Annotated[
        ReadableFormat | None,
        Query(alias="format", description="the file's format; omitted: told from its content"),
    ] = None,
    operation_id: Annotated[
        str | None,
        Query(
            alias="operation",
            pattern=OPERATION_ID_PATTERN,
            description="the operation the volumes are for (default: the file's own, F3548 or NOTAM)",
        ),
    ] = None,
    name: Annotated[
        str, Query(max_length=255, description="the file's name, as problems name it")
    ] = "upload",
) -> VolumeCollectionOut:
    """A plan file in any format the command line reads, as the GeoJSON this API files.

    Nothing is filed: the page uploads a file here, then files (``POST``) or amends
    (``PUT``) the volumes returned. Every volume is the caller's.
    """
    limits = settings.limits()
    document = decode_document(upload, name, limits, plan_format)
    _, volumes = parse_plan(document, name, party.name, plan_format, operation_id, limits)
    foreign = sorted({v.party for v in volumes if v.party != party.name})
    if foreign:
        message = (
            f"names party {foreign[0]!r}, but the plan is filed by {party.name!r}: "
            "a party files only its own plans"
        )
        raise InputError([Problem(name, message, None, "party")])
    return VolumeCollectionOut(features=[volume_feature(v) for v in volumes])


_TRANSITION: dict[int | str, dict[str, Any]] = {
    **_CHANGE,
    409: {
        "model": VersionConflictOut,
        "description": "stale If-Match (the body names the current version), or a state not allowing it",
    },
}


@router.post("/{operation_id}/activate", response_model=OperationOut, responses=_TRANSITION)
def activate(
    operation_id: str,
    version: IfMatch,
    party: CurrentParty,
    store: StoreDep,
    audit: AuditDep,
    now_s: Now,
    events: EventsDep,
    response: Response,
) -> OperationOut:
    """Activate a proposed or accepted operation: its activity has started.

    Allowed from 30 minutes before its earliest start until its latest end
    (409 otherwise); its volumes and conflicts stay as they are, and the other
    side of its conflicts is not told.
    """
    operation = activate_plan(store, audit, party.name, operation_id, version, now_s, events=events)
    return _operation_out(response, operation)


@router.post("/{operation_id}/release", response_model=OperationOut, responses=_TRANSITION)
def release(
    operation_id: str,
    version: IfMatch,
    party: RatedWithdrawer,
    change: ChangeDep,
    response: Response,
) -> OperationOut:
    """Release an activated operation early: it is ``ended`` now and its volumes stop conflicting.

    Its conflicts become resolved (``released``) at once; the other side of each
    gets a ``conflict`` event saying so, and nothing more. Counted as a withdrawal
    (rate, probe alarm).
    """
    return _operation_out(response, change.end(release_plan, party.name, operation_id, version))


@router.post("/{operation_id}/extend", response_model=FilingOut, responses=_TRANSITION)
def extend(
    operation_id: str,
    body: OperationExtend,
    version: IfMatch,
    party: RatedFiler,
    change: ChangeDep,
    response: Response,
    ids: PublicIdsDep,
) -> FilingOut:
    """Extend an operation running late: the volumes that end last run until ``until``.

    Checked as an amendment is (against every plan and zone, the limits; the
    earlier conflicts resolved ``amended``, the new ones returned); the state
    and priority are kept. 422 when ``until`` is not later than its end and now.
    """
    c = change
    result = extend_plan(
        c.store,
        c.audit,
        party.name,
        operation_id,
        version,
        body.until.timestamp(),
        buffers=c.settings.buffers(),
        limits=c.settings.limits(),
        now_s=c.now_s,
        events=c.events,
        conflict_states=c.conflict_states,
        ledger=c.ledger,
        probes=c.settings.probe_rules(),
        zones=_published(c.zones),
    )
    return _filing_out(response, result, party.name, ids)


@router.get("", response_model=list[OperationOut])
def list_own(party: CurrentParty, store: StoreDep) -> list[OperationOut]:
    """The caller's operations, by id."""
    return [OperationOut.of(op) for op in store.list_operations(party.name)]


_GET_ONE: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    200: {
        "description": "the operation; with ``format``, its volumes in that format, as a download",
        "content": {DOWNLOAD_MEDIA_TYPES["kml"]: {"schema": {"type": "string"}}},
    },
}


@router.get("/{operation_id}", response_model=OperationOut, responses=_GET_ONE)
def get_own(
    operation_id: str,
    party: CurrentParty,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    plan_format: Annotated[
        PlanFormat | None,
        Query(
            alias="format",
            description=(
                "f3548: ASTM F3548-21 OperationalIntentDetails; kml: 3-D volumes for Google Earth; "
                "notam: the ICAO NOTAM text of the operation"
            ),
        ),
    ] = None,
    fir: Annotated[
        str,
        Query(pattern=r"^[A-Z]{4}$", description="format=notam: the FIR's ICAO location indicator"),
    ] = DEFAULT_FIR,
) -> OperationOut | Response:
    """One of the caller's operations (another party's is not found), as JSON or in a plan format."""
    operation = store.get_operation(party.name, operation_id)
    if operation is None:
        raise NotFoundError(f"no operation {operation_id!r}")
    if plan_format is not None:
        suffix = {"f3548": "-f3548.json", "kml": ".kml", "notam": "-notam.txt"}[plan_format]
        download = Response(
            write_plan(
                operation.volumes, plan_format, operation.priority, settings.altitude_margins(), fir=fir
            ),
            media_type=DOWNLOAD_MEDIA_TYPES[plan_format],
            headers={"Content-Disposition": f'attachment; filename="{operation.id}{suffix}"'},
        )
        _set_version_headers(download, operation)
        return download
    return _operation_out(response, operation)
