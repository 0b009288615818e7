"""The keyed permutations behind the ids parties see: bijective, decodable, unrelated across kinds."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconflict.channel import public_ids
from deconflict.channel.public_ids import MAX_PUBLIC_ID, NO_ROW, IdKind, PublicIds

IDS = PublicIds(bytes(range(32)))
rows = st.integers(min_value=1, max_value=MAX_PUBLIC_ID - 1)
kinds = st.sampled_from(list(IdKind))


@given(kinds, rows)
def test_a_public_id_decodes_to_its_row_and_stays_a_safe_json_integer(kind: IdKind, row: int) -> None:
    public = IDS.public(kind, row)
    assert 1 <= public <= MAX_PUBLIC_ID < 2**53  # exact as a JavaScript number
    assert IDS.row(kind, public) == row
    assert IDS.row(kind, str(public)) == row  # as a path gives it


@given(kinds, st.integers(min_value=1, max_value=MAX_PUBLIC_ID))
def test_every_public_id_is_some_rows_the_map_is_a_bijection(kind: IdKind, public: int) -> None:
    row = IDS.row(kind, public)
    assert row == NO_ROW or IDS.public(kind, row) == public


@given(st.text(max_size=30))
def test_any_text_decodes_to_a_row_or_to_none_never_raises(text: str) -> None:
    row = IDS.row(IdKind.MESSAGE, text)
    assert 0 <= row < MAX_PUBLIC_ID


def test_out_of_range_and_garbage_decode_to_no_row() -> None:
    for garbage in (0, -1, MAX_PUBLIC_ID + 1, 2**64, "", "abc", "12a", "-5", "1e3", "1" * 40, "٣"):
        assert IDS.row(IdKind.CONFLICT, garbage) == NO_ROW, garbage


def test_consecutive_rows_get_ids_in_no_order_with_gaps_that_count_nothing() -> None:
    public = [IDS.public(IdKind.MESSAGE, row) for row in range(1, 201)]
    assert len(set(public)) == 200
    steps = [b - a for a, b in itertools.pairwise(public)]
    assert 60 < sum(s > 0 for s in steps) < 140  # about half up, half down: not monotonic
    assert len(set(steps)) == len(steps)  # no recurring step to read counts from
    assert min(abs(s) for s in steps) > 1000


def test_kinds_and_secrets_give_unrelated_ids() -> None:
    other = PublicIds(bytes(range(1, 33)))
    by_kind = {kind: [IDS.public(kind, row) for row in range(1, 51)] for kind in IdKind}
    assert len({tuple(v) for v in by_kind.values()}) == len(IdKind)
    assert [other.public(IdKind.MESSAGE, r) for r in range(1, 51)] != by_kind[IdKind.MESSAGE]


def test_refs_a_party_reads_name_public_ids() -> None:
    c1, c2 = IDS.public(IdKind.CONFLICT, 1), IDS.public(IdKind.CONFLICT, 2)
    assert IDS.ref("conflict:1") == f"conflict:{c1}"
    assert IDS.ref("conflict:1,2") == f"conflict:{c1},{c2}"
    assert IDS.ref("a-3") == f"a-{IDS.public(IdKind.ALERT, 3)}"
    assert IDS.ref("alert:a-3") == f"alert:a-{IDS.public(IdKind.ALERT, 3)}"
    assert IDS.ref("i-4") == f"i-{IDS.public(IdKind.INCIDENT, 4)}"
    assert IDS.ref("message:5") == f"message:{IDS.public(IdKind.MESSAGE, 5)}"
    for other in ("sweep:5 aircraft", "op-b/v1", "", "conflict:", "a-"):
        assert IDS.ref(other) == other


def test_ids_worked_out_again_are_remembered_the_same_and_the_memory_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(public_ids, "_REMEMBERED", 100)
    ids, fresh = PublicIds(bytes(range(32))), PublicIds(bytes(range(32)))
    first = [ids.public(kind, row) for kind in IdKind for row in range(1, 60)]
    again = [ids.public(kind, row) for kind in IdKind for row in range(1, 60)]
    assert first == again == [fresh.public(kind, row) for kind in IdKind for row in range(1, 60)]
    assert 0 < len(ids._known) <= 100
    assert ids == fresh  # what it remembers is no part of its value
    with pytest.raises(ValueError, match="outside 1 to"):
        ids.public(IdKind.ALERT, 0)
