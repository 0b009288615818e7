"""What a party learns of a conflict: its own side, and only shared facts of the other."""

from __future__ import annotations

import dataclasses

import pytest

from deconflict.channel.disclosure import ConflictView, conflict_view
from deconflict.errors import NotFoundError
from deconflict.strategic.conflicts import Conflict

CONFLICT = Conflict(
    a="blue-vol",
    b="red-vol",
    party_a="blue",
    party_b="red",
    operation_a="blue-op",
    operation_b="red-op",
    time_start_s=100.0,
    time_end_s=200.0,
    altitude_lower_m=300.0,
    altitude_upper_m=400.0,
    altitude_reference="MSL",
    overlap_area_m2=5.0,
    overlap_bbox=(1.0, 2.0, 3.0, 4.0),
    priority_a=1,
    priority_b=2,
)


@pytest.mark.parametrize(
    ("viewer", "own", "other"),
    [("blue", ("blue-op", "blue-vol"), "red"), ("red", ("red-op", "red-vol"), "blue")],
)
def test_each_side_sees_its_own_ids_and_the_other_party_only(
    viewer: str, own: tuple[str, str], other: str
) -> None:
    view = conflict_view(CONFLICT, viewer, conflict_id=9, state="open")
    assert (view.operation, view.volume) == own
    assert view.other_party == other
    assert (view.id, view.state) == (9, "open")
    assert (view.time_start_s, view.time_end_s) == (100.0, 200.0)
    assert (view.altitude_lower_m, view.altitude_upper_m, view.altitude_reference) == (300.0, 400.0, "MSL")
    assert (view.overlap_area_m2, view.overlap_bbox) == (5.0, (1.0, 2.0, 3.0, 4.0))


def test_a_view_holds_nothing_of_the_other_sides_identifiers() -> None:
    for viewer, hidden in [("blue", {"red-op", "red-vol"}), ("red", {"blue-op", "blue-vol"})]:
        values = {
            str(v) for v in dataclasses.astuple(conflict_view(CONFLICT, viewer, conflict_id=1, state="open"))
        }
        assert values.isdisjoint(hidden)


def test_the_view_has_no_field_for_other_ids_or_geometry() -> None:
    names = {f.name for f in dataclasses.fields(ConflictView)}
    assert names.isdisjoint({"a", "b", "operation_a", "operation_b", "other_volume", "other_operation"})


def test_the_view_says_nothing_of_either_sides_priority() -> None:
    # Where, when, how high: how the other side ranks its plans is not a fact of the conflict.
    names = {f.name for f in dataclasses.fields(ConflictView)}
    assert not {n for n in names if "priority" in n}


def test_a_third_party_cannot_view_the_conflict() -> None:
    with pytest.raises(NotFoundError):
        conflict_view(CONFLICT, "green", conflict_id=1, state="open")
