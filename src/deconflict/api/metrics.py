"""Prometheus metrics of one app: its own registry, request counters and the channel's state at scrape time.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (never the
process-wide default one), so two apps in one process, as in the tests, keep
separate counts. Request metrics are labelled by the route *template*
(``/v1/messages/{message_id}``), never the raw path, so ids do not multiply the
series; a request that matches no route counts as ``<unmatched>``. No label
names a party.

Gauges read at scrape time:

* ``deconflict_open_conflicts``: conflicts that still stand (all parties);
* ``deconflict_overdue_messages``: messages past their reply-by deadline and still unanswered;
* ``deconflict_event_connections``: open ``/v1/events`` WebSocket connections;
* ``deconflict_tracked_aircraft``, ``deconflict_active_alerts`` and
  ``deconflict_open_incidents``: when the service runs the live picture;
* ``deconflict_tactical_picture_age_seconds``: how old the live picture is (the
  time since the states of the latest finished detection cycle were taken).

Counted as they happen:

* ``deconflict_tactical_cycle_seconds`` (histogram): each detection cycle, from
  taking the states to the events pushed;
* ``deconflict_track_states_accepted_total`` and
  ``deconflict_track_states_refused_total`` (by ``reason``: stale, older,
  implausible ...): states posted to ``POST /v1/tracks``; their ``rate()`` is per second;
* ``deconflict_event_alerts_coalesced`` (histogram): alert changes in each coalesced
  ``alerts`` event pushed to a connection (one cycle's, or several cycles' for a slow reader).

These are totals over all parties: a party that subtracts its own learns the
others'. So they are for the operator only, never on the party port by
default: :func:`serve_metrics` serves them on an address of their own
(``deconflict serve --metrics-bind HOST:PORT``), and ``GET /metrics`` on the
party port answers only to the operator token (``metrics_token``), 404 otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from deconflict.api.deps import Services
from deconflict.channel.live import Intake

__all__ = ["CONTENT_TYPE", "UNMATCHED_ROUTE", "Metrics", "MetricsServer", "serve_metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of the text exposition format."""

UNMATCHED_ROUTE = "<unmatched>"
"""The route label of requests that match no route (404s of unknown paths)."""

_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CYCLE_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_COALESCED_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 50000)


class _ChannelState(Collector):
    """Gauges computed from the running services at each scrape."""

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self._services = services

    def describe(self) -> Iterable[Metric]:
        return ()  # computed at scrape time only; nothing to check for clashes at registration

    def collect(self) -> Iterable[Metric]:
        services = self._services()
        if services is None:  # before start-up or after shutdown
            return
        now_s = services.clock.now_s()
        yield GaugeMetricFamily(
            "deconflict_open_conflicts",
            "Conflicts between plans that still stand (all parties)",
            value=services.store.count_open_conflicts(),
        )
        yield GaugeMetricFamily(
            "deconflict_overdue_messages",
            "Hotline messages past their reply-by deadline and still unanswered",
            value=services.messages.count_waiting_overdue(now_s),
        )
        parties = [p.name for p in services.parties.list_parties()]
        yield GaugeMetricFamily(
            "deconflict_event_connections",
            "Open /v1/events WebSocket connections",
            value=sum(services.events.connections(p) for p in parties),
        )
        live = services.live
        if live is not None:
            yield GaugeMetricFamily(
                "deconflict_tracked_aircraft",
                "Aircraft held in the live picture",
                value=live.aircraft_count(),
            )
            yield GaugeMetricFamily("deconflict_active_alerts", "Alerts active now", value=live.alert_count())
            yield GaugeMetricFamily(
                "deconflict_open_incidents",
                "Losses of separation going on now",
                value=len(live.open_incidents()),
            )
            cycled_s = live.cycled_s
            if cycled_s is not None:
                yield GaugeMetricFamily(
                    "deconflict_tactical_picture_age_seconds",
                    "Time since the states of the latest finished detection cycle were taken",
                    value=max(0.0, now_s - cycled_s),
                )


class Metrics:
    """The metrics of one app.

    Parameters
    ----------
    services
        Returns the app's running services, or ``None`` when it is not started.
    """

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "deconflict_http_requests",
            "HTTP requests by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "deconflict_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template and method",
            ("route", "method"),
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.cycle_seconds = Histogram(
            "deconflict_tactical_cycle_seconds",
            "Time one detection cycle of the live picture takes, events pushed included",
            buckets=_CYCLE_BUCKETS_S,
            registry=self.registry,
        )
        self.states_accepted = Counter(
            "deconflict_track_states_accepted",
            "Aircraft states posted and taken into the live picture",
            registry=self.registry,
        )
        self.states_refused = Counter(
            "deconflict_track_states_refused",
            "Aircraft states posted and not taken, by reason",
            ("reason",),
            registry=self.registry,
        )
        self.coalesced = Histogram(
            "deconflict_event_alerts_coalesced",
            "Alert changes carried by one coalesced alerts event pushed to a connection",
            buckets=_COALESCED_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_ChannelState(services))

    def observe(self, route: str, method: str, status: int, duration_s: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(duration_s)

    def count_states(self, intake: Intake) -> None:
        """Count the states of one posted batch: accepted, and refused by reason."""
        self.states_accepted.inc(intake.accepted)
        for reason, count in intake.refused.items():
            self.states_refused.labels(reason).inc(count)

    def exposition(self) -> bytes:
        """Everything in the Prometheus text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class MetricsServer:
    """The operator address serving the metrics, from a thread of its own (:func:`serve_metrics`)."""

    def __init__(self, server: WSGIServer, thread: threading.Thread, url: str) -> None:
        self._server = server
        self._thread = thread
        self.url = url
        """Where the metrics are, ``http://HOST:PORT/metrics`` with the port listened on."""

    def stop(self) -> None:
        """Stop listening and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)


def serve_metrics(metrics: Metrics, host: str, port: int) -> MetricsServer:
    """Serve ``metrics`` at ``http://HOST:PORT/metrics``: the operator address (port 0: any free port).

    Raises
    ------
    OSError
        When it cannot listen there.
    """
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    shown = f"[{host}]" if ":" in host else host
    return MetricsServer(server, thread, f"http://{shown}:{server.server_port}/metrics")
