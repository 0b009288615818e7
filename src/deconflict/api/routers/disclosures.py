"""``/v1/disclosures``: the caller's disclosure ledger, every fact the channel gave another party about it.

Each entry says who learnt it (``recipient``), when, about which of the
caller's operations (its own ids), which facts, and why (the conflict). Probe
alarms are listed with them. A party reads only its own ledger; entries are
numbered per party, so the numbers say nothing of the channel's other activity.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from deconflict.api.deps import CurrentParty, LedgerDep, PublicIdsDep, current_party
from deconflict.api.routers.messages import MAX_PAGE, PAGE
from deconflict.api.schemas.common import COMMON_RESPONSES
from deconflict.api.schemas.disclosures import DisclosureOut

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/disclosures",
    tags=["disclosures"],
    dependencies=[Depends(current_party)],
    responses=COMMON_RESPONSES,
)


@router.get("", response_model=list[DisclosureOut])
def list_disclosures(
    party: CurrentParty,
    ledger: LedgerDep,
    ids: PublicIdsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="the newest this many at most")] = PAGE,
    before: Annotated[
        int | None, Query(ge=1, description="only entries with a smaller number: the page before this one")
    ] = None,
) -> list[DisclosureOut]:
    """What other parties were told about the caller: the newest ``limit`` (before ``before``), oldest first.

    To page back, pass the smallest number of a page as ``before``.
    """
    if ledger is None:
        return []
    return [DisclosureOut.of(e, ids) for e in ledger.list_for(party.name, limit, before)]
