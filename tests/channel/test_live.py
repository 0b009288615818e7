"""The live picture: alerts and incidents between parties over detection cycles, staleness, disclosure."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np
import pytest

from deconflict.channel.gating import GatingSettings
from deconflict.channel.live import (
    AlertLevel,
    CycleChanges,
    LivePicture,
    LiveSettings,
    TrackState,
)
from deconflict.errors import InputError
from deconflict.tactical.replay import ReplaySettings
from tests.builders import moved

T0_S = 1_790_000_000.0
GAP_KM = 40.0
SPEED_MPS = 100.0
RPZ_M = 9260.0
# Detection and merging, without the disclosure gates (tests/channel/test_gating.py covers those).
UNGATED = LiveSettings(gating=GatingSettings(probation_s=0.0))


def state(aircraft_id: str, time_s: float, lon_deg: float, trk_deg: float, **kw: float | str) -> TrackState:
    values: dict[str, float | str] = {
        "callsign": "",
        "lat_deg": 0.0,
        "alt_m": 3000.0,
        "gs_mps": SPEED_MPS,
        "vs_mps": 0.0,
        **kw,
    }
    return TrackState(
        aircraft_id,
        str(values["callsign"]),
        time_s,
        float(values["lat_deg"]),
        lon_deg,
        float(values["alt_m"]),
        float(values["gs_mps"]),
        trk_deg,
        float(values["vs_mps"]),
    )


def head_on() -> tuple[TrackState, TrackState]:
    """Blue's BLU101 flying east and red's RED707 flying west on the equator, GAP_KM apart, same level."""
    gap_deg = GAP_KM * 1000.0 / 111_319.49
    return (
        state("BLU101", T0_S, 0.0, 90.0, callsign="VIPER1"),
        state("RED707", T0_S, gap_deg, 270.0, callsign="REDCAP"),
    )


def fly(live: LivePicture, seconds: int, *tracks: tuple[str, TrackState]) -> list[CycleChanges]:
    """Post every aircraft's state each second (as feeds do) and run a cycle; the changes of each cycle."""
    out = []
    for k in range(seconds + 1):
        for party, s in tracks:
            live.post(party, [moved(s, float(k))], T0_S + k)
        out.append(live.cycle(T0_S + k))
    return out


def test_converging_aircraft_of_two_parties_raise_an_alert_with_a_plausible_time_to_loss() -> None:
    blue, red = head_on()
    live = LivePicture(UNGATED)
    live.post("blue", [blue], T0_S)
    live.post("red", [red], T0_S)
    changes = live.cycle(T0_S)
    assert len(changes.new_alerts) == 1
    [view] = live.alerts_for("blue")
    # Closing at 200 m/s from 40 km: loss when 9260 m apart, CPA (0 m) halfway.
    expected_to_loss_s = (GAP_KM * 1000.0 - RPZ_M) / (2 * SPEED_MPS)
    assert view.time_to_loss_s == pytest.approx(expected_to_loss_s, rel=0.01)
    assert view.time_to_cpa_s == pytest.approx(GAP_KM * 1000.0 / (2 * SPEED_MPS), rel=0.01)
    assert view.distance_cpa_m < 10.0
    assert view.vertical_cpa_m == pytest.approx(0.0)
    assert view.level is AlertLevel.ADVISORY  # 153.7 s > the 120 s warning
    assert (view.own_id, view.other_party, view.other_ref) == ("BLU101", "red", view.id)
    [red_view] = live.alerts_for("red")
    assert (red_view.own_id, red_view.other_party, red_view.id) == ("RED707", "blue", view.id)
    assert live.alerts_for("green") == []


def test_alert_becomes_warning_then_loss_and_one_incident_opens_and_closes_when_separated() -> None:
    blue, red = head_on()
    live = LivePicture(UNGATED)
    cycles = fly(live, 260, ("blue", blue), ("red", red))
    levels = [(c.time_s - T0_S, a.level) for c in cycles for a in c.changed_alerts]
    assert [level for _, level in levels] == [AlertLevel.WARNING, AlertLevel.LOSS]
    warning_at, loss_at = (t for t, _ in levels)
    assert warning_at == pytest.approx((GAP_KM * 1000.0 - RPZ_M) / 200.0 - 120.0, abs=1.5)
    assert loss_at == pytest.approx((GAP_KM * 1000.0 - RPZ_M) / 200.0, abs=1.5)

    opened = [i for c in cycles for i in c.opened]
    closed = [i for c in cycles for i in c.closed]
    assert len(opened) == 1 and len(closed) == 1
    assert opened[0].id == closed[0].id
    assert opened[0].started_s - T0_S == pytest.approx(loss_at, abs=1.0)
    # Separation regained 46.3 s after the CPA at 200 s.
    assert closed[0].ended_s is not None
    assert closed[0].ended_s - T0_S == pytest.approx(200.0 + RPZ_M / 200.0, abs=1.5)
    closest = closed[0].closest
    assert closest.time_s - T0_S == pytest.approx(200.0, abs=1.0)
    assert closest.distance_m < 2 * SPEED_MPS  # within one cycle of the 0 m CPA
    assert closest.lon_deg == pytest.approx(GAP_KM * 1000.0 / 111_319.49 / 2, abs=0.002)
    assert {(closed[0].a.party, closed[0].a.id), (closed[0].b.party, closed[0].b.id)} == {
        ("blue", "BLU101"),
        ("red", "RED707"),
    }
    # The alert is cleared once the pair has been out of conflict for alert_gap_s.
    assert [a.id for c in cycles for a in c.cleared_alerts] == [cycles[0].new_alerts[0].id]
    assert live.open_incidents() == []


def test_pairs_of_one_party_are_its_own_business() -> None:
    blue, red = head_on()
    live = LivePicture()
    live.post("blue", [blue, dataclasses.replace(red, id="BLU102")], T0_S)
    changes = live.cycle(T0_S)
    assert changes.aircraft == 2
    assert changes.alerts == () and live.alerts_for("blue") == []
    # Right in loss, still nothing.
    live.post("blue", [moved(blue, 190.0), moved(dataclasses.replace(red, id="BLU102"), 190.0)], T0_S + 190)
    later = live.cycle(T0_S + 190)
    assert later.alerts == () and later.opened == ()


def test_stale_states_are_dropped_and_alerts_clear() -> None:
    blue, red = head_on()
    settings = LiveSettings()
    stale_s = settings.tracking.stale_s
    live = LivePicture(settings)
    live.post("blue", [blue], T0_S)
    live.post("red", [red], T0_S)
    assert len(live.cycle(T0_S).alerts) == 1
    # Dead reckoning keeps them until stale_s, then they take no part in detection.
    assert live.cycle(T0_S + stale_s).aircraft == 2
    dropped = live.cycle(T0_S + stale_s + 1)
    assert dropped.aircraft == 0
    after_gap = live.cycle(T0_S + stale_s + 1 + settings.tracking.alert_gap_s + 1)
    assert [a.level for a in after_gap.cleared_alerts] == [AlertLevel.ADVISORY]
    assert live.alerts_for("blue") == []
    # A state already stale when posted is not accepted.
    assert live.post("red", [red], T0_S + 3 * stale_s) == 0
    # Own tracks stay visible (with their trails) until the trail window passes.
    assert [t.state.id for t in live.picture_for("blue", T0_S + 100).own] == ["BLU101"]
    live.cycle(T0_S + settings.trail_s + 10)
    assert live.picture_for("blue", T0_S + settings.trail_s + 10).own == ()


def test_a_party_sees_another_partys_aircraft_only_while_in_an_alert_with_it() -> None:
    blue, red = head_on()
    far = state("G1", T0_S, 0.0, 0.0, lat_deg=30.0, callsign="GREEN1")
    live = LivePicture(UNGATED)
    live.post("blue", [blue], T0_S)
    live.post("green", [far], T0_S)
    live.cycle(T0_S)
    assert live.picture_for("blue", T0_S).foreign == ()  # no alert yet: nothing of anyone else
    live.post("red", [red], T0_S)
    live.cycle(T0_S)
    seen = live.picture_for("red", T0_S)
    [foreign] = seen.foreign
    [alert] = live.alerts_for("red")
    assert (foreign.ref, foreign.party, foreign.lon_deg) == (alert.id, "blue", 0.0)
    text = repr(seen)
    for secret in ("BLU101", "VIPER1", "G1", "GREEN1"):
        assert secret not in text
    third = repr((live.picture_for("green", T0_S), live.alerts_for("green")))
    for secret in ("BLU101", "VIPER1", "RED707", "REDCAP", "a-"):
        assert secret not in third


def test_older_duplicate_and_glitched_states_are_not_accepted() -> None:
    blue, _ = head_on()
    live = LivePicture()
    assert live.post("blue", [blue], T0_S) == 1
    assert live.post("blue", [blue], T0_S) == 0  # same time
    assert live.post("blue", [dataclasses.replace(blue, time_s=T0_S - 1)], T0_S) == 0
    spike = dataclasses.replace(moved(blue, 1.0), alt_m=12_000.0)  # 9 km in one second
    assert live.post("blue", [spike], T0_S + 1) == 0
    too_high = dataclasses.replace(moved(blue, 2.0), alt_m=30_000.0)
    assert live.post("blue", [too_high], T0_S + 2) == 0
    assert live.post("blue", [moved(blue, 3.0)], T0_S + 3) == 1
    [own] = live.picture_for("blue", T0_S + 3).own
    assert own.state.alt_m == 3000.0 and own.state.time_s == T0_S + 3


def test_a_state_from_the_future_is_refused_naming_its_field() -> None:
    blue, _ = head_on()
    live = LivePicture()
    with pytest.raises(InputError) as refused:
        live.post("blue", [blue, dataclasses.replace(blue, time_s=T0_S + 3600)], T0_S)
    assert refused.value.problems[0].field == "states[1].time"
    assert live.picture_for("blue", T0_S).own == ()


def test_two_parties_may_use_the_same_aircraft_id() -> None:
    blue, red = head_on()
    live = LivePicture()
    live.post("blue", [dataclasses.replace(blue, id="A1")], T0_S)
    live.post("red", [dataclasses.replace(red, id="A1")], T0_S)
    changes = live.cycle(T0_S)
    [alert] = changes.new_alerts
    assert {alert.a.party, alert.b.party} == {"blue", "red"}
    assert (alert.a.id, alert.b.id) == ("A1", "A1")


def test_trails_keep_the_trail_window_at_most_one_point_per_step() -> None:
    blue, _ = head_on()
    live = LivePicture(LiveSettings(ReplaySettings(stale_s=30.0), trail_s=60.0))
    for k in range(0, 120):
        live.post("blue", [moved(blue, float(k))], T0_S + k)
    [own] = live.picture_for("blue", T0_S + 119).own
    times = [p.time_s - T0_S for p in own.trail]
    assert times == sorted(times)
    assert min(times) >= 119 - 60
    assert 10 <= len(times) <= 13  # one per 5 s over 60 s
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(times))


def test_open_incidents_given_at_start_close_when_the_pair_is_not_in_loss() -> None:
    blue, red = head_on()
    first = LivePicture()
    cycles = fly(first, 160, ("blue", blue), ("red", red))
    [opened] = [i for c in cycles for i in c.opened]
    # The service restarts during the incident: numbering continues, the incident closes at once.
    resumed = LivePicture(next_alert_number=5, next_incident_id=opened.id + 1, open_incidents=[opened])
    changes = resumed.cycle(T0_S + 161)
    assert [i.id for i in changes.closed] == [opened.id]
    assert changes.closed[0].ended_s == T0_S + 161


def test_a_cycle_over_many_aircraft_stays_fast() -> None:
    """Tens of thousands of aircraft of many parties: the per-cycle bookkeeping is vectorised."""
    rng = np.random.default_rng(7)
    n = 20_000
    live = LivePicture()
    lat = rng.uniform(30.0, 60.0, n)
    lon = rng.uniform(-10.0, 40.0, n)
    alt = rng.uniform(1000.0, 12_000.0, n)
    gs = rng.uniform(80.0, 250.0, n)
    trk = rng.uniform(0.0, 360.0, n)
    for party in range(10):
        rows = range(party, n, 10)
        live.post(
            f"p{party}",
            [TrackState(f"X{r}", "", T0_S, lat[r], lon[r], alt[r], gs[r], trk[r], 0.0) for r in rows],
            T0_S,
        )
    live.cycle(T0_S)  # compiles/loads the detector's kernels
    started = time.perf_counter()
    changes = live.cycle(T0_S + 1)
    elapsed_s = time.perf_counter() - started
    assert changes.aircraft == n
    assert len(changes.alerts) > 0
    assert all(a.a.party != a.b.party for a in changes.alerts)
    assert math.isfinite(elapsed_s) and elapsed_s < 5.0, elapsed_s
