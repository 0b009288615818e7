"""``benchmarks/cluster.py`` once, small: 3 nodes on PostgreSQL and 3 NATS servers, a kill, all stopped.

Runs on the session's servers (``postgres``, ``nats``: tests/conftest.py), on a new database;
skipped without PostgreSQL/PostGIS or nats-server, failed instead under
``DECONFLICT_REQUIRE_POSTGRES`` / ``DECONFLICT_REQUIRE_NATS``. ``make bench BENCH_CLUSTER=1``
runs it on servers of its own.
"""

from __future__ import annotations

import os
import time

from tests.cluster.servers import NatsCluster, PostgresServer
from tests.servers import load_benchmark


def test_the_cluster_benchmark_delivers_across_nodes_and_clients_catch_up_after_a_kill(
    postgres: PostgresServer, fresh_postgres_url: str, nats: NatsCluster
) -> None:
    key_before = os.environ.get("DECONFLICT_AUDIT_KEY_PATH")
    started = time.monotonic()
    benchmark = load_benchmark("cluster")
    figures = benchmark.run(
        messages=40,
        seconds=10.0,
        senders=2,
        kills=1,
        clients=2,
        interval_s=0.05,
        servers=benchmark.Servers(postgres, fresh_postgres_url, nats),
    )
    throughput, failover = figures["throughput"], figures["failover"]
    assert throughput["messages"] == 40 and throughput["errors"] == 0, throughput
    assert 0 < throughput["delivery_p50_ms"] <= throughput["delivery_p99_ms"]
    assert throughput["servers_cpu_s"] > 0
    assert failover["not_caught_up"] == 0 and failover["duplicates"] == 0, failover
    assert 0 < failover["failover_p50_s"] <= failover["failover_p99_s"] < 30.0
    assert time.monotonic() - started < 120.0
    assert os.environ.get("DECONFLICT_AUDIT_KEY_PATH") == key_before  # the environment left as it was
