"""Filing operations against the store: versions, withdrawals, and the same answers as find_conflicts."""

from __future__ import annotations

import contextlib
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.errors import InputError, NotFoundError, StaleVersionError, TransitionError
from deconflict.storage import SQLiteStore
from deconflict.strategic import file_operation, find_conflicts, withdraw_operation
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.filing import (
    ACTIVATION_LEAD_S,
    activate_operation,
    extended_volumes,
    release_operation,
)
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Operation, OperationState, Volume
from tests.builders import T0_S, box, circle, conflict_pairs, volume
from tests.strategic.reference import reference_conflicts
from tests.strategic.strategies import Case, cases

SQUARE = box(36.0, 35.0, 36.5, 35.5)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "deconflict.db") as s:
        yield s


def test_first_filing_is_version_one_without_conflicts(store: SQLiteStore) -> None:
    result = file_operation(
        store, "blue", "op-1", [volume("v1", "blue", SQUARE, operation="ignored")], priority=3
    )
    assert result.conflicts == ()
    assert (result.operation.id, result.operation.party, result.operation.version) == ("op-1", "blue", 1)
    assert result.operation.state is OperationState.PROPOSED
    # The operation's id and priority are stamped on its volumes.
    assert [(v.operation, v.priority) for v in result.operation.volumes] == [("op-1", 3)]
    stored = store.get_operation("blue", "op-1")
    assert stored is not None and stored.version == 1 and stored.priority == 3


def test_an_amendment_without_a_priority_keeps_the_stored_one(store: SQLiteStore) -> None:
    file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)], priority=4)
    amended = file_operation(store, "blue", "op-1", [volume("v2", "blue", SQUARE)], replaces_version=1)
    assert (amended.operation.version, amended.operation.priority) == (2, 4)
    assert [v.priority for v in amended.operation.volumes] == [4]
    # A stale amendment is still refused as stale, whatever the priority.
    with pytest.raises(StaleVersionError):
        file_operation(store, "blue", "op-1", [volume("v3", "blue", SQUARE)], replaces_version=1)
    assert file_operation(store, "blue", "op-2", [volume("v1", "blue", SQUARE)]).operation.priority == 0


def test_filing_finds_conflicts_with_other_parties_only(store: SQLiteStore) -> None:
    file_operation(store, "blue", "op-1", [volume("b1", "blue", SQUARE)])
    file_operation(store, "red", "op-9", [volume("r1", "red", SQUARE)])
    result = file_operation(
        store, "blue", "op-2", [volume("b2", "blue", SQUARE), volume("b3", "blue", box(0, 0, 1, 1))]
    )
    assert [(c.a, c.party_a, c.operation_a, c.b, c.party_b, c.operation_b) for c in result.conflicts] == [
        ("b2", "blue", "op-2", "r1", "red", "op-9")
    ]


def test_update_must_name_the_current_version(store: SQLiteStore) -> None:
    file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)])
    with pytest.raises(StaleVersionError) as info:
        file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)])
    assert (info.value.expected_version, info.value.current_version) == (None, 1)
    result = file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)], replaces_version=1)
    assert result.operation.version == 2


def test_stale_version_is_refused_naming_the_current_version(store: SQLiteStore) -> None:
    file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)])
    file_operation(store, "blue", "op-1", [volume("v1", "blue", box(0, 0, 1, 1))], replaces_version=1)
    with pytest.raises(StaleVersionError, match="is at version 2, not 1") as info:
        file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)], replaces_version=1)
    assert info.value.current_version == 2
    stored = store.get_operation("blue", "op-1")
    assert stored is not None and stored.version == 2
    assert stored.volumes[0].footprint.shape.equals(box(0, 0, 1, 1).shape)


def test_naming_a_version_of_a_new_operation_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(StaleVersionError, match="does not exist") as info:
        file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)], replaces_version=1)
    assert info.value.current_version is None
    assert store.get_operation("blue", "op-1") is None


def test_operations_are_per_party(store: SQLiteStore) -> None:
    file_operation(store, "blue", "op-1", [volume("v1", "blue", SQUARE)])
    result = file_operation(store, "red", "op-1", [volume("v1", "red", box(0, 0, 1, 1))])
    assert result.operation.version == 1


@pytest.mark.parametrize(
    ("volumes", "limits", "message"),
    [
        ([], Limits(), "operation op-1: features: has no volumes"),
        (
            [volume("v1", "red", SQUARE)],
            Limits(),
            "operation op-1: volume 0 (id v1): party: belongs to party 'red', not 'blue'",
        ),
        (
            [volume("v1", "blue", SQUARE), volume("v1", "blue", box(0, 0, 1, 1))],
            Limits(),
            "operation op-1: volume 1 (id v1): id: duplicate id 'v1'",
        ),
        (
            [volume(f"v{i}", "blue", SQUARE) for i in range(3)],
            Limits(max_volumes_per_operation=2),
            "operation op-1: features: has 3 volumes, more than the limit of 2",
        ),
    ],
)
def test_bad_operations_are_refused_and_nothing_is_stored(
    store: SQLiteStore, volumes: list[Volume], limits: Limits, message: str
) -> None:
    with pytest.raises(InputError) as info:
        file_operation(store, "blue", "op-1", volumes, limits=limits)
    assert str(info.value) == message
    assert store.get_operation("blue", "op-1") is None
    assert store.count_volumes() == 0


def test_update_replaces_volumes_and_conflicts(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    first = file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
    assert len(first.conflicts) == 1
    assert conflict_pairs(store.list_conflicts("red")) == conflict_pairs(first.conflicts)
    moved = file_operation(store, "blue", "b", [volume("b1", "blue", box(0, 0, 1, 1))], replaces_version=1)
    assert moved.conflicts == ()
    assert store.list_conflicts("blue") == []
    assert store.list_conflicts("red") == []
    assert store.count_volumes() == 2


def test_updating_the_other_side_supersedes_conflicts_too(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
    again = file_operation(store, "red", "r", [volume("r1", "red", SQUARE)], replaces_version=1)
    assert conflict_pairs(again.conflicts) == {frozenset({("red", "r1"), ("blue", "b1")})}
    assert len(store.list_conflicts("blue")) == 1  # the old one superseded, the new one open
    assert store.list_conflicts("blue")[0].a == "r1"


def test_withdraw_removes_volumes_from_conflicts(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
    withdrawn = withdraw_operation(store, "red", "r", version=1)
    assert (withdrawn.state, withdrawn.version) == (OperationState.WITHDRAWN, 2)
    assert store.list_conflicts("blue") == []
    assert store.count_volumes() == 1
    later = file_operation(store, "green", "g", [volume("g1", "green", SQUARE)])
    assert conflict_pairs(later.conflicts) == {frozenset({("green", "g1"), ("blue", "b1")})}
    stored = store.get_operation("red", "r")
    assert stored is not None and stored.state is OperationState.WITHDRAWN and len(stored.volumes) == 1


def test_withdraw_checks_existence_and_version(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError, match="party 'red' has no operation 'r'"):
        withdraw_operation(store, "red", "r", version=1)
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    with pytest.raises(StaleVersionError, match="is at version 1, not 3"):
        withdraw_operation(store, "red", "r", version=3)
    assert store.count_volumes() == 1


def test_withdrawn_operation_can_be_filed_again(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    withdraw_operation(store, "red", "r", version=1)
    file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
    revived = file_operation(store, "red", "r", [volume("r1", "red", SQUARE)], replaces_version=2)
    assert revived.operation.version == 3
    assert revived.operation.state is OperationState.PROPOSED
    assert len(revived.conflicts) == 1


@pytest.mark.parametrize(
    ("buffers", "other"),
    [
        (Buffers(time_buffer_s=60.0), {"start_s": T0_S + 3700.0, "end_s": T0_S + 7200.0}),  # 100 s gap
        (Buffers(vertical_buffer_m=30.0), {"lower_m": 1050.0, "upper_m": 2000.0}),  # 50 m gap
    ],
)
def test_filing_with_buffers_finds_gaps_below_twice_the_buffer(
    store: SQLiteStore, buffers: Buffers, other: dict[str, float]
) -> None:
    red = volume("r1", "red", SQUARE, **other)
    blue = volume("b1", "blue", SQUARE)
    assert len(find_conflicts([blue, red], buffers)) == 1
    file_operation(store, "red", "r", [red], buffers=buffers)
    assert len(file_operation(store, "blue", "b", [blue], buffers=buffers).conflicts) == 1


def test_filing_with_a_horizontal_buffer_finds_gaps_below_twice_the_buffer(store: SQLiteStore) -> None:
    from deconflict.geometry.geodesy import destination

    east = float(destination(36.5, 35.5, 90.0, 150.0)[0])
    red = volume("r1", "red", box(east, 35.0, 37.0, 35.5))  # 150 m east of SQUARE
    blue = volume("b1", "blue", SQUARE)
    buffers = Buffers(buffer_m=100.0)
    assert len(find_conflicts([blue, red], buffers)) == 1
    file_operation(store, "red", "r", [red], buffers=buffers)
    assert len(file_operation(store, "blue", "b", [blue], buffers=buffers).conflicts) == 1


def test_float32_index_never_cuts_a_tiny_overlap(store: SQLiteStore) -> None:
    # Edges at values float32 cannot represent, overlapping by far less than a float32 step.
    lon = 10.123456789012
    red = volume(
        "r1",
        "red",
        box(lon - 1e-9, 45.0, lon + 0.01, 45.01),
        start_s=T0_S + 3599.999,
        end_s=T0_S + 7200.0,
        lower_m=999.99999,
        upper_m=2000.0,
    )
    blue = volume("b1", "blue", box(lon - 0.01, 45.0, lon, 45.01), start_s=T0_S, end_s=T0_S + 3600.0)
    assert len(find_conflicts([blue, red])) == 1
    file_operation(store, "red", "r", [red])
    assert len(file_operation(store, "blue", "b", [blue]).conflicts) == 1


def test_circles_and_antimeridian_volumes_are_found_through_the_index(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", box(179.0, -17.0, 181.0, -16.0))])
    file_operation(store, "green", "g", [volume("g1", "green", circle(179.999, 0.0, 500.0))])
    result = file_operation(
        store,
        "blue",
        "b",
        [
            volume("b1", "blue", box(-179.5, -16.5, -179.2, -16.2)),
            volume("b2", "blue", circle(-179.999, 0.0, 500.0)),
        ],
    )
    assert conflict_pairs(result.conflicts) == {
        frozenset({("blue", "b1"), ("red", "r1")}),
        frozenset({("blue", "b2"), ("green", "g1")}),
    }


def test_same_volume_id_in_two_operations_of_a_party(store: SQLiteStore) -> None:
    file_operation(store, "red", "op-a", [volume("v1", "red", box(0.0, 0.0, 1.0, 1.0))])
    try:
        file_operation(store, "red", "op-b", [volume("v1", "red", box(0.5, 0.0, 1.5, 1.0))])
    except InputError:
        return  # refusing the duplicate id is a fine answer too
    result = file_operation(store, "blue", "op-c", [volume("c1", "blue", box(0.0, 0.0, 2.0, 1.0))])
    assert sorted(c.operation_b for c in result.conflicts) == ["op-a", "op-b"]


# --- property: the store's index never loses a candidate ----------------------------------------


def file_everything(
    case: Case, buffers: Buffers, order: list[int]
) -> tuple[set[frozenset[tuple[str, str]]], SQLiteStore]:
    """File each party's volumes as operations (in the given order); return every conflict found.

    Property tests run against an in-memory database (same schema, same R*Tree),
    which hypothesis can create afresh for every example.
    """
    store = SQLiteStore(":memory:")
    by_party: dict[str, list[Volume]] = defaultdict(list)
    for k in order:
        by_party[case.volumes[k].party].append(case.volumes[k])
    found: set[frozenset[tuple[str, str]]] = set()
    for party, vols in by_party.items():
        for k, v in enumerate(vols):
            result = file_operation(store, party, f"{party}-op{k}", [v], buffers=buffers)
            found |= conflict_pairs(result.conflicts)
    return found, store


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(max_size=8), data=st.data())
def test_filing_finds_exactly_what_find_conflicts_finds(case: Case, data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(case.volumes))))
    expected = conflict_pairs(find_conflicts(case.volumes))
    _, unsure = reference_conflicts(case.volumes, case.shapes, Buffers())
    found, store = file_everything(case, Buffers(), order)
    with store:
        assert found - unsure == expected - unsure
        listed = set().union(
            *(conflict_pairs(store.list_conflicts(p)) for p in {v.party for v in case.volumes})
        )
        assert listed == found
        assert store.count_volumes() == len(case.volumes)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=cases(max_size=6),
    buffers=st.builds(
        Buffers,
        buffer_m=st.sampled_from([0.0, 1e-3, 300.0]),
        vertical_buffer_m=st.sampled_from([0.0, 1e-5, 50.0]),
        time_buffer_s=st.sampled_from([0.0, 1e-3, 300.0]),
    ),
)
def test_filing_with_buffers_finds_exactly_what_find_conflicts_finds(case: Case, buffers: Buffers) -> None:
    expected = conflict_pairs(find_conflicts(case.volumes, buffers))
    _, unsure = reference_conflicts(case.volumes, case.shapes, buffers)
    found, store = file_everything(case, buffers, list(range(len(case.volumes))))
    with store:
        assert found - unsure == expected - unsure


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(min_size=3, max_size=6))
def test_refiling_an_operation_reports_its_current_conflicts(case: Case) -> None:
    found, store = file_everything(case, Buffers(), list(range(len(case.volumes))))
    _, unsure = reference_conflicts(case.volumes, case.shapes, Buffers())
    with store:
        first = case.volumes[0]
        op = next(o for o in store.list_operations(first.party) if o.volumes[0].id == first.id)
        again = file_operation(store, first.party, op.id, [first], replaces_version=op.version)
        expected = {p for p in found if (first.party, first.id) in p}
        assert conflict_pairs(again.conflicts) - unsure == expected - unsure
        mine = {p for p in found if first.party in {q for q, _ in p}} - expected
        assert conflict_pairs(store.list_conflicts(first.party)) == mine | conflict_pairs(again.conflicts)


class _RolledBack(Exception):
    pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(min_size=2, max_size=8), data=st.data())
def test_filing_across_a_rollback_and_a_reopened_file_finds_what_find_conflicts_finds(
    case: Case, data: st.DataObject
) -> None:
    """The store's memory-resident index: rebuilt on reopening, never serving a rolled-back filing."""
    order = data.draw(st.permutations(range(len(case.volumes))))
    rollback_at = data.draw(st.integers(0, len(order)))
    reopen_at = data.draw(st.integers(0, len(order)))
    ghost = case.volumes[data.draw(st.sampled_from(order))]
    expected = conflict_pairs(find_conflicts(case.volumes))
    _, unsure = reference_conflicts(case.volumes, case.shapes, Buffers())
    found: set[frozenset[tuple[str, str]]] = set()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deconflict.db"
        store = SQLiteStore(path)
        try:
            for position, k in enumerate(order):
                if position == rollback_at:
                    # A filing whose transaction is rolled back: it must leave no trace.
                    with contextlib.suppress(_RolledBack), store.database.transaction():
                        file_operation(store, "ghost", "op", [replace(ghost, party="ghost")])
                        raise _RolledBack
                if position == reopen_at:
                    store.close()
                    store = SQLiteStore(path)  # reopened: the index rebuilt from the file
                v = case.volumes[k]
                result = file_operation(store, v.party, f"{v.party}-{v.id}-{k}", [v])
                found |= conflict_pairs(result.conflicts)
            assert found - unsure == expected - unsure
            assert store.count_volumes() == len(case.volumes)
        finally:
            store.close()


def test_activation_keeps_volumes_and_conflicts_within_its_span(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
    with pytest.raises(TransitionError, match="can be activated from 30 minutes before"):
        activate_operation(store, "blue", "b", 1, T0_S - ACTIVATION_LEAD_S - 1.0)
    with pytest.raises(TransitionError, match="ended at"):
        activate_operation(store, "blue", "b", 1, T0_S + 3600.0)
    with pytest.raises(StaleVersionError):
        activate_operation(store, "blue", "b", 2, T0_S)
    with pytest.raises(NotFoundError):
        activate_operation(store, "blue", "nope", 1, T0_S)
    activated = activate_operation(store, "blue", "b", 1, T0_S - ACTIVATION_LEAD_S)
    assert (activated.state, activated.version) == (OperationState.ACTIVATED, 2)
    stored = store.get_operation("blue", "b")
    assert stored is not None and (stored.state, stored.version) == (OperationState.ACTIVATED, 2)
    assert [v.id for v in stored.volumes] == ["b1"]
    assert len(store.list_conflict_records("blue")) == 1  # still open
    assert store.count_volumes() == 2  # still indexed
    with pytest.raises(TransitionError, match="only a proposed or accepted one"):
        activate_operation(store, "blue", "b", 2, T0_S)


def test_release_ends_an_activated_operation_and_supersedes_its_conflicts(store: SQLiteStore) -> None:
    file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
    file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
    with pytest.raises(TransitionError, match="only an activated one can be released"):
        release_operation(store, "blue", "b", 1)
    activate_operation(store, "blue", "b", 1, T0_S)
    released = release_operation(store, "blue", "b", 2)
    assert (released.state, released.version) == (OperationState.ENDED, 3)
    assert store.list_conflict_records("red") == []
    assert store.count_volumes() == 1  # only red's is live
    assert file_operation(store, "red", "r2", [volume("r2", "red", SQUARE)]).conflicts == ()


def test_an_extension_moves_the_volumes_that_end_last() -> None:
    early = volume("v1", "blue", SQUARE, end_s=T0_S + 1800.0, operation="b")
    late = volume("v2", "blue", SQUARE, end_s=T0_S + 3600.0, operation="b")
    operation = Operation("b", "blue", (early, late))
    extended = extended_volumes(operation, T0_S + 7200.0, T0_S)
    assert [v.time_end_s for v in extended] == [T0_S + 1800.0, T0_S + 7200.0]
    with pytest.raises(InputError, match="is not later than its end"):
        extended_volumes(operation, T0_S + 3600.0, T0_S)
    with pytest.raises(InputError, match="is not later than now"):
        extended_volumes(operation, T0_S + 3700.0, T0_S + 4000.0)
    with pytest.raises(TransitionError, match="cannot be extended"):
        extended_volumes(replace(operation, state=OperationState.ENDED), T0_S + 7200.0, T0_S)
