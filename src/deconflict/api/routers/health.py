"""``GET /v1/health``: the one route that needs no token."""

from __future__ import annotations

from fastapi import APIRouter

from deconflict import __version__
from deconflict.api.schemas.health import HealthOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """Whether the service answers (for load balancers and start-up checks)."""
    return HealthOut(version=__version__)
