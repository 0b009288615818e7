"""Channel statistics as pure functions: months, pairs, ack-time percentiles, overdue, conflicts, alerts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from deconflict.channel.conflicts import (
    ConflictLifecycle,
    Resolution,
    accept_conflict,
    acknowledge_conflict,
    new_lifecycle,
    resolve_conflict,
)
from deconflict.channel.messages import AckLevel, Message, MessageContent
from deconflict.channel.stats import ChannelStats, PairStats, channel_stats, month_of
from deconflict.strategic.conflicts import Conflict
from tests.builders import T0_S  # 2026-01-01T12:00:00Z

DAY_S = 86_400.0
JAN_S = T0_S - 12 * 3600.0  # 2026-01-01T00:00:00Z
FEB_S = JAN_S + 31 * DAY_S  # 2026-02-01T00:00:00Z


def message(
    message_id: int,
    sender: str,
    recipient: str,
    created_s: float,
    answered_after_s: float | None = None,
    reply_by: str | None = None,
) -> Message:
    content = MessageContent(sender, recipient, "FREE", {}, "", reply_by, f"nonce-{message_id:012d}")
    answered_s = None if answered_after_s is None else created_s + answered_after_s
    level = AckLevel.SENT if answered_s is None else AckLevel.ACCEPTED
    return Message(message_id, content, "sig", created_s, level=level, answered_s=answered_s)


def conflict(conflict_id: int, party_a: str, party_b: str) -> ConflictLifecycle:
    facts = Conflict(
        "a", "b", party_a, party_b, "op-a", "op-b", 0.0, 60.0, 0.0, 100.0, "MSL", 1.0, (0, 0, 1, 1)
    )
    return new_lifecycle(conflict_id, facts)


def pair_of(stats: ChannelStats, month: str, other: str) -> PairStats:
    found = [p for m in stats.months if m.month == month for p in m.pairs if other in p.parties]
    assert len(found) == 1, (month, other, stats)
    return found[0]


def test_month_of_is_the_utc_month() -> None:
    assert month_of(JAN_S) == "2026-01"
    assert month_of(JAN_S - 0.001) == "2025-12"
    assert month_of(FEB_S - 1.0) == "2026-01"
    assert month_of(FEB_S) == "2026-02"


def test_ack_times_median_and_p95_interpolate_linearly() -> None:
    answered_after = [10.0, 20.0, 30.0, 40.0]
    messages = [message(i, "blue", "red", T0_S + i, a) for i, a in enumerate(answered_after)]
    messages.append(message(9, "red", "blue", T0_S + 100.0))  # unanswered: counted, no time
    stats = channel_stats("blue", messages, [], {}, {}, T0_S + 1000.0)
    pair = pair_of(stats, "2026-01", "red")
    assert pair.parties == ("blue", "red")
    assert pair.messages == 5
    assert pair.ack_median_s == pytest.approx(25.0)
    assert pair.ack_p95_s == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert pair.ack_p95_s == pytest.approx(float(np.percentile(answered_after, 95)))


def test_no_answer_means_no_percentile() -> None:
    stats = channel_stats("blue", [message(1, "blue", "red", T0_S)], [], {}, {}, T0_S)
    pair = pair_of(stats, "2026-01", "red")
    assert (pair.messages, pair.ack_median_s, pair.ack_p95_s) == (1, None, None)


def test_messages_count_in_the_month_they_were_sent_both_directions() -> None:
    messages = [
        message(1, "blue", "red", FEB_S - 1.0, 7200.0),  # answered in February, sent in January
        message(2, "red", "blue", FEB_S + 10.0),
        message(3, "blue", "green", FEB_S + 20.0, 5.0),
    ]
    stats = channel_stats("blue", messages, [], {}, {}, FEB_S + DAY_S)
    assert [m.month for m in stats.months] == ["2026-01", "2026-02"]
    january = pair_of(stats, "2026-01", "red")
    assert (january.messages, january.ack_median_s) == (1, 7200.0)
    assert pair_of(stats, "2026-02", "red").messages == 1
    assert pair_of(stats, "2026-02", "green").parties == ("blue", "green")
    assert [p.parties for p in stats.months[1].pairs] == [("blue", "green"), ("blue", "red")]


def test_overdue_counts_missed_deadlines_only_once_passed() -> None:
    deadline = "2026-01-01T12:30:00Z"  # T0 + 1800 s
    messages = [
        message(1, "blue", "red", T0_S, None, deadline),  # unanswered
        message(2, "blue", "red", T0_S, 3600.0, deadline),  # answered late: still missed it
        message(3, "blue", "red", T0_S, 60.0, deadline),  # answered in time
        message(4, "blue", "red", T0_S, None, None),  # no deadline
    ]
    before = pair_of(channel_stats("blue", messages, [], {}, {}, T0_S + 1799.0), "2026-01", "red")
    assert before.overdue == 0
    after = pair_of(channel_stats("blue", messages, [], {}, {}, T0_S + 7200.0), "2026-01", "red")
    assert after.overdue == 2


def test_conflicts_count_by_state_in_their_detection_month() -> None:
    opened = conflict(1, "blue", "red")
    acked = acknowledge_conflict(acknowledge_conflict(conflict(2, "red", "blue"), "blue", T0_S), "red", T0_S)
    accepted = accept_conflict(accept_conflict(acked, "blue", "ok", T0_S), "red", "ok", T0_S)
    accepted = replace(accepted, conflict_id=3)
    resolved = resolve_conflict(conflict(4, "blue", "red"), "red", Resolution.WITHDRAWN, FEB_S)
    undated = conflict(5, "blue", "red")
    detected = {1: T0_S + 5.0, 2: T0_S + 6.0, 3: T0_S + 7.0, 4: T0_S + 8.0}
    stats = channel_stats("blue", [], [opened, acked, accepted, resolved, undated], detected, {}, FEB_S)
    january = pair_of(stats, "2026-01", "red").conflicts
    assert (january.open, january.acknowledged, january.accepted, january.resolved) == (1, 1, 1, 1)
    # Without a detection time a conflict counts now.
    assert pair_of(stats, "2026-02", "red").conflicts.open == 1


def test_alerts_and_incidents_come_from_the_tactical_counts() -> None:
    tactical = {("2026-01", "red"): (4, 1), ("2026-03", "green"): (2, 0), ("2026-04", "red"): (0, 0)}
    stats = channel_stats("blue", [message(1, "blue", "red", T0_S)], [], {}, tactical, T0_S)
    january = pair_of(stats, "2026-01", "red")
    assert (january.messages, january.alerts, january.incidents) == (1, 4, 1)
    march = pair_of(stats, "2026-03", "green")
    assert (march.messages, march.alerts, march.incidents) == (0, 2, 0)
    assert "2026-04" not in [m.month for m in stats.months]  # nothing to count


def test_records_of_other_pairs_are_never_counted() -> None:
    messages = [message(1, "blue", "red", T0_S, 10.0), message(2, "red", "green", T0_S, 20.0)]
    conflicts = [conflict(1, "blue", "red"), conflict(2, "red", "green")]
    detected = {1: T0_S, 2: T0_S}
    for party, other, visible in (("blue", "red", 1), ("green", "red", 1), ("red", "blue", 1)):
        stats = channel_stats(party, messages, conflicts, detected, {}, T0_S)
        pairs = [p.parties for m in stats.months for p in m.pairs]
        assert all(party in p for p in pairs), (party, pairs)
        assert pair_of(stats, "2026-01", other).messages == visible
    red = channel_stats("red", messages, conflicts, detected, {}, T0_S)
    assert [p.parties for p in red.months[0].pairs] == [("blue", "red"), ("green", "red")]
    assert (
        channel_stats("blue", messages, conflicts, detected, {}, T0_S).months[0].pairs[0].ack_median_s == 10.0
    )


def test_nothing_to_count_is_no_months() -> None:
    assert channel_stats("blue", [], [], {}, {}, T0_S) == ChannelStats("blue", ())
