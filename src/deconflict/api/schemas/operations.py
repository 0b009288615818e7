"""Bodies of ``/v1/operations``: plans filed and amended, operations and filings shown."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictInt

from deconflict.api.schemas.conflicts import ConflictOut
from deconflict.strategic.geojson import volume_feature
from deconflict.strategic.volume import Operation

__all__ = [
    "DOWNLOAD_MEDIA_TYPES",
    "OPERATION_ID_PATTERN",
    "FilingOut",
    "OperationCreate",
    "OperationExtend",
    "OperationOut",
    "OperationUpdate",
    "PlanFormat",
    "ReadableFormat",
    "VersionConflictOut",
    "VolumeCollectionOut",
]


OPERATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Operation ids appear in URLs: letters, digits, ``.``, ``_``, ``:``, ``-``; at most 128."""


OperationId = Annotated[
    str, Field(pattern=OPERATION_ID_PATTERN, description="the operation's id, unique within the party")
]


PlanFormat = Literal["f3548", "kml", "notam"]
"""Formats an operation can be read in besides its JSON (:mod:`deconflict.formats`)."""

ReadableFormat = Literal["geojson", "f3548", "ed269", "ed318", "notam"]
"""Formats a plan file can be uploaded in (``POST /v1/operations/convert``), as the CLI reads them."""

DOWNLOAD_MEDIA_TYPES: dict[str, str] = {
    "f3548": "application/json",
    "kml": "application/vnd.google-earth.kml+xml",
    "notam": "text/plain; charset=utf-8",
}
"""The media type of each download format."""


Priority = Annotated[
    StrictInt, Field(ge=-1_000_000, le=1_000_000, description="higher wins when plans give way")
]


class _PlanIn(BaseModel):
    """A PRODUCT.md GeoJSON FeatureCollection of volumes plus the operation's fields."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(description="one GeoJSON Feature per volume (PRODUCT.md)")

    def document(self) -> dict[str, Any]:
        """The FeatureCollection, as the domain's GeoJSON reader takes it."""
        return {"type": "FeatureCollection", "features": self.features}


class OperationCreate(_PlanIn):
    """Body of ``POST /v1/operations``."""

    id: OperationId
    priority: Priority = 0


class OperationUpdate(_PlanIn):
    """Body of ``PUT /v1/operations/{id}``; ``id``, if given, must be the URL's.

    Without ``priority`` the operation keeps the priority of the version it replaces.
    """

    id: OperationId | None = None
    priority: Priority | None = Field(default=None, description="higher wins; omitted: unchanged")


class OperationExtend(BaseModel):
    """Body of ``POST /v1/operations/{id}/extend``."""

    until: AwareDatetime = Field(
        description="RFC 3339 time the volumes that end last run until instead, e.g. 2026-01-01T14:00:00Z"
    )


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


class FilingOut(BaseModel):
    """The operation as filed and the conflicts the strategic check found."""

    operation: OperationOut
    conflicts: list[ConflictOut]


class VersionConflictOut(BaseModel):
    """409: the version named is not the current one."""

    detail: str
    current_version: int | None
