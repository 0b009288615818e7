"""What every resource's schemas share: error bodies, the responses of every route behind a token, times."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from deconflict.strategic.conflicts import format_time

__all__ = ["COMMON_RESPONSES", "PUBLIC_ID", "ErrorOut", "ProblemOut", "ProblemsOut", "time_or_none"]


PUBLIC_ID = (
    "stable id of the {}: a number from 1 to 2**52 in no order (it counts nothing; "
    "see deconflict.channel.public_ids)"
)
"""The description of an id a party is shown (``PUBLIC_ID.format("message")``)."""


class ErrorOut(BaseModel):
    """An error with one message."""

    detail: str


class ProblemOut(BaseModel):
    """One problem of a request, located by record and field."""

    msg: str
    source: str
    record: str | None
    field: str | None


class ProblemsOut(BaseModel):
    """422: every problem of the request."""

    detail: list[ProblemOut]


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the body cannot be read (e.g. not UTF-8)"},
    401: {"model": ErrorOut, "description": "missing, malformed, unknown or revoked bearer token"},
    429: {
        "model": ErrorOut,
        "description": "too many failed logins from the caller's address; Retry-After says when to retry",
    },
    422: {"model": ProblemsOut, "description": "the request does not match its schema (or the data is bad)"},
}
"""The ``responses`` every route behind a bearer token may give (``APIRouter(responses=...)``).

Every 422 has the body of :class:`ProblemsOut`, the framework's own validation
errors too (the app converts them), so routes document it once here.
"""


def time_or_none(time_s: float | None) -> str | None:
    """An RFC 3339 UTC time, or ``None`` for a time that has not come (``time_s`` ``None``)."""
    return None if time_s is None else format_time(time_s)
