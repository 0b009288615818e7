"""Bodies of ``/v1/zones``: geographical zones as published, public to every party."""

from __future__ import annotations

from typing import Any

import shapely
from pydantic import BaseModel, Field

from deconflict.channel.zones import PublishedZone
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.zones import Applicability, ZoneLayer

__all__ = [
    "ZoneAltitudeOut",
    "ZoneApplicabilityOut",
    "ZoneAuthorityOut",
    "ZoneCircleOut",
    "ZoneFactsOut",
    "ZoneLayerOut",
    "ZoneOut",
    "ZonePeriodOut",
    "ZonesPublishedOut",
]


class ZoneAuthorityOut(BaseModel):
    """An authority of a zone, as the zone publishes it."""

    name: str | None = None
    service: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    site_url: str | None = None
    purpose: str | None = None


class ZoneFactsOut(BaseModel):
    """A zone's public facts: who publishes it, what it restricts, why, and whom to contact."""

    identifier: str
    country: str
    name: str | None = None
    restriction: str = Field(
        description="prohibited, req_authorisation, conditional, uspace or no_restriction (never a conflict)"
    )
    reasons: list[str] = []
    other_reason: str | None = None
    message: str | None = None
    conditions: str | None = None
    authorities: list[ZoneAuthorityOut] = []


class ZoneAltitudeOut(BaseModel):
    """A limit of a zone's layer."""

    value_m: float
    reference: str = Field(description="W84, MSL, AGL or STD")


class ZoneCircleOut(BaseModel):
    """A layer's circle, as published."""

    centre_lon_deg: float
    centre_lat_deg: float
    radius_m: float


class ZoneLayerOut(BaseModel):
    """One airspace volume of a zone: a footprint between two limits."""

    geometry: dict[str, Any] = Field(
        description="GeoJSON (lon, lat) of the footprint; a circle as its polygon"
    )
    circle: ZoneCircleOut | None = None
    altitude_lower: ZoneAltitudeOut
    altitude_upper: ZoneAltitudeOut

    @classmethod
    def of(cls, layer: ZoneLayer) -> ZoneLayerOut:
        """The body of a layer."""
        fp = layer.footprint
        circle = None
        if fp.centre_lon_deg is not None and fp.centre_lat_deg is not None and fp.radius_m is not None:
            circle = ZoneCircleOut(
                centre_lon_deg=fp.centre_lon_deg, centre_lat_deg=fp.centre_lat_deg, radius_m=fp.radius_m
            )
        return cls(
            geometry=shapely.geometry.mapping(fp.shape),
            circle=circle,
            altitude_lower=ZoneAltitudeOut(value_m=layer.lower.value_m, reference=str(layer.lower.reference)),
            altitude_upper=ZoneAltitudeOut(value_m=layer.upper.value_m, reference=str(layer.upper.reference)),
        )


class ZonePeriodOut(BaseModel):
    """Clock times on some weekdays, at a fixed offset from UTC."""

    weekdays: list[int] = Field(description="Monday 0 to Sunday 6")
    start_s: float = Field(description="seconds after midnight at the offset")
    end_s: float = Field(description="seconds after midnight; at or before start_s: the next day")
    utc_offset_s: float


class ZoneApplicabilityOut(BaseModel):
    """When a zone applies: between two times (either open), during the periods if any."""

    start: str | None = Field(default=None, description="RFC 3339 UTC; null: open")
    end: str | None = None
    schedule: list[ZonePeriodOut] = []

    @classmethod
    def of(cls, item: Applicability) -> ZoneApplicabilityOut:
        """The body of an applicability."""
        return cls(
            start=None if item.start_s is None else format_time(item.start_s),
            end=None if item.end_s is None else format_time(item.end_s),
            schedule=[
                ZonePeriodOut(
                    weekdays=sorted(p.weekdays), start_s=p.start_s, end_s=p.end_s, utc_offset_s=p.utc_offset_s
                )
                for p in item.schedule
            ],
        )


class ZoneOut(ZoneFactsOut):
    """A published zone, as every party sees it: its authority (the party that published it), all it says."""

    party: str = Field(description="the zone's authority: the party that published it")
    published: str = Field(description="RFC 3339 UTC time it was last published")
    layers: list[ZoneLayerOut]
    applicability: list[ZoneApplicabilityOut] = Field(description="empty: at all times")

    @classmethod
    def of(cls, published: PublishedZone) -> ZoneOut:
        """The body of a published zone."""
        zone = published.zone
        return cls(
            **zone.facts(),  # type: ignore[arg-type]
            party=published.party,
            published=format_time(published.published_s),
            layers=[ZoneLayerOut.of(layer) for layer in zone.layers],
            applicability=[ZoneApplicabilityOut.of(a) for a in zone.applicability],
        )


class ZonesPublishedOut(BaseModel):
    """``POST /v1/zones``: the zones now published by the caller, each replacing its namesake."""

    published: list[str] = Field(description="identifiers of the zones published or replaced")
