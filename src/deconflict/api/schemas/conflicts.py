"""Bodies of ``/v1/conflicts``: a conflict as one side sees it, its acknowledgements and acceptances."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deconflict.api.schemas.common import PUBLIC_ID
from deconflict.api.schemas.zones import ZoneFactsOut
from deconflict.channel.conflicts import MAX_REASON_CHARS, LifecycleView
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.strategic.conflicts import format_time

__all__ = ["ConflictAcceptIn", "ConflictAcceptanceOut", "ConflictAckOut", "ConflictOut"]


class ConflictAckOut(BaseModel):
    """One side's acknowledgement of a conflict."""

    party: str
    time: str = Field(description="RFC 3339 UTC time of the acknowledgement")


class ConflictAcceptanceOut(BaseModel):
    """One side's acceptance of a conflict as it is, with its reason (both sides see both)."""

    party: str
    reason: str
    time: str = Field(description="RFC 3339 UTC time of the acceptance")


class ConflictAcceptIn(BaseModel):
    """``POST /v1/conflicts/{id}/accept``: why the caller accepts the conflict as it is."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, description="why; seen by both sides")


class ConflictOut(BaseModel):
    """A conflict as the caller may see it: its own side, and only shared facts of the other.

    ``state`` is ``open``, ``acknowledged`` (by both sides), ``accepted`` (by
    both, each with a reason) or ``resolved`` (``resolution``: one side
    ``amended``, ``withdrawn`` or ``released`` its operation, ``resolved_by`` names it).
    """

    id: int = Field(description=PUBLIC_ID.format("conflict"))
    state: str
    operation: str = Field(description="the caller's operation")
    volume: str = Field(description="the caller's volume")
    other_party: str = Field(description="the party on the other side (its priority is not disclosed)")
    time_start: str = Field(description="RFC 3339 UTC start of the common time window")
    time_end: str
    altitude_lower_m: float
    altitude_upper_m: float
    altitude_reference: str
    overlap_area_m2: float
    overlap_bbox: tuple[float, float, float, float] = Field(
        description="min lon, min lat, max lon, max lat of the common region (degrees)"
    )
    acknowledged_by: list[ConflictAckOut] = Field(default=[], description="sides that acknowledged it")
    accepted_by: list[ConflictAcceptanceOut] = Field(
        default=[], description="sides that accepted it as it is, with their reasons"
    )
    resolution: Literal["amended", "withdrawn", "released"] | None = None
    resolved_by: str | None = None
    resolved: str | None = Field(default=None, description="RFC 3339 UTC time of the resolution")
    zone: ZoneFactsOut | None = Field(
        default=None,
        description="a conflict with a geographical zone: the zone's public facts, as published when found",
    )

    @classmethod
    def of(cls, view: ConflictView, ids: PublicIds, lifecycle: LifecycleView | None = None) -> ConflictOut:
        """The response body of a conflict view, public id, and lifecycle (once something happened to it)."""
        lon0, lat0, lon1, lat1 = (round(v, 7) for v in view.overlap_bbox)
        extra: dict[str, Any] = {}
        if view.resolution is not None:
            extra = {
                "resolution": view.resolution,
                "resolved_by": view.resolved_by,
                "resolved": None if view.resolved_s is None else format_time(view.resolved_s),
            }
        if lifecycle is not None:
            extra = {
                "acknowledged_by": [
                    ConflictAckOut(party=p, time=format_time(t)) for p, t in lifecycle.acknowledgements
                ],
                "accepted_by": [
                    ConflictAcceptanceOut(party=p, reason=r, time=format_time(t))
                    for p, r, t in lifecycle.acceptances
                ],
                "resolution": lifecycle.resolution,
                "resolved_by": lifecycle.resolved_by,
                "resolved": None if lifecycle.resolved_s is None else format_time(lifecycle.resolved_s),
            }
        return cls(
            **extra,
            id=ids.public(IdKind.CONFLICT, view.id),
            state=view.state,
            operation=view.operation,
            volume=view.volume,
            other_party=view.other_party,
            time_start=format_time(view.time_start_s),
            time_end=format_time(view.time_end_s),
            altitude_lower_m=round(view.altitude_lower_m, 3),
            altitude_upper_m=round(view.altitude_upper_m, 3),
            altitude_reference=view.altitude_reference,
            overlap_area_m2=round(view.overlap_area_m2, 3),
            overlap_bbox=(lon0, lat0, lon1, lat1),
            zone=None if view.zone is None else ZoneFactsOut.model_validate(view.zone),
        )
