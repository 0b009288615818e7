"""Operations endpoints for whoever runs the service: ``GET /v1/ready`` (no token) and ``GET /metrics``.

``/v1/health`` (liveness) says the process answers; ``/v1/ready`` (readiness)
says it can serve: its database answers and is at the latest schema version, and (with
``nats_url``) it is connected to the event bus.

``/metrics`` holds all-party totals (a party that subtracts its own learns
the others'), so the party port serves it only to the operator token
(``metrics_token``) and answers 404 to everyone else, as for a path that does
not exist; it is not in the OpenAPI document. The usual way to scrape is the
operator address of its own: ``deconflict serve --metrics-bind HOST:PORT``
(:func:`~deconflict.api.metrics.serve_metrics`).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from deconflict.api.metrics import CONTENT_TYPE, Metrics
from deconflict.api.schemas.ops import ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["operations of the service"])


@router.get(
    "/v1/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "not ready, with the reason"}},
)
def ready(request: Request) -> JSONResponse:
    """200 when the database answers at the latest schema version (and the event bus is connected,
    when events cross nodes through it); 503 with the reason otherwise.

    For load balancers and orchestrators: send traffic only while this says ready.
    """
    services = getattr(request.app.state, "services", None)
    if services is None:
        body = ReadyOut(status="not ready", reason="the service is starting or stopping")
        return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
    problem = services.storage.readiness_problem()
    relay = getattr(request.app.state, "relay", None)  # the event bus, when events cross nodes
    if problem is None and relay is not None:
        problem = relay.problem()
    if problem is not None:
        body = ReadyOut(status="not ready", reason=problem)
        return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse(ReadyOut(status="ready").model_dump())


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics, to the operator token only (``metrics_token``); 404 to anyone else."""
    services = getattr(request.app.state, "services", None)
    expected = None if services is None else services.settings.metrics_token
    scheme, _, shown = request.headers.get("authorization", "").partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(shown.strip().encode(), expected.get_secret_value().encode())
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    found: Metrics = request.app.state.metrics
    return Response(found.exposition(), media_type=CONTENT_TYPE)
