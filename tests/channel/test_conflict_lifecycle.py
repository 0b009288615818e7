"""Pure lifecycle transitions of a conflict: every valid path, every invalid one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deconflict.channel.conflicts import (
    ConflictLifecycle,
    ConflictState,
    Resolution,
    accept_conflict,
    acknowledge_conflict,
    current_lifecycles,
    lifecycle_view,
    new_lifecycle,
    resolve_conflict,
)
from deconflict.errors import InputError, NotFoundError, TransitionError
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.store import ConflictRecord

CONFLICT = Conflict(
    "b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL", 1.0, (0.0, 0.0, 1.0, 1.0)
)


def fresh() -> ConflictLifecycle:
    return new_lifecycle(7, CONFLICT)


def acked_by_both() -> ConflictLifecycle:
    return acknowledge_conflict(acknowledge_conflict(fresh(), "red", 10.0), "blue", 20.0)


def accepted_by_both() -> ConflictLifecycle:
    one = accept_conflict(acked_by_both(), "blue", "fine for us", 30.0)
    return accept_conflict(one, "red", "we climb later", 40.0)


def resolved() -> ConflictLifecycle:
    return resolve_conflict(fresh(), "red", Resolution.AMENDED, 50.0)


def test_a_new_conflict_is_open_with_nothing_done() -> None:
    lifecycle = fresh()
    assert lifecycle.state is ConflictState.OPEN
    assert lifecycle.parties == ("blue", "red")
    assert (lifecycle.side_a.party, lifecycle.side_b.party) == ("blue", "red")


def test_each_sides_acknowledgement_is_recorded_separately() -> None:
    one = acknowledge_conflict(fresh(), "red", 10.0)
    assert one.state is ConflictState.OPEN
    assert (one.side_a.acknowledged_s, one.side_b.acknowledged_s) == (None, 10.0)
    both = acknowledge_conflict(one, "blue", 20.0)
    assert both.state is ConflictState.ACKNOWLEDGED
    assert (both.side_a.acknowledged_s, both.side_b.acknowledged_s) == (20.0, 10.0)
    assert fresh().state is ConflictState.OPEN  # frozen: nothing changed in place


def test_accepted_only_once_both_sides_accept_each_with_its_reason() -> None:
    one = accept_conflict(acked_by_both(), "blue", "  fine for us ", 30.0)
    assert one.state is ConflictState.ACKNOWLEDGED
    assert one.side_a.accept_reason == "fine for us"
    both = accept_conflict(one, "red", "we climb later", 40.0)
    assert both.state is ConflictState.ACCEPTED
    assert (both.side_a.accepted_s, both.side_b.accepted_s) == (30.0, 40.0)


def test_one_side_may_accept_before_the_other_acknowledges() -> None:
    lifecycle = accept_conflict(acknowledge_conflict(fresh(), "red", 1.0), "red", "ok", 2.0)
    assert lifecycle.state is ConflictState.OPEN
    assert lifecycle.side_b.accept_reason == "ok"


@pytest.mark.parametrize("build", [fresh, acked_by_both, accepted_by_both], ids=["open", "acked", "accepted"])
@pytest.mark.parametrize("resolution", list(Resolution))
def test_resolving_works_from_every_state_but_resolved(
    build: Callable[[], ConflictLifecycle], resolution: Resolution
) -> None:
    before = build()
    after = resolve_conflict(before, "blue", resolution, 99.0)
    assert after.state is ConflictState.RESOLVED
    assert (after.resolution, after.resolved_by, after.resolved_s) == (resolution, "blue", 99.0)
    assert (after.side_a, after.side_b) == (before.side_a, before.side_b)  # the history stays


@pytest.mark.parametrize(
    ("build", "change", "current", "message"),
    [
        (
            lambda: acknowledge_conflict(fresh(), "red", 1.0),
            lambda lc: acknowledge_conflict(lc, "red", 2.0),
            "open",
            "already acknowledged",
        ),
        (
            acked_by_both,
            lambda lc: acknowledge_conflict(lc, "blue", 2.0),
            "acknowledged",
            "already acknowledged",
        ),
        (fresh, lambda lc: accept_conflict(lc, "red", "ok", 2.0), "open", "must acknowledge"),
        (
            lambda: acknowledge_conflict(fresh(), "blue", 1.0),
            lambda lc: accept_conflict(lc, "red", "ok", 2.0),
            "open",
            "must acknowledge",
        ),
        (
            lambda: accept_conflict(acked_by_both(), "red", "ok", 3.0),
            lambda lc: accept_conflict(lc, "red", "again", 4.0),
            "acknowledged",
            "already accepted by 'red'",
        ),
        (accepted_by_both, lambda lc: acknowledge_conflict(lc, "red", 2.0), "accepted", "accepted by both"),
        (
            accepted_by_both,
            lambda lc: accept_conflict(lc, "blue", "again", 2.0),
            "accepted",
            "accepted by both",
        ),
        (
            resolved,
            lambda lc: acknowledge_conflict(lc, "blue", 60.0),
            "resolved",
            r"resolved \(amended by red\)",
        ),
        (resolved, lambda lc: accept_conflict(lc, "blue", "ok", 60.0), "resolved", "resolved"),
        (
            resolved,
            lambda lc: resolve_conflict(lc, "blue", Resolution.WITHDRAWN, 60.0),
            "resolved",
            "already resolved",
        ),
        (
            resolved,
            lambda lc: resolve_conflict(lc, "red", Resolution.AMENDED, 60.0),
            "resolved",
            "already resolved",
        ),
    ],
    ids=[
        "ack-twice-open",
        "ack-twice-acknowledged",
        "accept-before-ack",
        "accept-before-own-ack",
        "accept-twice",
        "ack-accepted",
        "accept-accepted",
        "ack-resolved",
        "accept-resolved",
        "resolve-resolved-other-side",
        "resolve-resolved-same-side",
    ],
)
def test_every_invalid_transition_is_refused_with_the_current_state(
    build: Callable[[], ConflictLifecycle],
    change: Callable[[ConflictLifecycle], ConflictLifecycle],
    current: str,
    message: str,
) -> None:
    with pytest.raises(TransitionError, match=message) as caught:
        change(build())
    assert caught.value.current == current


@pytest.mark.parametrize(
    "change",
    [
        lambda lc: acknowledge_conflict(lc, "green", 1.0),
        lambda lc: accept_conflict(lc, "green", "ok", 1.0),
        lambda lc: resolve_conflict(lc, "green", Resolution.WITHDRAWN, 1.0),
        lambda lc: lifecycle_view(lc, "green"),
    ],
    ids=["ack", "accept", "resolve", "view"],
)
def test_a_party_on_neither_side_finds_no_conflict(change: Callable[[ConflictLifecycle], object]) -> None:
    with pytest.raises(NotFoundError, match="no conflict 7 for party 'green'"):
        change(fresh())


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_accepting_needs_a_reason_of_sensible_length(reason: str) -> None:
    with pytest.raises(InputError):
        accept_conflict(acked_by_both(), "red", reason, 1.0)


def test_both_sides_see_the_same_lifecycle() -> None:
    lifecycle = resolve_conflict(accepted_by_both(), "blue", Resolution.WITHDRAWN, 50.0)
    blue, red = lifecycle_view(lifecycle, "blue"), lifecycle_view(lifecycle, "red")
    assert blue == red
    assert blue.state == "resolved"
    assert blue.acknowledgements == (("red", 10.0), ("blue", 20.0))
    assert blue.acceptances == (("blue", "fine for us", 30.0), ("red", "we climb later", 40.0))
    assert (blue.resolution, blue.resolved_by, blue.resolved_s) == ("withdrawn", "blue", 50.0)


def test_current_lifecycles_merges_open_conflicts_and_resolved_records() -> None:
    other = Conflict(**{**CONFLICT.__dict__, "a": "b2"})
    acked = acknowledge_conflict(new_lifecycle(3, other), "red", 1.0)
    gone = resolve_conflict(new_lifecycle(9, CONFLICT), "red", Resolution.WITHDRAWN, 2.0)
    stale = acknowledge_conflict(new_lifecycle(11, CONFLICT), "red", 1.0)  # superseded, never resolved
    records = [ConflictRecord(7, "open", CONFLICT), ConflictRecord(3, "open", other)]
    merged = current_lifecycles(records, {3: acked, 9: gone, 11: stale})
    assert [lc.conflict_id for lc in merged] == [3, 7, 9]
    assert merged[0] == acked and merged[1] == fresh() and merged[2] == gone
