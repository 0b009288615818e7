"""The incident table (columns, objects only for changes) against merge_incidents over a dict of objects."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.channel.live.alert_table import aircraft_array
from deconflict.channel.live.incident_table import HIDDEN_A, HIDDEN_B, IncidentTable, SeenIncidents
from deconflict.channel.live.incidents import ClosestApproach, Incident, merge_incidents
from deconflict.channel.live.tracks import Aircraft, Pair

FLEET = [Aircraft(party, f"{party[0].upper()}{n}") for party in ("blue", "green", "red") for n in range(2)]
GONE = Aircraft("red", "R9")  # in an incident left open, no longer in the track table
PAIRS = [(a, b) for a, b in itertools.combinations(range(len(FLEET)), 2) if FLEET[a].party != FLEET[b].party]


def slot_of(aircraft: Aircraft) -> int | None:
    """Slots in the reverse of the aircraft order, so a pair's key and its (a, b) order differ."""
    return len(FLEET) - 1 - FLEET.index(aircraft) if aircraft in FLEET else None


# One pair in loss in a cycle: which pair, the distance now, the withheld mask.
sightings = st.tuples(
    st.sampled_from(PAIRS), st.sampled_from([100.0, 300.0, 500.0, 700.0]), st.integers(0, 3)
)
cycles = st.lists(
    st.lists(sightings, unique_by=lambda s: s[0], max_size=len(PAIRS)).map(
        lambda seen: sorted(seen, key=lambda s: -s[1])  # any order the detector gives
    ),
    min_size=1,
    max_size=10,
)
resumed = st.lists(
    st.tuples(st.sampled_from([*PAIRS, (0, -1)]), st.sampled_from([200.0, 600.0]), st.integers(0, 3)),
    unique_by=lambda s: s[0],
    max_size=4,
)


def _withheld(a: Aircraft, b: Aircraft, mask: int) -> tuple[str, ...]:
    return tuple(x.party for x, bit in ((a, HIDDEN_A), (b, HIDDEN_B)) if mask & bit)


def _moment(now_s: float, distance_m: float) -> ClosestApproach:
    return ClosestApproach(now_s, distance_m, distance_m / 10.0, distance_m / 100.0, 1.0, 3000.0 + distance_m)


def _aircraft(k: int) -> Aircraft:
    return GONE if k < 0 else FLEET[k]


def _as_columns(
    seen: list[tuple[tuple[int, int], float, int]], table: IncidentTable | None = None
) -> SeenIncidents:
    """The pairs as columns; given the table, no aircraft for the pairs it holds (as the live cycle does)."""
    a: list[Aircraft | None] = [FLEET[p[0]] for p, _, _ in seen]
    b: list[Aircraft | None] = [FLEET[p[1]] for p, _, _ in seen]
    slot_a = np.array([slot_of(x) for x in a if x is not None], dtype=np.int64)
    slot_b = np.array([slot_of(x) for x in b if x is not None], dtype=np.int64)
    if table is not None:
        for k in np.flatnonzero(table.holds(slot_b, slot_a)).tolist():  # either order
            a[k] = b[k] = None
    distance = np.array([d for _, d, _ in seen], dtype=np.float64)
    return SeenIncidents(
        slot_a=slot_a,
        slot_b=slot_b,
        a=aircraft_array(a),
        b=aircraft_array(b),
        distance_m=distance,
        vertical_m=distance / 10.0,
        lon_deg=distance / 100.0,
        lat_deg=np.ones(len(seen)),
        alt_m=3000.0 + distance,
        hidden=np.array([m for _, _, m in seen], dtype=np.int8),
    )


@settings(max_examples=300, deadline=None)
@given(cycles, resumed)
def test_the_table_merges_as_merge_incidents_does(
    seen_by_cycle: list[list[tuple[tuple[int, int], float, int]]],
    left_open: list[tuple[tuple[int, int], float, int]],
) -> None:
    start = [
        Incident(
            10 + n, _aircraft(p[0]), _aircraft(p[1]), 50.0, None, _moment(40.0, d),
            withheld=_withheld(_aircraft(p[0]), _aircraft(p[1]), m),
        )
        for n, (p, d, m) in enumerate(left_open)
    ]  # fmt: skip
    reference: dict[Pair, Incident] = {(i.a, i.b): i for i in start}
    table = IncidentTable(start)
    next_id = 100
    for cycle, seen in enumerate(seen_by_cycle):
        now_s = 100.0 + cycle
        in_loss = [
            Incident(
                0, FLEET[p[0]], FLEET[p[1]], now_s, None, _moment(now_s, d),
                withheld=_withheld(FLEET[p[0]], FLEET[p[1]], m),
            )
            for p, d, m in seen
        ]  # fmt: skip
        expected = merge_incidents(reference, in_loss, next_id, now_s)
        got = table.merge(_as_columns(seen, table), next_id, now_s, slot_of)
        assert got.opened == expected.opened
        assert got.closer == expected.closer
        assert got.closed == tuple(sorted(expected.closed, key=lambda i: i.id))
        assert got.next_id == expected.next_id
        assert table.open() == sorted(reference.values(), key=lambda i: i.id)
        assert len(table) == len(reference)
        next_id = got.next_id


def test_an_incident_left_open_whose_aircraft_are_gone_closes_at_the_first_merge() -> None:
    gone = Incident(7, FLEET[0], GONE, 50.0, None, _moment(50.0, 300.0))
    kept = Incident(8, FLEET[0], FLEET[2], 50.0, None, _moment(50.0, 300.0))
    table = IncidentTable([gone, kept])
    assert len(table) == 2
    changes = table.merge(_as_columns([((0, 2), 400.0, 0)]), 9, 60.0, slot_of)
    assert [(i.id, i.ended_s) for i in changes.closed] == [(7, 60.0)]
    assert changes.opened == () and changes.closer == ()
    assert table.open() == [kept]
