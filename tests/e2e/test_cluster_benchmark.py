"""``benchmarks/cluster.py`` once, small: 3 nodes on PostgreSQL and 3 NATS servers, a kill, all stopped.

Starts its own servers (``tests/cluster/servers.py``); skipped without PostgreSQL/PostGIS or
nats-server, failed instead under ``DECONFLICT_REQUIRE_POSTGRES`` / ``DECONFLICT_REQUIRE_NATS``.
"""

from __future__ import annotations

import os
import time

from tests.cluster.servers import nats_missing, postgres_missing, unavailable
from tests.servers import load_benchmark


def test_the_cluster_benchmark_delivers_across_nodes_and_clients_catch_up_after_a_kill() -> None:
    for missing, variable in (
        (postgres_missing(), "DECONFLICT_REQUIRE_POSTGRES"),
        (nats_missing(), "DECONFLICT_REQUIRE_NATS"),
    ):
        if missing is not None:
            unavailable(missing, variable)
    key_before = os.environ.get("DECONFLICT_AUDIT_KEY_PATH")
    started = time.monotonic()
    figures = load_benchmark("cluster").run(
        messages=40, seconds=10.0, senders=2, kills=1, clients=2, interval_s=0.05
    )
    throughput, failover = figures["throughput"], figures["failover"]
    assert throughput["messages"] == 40 and throughput["errors"] == 0, throughput
    assert 0 < throughput["delivery_p50_ms"] <= throughput["delivery_p99_ms"]
    assert throughput["servers_cpu_s"] > 0
    assert failover["not_caught_up"] == 0 and failover["duplicates"] == 0, failover
    assert 0 < failover["failover_p50_s"] <= failover["failover_p99_s"] < 30.0
    assert time.monotonic() - started < 120.0
    assert os.environ.get("DECONFLICT_AUDIT_KEY_PATH") == key_before  # the environment left as it was
