"""``GET /v1/catalogue``: the hotline's message codes, texts and parameter schemas."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from deconflict.api.deps import CatalogueDep, current_party
from deconflict.api.schemas.catalogue import CatalogueEntryOut, CatalogueOut
from deconflict.api.schemas.common import COMMON_RESPONSES
from deconflict.channel.catalogue import LANGUAGES

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/catalogue",
    tags=["hotline"],
    dependencies=[Depends(current_party)],
    responses=COMMON_RESPONSES,
)


@router.get("", response_model=CatalogueOut)
def get_catalogue(catalogue: CatalogueDep) -> CatalogueOut:
    """Every message code with its title and template in each language and its ``params`` schema."""
    return CatalogueOut(
        version=catalogue.version,
        languages=list(LANGUAGES),
        messages=[CatalogueEntryOut.of(kind) for kind in catalogue.kinds.values()],
    )
