"""``benchmarks/load.py`` for a short run: mixed load from several parties, no error, bounded memory."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from types import ModuleType
from typing import Any

import pytest

from tests.servers import load_benchmark


@pytest.fixture(scope="module")
def load() -> ModuleType:
    return load_benchmark("load")


def run_benchmark(load: ModuleType, *argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = load.main(list(argv))
    figures: dict[str, Any] = json.loads(out.getvalue())
    return code, figures


def test_a_short_mixed_load_has_no_errors(load: ModuleType) -> None:
    code, figures = run_benchmark(load, "--seconds", "8", "--parties", "3")
    assert figures["errors"] == 0, figures["error_kinds"]
    assert code == 0 and figures["ok"] is True
    kinds = figures["kinds"]
    assert set(kinds) == set(load.KINDS)
    for kind, measured in kinds.items():
        assert measured["count"] > 0, kind  # every kind of request was made
        assert 0 < measured["p50_ms"] <= measured["p99_ms"], kind
    assert figures["requests"] == sum(m["count"] for m in kinds.values())
    assert figures["rss_before_mib"] > 0 and figures["rss_after_mib"] > 0


def test_growth_beyond_the_bound_fails_the_run(load: ModuleType) -> None:
    # A bound no server meets (memory must shrink by 1 GiB): the run must say so in its exit code.
    code, figures = run_benchmark(load, "--seconds", "1", "--parties", "2", "--max-rss-growth-mib", "-1024")
    assert figures["errors"] == 0
    assert figures["ok"] is False and code == 1
