"""``/v1/audit``: the caller's view of the audit chain, the server key that signs it, its signed head.

A party reads the entries whose audience it is in; of every other entry it
gets only ``seq``, ``prev_hash`` and ``hash``, so it can check the chain end to
end without learning what those entries say.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from deconflict.api.deps import AuditDep, CurrentParty, Now, current_party
from deconflict.api.schemas.audit import AuditEntryOut, AuditHeadOut, AuditKeyOut, AuditLinkOut, AuditViewOut
from deconflict.api.schemas.common import COMMON_RESPONSES

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], dependencies=[Depends(current_party)], responses=COMMON_RESPONSES
)

MAX_PAGE = 10_000


@router.get("", response_model=AuditViewOut)
def view(
    party: CurrentParty,
    audit: AuditDep,
    after: Annotated[int, Query(ge=0, lt=2**63, description="only entries with seq > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many entries")] = 1000,
) -> AuditViewOut:
    """Entries in order: in full where the caller is in the audience, else only their chain links."""
    entries = audit.entries(after, limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditViewOut(
        party=party.name,
        public_key_pem=audit.public_key_pem,
        entries=[
            AuditEntryOut.of(e) if e.visible_to(party.name) else AuditLinkOut.of(e.link()) for e in entries
        ],
        next_after=entries[-1].seq if more else None,
    )


@router.get("/key", response_model=AuditKeyOut)
def key(audit: AuditDep) -> AuditKeyOut:
    """The server's Ed25519 public key (PEM) that verifies every entry's signature."""
    return AuditKeyOut(public_key_pem=audit.public_key_pem)


@router.get("/head", response_model=AuditHeadOut)
def head(audit: AuditDep, now_s: Now) -> AuditHeadOut:
    """The chain's head (seq, hash) now, signed by the server: keep it to hold the server to its log.

    ``deconflict audit verify --checkpoint FILE`` fails when a chain does not
    contain a kept head (entries cut off, or rewritten).
    """
    return AuditHeadOut.of(audit.head(now_s))
