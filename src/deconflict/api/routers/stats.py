"""``GET /v1/stats``: the caller's channel statistics by month and pair, for review.

Only pairs that include the caller are counted: a party never sees statistics
of two other parties. Alerts and incidents come from the live picture's
tactical history when the service keeps one (0 otherwise).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from deconflict.api.deps import ConflictStatesDep, CurrentParty, HotlineDep, HotlineNow, Services, StoreDep
from deconflict.api.schemas.common import COMMON_RESPONSES
from deconflict.api.schemas.stats import StatsOut
from deconflict.channel.stats import TacticalCounts, party_stats

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["stats"], responses=COMMON_RESPONSES)


def _tactical_counts(request: Request) -> TacticalCounts | None:
    services: Services = request.app.state.services
    return None if services.tactical is None else services.tactical.monthly_counts


@router.get("/stats", response_model=StatsOut)
def stats(
    request: Request,
    party: CurrentParty,
    messages: HotlineDep,
    store: StoreDep,
    conflict_states: ConflictStatesDep,
    now_s: HotlineNow,
) -> StatsOut:
    """Per UTC month and per pair (caller, other party): messages both ways, median and 95th
    percentile time to acknowledge (sent to accepted or disputed, seconds), overdue messages,
    conflicts by lifecycle state (by detection month), alerts and incidents."""
    found = party_stats(party.name, messages, store, conflict_states, _tactical_counts(request), now_s)
    return StatsOut.of(found)
