"""``/v1/conflicts``: conflicts that involve the caller's operations, as it may see them, and their lifecycle.

Both sides of a conflict acknowledge it and may accept it as it is (each with
a reason both see); it is resolved when one side amends or withdraws its
operation. A conflict the caller is not a side of is not found (404).
``?format=kml`` gives the same listing as a KML download (its overlap volumes
for Google Earth), drawn from the very records of the JSON answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from deconflict.api.deps import (
    AuditDep,
    ConflictRow,
    ConflictStatesDep,
    CurrentParty,
    Now,
    PublicIdsDep,
    SettingsDep,
    StoreDep,
    current_party,
)
from deconflict.api.schemas.common import COMMON_RESPONSES, ErrorOut, ProblemsOut
from deconflict.api.schemas.conflicts import ConflictAcceptIn, ConflictOut
from deconflict.api.schemas.operations import DOWNLOAD_MEDIA_TYPES
from deconflict.channel.conflicts import ConflictLifecycle, lifecycle_view
from deconflict.channel.disclosure import conflict_view
from deconflict.channel.public_ids import PublicIds
from deconflict.channel.service.conflicts import (
    accept_conflict_as,
    acknowledge_conflict_as,
    conflict_lifecycles,
)
from deconflict.errors import NotFoundError
from deconflict.formats.kml import conflicts_kml

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/conflicts",
    tags=["conflicts"],
    dependencies=[Depends(current_party)],
    responses=COMMON_RESPONSES,
)

_CHANGE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such conflict of the caller's"},
    409: {"model": ErrorOut, "description": "the conflict's state does not allow it"},
}


def _out(lifecycle: ConflictLifecycle, party: str, ids: PublicIds) -> ConflictOut:
    view = conflict_view(
        lifecycle.conflict, party, conflict_id=lifecycle.conflict_id, state=str(lifecycle.state)
    )
    return ConflictOut.of(view, ids, lifecycle_view(lifecycle, party))


_LIST: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the conflicts; with ``format=kml``, their overlap volumes as a KML download",
        "content": {DOWNLOAD_MEDIA_TYPES["kml"]: {"schema": {"type": "string"}}},
    },
}


@router.get("", response_model=list[ConflictOut], responses=_LIST)
def list_conflicts(
    party: CurrentParty,
    store: StoreDep,
    conflict_states: ConflictStatesDep,
    ids: PublicIdsDep,
    settings: SettingsDep,
    operation: Annotated[str | None, Query(description="only conflicts of this operation of yours")] = None,
    state: Annotated[
        Literal["open", "acknowledged", "accepted", "resolved"] | None,
        Query(description="only conflicts in this state; default: all but resolved ones"),
    ] = None,
    download_format: Annotated[
        Literal["kml"] | None,
        Query(alias="format", description="kml: the same conflicts as 3-D overlap volumes for Google Earth"),
    ] = None,
) -> list[ConflictOut] | Response:
    """The caller's conflicts, oldest first (minimal disclosure of the other side), with their lifecycle."""
    found = [_out(lc, party.name, ids) for lc in conflict_lifecycles(store, conflict_states, party.name)]
    shown = [
        c
        for c in found
        if (operation is None or c.operation == operation)
        and (c.state == state if state is not None else c.state != "resolved")
    ]
    if download_format is None:
        return shown
    return Response(
        conflicts_kml(shown, f"conflicts of {party.name}", settings.altitude_margins()),
        media_type=DOWNLOAD_MEDIA_TYPES["kml"],
        headers={"Content-Disposition": 'attachment; filename="conflicts.kml"'},
    )


def _one(lifecycles: list[ConflictLifecycle], conflict_id: int, party: str) -> ConflictLifecycle:
    for lifecycle in lifecycles:
        if lifecycle.conflict_id == conflict_id:
            return lifecycle
    raise NotFoundError(f"no conflict {conflict_id} for party {party!r}")


@router.get("/{conflict_id}", response_model=ConflictOut, responses={404: {"model": ErrorOut}})
def get_conflict(
    conflict: ConflictRow,
    party: CurrentParty,
    store: StoreDep,
    conflict_states: ConflictStatesDep,
    ids: PublicIdsDep,
) -> ConflictOut:
    """One of the caller's conflicts, whatever its state."""
    lifecycles = conflict_lifecycles(store, conflict_states, party.name)
    with conflict.public_errors():
        found = _one(lifecycles, conflict.row, party.name)
    return _out(found, party.name, ids)


@router.post("/{conflict_id}/ack", response_model=ConflictOut, responses=_CHANGE)
def acknowledge(
    conflict: ConflictRow,
    party: CurrentParty,
    store: StoreDep,
    conflict_states: ConflictStatesDep,
    audit: AuditDep,
    now_s: Now,
    ids: PublicIdsDep,
) -> ConflictOut:
    """The caller acknowledges the conflict (once); both sides see it."""
    with conflict.public_errors():
        lifecycle = acknowledge_conflict_as(store, conflict_states, audit, party.name, conflict.row, now_s)
    return _out(lifecycle, party.name, ids)


@router.post(
    "/{conflict_id}/accept",
    response_model=ConflictOut,
    responses={**_CHANGE, 422: {"model": ProblemsOut}},
)
def accept(
    conflict: ConflictRow,
    body: ConflictAcceptIn,
    party: CurrentParty,
    store: StoreDep,
    conflict_states: ConflictStatesDep,
    audit: AuditDep,
    now_s: Now,
    ids: PublicIdsDep,
) -> ConflictOut:
    """The caller accepts the acknowledged conflict as it is, with a reason both sides see.

    The conflict is ``accepted`` once both sides have accepted it.
    """
    with conflict.public_errors():
        lifecycle = accept_conflict_as(
            store, conflict_states, audit, party.name, conflict.row, body.reason, now_s
        )
    return _out(lifecycle, party.name, ids)
