"""``/v1/zones``: geographical zones, published by a party (their authority) and public to every party.

A party publishes an ED-269 or ED-318 document: each zone replaces the
caller's zone of the same identifier. ``DELETE /v1/zones/{identifier}``
withdraws one of the caller's zones. Every party lists every zone. A filing
that enters an applicable restriction of a zone is a conflict with its
authority (``/v1/operations``); publishing or withdrawing a zone re-checks no
operation already filed (:mod:`deconflict.channel.zones`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response, status

from deconflict.api.deps import AuditDep, CurrentParty, Now, SettingsDep, ZonesDep, current_party
from deconflict.api.limits import RatedFiler
from deconflict.api.schemas.common import COMMON_RESPONSES, ErrorOut, ProblemsOut
from deconflict.api.schemas.zones import ZoneOut, ZonesPublishedOut
from deconflict.channel.service.zones import publish_zones, withdraw_zone
from deconflict.formats.zones import parse_zones

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/zones", tags=["zones"], dependencies=[Depends(current_party)], responses=COMMON_RESPONSES
)

ZoneDocument = Annotated[
    dict[str, Any] | list[dict[str, Any]],
    Body(description="an EUROCAE ED-269 (JSON) or ED-318 (GeoJSON) document of geographical zones"),
]


@router.get("", response_model=list[ZoneOut])
def list_zones(zones: ZonesDep) -> list[ZoneOut]:
    """Every published zone, by authority then identifier: zones are public."""
    return [ZoneOut.of(z) for z in zones.list_zones()]


@router.post(
    "",
    response_model=ZonesPublishedOut,
    responses={
        422: {"model": ProblemsOut},
        429: {"model": ErrorOut, "description": "over the party's filing rate; see Retry-After"},
    },
)
def publish(
    document: ZoneDocument,
    party: RatedFiler,
    zones: ZonesDep,
    audit: AuditDep,
    settings: SettingsDep,
    now_s: Now,
) -> ZonesPublishedOut:
    """Publish the document's zones as the caller's, each replacing the caller's zone of its identifier.

    The caller is their authority: a filing that enters an applicable restriction
    is a conflict with it. A zone is bounded in area as an operation is (422
    naming the setting).
    """
    limits = settings.limits()
    found = parse_zones(document, "request", limits=limits)
    published = publish_zones(zones, audit, party.name, found, document=document, limits=limits, now_s=now_s)
    return ZonesPublishedOut(published=published)


@router.delete("/{identifier}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {"model": ErrorOut}})
def withdraw(identifier: str, party: CurrentParty, zones: ZonesDep, audit: AuditDep, now_s: Now) -> Response:
    """Withdraw one of the caller's zones (another party's is not found)."""
    withdraw_zone(zones, audit, party.name, identifier, now_s)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
