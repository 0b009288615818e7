"""``benchmarks/feeds.py`` on a small scale: every reader's figures, and the one-hour replay of a
busy capture through ``deconflict replay`` (a process of its own) in times real time."""

from __future__ import annotations

import json

import pytest

from tests.servers import load_benchmark


def test_the_feed_benchmark_reads_every_format_and_replays_an_hour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load_benchmark("feeds")
    small = ["--copies", "1", "--beast-copies", "2", "--asterix-copies", "0", "--hour-copies", "3"]
    assert bench.main([*small, "--repeat", "1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["identical"] is True
    beast = document["beast"]
    # each copy's own addresses: the second copy's states are not the first one's again
    assert beast["dropped"]["garbage"] == 1 and beast["states"] > 9_000
    assert beast["frames_per_cpu_s"] > 0 and beast["cpu_s"] > 0
    hour = document["hour"]
    assert hour["copies"] == 3 and hour["aircraft"] > 60 and hour["frames"] > 10_000
    assert hour["x_real_time"] > 1 and hour["cpu_s"] > 0
