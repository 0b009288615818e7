"""The demo driver's clock and the track states it posts (the run itself: tests/cli/test_demo.py)."""

from __future__ import annotations

import math

import pytest

from deconflict.demo.driver import ScenarioClock, flight_states
from deconflict.demo.scenario import load_scenario
from deconflict.strategic.conflicts import format_time
from tests.builders import STATE_MOTION_FIELDS

START_S = 1_795_000_000.0


class FakeMonotonic:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@pytest.mark.parametrize("speed", [1.0, 4.0, 0.5])
def test_the_scenario_clock_runs_speed_times_faster(speed: float) -> None:
    real = FakeMonotonic()
    clock = ScenarioClock(START_S, speed, real)
    assert clock.now_s() == START_S and clock.elapsed_s() == 0.0
    real.now_s += 10.0
    assert clock.elapsed_s() == pytest.approx(10.0 * speed)
    assert clock.now_s() == pytest.approx(START_S + 10.0 * speed)


@pytest.mark.parametrize("speed", [0.0, -1.0, math.nan])
def test_the_scenario_clock_refuses_a_bad_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed must be > 0"):
        ScenarioClock(START_S, speed)


def test_flight_states_follow_the_tracks_contract() -> None:
    flights = [f for f in load_scenario().flights if f.party == "blue"]
    states = flight_states(flights, 12.0, START_S)
    assert [s["id"] for s in states] == [f.id for f in flights]
    for state, flight in zip(states, flights, strict=True):
        assert set(state) == {"id", "callsign", *STATE_MOTION_FIELDS}
        assert state["time"] == format_time(START_S + 12.0)
        expected = flight.states([12.0])
        assert state["lat_deg"] == pytest.approx(expected.lat_deg[0], abs=1e-6)
        assert state["lon_deg"] == pytest.approx(expected.lon_deg[0], abs=1e-6)
        assert state["alt_m"] == pytest.approx(flight.alt_m, abs=0.1)
        assert state["callsign"] == flight.callsign
        assert 0.0 <= state["trk_deg"] <= 360.0
