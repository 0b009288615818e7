"""``GET /v1/health``: answered on the event loop, whatever the worker threads are doing."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from deconflict.api.routers.health import router


def test_health_is_answered_on_the_event_loop_never_queued_for_a_worker_thread() -> None:
    # A plain def route runs in the thread pool with the POST /v1/tracks decoding: under load its
    # answer waited for a worker thread, and for the interpreter, several times over.
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.path == "/v1/health"]
    assert inspect.iscoroutinefunction(route.endpoint)
