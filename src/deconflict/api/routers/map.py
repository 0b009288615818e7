"""``GET /v1/map/overlays``: the deployment's map overlays (the ``map_overlays`` setting).

The files are read and checked when the app is made (a bad one stops the
server), and their body is built once: every party gets the same overlays,
which are the deployment's, not a party's.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from deconflict.api.deps import current_party
from deconflict.api.schemas.common import COMMON_RESPONSES
from deconflict.api.schemas.map import OverlayOut, OverlaysOut
from deconflict.channel.overlays import Overlay

__all__ = ["overlays_body", "router"]

router = APIRouter(
    prefix="/v1/map",
    tags=["map"],
    dependencies=[Depends(current_party)],
    responses=COMMON_RESPONSES,
)


def overlays_body(overlays: tuple[Overlay, ...]) -> OverlaysOut:
    """The body of ``GET /v1/map/overlays``, built once when the app is made."""
    return OverlaysOut(overlays=[OverlayOut.of(o) for o in overlays])


@router.get("/overlays", response_model=OverlaysOut)
def get_overlays(request: Request) -> OverlaysOut:
    """The deployment's overlays (lines, airways, restricted areas, FIR boundaries), one GeoJSON
    FeatureCollection per configured file; every party gets the same."""
    body: OverlaysOut = request.app.state.overlays
    return body
