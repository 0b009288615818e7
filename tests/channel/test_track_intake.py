"""The track table's columnar intake against the per-state rules it replaced (a plain loop, kept here)."""

from __future__ import annotations

import gc
import math
from collections import deque

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.channel.gating import GatingSettings, Kinematics, Refusal, implausible
from deconflict.channel.live import LiveSettings, StateColumns, TrackState
from deconflict.channel.live.tracks import COLUMNS, TRAIL_STEP_S, Aircraft, TrackTable, TrailPoint
from deconflict.tactical.tracks import altitude_jumps

NOW_S = 1_800_000_000.0


class ReferenceTable:
    """Each state judged in turn against the aircraft's latest accepted one (the rules, state by state)."""

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.latest: dict[str, Kinematics] = {}
        self.since_s: dict[str, float] = {}
        self.restarting: set[str] = set()
        self.ghosts: dict[str, Kinematics] = {}
        self.trails: dict[str, deque[TrailPoint]] = {}
        self.callsigns: dict[str, str] = {}

    def take(self, states: list[TrackState], now_s: float) -> tuple[int, dict[str, int]]:
        tracking, gating = self.settings.tracking, self.settings.gating
        accepted, refused = 0, {}
        for state in states:
            reason = None
            previous = self.latest.get(state.id)
            now: Kinematics = (
                state.time_s, state.lat_deg, state.lon_deg, state.alt_m, state.gs_mps, state.trk_deg,
                state.vs_mps, 1.0 if state.on_ground else 0.0,
            )  # fmt: skip
            if now_s - now[0] > tracking.stale_s:
                reason = Refusal.STALE
            elif now[3] > tracking.max_alt_m:
                reason = Refusal.ALTITUDE
            elif previous is not None:
                dt = now[0] - previous[0]
                if dt <= 0.0:
                    reason = Refusal.OLDER
                elif dt > tracking.stale_s:
                    previous = None
                elif altitude_jumps(now[3], previous[3], previous[6], dt, tracking.max_vs_mps):
                    reason = Refusal.ALTITUDE_JUMP
            if reason is None:
                if state.id in self.restarting:
                    previous = None
                reason = implausible(gating, now, previous)
            if reason is not None:
                refused[reason.value] = refused.get(reason.value, 0) + 1
                if reason not in (Refusal.STALE, Refusal.OLDER):
                    if state.id in self.latest:
                        self.restarting.add(state.id)
                    if state.id in self.ghosts or len(self.ghosts) < gating.max_aircraft_per_party:
                        self.ghosts[state.id] = now
                continue
            self.ghosts.pop(state.id, None)
            if previous is None:
                self.since_s[state.id] = now[0]
                self.restarting.discard(state.id)
            self.latest[state.id] = now
            if state.callsign:
                self.callsigns[state.id] = state.callsign
            trail = self.trails.setdefault(state.id, deque())
            if not trail or state.time_s - trail[-1].time_s >= TRAIL_STEP_S:
                trail.append(TrailPoint(state.time_s, state.lon_deg, state.lat_deg, state.alt_m))
                while trail[0].time_s < state.time_s - self.settings.trail_s:
                    trail.popleft()
            accepted += 1
        return accepted, refused


IDS = ["A", "B", "C"]
states = st.builds(
    TrackState,
    id=st.sampled_from(IDS),
    callsign=st.sampled_from(["", "AFR1", "BAW2"]),
    time_s=st.floats(-40.0, 5.0).map(lambda dt: NOW_S + round(dt, 1)),
    lat_deg=st.floats(47.99, 48.01),
    lon_deg=st.floats(1.99, 2.01),
    alt_m=st.sampled_from([1000.0, 1100.0, 1500.0, 3000.0, 20_000.0]),
    gs_mps=st.sampled_from([0.0, 50.0, 200.0, 900.0]),
    trk_deg=st.sampled_from([0.0, 10.0, 90.0, 359.0]),
    vs_mps=st.sampled_from([0.0, 5.0, -30.0, 200.0]),
    on_ground=st.booleans(),
)
batches = st.lists(st.tuples(st.floats(0.0, 3.0), st.lists(states, max_size=8)), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(batches, st.sampled_from([600.0, 12.0, 0.0]))
def test_the_columnar_intake_judges_every_state_as_the_rules_state_by_state_do(
    script: list,  # type: ignore[type-arg]
    trail_s: float,
) -> None:
    # A short trail_s makes the trails' rings wrap around within a script.
    live = LiveSettings(gating=GatingSettings(max_aircraft_per_party=100), trail_s=trail_s)
    table, reference = TrackTable(live), ReferenceTable(live)
    now_s = NOW_S
    for step_s, batch in script:
        now_s += step_s
        batch = [s for s in batch if s.time_s <= now_s + live.tracking.stale_s]  # no error here
        intake = table.take("blue", batch, now_s)
        assert (intake.accepted, intake.refused) == reference.take(batch, now_s)
    for aircraft_id, latest in reference.latest.items():
        slot = table.slots["blue"][aircraft_id]
        assert tuple(float(table.columns[n][slot]) for n in (*COLUMNS, "on_ground")) == latest
        assert table.columns["since_s"][slot] == reference.since_s[aircraft_id]
        assert (slot in table.restarting) == (aircraft_id in reference.restarting)
        assert table.callsigns[slot] == reference.callsigns.get(aircraft_id, "")
        assert list(table.trail(slot)) == list(reference.trails[aircraft_id])
    assert set(table.slots.get("blue", {})) == set(reference.latest)
    assert table.refused.get("blue", {}) == reference.ghosts


def test_a_large_batch_of_distinct_aircraft_is_taken_at_once() -> None:
    table = TrackTable(LiveSettings(gating=GatingSettings(max_aircraft_per_party=20_000)))
    rng = np.random.default_rng(3)
    batch = [
        TrackState(f"X{k}", "", NOW_S, float(lat), 2.0, 3000.0, 200.0, 90.0, 0.0)
        for k, lat in enumerate(rng.uniform(40.0, 50.0, 10_000))
    ]
    assert table.take("blue", batch, NOW_S).accepted == 10_000
    step_deg = [200.0 / (111_195.0 * math.cos(math.radians(s.lat_deg))) for s in batch]
    moved = [
        TrackState(s.id, "", NOW_S + 1.0, s.lat_deg, s.lon_deg + d, 3000.0, 200.0, 90.0, 0.0)
        for s, d in zip(batch, step_deg, strict=True)
    ]
    assert table.take("blue", moved, NOW_S + 1.0).accepted == 10_000


def _fleet_at(ids: list[str], time_s: float) -> StateColumns:
    """``ids`` flying east along the equator at 200 m/s, as posted at ``time_s``."""
    n = len(ids)
    lon_deg = np.arange(n) * 0.1 + (time_s - NOW_S) * 200.0 / 111_320.0
    return StateColumns(
        ids, [""] * n, np.full(n, time_s), np.zeros(n), lon_deg, np.full(n, 3000.0),
        np.full(n, 200.0), np.full(n, 90.0), np.zeros(n), np.zeros(n, dtype=bool),
    )  # fmt: skip


def test_the_table_holds_no_object_per_aircraft_or_trail_point_for_the_garbage_collector() -> None:
    # Trails once held an object per point and the table one per aircraft: 12 million at 100,000
    # aircraft, which every full collection walked with the interpreter held (seconds without an answer).
    table = TrackTable(LiveSettings(gating=GatingSettings(max_aircraft_per_party=500)))
    ids = [f"X{k}" for k in range(500)]
    gc.collect()
    tracked_before = len(gc.get_objects())
    time_s = NOW_S
    for _ in range(40):  # 500 aircraft, 20,000 trail points
        time_s += TRAIL_STEP_S
        table.take_columns("blue", _fleet_at(ids, time_s), time_s)
    gc.collect()
    assert len(gc.get_objects()) - tracked_before < 100
    assert len(table.trail(table.slots["blue"]["X7"])) == 40
    assert table.aircraft[table.slots["blue"]["X7"]] == Aircraft("blue", "X7")


def test_a_trail_keeps_trail_s_of_points_and_a_reused_slot_starts_without_one() -> None:
    live = LiveSettings(gating=GatingSettings(max_aircraft_per_party=10), trail_s=12.0)
    table = TrackTable(live)
    for step in range(30):  # one state a second: a trail point every TRAIL_STEP_S
        table.take_columns("blue", _fleet_at(["A"], NOW_S + step), NOW_S + step)
    slot = table.slots["blue"]["A"]
    assert [p.time_s - NOW_S for p in table.trail(slot)] == [15.0, 20.0, 25.0]
    gone_s = NOW_S + 29.0 + max(live.trail_s, live.tracking.stale_s) + 1.0
    table.forget_old(gone_s)
    table.take_columns("blue", _fleet_at(["B"], gone_s), gone_s)
    assert table.slots["blue"]["B"] == slot  # the forgotten aircraft's slot, reused
    assert [p.time_s for p in table.trail(slot)] == [gone_s]
