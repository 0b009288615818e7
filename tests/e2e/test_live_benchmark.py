"""``benchmarks/live.py`` for a short run: a few hundred aircraft, planted alerts on both sockets."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from types import ModuleType
from typing import Any

import pytest

from tests.servers import load_benchmark

FIELDS = {
    "states_per_s",
    "post_p50_ms",
    "post_p99_ms",
    "cycle_p50_s",
    "cycle_p99_s",
    "alert_delay_p50_s",
    "alert_delay_p99_s",
    "planted_alerts",
    "planted_expected",
    "socket_closes",
    "peak_rss_mib",
    "health_p50_ms",
    "health_p99_ms",
    "server_cpu_s",
    "client_cpu_s",
}


@pytest.fixture(scope="module")
def live() -> ModuleType:
    return load_benchmark("live")


def test_a_short_run_brings_every_planted_alert_to_both_sockets(live: ModuleType) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        code = live.main(
            ["--aircraft", "200", "--duration", "6", "--warmup", "3", "--planted", "2", "--json"]
        )
    figures: dict[str, Any] = json.loads(out.getvalue())
    assert set(figures) >= FIELDS
    assert figures["errors"] == {}
    assert figures["planted_expected"] == 4  # two pairs, each side's socket
    assert figures["planted_alerts"] == 4 and code == 0
    assert 0 < figures["alert_delay_p50_s"] <= figures["alert_delay_p99_s"] < 30
    assert figures["socket_closes"] == 0
    assert figures["states_per_s"] > 0 and figures["cycles"] > 0
    assert 0 < figures["post_p50_ms"] <= figures["post_p99_ms"]
    assert 0 < figures["health_p50_ms"] <= figures["health_p99_ms"]
    assert figures["peak_rss_mib"] > 0


def test_the_planted_pairs_close_head_on_between_two_parties(live: ModuleType) -> None:
    pairs = live.planted_pairs(4, 10_000, False, 100.0, 200.0, 7)
    assert [p["at_s"] for p in pairs] == [100.0, 125.0, 150.0, 175.0]
    for pair in pairs:
        a, b = pair["sides"]
        assert a[0] != b[0]  # two parties
        assert abs((a[4] + 180.0) % 360.0 - b[4]) < 1e-9  # head-on
