"""``/v1/parties``: the caller's own party."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from deconflict.api.deps import CurrentParty, current_party
from deconflict.api.schemas import PartyOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/parties", tags=["parties"], dependencies=[Depends(current_party)])


@router.get("/me", response_model=PartyOut)
def me(party: CurrentParty) -> PartyOut:
    """The party the token belongs to, with its registered public key."""
    return PartyOut.of(party)
