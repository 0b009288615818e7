"""Request ids, one structured log line per request, and request metrics: plain ASGI middleware.

:class:`RequestObserver` wraps every HTTP request:

* its id is the client's ``X-Request-ID`` when that is a sane token (1 to 128
  of ``A-Z a-z 0-9 . _ : -``), else a new random one; the answer carries it in
  ``X-Request-ID`` and the log line names it, so a client's report and the
  server's log meet;
* when the answer is sent, one line is logged on :data:`ACCESS_LOGGER`: time,
  request_id, method, path, status, duration_ms and, once the token was
  accepted, the party. The path is logged without its query string, and no
  header is ever logged, so tokens, keys and ``Authorization`` values never
  reach the log;
* the request is counted in the app's :class:`~deconflict.api.metrics.Metrics`
  by route template.

:class:`JsonLogFormatter` writes such records as one JSON object per line;
:func:`logging_config` sets up the server's logging (``deconflict serve
--log-format json|text``), with :class:`QueryStringFilter` on its handler: a
query string (where a client may have put a token) is cut from every line,
uvicorn's own (``"WebSocket /v1/events?..." [accepted]``) included.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any, Literal

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconflict.api.metrics import UNMATCHED_ROUTE, Metrics

__all__ = [
    "ACCESS_LOGGER",
    "PARTY_STATE_KEY",
    "REQUEST_ID_HEADER",
    "JsonLogFormatter",
    "LogFormat",
    "QueryStringFilter",
    "RequestObserver",
    "logging_config",
]

ACCESS_LOGGER = "deconflict.access"
"""The logger of the one-line-per-request records."""

REQUEST_ID_HEADER = "X-Request-ID"
"""The header that carries a request's id, both ways."""

PARTY_STATE_KEY = "party"
"""Where the authentication dependency leaves the caller's name in the request's state."""

LogFormat = Literal["json", "text"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _request_id(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(16)


def _rfc3339_ms(time_s: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time_s))
    return f"{whole}.{int(time_s % 1.0 * 1000):03d}Z"


class RequestObserver:
    """ASGI middleware: request id, access log line, request metrics (HTTP only; WebSockets pass).

    Parameters
    ----------
    app
        The application it wraps.
    metrics
        Where requests are counted, or ``None``.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(Headers(scope=scope))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # unless the app starts an answer
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_s = time.perf_counter() - start
            self._record(scope, state, request_id, status, duration_s)

    def _record(
        self, scope: Scope, state: dict[str, Any], request_id: str, status: int, duration_s: float
    ) -> None:
        method = str(scope["method"])
        route = getattr(scope.get("route"), "path", None)
        if self.metrics is not None:
            self.metrics.observe(
                route if isinstance(route, str) else UNMATCHED_ROUTE, method, status, duration_s
            )
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": method,
            "path": str(scope["path"]),  # without the query string
            "status": status,
            "duration_ms": round(duration_s * 1000.0, 3),
        }
        party = state.get(PARTY_STATE_KEY)
        if isinstance(party, str):
            fields["party"] = party
        self.logger.info(
            "%s %s %d %.1f ms request_id=%s party=%s",
            fields["method"],
            fields["path"],
            status,
            fields["duration_ms"],
            request_id,
            party if isinstance(party, str) else "-",
            extra={"fields": fields},
        )


_QUERY = re.compile(r"(/[^\s?#\"']*)\?[^\s#\"']*")


class QueryStringFilter(logging.Filter):
    """Cuts the query string from every path in a record's message: tokens may travel there.

    Whoever logs (uvicorn logs each WebSocket's path with its query string), the
    line keeps the path and loses what follows its ``?``.

    Examples
    --------
    >>> record = logging.makeLogRecord({"msg": '%s "WebSocket %s" [accepted]',
    ...                                 "args": ("127.0.0.1:5", "/v1/events?token=s3cret")})
    >>> QueryStringFilter().filter(record), record.getMessage()
    (True, '127.0.0.1:5 "WebSocket /v1/events" [accepted]')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            cut = _QUERY.sub(r"\1", message)
            if cut != message:
                record.msg, record.args = cut, None
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (RFC 3339 UTC, ms), ``level``, ``logger``, then the
    record's ``fields`` (access lines) or its ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _rfc3339_ms(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            document.update(fields)
        else:
            document["message"] = record.getMessage()
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def logging_config(log_format: LogFormat) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the server (also uvicorn's ``log_config``).

    The ``deconflict`` and ``uvicorn`` loggers write to stderr at INFO, as JSON
    lines (``json``) or plain text (``text``); uvicorn's own access log is off,
    :class:`RequestObserver` logs each request instead. Every other logger's
    warnings go through the same handler, and every line through
    :class:`QueryStringFilter`.
    """
    if log_format not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', got {log_format!r}")
    handler = {
        "class": "logging.StreamHandler",
        "formatter": log_format,
        "stream": "ext://sys.stderr",
        "filters": ["no_query_strings"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": f"{__name__}.JsonLogFormatter"},
            "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "filters": {"no_query_strings": {"()": f"{__name__}.QueryStringFilter"}},
        "handlers": {"default": handler},
        "loggers": {
            "deconflict": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
