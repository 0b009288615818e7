"""One home for how the API answers errors: the status and body of each, REST and WebSocket alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import Match, Route

from deconflict.api.schemas.common import ProblemOut, ProblemsOut
from deconflict.errors import (
    AlreadyExistsError,
    DeconflictError,
    InputError,
    NotFoundError,
    StaleVersionError,
    StorageChangedError,
    StorageUnavailableError,
    TransitionError,
)

__all__ = [
    "domain_error_handler",
    "error_response",
    "field_path",
    "method_not_allowed_handler",
    "validation_error_handler",
    "validation_problems",
]


def error_response(exc: DeconflictError) -> JSONResponse:
    """The answer to one of our exceptions: its message, the fitting 4xx (REST routes and WebSocket alike).

    A database that cannot be reached, or one replaced under the server, is the
    service's fault, not the request's: 503, with ``Retry-After`` (seconds)
    when it is expected back.
    """
    if isinstance(exc, InputError):
        problems = [
            ProblemOut(msg=p.message, source=p.source, record=p.record, field=p.field) for p in exc.problems
        ]
        body = ProblemsOut(detail=problems)
        return JSONResponse(body.model_dump(), status.HTTP_422_UNPROCESSABLE_CONTENT)
    if isinstance(exc, StaleVersionError):
        if exc.current_version is None:  # an update of an operation the caller does not have
            return JSONResponse({"detail": f"no operation {exc.operation_id!r}"}, status.HTTP_404_NOT_FOUND)
        return JSONResponse(
            {"detail": str(exc), "current_version": exc.current_version},
            status.HTTP_409_CONFLICT,
            headers={"ETag": f'"{exc.current_version}"'},
        )
    if isinstance(exc, NotFoundError):
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, TransitionError):
        return JSONResponse({"detail": str(exc), "current": exc.current}, status.HTTP_409_CONFLICT)
    if isinstance(exc, AlreadyExistsError):
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)
    if isinstance(exc, StorageUnavailableError):
        return JSONResponse(
            {"detail": str(exc)},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    if isinstance(exc, StorageChangedError):
        return JSONResponse({"detail": str(exc)}, status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"detail": str(exc)}, status.HTTP_400_BAD_REQUEST)


def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The app's handler of :class:`~deconflict.errors.DeconflictError`: :func:`error_response`."""
    assert isinstance(exc, DeconflictError)
    return error_response(exc)


def field_path(parts: Sequence[int | str]) -> str | None:
    """A field's path as people write it, ``features[0].geometry``; ``None`` for the whole document.

    >>> field_path(("features", 0, "geometry")), field_path(())
    ('features[0].geometry', None)
    """
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def validation_problems(errors: Sequence[Any], record: str | None) -> list[ProblemOut]:
    """Pydantic's errors as our problems; ``record`` is where the document was (``None``: in ``loc[0]``)."""
    problems = []
    for error in errors:
        location = tuple(error.get("loc", ()))
        if record is None:
            where, parts = (str(location[0]) if location else None), location[1:]
        else:
            where, parts = record, location
        problems.append(
            ProblemOut(
                msg=str(error.get("msg", "invalid")), source="request", record=where, field=field_path(parts)
            )
        )
    return problems


def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A request that does not match its schema: 422 with the same body as any other bad input."""
    assert isinstance(exc, RequestValidationError)
    body = ProblemsOut(detail=validation_problems(exc.errors(), None))
    return JSONResponse(body.model_dump(), status.HTTP_422_UNPROCESSABLE_CONTENT)


def method_not_allowed_handler(request: Request, exc: Exception) -> JSONResponse:
    """405 whose ``Allow`` lists the methods of every route at the path (the framework names one route's)."""
    allowed = {
        method
        for route in request.app.routes
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE
        for method in route.methods or ()
    }
    return JSONResponse(
        {"detail": "Method Not Allowed"},
        status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(sorted(allowed))},
    )
