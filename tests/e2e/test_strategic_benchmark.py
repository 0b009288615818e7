"""``benchmarks/strategic.py --store sqlite postgres``: the same filings on both stores, one document.

Starts its own PostgreSQL server (``tests/cluster/servers.py``); skipped without PostgreSQL and
PostGIS, failed instead under ``DECONFLICT_REQUIRE_POSTGRES``.
"""

from __future__ import annotations

import json

import pytest

from tests.cluster.servers import postgres_missing, unavailable
from tests.servers import load_benchmark


def test_both_stores_file_the_same_operations_and_find_the_same_conflicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = postgres_missing()
    if missing is not None:
        unavailable(missing, "DECONFLICT_REQUIRE_POSTGRES")
    bench = load_benchmark("strategic")
    small = ["--volumes", "600", "--operations", "30", "--wide", "1", "--worst-meets", "60", "--json"]
    assert bench.main([*small, "--store", "sqlite", "postgres"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"sqlite", "postgres", "ratio"}
    for store in ("sqlite", "postgres"):
        figures = document[store]
        assert figures["agree"] is True and figures["stored_volumes"] == 600, store
        assert 0 < figures["file_p50_ms"] <= figures["file_p99_ms"]
    assert document["sqlite"]["conflicts_found"] == document["postgres"]["conflicts_found"] > 0
    assert document["ratio"]["same_conflicts"] is True
    assert document["ratio"]["file_p50_postgres_to_sqlite"] > 0


def test_one_store_prints_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark("strategic")
    assert bench.main(["--volumes", "300", "--operations", "10", "--wide", "0", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["agree"] is True and "sqlite" not in figures and "file_p50_ms" in figures
