"""Bodies of ``/v1/incidents``: incidents from the caller's side, and both sides' comments."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from deconflict.api.schemas.common import PUBLIC_ID, time_or_none
from deconflict.channel.live import IncidentComment, IncidentView
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.strategic.conflicts import format_time

__all__ = ["ClosestOut", "IncidentCommentIn", "IncidentCommentOut", "IncidentOut", "IncidentsOut"]


class ClosestOut(BaseModel):
    """An incident's closest approach (position: midpoint of the two aircraft)."""

    time: str
    distance_m: float
    vertical_m: float
    lon_deg: float
    lat_deg: float
    alt_m: float


class IncidentCommentIn(BaseModel):
    """Body of ``POST /v1/incidents/{id}/comments``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the caller's account; kept as written, never edited")


class IncidentCommentOut(BaseModel):
    """One side's comment on an incident."""

    party: str
    time: str
    text: str

    @classmethod
    def of(cls, comment: IncidentComment) -> IncidentCommentOut:
        """The response body of a comment."""
        return cls(party=comment.party, time=format_time(comment.time_s), text=comment.text)


class IncidentOut(BaseModel):
    """An incident (loss of separation) from the caller's side, with both sides' comments."""

    id: int = Field(description=PUBLIC_ID.format("incident"))
    own_id: str
    other_party: str
    started: str
    ended: str | None = Field(description="null while open")
    closest: ClosestOut | None = Field(
        description="null while the caller's own aircraft does not vouch for disclosure (AlertOut.withheld)"
    )
    comments: list[IncidentCommentOut]

    @classmethod
    def of(cls, view: IncidentView, ids: PublicIds) -> IncidentOut:
        """The response body of an incident (its public id)."""
        c = view.closest
        return cls(
            id=ids.public(IdKind.INCIDENT, view.id),
            own_id=view.own_id,
            other_party=view.other_party,
            started=format_time(view.started_s),
            ended=time_or_none(view.ended_s),
            closest=None
            if c is None
            else ClosestOut(
                time=format_time(c.time_s),
                distance_m=c.distance_m,
                vertical_m=c.vertical_m,
                lon_deg=c.lon_deg,
                lat_deg=c.lat_deg,
                alt_m=c.alt_m,
            ),
            comments=[IncidentCommentOut.of(x) for x in view.comments],
        )


class IncidentsOut(BaseModel):
    """A page of the incidents involving the caller's aircraft, oldest first."""

    incidents: list[IncidentOut]
    next: str | None = Field(
        default=None, description="pass as `after` for the next page; null: this is the last page"
    )
    previous: str | None = Field(
        default=None, description="pass as `before` for the page before; null: this is the first page"
    )
