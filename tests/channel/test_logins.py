"""Failed logins: one window per source and reason, counted; a source over its rate is told to wait."""

from __future__ import annotations

import pytest

from deconflict.api.rates import RateLimiter
from deconflict.channel.logins import FailureCount, LoginFailures
from tests.builders import T0_S


def test_a_window_records_its_first_failure_and_counts_the_rest() -> None:
    failures = LoginFailures(interval_s=60.0, per_minute=1000)
    assert failures.failed("10.0.0.1", "unknown token", (), T0_S) == (True, None, [])
    for k in range(1, 5):
        assert failures.failed("10.0.0.1", "unknown token", (), T0_S + k) == (False, None, [])
    assert failures.failed("10.0.0.2", "unknown token", (), T0_S + 5)[0]  # another source: its own window
    assert failures.failed("10.0.0.1", "token of revoked party 'red'", ("red",), T0_S + 6)[
        0
    ]  # another reason
    record_now, _, due = failures.failed("10.0.0.1", "unknown token", (), T0_S + 61)
    assert record_now  # a new window
    assert due == [FailureCount("10.0.0.1", "unknown token", (), 4, T0_S + 1, T0_S + 4)]
    assert failures.due(T0_S + 62, everything=True) == []  # nothing beyond the first in the open windows


def test_a_source_over_its_rate_is_told_how_long_to_wait() -> None:
    failures = LoginFailures(interval_s=60.0, per_minute=3)
    assert [failures.failed("a", "unknown token", (), T0_S + k)[1] for k in range(3)] == [None] * 3
    assert failures.failed("a", "unknown token", (), T0_S + 10)[1] == pytest.approx(50.0)
    assert failures.failed("b", "unknown token", (), T0_S + 10)[1] is None  # others are not limited
    assert failures.failed("a", "unknown token", (), T0_S + 62)[1] is None  # the minute has passed


class _CountingRate(RateLimiter):
    """The cluster's count (in memory here), with how often a node asked it."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.asked = 0

    def admit(self, key: str, now_s: float) -> float | None:
        self.asked += 1
        return super().admit(key, now_s)


def test_nodes_sharing_a_rate_hold_the_limit_together_and_a_refusing_node_asks_it_nothing() -> None:
    shared = _CountingRate(3)
    nodes = [LoginFailures(interval_s=60.0, per_minute=3, shared=shared) for _ in range(2)]
    waits = [nodes[k % 2].failed("a", "unknown token", (), T0_S + k)[1] for k in range(5)]
    assert waits[:3] == [None] * 3  # three in all, not three per node
    assert waits[3] == pytest.approx(57.0) and waits[4] == pytest.approx(56.0)
    assert nodes[0].failed("b", "unknown token", (), T0_S + 5)[1] is None  # another source is not limited
    # A node over the limit by its own count refuses without asking the cluster.
    alone = LoginFailures(interval_s=60.0, per_minute=3, shared=shared)
    for k in range(4):
        alone.failed("c", "unknown token", (), T0_S + k)
    asked = shared.asked
    assert alone.failed("c", "unknown token", (), T0_S + 5)[1] is not None
    assert shared.asked == asked
