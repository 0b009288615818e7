"""The demo scenario: plans with a handful of conflicts, flights inside their plans, strays that meet."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from deconflict.channel.catalogue import load_catalogue
from deconflict.config import Settings
from deconflict.demo.scenario import Flight, Scenario, load_scenario
from deconflict.geometry.geodesy import distance_m
from deconflict.strategic import Volume, find_conflicts, parse_features
from deconflict.strategic.conflicts import format_time
from deconflict.units import altitude_to_m

START_S = 1_795_000_000.0  # 2026-11-19
HOUR_S = np.arange(0.0, 3600.0, 2.0)
SETTINGS = Settings()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario()


def volumes(scenario: Scenario, start_s: float = START_S) -> dict[str, Volume]:
    found = {}
    for op in scenario.operations:
        (volume,) = parse_features(op.collection(start_s), op.id, op.party)
        found[op.id] = volume
    return found


def west_of_the_line(scenario: Scenario) -> Polygon:
    """Everything south-west of the deconfliction line (the line closed far to the west)."""
    north_lon, south_lon = scenario.line[0][0], scenario.line[-1][0]
    return Polygon([*scenario.line, (south_lon, 30.0), (30.0, 30.0), (30.0, 40.0), (north_lon, 40.0)])


def test_three_parties_of_three_kinds(scenario: Scenario) -> None:
    assert sorted(scenario.parties) == ["blue", "civil", "red"]
    assert {op.party for op in scenario.operations} == {"blue", "civil", "red"}
    counts = {p: sum(f.party == p for f in scenario.flights) for p in scenario.parties}
    assert all(count >= 3 for count in counts.values()), counts
    assert 10 <= len(scenario.flights) <= 20


def test_the_strategic_check_finds_a_handful_of_conflicts_between_every_pair(scenario: Scenario) -> None:
    conflicts = find_conflicts(list(volumes(scenario).values()))
    assert 3 <= len(conflicts) <= 10
    pairs = {tuple(sorted((c.party_a, c.party_b))) for c in conflicts}
    assert pairs == {("blue", "red"), ("civil", "red"), ("blue", "civil")}


def test_the_amendment_resolves_the_conflict_it_is_asked_for(scenario: Scenario) -> None:
    before = volumes(scenario)
    (amended,) = parse_features(
        scenario.operation("red-cap-east").collection(START_S, amended=True), "amended", "red"
    )
    after = [v for k, v in before.items() if k != "red-cap-east"] + [amended]

    def pairs(found: list[Volume]) -> set[frozenset[str]]:
        return {frozenset((c.a.split("/")[0], c.b.split("/")[0])) for c in find_conflicts(found)}

    assert frozenset(("blue-strike-deir", "red-cap-east")) in pairs(list(before.values()))
    assert frozenset(("blue-strike-deir", "red-cap-east")) not in pairs(after)


def test_plan_windows_are_relative_to_the_start(scenario: Scenario) -> None:
    for op in scenario.operations:
        for start_s in (START_S, START_S + 12_345.0):
            props = op.collection(start_s)["features"][0]["properties"]
            assert props["time_start"] == format_time(start_s + 60.0 * op.start_min)
            assert props["time_end"] == format_time(start_s + 60.0 * op.end_min)
        # From a little before the start to hours after it: active when the demo runs.
        assert -60.0 <= op.start_min <= 0.0
        assert 60.0 <= op.end_min <= 6 * 60.0


def test_flights_stay_inside_their_plans_for_an_hour(scenario: Scenario) -> None:
    found = volumes(scenario)
    amended = scenario.operation("red-cap-east").collection(START_S, amended=True)
    (amended_cap,) = parse_features(amended, "amended", "red")
    checked = 0
    for flight in scenario.flights:
        if flight.is_stray:
            continue
        assert flight.operation is not None
        op = scenario.operation(flight.operation)
        states = flight.states(HOUR_S)
        points = shapely.points(states.lon_deg, states.lat_deg)
        footprints = [found[op.id].footprint.shape]
        if op.amended_polygon:  # still inside once its plan is amended
            footprints.append(amended_cap.footprint.shape)
        for footprint in footprints:
            outside = ~shapely.contains(footprint, points)
            assert not outside.any(), (flight.id, HOUR_S[outside][:3])
        assert altitude_to_m(op.lower_fl, "FL") < flight.alt_m < altitude_to_m(op.upper_fl, "FL")
        assert op.start_min * 60.0 <= 0.0 and op.end_min * 60.0 >= HOUR_S[-1]
        checked += 1
    assert checked >= 10


def test_flights_keep_to_their_side_of_the_line(scenario: Scenario) -> None:
    west = west_of_the_line(scenario)
    sides = {}
    for flight in scenario.flights:
        states = flight.states(HOUR_S)
        inside = shapely.contains(west, shapely.points(states.lon_deg, states.lat_deg))
        sides[flight.party, flight.id] = (bool(inside.all()), bool((~inside).all()))
        if flight.is_stray:
            continue
        if flight.party == "blue":
            assert inside.all(), flight.id
        elif flight.party == "red":
            assert (~inside).all(), flight.id
    civil = [f for f in scenario.flights if f.party == "civil"]
    assert any(not any(sides["civil", f.id]) for f in civil), "the airway crosses the line"
    crossing = [f.id for f in scenario.flights if f.is_stray and not any(sides[f.party, f.id])]
    assert len(crossing) >= 2, "strays of both sides cross the line"


def test_speeds_altitudes_and_tracks_are_realistic(scenario: Scenario) -> None:
    for flight in scenario.flights:
        assert 50.0 <= flight.gs_mps <= 260.0
        assert 3000.0 <= flight.alt_m <= 12_500.0
        now = flight.states(HOUR_S)
        later = flight.states(HOUR_S + 1.0)
        # One second later it is gs metres further along its track (except at turns).
        moved = distance_m(now.lon_deg, now.lat_deg, later.lon_deg, later.lat_deg)
        turn_deg = np.abs((later.trk_deg - now.trk_deg + 180.0) % 360.0 - 180.0)
        straight = np.isclose(moved, flight.gs_mps, rtol=1e-6) & (turn_deg < 0.01)
        assert straight.mean() > 0.95, flight.id
        assert np.all((now.trk_deg >= 0.0) & (now.trk_deg < 360.0))
        assert np.all(now.vs_mps == 0.0)


def in_own_plans(scenario: Scenario, flight: Flight, time_s: float) -> bool:
    state = flight.states([time_s])
    point = Point(state.lon_deg[0], state.lat_deg[0])
    for volume in volumes(scenario).values():
        op = scenario.operation(volume.operation)
        in_band = altitude_to_m(op.lower_fl, "FL") <= flight.alt_m <= altitude_to_m(op.upper_fl, "FL")
        if volume.party == flight.party and in_band and volume.footprint.shape.contains(point):
            return True
    return False


def separation(a: Flight, b: Flight, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sa, sb = a.states(time_s), b.states(time_s)
    return distance_m(sa.lon_deg, sa.lat_deg, sb.lon_deg, sb.lat_deg), np.abs(sa.alt_m - sb.alt_m)


def test_strays_really_lose_separation_at_their_time(scenario: Scenario) -> None:
    assert len(scenario.encounters) >= 1
    first = min(e.at_s for e in scenario.encounters)
    assert first <= 60.0, "the first loss is seen by a short demo"
    for encounter in scenario.encounters:
        a, b = (scenario.flight(*key) for key in encounter.flights)
        assert a.party != b.party
        for stray in (a, b):
            if stray.is_stray:  # out of every plan of its party when it meets the other
                assert not in_own_plans(scenario, stray, encounter.at_s), stray.id
        assert a.is_stray or b.is_stray
        horizontal, vertical = separation(a, b, np.array([encounter.at_s]))
        assert horizontal[0] < SETTINGS.tactical_rpz_m / 10.0
        assert vertical[0] < SETTINGS.tactical_hpz_m
        # Not yet at the start: the service first predicts it (an alert), then records it.
        horizontal, vertical = separation(a, b, np.array([0.0]))
        assert horizontal[0] > SETTINGS.tactical_rpz_m
        # ... and within the look-ahead of the start, as a straight-line prediction sees it.
        assert encounter.at_s < SETTINGS.tactical_lookahead_s


def test_only_the_strays_lose_separation(scenario: Scenario) -> None:
    planned = [f for f in scenario.flights if not f.is_stray]
    for a, b in itertools.combinations(planned, 2):
        if a.party == b.party:
            continue
        horizontal, vertical = separation(a, b, HOUR_S)
        loss = (horizontal < SETTINGS.tactical_rpz_m) & (vertical < SETTINGS.tactical_hpz_m)
        assert not loss.any(), (a.id, b.id, HOUR_S[loss][:3])


def test_timed_flights_pass_their_waypoint_at_their_time(scenario: Scenario) -> None:
    flight = scenario.flight("blue", "BLU103")
    (encounter,) = [e for e in scenario.encounters if ("blue", "BLU103") in e.flights]
    states = flight.states([encounter.at_s])
    lon, lat = flight.path[1]
    assert float(distance_m(states.lon_deg[0], states.lat_deg[0], lon, lat)) < 1.0


def test_script_is_in_time_order_and_every_message_is_valid(scenario: Scenario) -> None:
    catalogue = load_catalogue()
    times = [s.at_s for s in scenario.steps]
    assert times == sorted(times)
    sent: dict[str, int] = {}
    versions = {op.id: 1 for op in scenario.operations}
    codes = set()
    for step in scenario.steps:
        assert step.party in scenario.parties
        if step.action in ("read", "accept", "dispute"):
            assert step.args["message"] in sent, step
        if step.action == "amend":
            versions[step.args["operation"]] += 1
            assert scenario.operation(step.args["operation"]).amended_polygon
        if step.action == "send":
            params = scenario.fill(step.args["params"], START_S, versions, sent)
            catalogue.validate(step.args["code"], params, step.args.get("text", ""))
            assert step.args["to"] in scenario.parties and step.args["to"] != step.party
            codes.add(step.args["code"])
            sent[step.args["label"]] = len(sent) + 1
        if step.action == "report_incident":
            sent[step.args["label"]] = len(sent) + 1
    assert {"NOTICE_OF_OPERATION", "TRAFFIC_ADVISORY", "REQUEST_TO_AMEND", "ACKNOWLEDGEMENT"} <= codes
    levels = {s.action for s in scenario.steps}
    assert {"read", "accept", "dispute", "ack_conflict", "accept_conflict", "amend"} <= levels
    # One request with a deadline is read and never answered: it escalates.
    deadlines = [s for s in scenario.steps if s.action == "send" and "reply_by_s" in s.args]
    answered = {s.args["message"] for s in scenario.steps if s.action in ("accept", "dispute")}
    assert any(s.args["label"] not in answered for s in deadlines)


def test_placeholders(scenario: Scenario) -> None:
    op = scenario.operation("red-cap-east")
    filled = scenario.fill(
        {"a": "{op:red-cap-east:start}", "b": "{op:red-cap-east:version}", "c": "{msg:x}", "d": "plain"},
        START_S,
        {"red-cap-east": 2},
        {"x": 17},
    )
    assert filled == {"a": format_time(START_S + 60.0 * op.start_min), "b": 2, "c": 17, "d": "plain"}
    with pytest.raises(KeyError):
        scenario.fill("{msg:never-sent}", START_S, {}, {})
    with pytest.raises(KeyError):
        scenario.fill("{nonsense}", START_S, {}, {})


def test_points_helper_agrees_with_shapely_contains(scenario: Scenario) -> None:
    # The side test above relies on the line polygon; a point of Raqqa's west bank is west of it.
    west = west_of_the_line(scenario)
    assert west.contains(Point(38.9, 35.9))
    assert not west.contains(Point(39.2, 36.0))
