"""The live picture's gates: a lying party learns nothing of others; real encounters alert both sides."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.channel.gating import (
    GatingSettings,
    Refusal,
    Sweep,
    Withheld,
    implausible,
    near_footprints,
)
from deconflict.channel.live import Aircraft, LivePicture, LiveSettings, TrackState
from deconflict.errors import InputError
from deconflict.geometry.overlap import point_to_shape_distance_m
from tests.builders import T0_S, box, circle, moved
from tests.channel.conftest import PLANS, sweep, victims
from tests.fakes import FootprintPlans


def established(live: LivePicture, start_s: float, seconds: int) -> list[tuple[str, TrackState]]:
    """The victims flown for ``seconds`` (past their probation); their latest states."""
    traffic = victims(start_s)
    for k in range(seconds + 1):
        for party, s in traffic:
            live.post(party, [moved(s, float(k))], start_s + k)
        live.cycle(start_s + k)
    return [(party, moved(s, float(seconds))) for party, s in traffic]


def assert_blue_learns_nothing(live: LivePicture, now_s: float) -> None:
    assert live.picture_for("blue", now_s).foreign == ()
    for view in live.alerts_for("blue"):
        assert view.other is None and view.distance_cpa_m is None and view.time_to_loss_s is None
        assert view.time_to_cpa_s is None and view.vertical_cpa_m is None
        assert view.withheld is not None
    text = repr((live.picture_for("blue", now_s), live.alerts_for("blue")))
    for secret in ("SECRET", *(f"'V{k}'" for k in range(10))):
        assert secret not in text


@pytest.mark.parametrize("speed_mps", [1000.0, 250.0])
def test_a_sweep_of_invented_aircraft_shows_its_party_nothing_while_the_victims_are_warned(
    speed_mps: float,
) -> None:
    live = LivePicture(plans=PLANS)
    traffic = established(live, T0_S, 40)
    start_s = T0_S + 40
    invented = sweep(start_s, speed_mps)
    warned_with_position = 0
    for k in range(61):
        now_s = start_s + k
        for party, s in traffic:
            live.post(party, [moved(s, float(k))], now_s)
        intake = live.take("blue", [moved(s, float(k)) for s in invented], now_s)
        changes = live.cycle(now_s)
        assert [s for s in changes.shown if s.party == "blue"] == []
        assert_blue_learns_nothing(live, now_s)
        if speed_mps > GatingSettings().max_gs_mps:
            assert intake.accepted == 0 and intake.refused == {Refusal.GROUND_SPEED.value: 560}
            assert live.alerts_for("red") == []
        else:
            assert intake.accepted == 560
        warned_with_position += sum(v.other is not None for v in live.alerts_for("red"))
    if speed_mps <= GatingSettings().max_gs_mps:
        # Safety first: the victims hear of every sweeper near them, and where it is.
        assert warned_with_position > 0
        assert {v.withheld for v in live.alerts_for("blue")} == {Withheld.OUTSIDE_PLANS}


def fly_sweep(live: LivePicture, invented: list[TrackState], seconds: int) -> list[Sweep]:
    """Fly the victims (past their probation) and ``invented`` blue aircraft; the sweeps reported."""
    traffic = established(live, T0_S, 40)
    start_s = T0_S + 40
    sweeps = []
    for k in range(seconds + 1):
        now_s = start_s + k
        for party, s in traffic:
            live.post(party, [moved(s, float(k))], now_s)
        live.take("blue", [moved(s, float(k)) for s in invented], now_s)
        sweeps += live.cycle(now_s).sweeps
    return sweeps


@pytest.mark.parametrize(("speed_mps", "swept"), [(1000.0, ["civil", "red"]), (250.0, ["red"])])
def test_a_sweep_raises_one_alarm_per_victim_party_and_none_to_the_prober(
    speed_mps: float, swept: list[str]
) -> None:
    # At 1000 m/s every state is refused: the refused states (ghosts) still find whom they threaten.
    # At 250 m/s the sweep comes within the look-ahead of civil's aircraft (lat 35.9 and north) only
    # after 3 minutes, and then of 4 of its aircraft: red alone is swept in the first minute.
    live = LivePicture(plans=PLANS)
    sweeps = fly_sweep(live, sweep(T0_S + 40, speed_mps), 60)
    held = 10 + (560 if speed_mps <= GatingSettings().max_gs_mps else 0)
    assert live.cycle(T0_S + 100).aircraft == held  # refused states run as ghosts, never as aircraft
    assert sorted((s.prober, s.subject) for s in sweeps) == [("blue", party) for party in swept]
    for s in sweeps:
        assert s.aircraft >= GatingSettings().sweep_aircraft
        assert s.subject_ids and all(i.startswith("V") for i in s.subject_ids)  # the victim's own ids


def test_a_few_new_aircraft_in_alerts_raise_no_sweep() -> None:
    live = LivePicture(plans=PLANS)
    fly_sweep(live, sweep(T0_S + 40, 250.0), 20)
    met = sorted({v.own_id for v in live.alerts_for("blue")})
    few = [s for s in sweep(T0_S + 40, 250.0) if s.id in met[: GatingSettings().sweep_aircraft - 1]]
    live = LivePicture(plans=PLANS)
    assert fly_sweep(live, few, 60) == []
    victims_met = {v.other_party for v in live.alerts_for("blue")}
    assert victims_met  # they did come into alerts with the victims
    # The same aircraft reach a threshold set to their number: one sweep per victim party met.
    at_few = LiveSettings(gating=GatingSettings(sweep_aircraft=len(few)))
    sweeps = fly_sweep(LivePicture(at_few, plans=PLANS), few, 60)
    assert {(s.prober, s.subject) for s in sweeps} == {("blue", p) for p in victims_met}
    assert len(sweeps) == len(victims_met)


def test_a_genuine_encounter_is_withheld_during_probation_then_shown_to_both_sides() -> None:
    # Blue and red head-on 60 km apart at 100 m/s, each inside its own plan: loss at 253.7 s.
    plans = FootprintPlans({"blue": [box(-1.0, -1.0, 1.0, 1.0)], "red": [box(-1.0, -1.0, 1.0, 1.0)]})
    live = LivePicture(plans=plans)
    gap_deg = 60_000.0 / 111_319.49
    blue = TrackState("BLU101", "VIPER1", T0_S, 0.0, 0.0, 3000.0, 100.0, 90.0, 0.0)
    red = TrackState("RED707", "REDCAP", T0_S, 0.0, gap_deg, 3000.0, 100.0, 270.0, 0.0)
    shown = []
    for k in range(40):
        live.post("blue", [moved(blue, float(k))], T0_S + k)
        live.post("red", [moved(red, float(k))], T0_S + k)
        changes = live.cycle(T0_S + k)
        assert changes.sweeps == ()  # a genuine encounter is no sweep, even while on probation
        shown += changes.shown
        [blue_view] = live.alerts_for("blue")
        [red_view] = live.alerts_for("red")
        if k < 30:
            assert blue_view.withheld is red_view.withheld is Withheld.PROBATION
            assert blue_view.other is None and live.picture_for("red", T0_S + k).foreign == ()
        else:
            assert blue_view.withheld is None and red_view.withheld is None
            assert blue_view.other is not None and blue_view.distance_cpa_m is not None
            [foreign] = live.picture_for("blue", T0_S + k).foreign
            assert (foreign.ref, foreign.party) == (blue_view.id, "red")
        if k == 30:
            assert [a.id for a in changes.changed_alerts] == [blue_view.id]  # sent again, with the figures
    # The ledger's hook: who was shown whose aircraft, because of which alert and own aircraft.
    assert {(s.party, s.because, s.subject_party, s.subject_id, s.time_s - T0_S) for s in shown} == {
        ("blue", "BLU101", "red", "RED707", 30.0),
        ("red", "RED707", "blue", "BLU101", 30.0),
    }


def test_the_aircraft_withheld_at_a_cycle_are_in_its_state_and_a_mirror_keeps_them() -> None:
    plans = FootprintPlans({"blue": [box(-1.0, -1.0, 1.0, 1.0)]})  # red has none: outside after probation
    live = LivePicture(plans=plans)
    gap_deg = 60_000.0 / 111_319.49
    blue = TrackState("BLU101", "VIPER1", T0_S, 0.0, 0.0, 3000.0, 100.0, 90.0, 0.0)
    red = TrackState("RED707", "REDCAP", T0_S, 0.0, gap_deg, 3000.0, 100.0, 270.0, 0.0)
    for k in range(32):
        live.post("blue", [moved(blue, float(k))], T0_S + k)
        live.post("red", [moved(red, float(k))], T0_S + k)
        live.cycle(T0_S + k)
        if k not in (0, 31):
            continue
        expected = {Aircraft("blue", "BLU101"): Withheld.PROBATION} if k == 0 else {}
        expected[Aircraft("red", "RED707")] = Withheld.PROBATION if k == 0 else Withheld.OUTSIDE_PLANS
        state = live.state()
        assert dict(state.withheld) == expected
        mirror = LivePicture()
        mirror.mirror(state)
        assert dict(mirror.state().withheld) == expected


@pytest.mark.parametrize(("outside_km", "shown"), [(0.0, True), (40.0, True), (70.0, False)])
def test_an_aircraft_shows_others_only_within_the_margin_of_its_partys_live_plans(
    outside_km: float, shown: bool
) -> None:
    # Blue's plan is a 20 km circle; BLU1 flies north at lat 0, outside_km beyond its edge; red comes south.
    plans = FootprintPlans({"blue": [circle(0.0, 0.0, 20_000.0)], "red": [box(-2.0, -2.0, 2.0, 2.0)]})
    live = LivePicture(LiveSettings(gating=GatingSettings(probation_s=0.0)), plans=plans)
    lon_deg = (20.0 + outside_km) * 1000.0 / 111_319.49
    live.post("blue", [TrackState("BLU1", "", T0_S, 0.0, lon_deg, 3000.0, 100.0, 0.0, 0.0)], T0_S)
    live.post("red", [TrackState("R1", "", T0_S, 0.2, lon_deg, 3000.0, 100.0, 180.0, 0.0)], T0_S)
    live.cycle(T0_S)
    [view] = live.alerts_for("blue")
    assert (view.other is not None) is shown
    assert view.withheld is (None if shown else Withheld.OUTSIDE_PLANS)
    assert live.alerts_for("red")[0].other is not None  # red's aircraft is inside red's plan
    anywhere = GatingSettings(probation_s=0.0, disclose_anywhere=frozenset({"blue"}))
    live = LivePicture(LiveSettings(gating=anywhere), plans=plans)
    live.post("blue", [TrackState("BLU1", "", T0_S, 0.0, lon_deg, 3000.0, 100.0, 0.0, 0.0)], T0_S)
    live.post("red", [TrackState("R1", "", T0_S, 0.2, lon_deg, 3000.0, 100.0, 180.0, 0.0)], T0_S)
    live.cycle(T0_S)
    assert live.alerts_for("blue")[0].other is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"gs_mps": 701.0}, Refusal.GROUND_SPEED),
        ({"vs_mps": -151.0}, Refusal.VERTICAL_SPEED),
        ({"gs_mps": 280.0}, Refusal.ACCELERATION),  # +30 m/s in 1 s
        ({"trk_deg": 60.0}, Refusal.TURN),  # 60°/s at 250 m/s is 26 g
        ({"lat_deg": 35.05}, Refusal.POSITION_JUMP),  # 5.5 km in 1 s
        ({}, None),
        ({"trk_deg": 20.0, "gs_mps": 265.0}, None),  # 20°/s, +15 m/s/s: a fighter's hard turn
    ],
)
def test_implausible_states_are_named(change: dict[str, float], reason: Refusal | None) -> None:
    names = ("time_s", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps", "on_ground")
    previous = dict(zip(names, (T0_S, 35.0, 38.0, 9000.0, 250.0, 0.0, 0.0, 0.0), strict=True))
    state = {**previous, "time_s": T0_S + 1, "lat_deg": 35.00225, **change}
    as_state = tuple(state.values())
    assert implausible(GatingSettings(), as_state, tuple(previous.values())) == reason


def test_an_implausible_state_is_refused_with_its_reason_and_restarts_the_probation() -> None:
    live = LivePicture()
    s = TrackState("A1", "", T0_S, 35.0, 38.0, 3000.0, 250.0, 0.0, 0.0)
    assert live.take("blue", [s], T0_S).accepted == 1
    jump = dataclasses.replace(moved(s, 1.0), lat_deg=36.0)
    assert live.take("blue", [jump], T0_S + 1).refused == {"position_jump": 1}
    # The next state starts a new track: taken, and its probation starts again there.
    assert live.take("blue", [moved(jump, 1.0)], T0_S + 2).accepted == 1
    assert live.take("blue", [s], T0_S + 2).refused == {"older": 1}


def test_a_party_over_its_aircraft_cap_is_refused_naming_the_setting() -> None:
    live = LivePicture(LiveSettings(gating=GatingSettings(max_aircraft_per_party=3)))
    states = [TrackState(f"A{k}", "", T0_S, 35.0, 38.0 + k, 3000.0, 200.0, 0.0, 0.0) for k in range(4)]
    assert live.post("blue", states[:3], T0_S) == 3
    with pytest.raises(
        InputError, match=r"would hold 4 aircraft, at most 3 \(tracks_max_aircraft_per_party\)"
    ):
        live.post("blue", [moved(s, 1.0) for s in states], T0_S + 1)
    assert live.post("blue", [moved(s, 1.0) for s in states[:3]], T0_S + 1) == 3  # known aircraft: taken
    assert live.post("red", states[:3], T0_S + 1) == 3  # another party's cap is its own
    assert live.aircraft_count() == 6


def test_an_aircraft_on_the_ground_by_its_data_is_left_out_of_detection_whatever_its_altitude() -> None:
    settings = LiveSettings(gating=GatingSettings(probation_s=0.0))
    # An airfield 2000 m high: altitude alone would call both airborne.
    blue = TrackState("B1", "", T0_S, 35.0, 38.0, 2000.0, 10.0, 90.0, 0.0, on_ground=True)
    red = TrackState("R1", "", T0_S, 35.0, 38.01, 2000.0, 60.0, 270.0, 0.0)
    live = LivePicture(settings)
    live.post("blue", [blue], T0_S)
    live.post("red", [red], T0_S)
    assert live.cycle(T0_S).new_alerts == ()
    assert [t.state.on_ground for t in live.picture_for("blue", T0_S).own] == [True]
    live.post("blue", [dataclasses.replace(moved(blue, 1.0), on_ground=False)], T0_S + 1)
    assert len(live.cycle(T0_S + 1).new_alerts) == 1


@settings(max_examples=25, deadline=None)
@given(
    speed_mps=st.floats(0.0, 2000.0),
    heading_deg=st.floats(0.0, 359.0),
    count=st.integers(1, 40),
    seconds=st.integers(0, 45),
    spacing_deg=st.floats(0.01, 0.2),
)
def test_invented_aircraft_outside_their_partys_plans_never_show_it_anything(
    speed_mps: float, heading_deg: float, count: int, seconds: int, spacing_deg: float
) -> None:
    live = LivePicture(plans=PLANS)
    traffic = established(live, T0_S, 30)
    start_s = T0_S + 30
    invented = [
        TrackState(f"S{k}", "", start_s, 35.0 + spacing_deg * (k % 8), 38.0 + spacing_deg * (k // 8),
                   6000.0 + 250.0 * (k % 5), speed_mps, heading_deg, 0.0)
        for k in range(count)
    ]  # fmt: skip
    for k in range(0, seconds + 1, 3):
        now_s = start_s + k
        for party, s in traffic:
            live.post(party, [moved(s, float(k))], now_s)
        live.post("blue", [moved(s, float(k)) for s in invented], now_s)
        assert [s for s in live.cycle(now_s).shown if s.party == "blue"] == []
        assert_blue_learns_nothing(live, now_s)


@settings(max_examples=20, deadline=None)
@given(
    lat0_deg=st.floats(-70.0, 70.0),
    seed=st.integers(0, 2**32 - 1),
    margin_m=st.floats(1_000.0, 100_000.0),
)
def test_near_plans_agrees_with_the_exact_distance(lat0_deg: float, seed: int, margin_m: float) -> None:
    plan = box(10.0, lat0_deg, 10.5, lat0_deg + 0.4)
    rng = np.random.default_rng(seed)
    lon = rng.uniform(8.0, 12.5, 40)
    lat = np.clip(rng.uniform(lat0_deg - 1.5, lat0_deg + 1.9, 40), -89.0, 89.0)
    near = near_footprints([plan], lon, lat, margin_m)
    exact = np.array([point_to_shape_distance_m(x, y, plan.shape) for x, y in zip(lon, lat, strict=True)])
    assert not (near & (exact > margin_m * 1.001)).any()  # never near when farther: no disclosure too far
    assert not (~near & (exact < margin_m * 0.999)).any()  # never withheld when near (under MAX_EXACT)
