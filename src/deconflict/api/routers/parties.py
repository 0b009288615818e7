"""``/v1/parties``: the caller's own party, and the directory of parties and their public keys.

Public keys are not secrets: every party needs the others' to verify the
signatures of the messages it receives, and to check an audit export offline.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from deconflict.api.deps import CurrentParty, PartyStoreDep, current_party
from deconflict.api.schemas.common import COMMON_RESPONSES
from deconflict.api.schemas.parties import PartyDirectoryOut, PartyOut

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/parties", tags=["parties"], dependencies=[Depends(current_party)], responses=COMMON_RESPONSES
)


@router.get("/me", response_model=PartyOut)
def me(party: CurrentParty) -> PartyOut:
    """The party the token belongs to, with its registered public key."""
    return PartyOut.of(party)


@router.get("", response_model=list[PartyDirectoryOut])
def directory(parties: PartyStoreDep) -> list[PartyDirectoryOut]:
    """Every registered party: name, public key, whether its token is revoked (nothing else)."""
    return [PartyDirectoryOut.of(p) for p in parties.list_parties()]
