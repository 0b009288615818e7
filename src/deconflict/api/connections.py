"""Connection hygiene for ``deconflict serve``: a header-read timeout and a cap on open connections.

uvicorn times out idle keep-alive connections (``timeout_keep_alive``) but
not a request whose headers never finish: a client that sends half a request
line, or one byte a second, holds its connection (and a file descriptor) for
as long as it likes, and a few hundred such clients starve everyone else.
uvicorn's ``limit_concurrency`` answers 503 only once a request's headers are
complete, so it does not bound those either.

:func:`guarded_http_protocol` makes uvicorn's HTTP protocol class with both:

* each request's headers must be complete within ``header_timeout_s`` of the
  connection opening (first request) or of the request's first byte (later
  requests on a kept-alive connection); otherwise the connection is closed.
  The clock is not reset by each byte that arrives, so a slow drip does not
  help;
* beyond ``max_connections`` open at once (HTTP and WebSocket alike), a new
  connection is answered ``503`` and closed at once, before anything of it is
  read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OVER_CAP_RESPONSE", "guarded_http_protocol"]

_log = logging.getLogger(__name__)

_WARN_EVERY_S = 60.0

OVER_CAP_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 41\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"too many connections: retry in a moment\r\n"
)
"""What a connection beyond the cap receives before it is closed."""


def guarded_http_protocol(header_timeout_s: float, max_connections: int) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with a header-read timeout and a connection cap (``uvicorn.run(http=)``).

    Parameters
    ----------
    header_timeout_s
        Seconds a request has to complete its headers; more and its connection is closed.
    max_connections
        Connections (HTTP and WebSocket) open at once; one more is answered 503 and closed.
    """
    if header_timeout_s <= 0 or max_connections < 1:
        raise ValueError("header_timeout_s must be > 0 and max_connections at least 1")

    class GuardedHttpProtocol(HttpToolsProtocol):
        warned_s = -math.inf  # shared by all connections: the cap is logged once a minute at most

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                now_s = time.monotonic()
                if now_s - GuardedHttpProtocol.warned_s >= _WARN_EVERY_S:
                    GuardedHttpProtocol.warned_s = now_s
                    _log.warning(
                        "more than max_connections (%d) open: new connections are answered 503",
                        max_connections,
                    )
                transport.write(OVER_CAP_RESPONSE)
                transport.close()
                return
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()  # a later request on a kept-alive connection: timed from its first byte

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttpProtocol
