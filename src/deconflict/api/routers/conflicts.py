"""``/v1/conflicts``: conflicts that involve the caller's operations, as it may see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from deconflict.api.deps import CurrentParty, StoreDep, current_party
from deconflict.api.schemas import ConflictOut
from deconflict.channel.disclosure import conflict_view

__all__ = ["router"]

router = APIRouter(prefix="/v1/conflicts", tags=["conflicts"], dependencies=[Depends(current_party)])


@router.get("", response_model=list[ConflictOut])
def list_conflicts(
    party: CurrentParty,
    store: StoreDep,
    operation: Annotated[str | None, Query(description="only conflicts of this operation of yours")] = None,
) -> list[ConflictOut]:
    """Open conflicts of the caller's operations, by id (minimal disclosure of the other side)."""
    views = [
        conflict_view(record.conflict, party.name, conflict_id=record.id, state=record.state)
        for record in store.list_conflict_records(party.name)
    ]
    return [ConflictOut.of(v) for v in views if operation is None or v.operation == operation]
