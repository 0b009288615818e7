"""The alert table (columns, objects only for changes) against merge_alerts over dictionaries of objects."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.channel.gating import Withheld
from deconflict.channel.live.alert_table import (
    LEVELS,
    NOT_WITHHELD,
    WITHHELD,
    AlertTable,
    SeenAlerts,
    aircraft_array,
)
from deconflict.channel.live.alerts import Alert, merge_alerts
from deconflict.channel.live.tracks import Aircraft, Pair

FLEET = [Aircraft(party, f"{party[0].upper()}{n}") for party in ("blue", "green", "red") for n in range(2)]
PAIRS = [(a, b) for a, b in itertools.combinations(range(len(FLEET)), 2) if FLEET[a].party != FLEET[b].party]

# One pair seen in a cycle: which pair, level code, withheld codes, a figure.
sightings = st.tuples(
    st.sampled_from(PAIRS),
    st.integers(0, len(LEVELS) - 1),
    st.integers(NOT_WITHHELD, len(WITHHELD) - 1),
    st.integers(NOT_WITHHELD, len(WITHHELD) - 1),
    st.floats(0.0, 300.0),
)
cycles = st.lists(
    st.tuples(st.floats(0.5, 8.0), st.lists(sightings, unique_by=lambda s: s[0], max_size=len(PAIRS))),
    min_size=1,
    max_size=12,
)


def _withheld(code: int) -> Withheld | None:
    return None if code == NOT_WITHHELD else WITHHELD[code]


def _as_objects(seen: list[tuple[tuple[int, int], int, int, int, float]], now_s: float) -> list[Alert]:
    return [
        Alert(
            "",
            LEVELS[level],
            FLEET[a],
            FLEET[b],
            now_s,
            now_s,
            figure,
            figure + 1.0,
            2.0 * figure,
            3.0,
            (float(a), 1.0, 2.0),
            (float(b), 3.0, 4.0),
            _withheld(wa),
            _withheld(wb),
        )
        for (a, b), level, wa, wb, figure in seen
    ]


def _as_columns(
    seen: list[tuple[tuple[int, int], int, int, int, float]], table: AlertTable | None = None
) -> SeenAlerts:
    """The pairs as columns; given the table, no aircraft for the pairs it holds (as the live cycle does)."""
    a = np.array([p[0][0] for p in seen], dtype=np.int64)
    b = np.array([p[0][1] for p in seen], dtype=np.int64)
    held = table.holds(a, b) if table is not None else np.zeros(a.size, dtype=bool)
    figure = np.array([p[4] for p in seen], dtype=np.float64)
    return SeenAlerts(
        slot_a=a,
        slot_b=b,
        a=aircraft_array([None if h else FLEET[k] for k, h in zip(a.tolist(), held.tolist(), strict=True)]),
        b=aircraft_array([None if h else FLEET[k] for k, h in zip(b.tolist(), held.tolist(), strict=True)]),
        level=np.array([p[1] for p in seen], dtype=np.int8),
        withheld_a=np.array([p[2] for p in seen], dtype=np.int8),
        withheld_b=np.array([p[3] for p in seen], dtype=np.int8),
        time_to_loss_s=figure,
        time_to_cpa_s=figure + 1.0,
        distance_cpa_m=2.0 * figure,
        vertical_cpa_m=np.full(len(seen), 3.0),
        position_a=np.column_stack([a.astype(float), np.ones(len(seen)), np.full(len(seen), 2.0)]),
        position_b=np.column_stack([b.astype(float), np.full(len(seen), 3.0), np.full(len(seen), 4.0)]),
    )


@settings(max_examples=200, deadline=None)
@given(cycles, st.integers(1, 50))
def test_the_table_merges_as_merge_alerts_does(script: list, first_number: int) -> None:  # type: ignore[type-arg]
    reference: dict[Pair, Alert] = {}
    table = AlertTable()
    expected_next = got_next = first_number
    now_s = 1000.0
    for step_s, seen in script:
        now_s += step_s
        expected = merge_alerts(reference, _as_objects(seen, now_s), expected_next, now_s, 10.0)
        got = table.merge(_as_columns(seen, table), got_next, now_s, 10.0)
        assert got.new == expected.new
        assert got.changed == expected.changed
        assert got.cleared == tuple(sorted(expected.cleared, key=lambda x: int(x.id[2:])))
        assert got.shown == expected.shown
        assert got.next_number == expected.next_number
        assert tuple(table.open()) == tuple(sorted(expected.open, key=lambda x: int(x.id[2:])))
        assert len(table) == len(reference)
        for party in ("blue", "green", "red"):
            mine = sorted((x for x in reference.values() if x.involves(party)), key=lambda x: int(x.id[2:]))
            assert table.involving(party) == mine
        expected_next, got_next = expected.next_number, got.next_number


def test_an_empty_cycle_on_an_empty_table_changes_nothing() -> None:
    table = AlertTable()
    changes = table.merge(_as_columns([]), 1, 100.0, 10.0)
    assert (changes.new, changes.changed, changes.cleared, changes.shown, changes.next_number) == (
        (),
        (),
        (),
        (),
        1,
    )
    assert table.open() == () and len(table) == 0
