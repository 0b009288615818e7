"""Request and response bodies of the REST API (pydantic: the edge only).

Each response model has an ``of`` constructor from the domain object it shows;
the domain never sees these classes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from deconflict.channel.disclosure import ConflictView
from deconflict.channel.parties import Party
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.geojson import volume_feature
from deconflict.strategic.volume import Operation

__all__ = [
    "OPERATION_ID_PATTERN",
    "ConflictOut",
    "ErrorOut",
    "FilingOut",
    "HealthOut",
    "OperationCreate",
    "OperationOut",
    "OperationUpdate",
    "PartyOut",
    "ProblemOut",
    "ProblemsOut",
    "VersionConflictOut",
    "VolumeCollectionOut",
]

OPERATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Operation ids appear in URLs: letters, digits, ``.``, ``_``, ``:``, ``-``; at most 128."""

OperationId = Annotated[
    str, Field(pattern=OPERATION_ID_PATTERN, description="the operation's id, unique within the party")
]
Priority = Annotated[
    StrictInt, Field(ge=-1_000_000, le=1_000_000, description="higher wins when plans give way")
]


class _PlanIn(BaseModel):
    """A PRODUCT.md GeoJSON FeatureCollection of volumes plus the operation's fields."""

    type: Literal["FeatureCollection"]
    priority: Priority = 0
    features: list[dict[str, Any]] = Field(description="one GeoJSON Feature per volume (PRODUCT.md)")

    def document(self) -> dict[str, Any]:
        """The FeatureCollection, as the domain's GeoJSON reader takes it."""
        return {"type": "FeatureCollection", "features": self.features}


class OperationCreate(_PlanIn):
    """Body of ``POST /v1/operations``."""

    id: OperationId


class OperationUpdate(_PlanIn):
    """Body of ``PUT /v1/operations/{id}``; ``id``, if given, must be the URL's."""

    id: OperationId | None = None


class VolumeCollectionOut(BaseModel):
    """An operation's volumes as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class OperationOut(BaseModel):
    """One of the caller's operations."""

    id: str
    party: str
    version: int = Field(description="send it back in If-Match to change the operation")
    state: str
    priority: int
    volumes: VolumeCollectionOut

    @classmethod
    def of(cls, operation: Operation) -> OperationOut:
        """The response body of an operation."""
        return cls(
            id=operation.id,
            party=operation.party,
            version=operation.version,
            state=str(operation.state),
            priority=operation.priority,
            volumes=VolumeCollectionOut(features=[volume_feature(v) for v in operation.volumes]),
        )


class ConflictOut(BaseModel):
    """A conflict as the caller may see it: its own side, and only shared facts of the other."""

    id: int = Field(description="stable id of the conflict")
    state: str
    operation: str = Field(description="the caller's operation")
    volume: str = Field(description="the caller's volume")
    other_party: str
    other_priority: int
    time_start: str = Field(description="RFC 3339 UTC start of the common time window")
    time_end: str
    altitude_lower_m: float
    altitude_upper_m: float
    altitude_reference: str
    overlap_area_m2: float
    overlap_bbox: tuple[float, float, float, float] = Field(
        description="min lon, min lat, max lon, max lat of the common region (degrees)"
    )

    @classmethod
    def of(cls, view: ConflictView) -> ConflictOut:
        """The response body of a conflict view."""
        lon0, lat0, lon1, lat1 = (round(v, 7) for v in view.overlap_bbox)
        return cls(
            id=view.id,
            state=view.state,
            operation=view.operation,
            volume=view.volume,
            other_party=view.other_party,
            other_priority=view.other_priority,
            time_start=format_time(view.time_start_s),
            time_end=format_time(view.time_end_s),
            altitude_lower_m=round(view.altitude_lower_m, 3),
            altitude_upper_m=round(view.altitude_upper_m, 3),
            altitude_reference=view.altitude_reference,
            overlap_area_m2=round(view.overlap_area_m2, 3),
            overlap_bbox=(lon0, lat0, lon1, lat1),
        )


class FilingOut(BaseModel):
    """The operation as filed and the conflicts the strategic check found."""

    operation: OperationOut
    conflicts: list[ConflictOut]


class PartyOut(BaseModel):
    """A party's public facts."""

    model_config = ConfigDict(frozen=True)

    name: str
    public_key_pem: str
    created: str

    @classmethod
    def of(cls, party: Party) -> PartyOut:
        """The response body of a party."""
        return cls(name=party.name, public_key_pem=party.public_key_pem, created=format_time(party.created_s))


class HealthOut(BaseModel):
    """The service answers."""

    status: Literal["ok"] = "ok"
    version: str


class ErrorOut(BaseModel):
    """An error with one message."""

    detail: str


class VersionConflictOut(BaseModel):
    """409: the version named is not the current one."""

    detail: str
    current_version: int | None


class ProblemOut(BaseModel):
    """One problem of a request, located by record and field."""

    msg: str
    source: str
    record: str | None
    field: str | None


class ProblemsOut(BaseModel):
    """422: every problem of the request."""

    detail: list[ProblemOut]
