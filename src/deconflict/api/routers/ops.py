"""Operations endpoints for whoever runs the service: ``GET /v1/ready`` and ``GET /metrics``; no token.

``/v1/health`` (liveness) says the process answers; ``/v1/ready`` (readiness)
says it can serve: its database answers and is at the latest schema version.

``/metrics`` is open, like ``/v1/health``: Prometheus scrapers rarely carry
bearer tokens, the server binds 127.0.0.1 by default, and the metrics hold
counts only (by route template and status), never a party's name or data.
When the service listens on a wider address, restrict ``/metrics`` at the
reverse proxy or firewall in front of it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from deconflict.api.metrics import CONTENT_TYPE, Metrics
from deconflict.api.schemas import ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["operations of the service"])


@router.get(
    "/v1/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "not ready, with the reason"}},
)
def ready(request: Request) -> JSONResponse:
    """200 when the database answers at the latest schema version; 503 with the reason otherwise.

    For load balancers and orchestrators: send traffic only while this says ready.
    """
    # Imported here: the API reaches storage only through the settings' choice.
    from deconflict.storage import check_ready

    services = getattr(request.app.state, "services", None)
    if services is None:
        body = ReadyOut(status="not ready", reason="the service is starting or stopping")
        return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
    problem = check_ready(services.settings)
    if problem is not None:
        body = ReadyOut(status="not ready", reason=problem)
        return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse(ReadyOut(status="ready").model_dump())


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route template and status, latency, open conflicts,
    overdue messages, event connections (and, with the live picture, tracked aircraft and
    active alerts). Open without a token: see the module notes and the README."""
    found: Metrics = request.app.state.metrics
    return Response(found.exposition(), media_type=CONTENT_TYPE)
