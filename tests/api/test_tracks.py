"""``/v1/tracks``, ``/v1/alerts``, ``/v1/incidents`` and their events: the live picture under disclosure.

Detection cycles are run by the test (``run_tactical_cycle`` on the app's
services) at fake-clock times; the background task is set to a period far
beyond the test, so it never runs in between.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.api.deps import Services
from deconflict.channel.service.tracks import run_tactical_cycle
from deconflict.config import Settings
from deconflict.strategic.conflicts import format_time
from deconflict.tactical.states import States, dead_reckon
from tests.api.conftest import MARKER, Channel, events, open_channel, send_text, until_marker
from tests.builders import STATE_MOTION_FIELDS, T0_S, register_parties, unpack_alerts
from tests.fakes import FakeClock

GAP_DEG = 30_000.0 / 111_319.49  # 30 km on the equator
BLUE_SECRETS = ("BLU101", "VIPER1", "BLU202", "TANKER2")
RED_SECRETS = ("RED707", "REDCAP")


@pytest.fixture
def live_channel(tmp_path: Path) -> Iterator[Channel]:
    # The disclosure gates are off here (no probation, no plans needed): tests/e2e/test_track_gating.py
    # tries them against a real server.
    settings = Settings(
        db_path=tmp_path / "channel.db",
        tactical_cycle_s=86_400.0,
        tracks_max_batch=5,
        tracks_probation_s=0.0,
        tracks_disclose_anywhere=("blue", "red", "green"),
    )
    with open_channel(settings, "blue", "red", "green") as channel:
        yield channel


def services(channel: Channel) -> Services:
    found: Services = channel.app.state.services
    return found


def cycle(channel: Channel) -> None:
    s = services(channel)
    assert s.live is not None and s.incidents is not None
    run_tactical_cycle(s.live, s.incidents, s.audit, channel.clock.now_s(), s.events)


def track(aircraft_id: str, lon_deg: float, trk_deg: float, dt_s: float, **extra: Any) -> dict[str, Any]:
    """A state dead-reckoned ``dt_s`` from its start on the equator at 3000 m, 100 m/s."""
    moved = dead_reckon(States([0.0], [lon_deg], [3000.0], [100.0], [trk_deg], [0.0]), dt_s)
    return {
        "id": aircraft_id,
        "time": format_time(T0_S + dt_s),
        "lat_deg": float(moved.lat_deg[0]),
        "lon_deg": float(moved.lon_deg[0]),
        "alt_m": 3000.0,
        "gs_mps": 100.0,
        "trk_deg": trk_deg,
        "vs_mps": 0.0,
        **extra,
    }


def post(channel: Channel, party: str, *states: dict[str, Any]) -> int:
    response = channel.client.post("/v1/tracks", json={"states": list(states)}, headers=channel.auth(party))
    assert response.status_code == 202, response.text
    accepted: int = response.json()["accepted"]
    return accepted


def get(channel: Channel, party: str, path: str) -> Any:
    response = channel.client.get(path, headers=channel.auth(party))
    assert response.status_code == 200, response.text
    return response.json()


def fly(channel: Channel, seconds: range) -> None:
    """Blue's BLU101 east and red's RED707 west, head-on; blue's BLU202 and green's G1 far away."""
    for k in seconds:
        channel.clock.now = T0_S + k
        post(
            channel,
            "blue",
            track("BLU101", 0.0, 90.0, k, callsign="VIPER1"),
            track("BLU202", 20.0, 0.0, k, callsign="TANKER2"),
        )
        post(channel, "red", track("RED707", GAP_DEG, 270.0, k, callsign="REDCAP"))
        post(channel, "green", track("G1", 40.0, 0.0, k))
        cycle(channel)


def assert_none_in(document: Any, secrets: tuple[str, ...]) -> None:
    text = json.dumps(document)
    for secret in secrets:
        assert secret not in text, (secret, text[:500])


def test_post_and_get_own_tracks_with_trails(live_channel: Channel) -> None:
    ch = live_channel
    assert post(ch, "blue", track("BLU101", 0.0, 90.0, 0.0, callsign="VIPER1")) == 1
    ch.clock.now = T0_S + 10
    assert post(ch, "blue", track("BLU101", 0.0, 90.0, 10.0), track("BLU101", 0.0, 90.0, 5.0)) == 1
    picture = get(ch, "blue", "/v1/tracks")
    assert picture["time"] == format_time(T0_S + 10)
    [own] = picture["own"]
    assert (own["id"], own["callsign"], own["time"]) == ("BLU101", "VIPER1", format_time(T0_S + 10))
    assert own["lon_deg"] == pytest.approx(1000.0 / 111_319.49, rel=1e-3)
    assert [p[3] for p in own["trail"]] == [format_time(T0_S), format_time(T0_S + 10)]
    assert own["trail"][0][:3] == [0.0, 0.0, 3000.0]
    assert picture["foreign"] == []
    assert get(ch, "red", "/v1/tracks")["own"] == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"lat_deg": 91.0}, "states[1].lat_deg"),
        ({"gs_mps": -1.0}, "states[1].gs_mps"),
        ({"trk_deg": "east"}, "states[1].trk_deg"),
        ({"alt_m": None}, "states[1].alt_m"),
    ],
)
def test_bad_states_are_refused_naming_the_state_and_field(
    live_channel: Channel, change: dict[str, Any], where: str
) -> None:
    ch = live_channel
    body = {"states": [track("A", 0.0, 90.0, 0.0), {**track("B", 0.0, 90.0, 0.0), **change}]}
    response = ch.client.post("/v1/tracks", json=body, headers=ch.auth("blue"))
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == [where]
    assert get(ch, "blue", "/v1/tracks")["own"] == []  # nothing of the batch was taken


def test_bad_times_and_too_large_batches_are_refused(live_channel: Channel) -> None:
    ch = live_channel
    bad_time = {"states": [track("A", 0.0, 90.0, 0.0), {**track("B", 0.0, 90.0, 0.0), "time": "noon"}]}
    response = ch.client.post("/v1/tracks", json=bad_time, headers=ch.auth("blue"))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "states[1].time" and "noon" in problem["msg"]

    future = {"states": [{**track("A", 0.0, 90.0, 0.0), "time": format_time(T0_S + 3600)}]}
    response = ch.client.post("/v1/tracks", json=future, headers=ch.auth("blue"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "states[0].time"

    six = {"states": [track(f"A{i}", 0.0, 90.0, 0.0) for i in range(6)]}  # tracks_max_batch is 5
    response = ch.client.post("/v1/tracks", json=six, headers=ch.auth("blue"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "states"
    assert "at most 5" in response.json()["detail"][0]["msg"]


def test_every_route_needs_a_token(live_channel: Channel) -> None:
    client = live_channel.client
    for method, path in (
        ("POST", "/v1/tracks"),
        ("GET", "/v1/tracks"),
        ("GET", "/v1/alerts"),
        ("GET", "/v1/incidents"),
        ("GET", "/v1/incidents/1"),
        ("POST", "/v1/incidents/1/comments"),
    ):
        assert client.request(method, path).status_code == 401, path


def test_alert_incident_and_thread_each_side_sees_its_own_and_a_third_party_nothing(
    live_channel: Channel,
) -> None:
    ch = live_channel
    with ExitStack() as stack:
        sockets = {p: stack.enter_context(events(ch, p)) for p in ("blue", "red", "green")}
        # Closing at 200 m/s from 30 km: alert at once, loss at 103.7 s, CPA at 150 s.
        fly(ch, range(0, 121))
        [blue_alert] = get(ch, "blue", "/v1/alerts")["alerts"]
        [red_alert] = get(ch, "red", "/v1/alerts")["alerts"]
        assert blue_alert["id"] == red_alert["id"]
        assert (blue_alert["own_id"], blue_alert["other_party"], blue_alert["level"]) == (
            "BLU101",
            "red",
            "loss",
        )
        assert (red_alert["own_id"], red_alert["other_party"]) == ("RED707", "blue")
        assert blue_alert["time_to_loss_s"] == 0.0
        assert get(ch, "green", "/v1/alerts") == {"alerts": [], "next": None, "previous": None}

        blue_picture = get(ch, "blue", "/v1/tracks")
        [foreign] = blue_picture["foreign"]
        assert (foreign["ref"], foreign["party"]) == (blue_alert["other_ref"], "red")
        assert set(foreign) == {"ref", "party", *STATE_MOTION_FIELDS}
        red_picture = get(ch, "red", "/v1/tracks")
        assert [f["ref"] for f in red_picture["foreign"]] == [red_alert["id"]]
        assert [o["id"] for o in sorted(blue_picture["own"], key=lambda o: o["id"])] == ["BLU101", "BLU202"]

        [incident] = get(ch, "red", "/v1/incidents")["incidents"]
        assert incident["ended"] is None
        assert (incident["own_id"], incident["other_party"]) == ("RED707", "blue")
        started_s = T0_S + (30_000.0 - 9260.0) / 200.0
        assert incident["started"] == format_time(float(int(started_s) + 1))
        incident_id = incident["id"]

        response = ch.client.post(
            f"/v1/incidents/{incident_id}/comments",
            json={"text": "blue turned into us"},
            headers=ch.auth("red"),
        )
        assert response.status_code == 201, response.text
        assert response.json() == {
            "party": "red",
            "time": format_time(T0_S + 120),
            "text": "blue turned into us",
        }
        response = ch.client.post(
            f"/v1/incidents/{incident_id}/comments",
            json={"text": "we held our level"},
            headers=ch.auth("blue"),
        )
        assert response.status_code == 201
        for refused, text, code in (("green", "mine too", 404), ("blue", "   ", 422)):
            response = ch.client.post(
                f"/v1/incidents/{incident_id}/comments", json={"text": text}, headers=ch.auth(refused)
            )
            assert response.status_code == code, response.text
        assert ch.client.get(f"/v1/incidents/{incident_id}", headers=ch.auth("green")).status_code == 404
        assert get(ch, "green", "/v1/incidents") == {"incidents": [], "next": None, "previous": None}

        # Past the CPA the pair separates (196 s) and the alert clears after the gap.
        fly(ch, range(121, 215))
        blue_incident = get(ch, "blue", f"/v1/incidents/{incident_id}")
        assert blue_incident["ended"] is not None
        assert blue_incident["closest"]["distance_m"] < 200.0
        assert blue_incident["closest"]["time"] == format_time(T0_S + 150)
        assert [(c["party"], c["text"]) for c in blue_incident["comments"]] == [
            ("red", "blue turned into us"),
            ("blue", "we held our level"),
        ]
        assert get(ch, "blue", "/v1/alerts") == {"alerts": [], "next": None, "previous": None}
        assert get(ch, "blue", "/v1/tracks")["foreign"] == []

        bodies = {
            party: [get(ch, party, path) for path in ("/v1/tracks", "/v1/alerts", "/v1/incidents")]
            for party in ("blue", "red", "green")
        }
        for party in ("blue", "red", "green"):
            send_text(ch, "blue" if party != "blue" else "red", party, MARKER, None)
        frames = {party: unpack_alerts(until_marker(ws)) for party, ws in sockets.items()}

    # Red never learns blue's ids or callsigns; green learns nothing of either.
    assert_none_in([bodies["red"], frames["red"], red_picture, red_alert], BLUE_SECRETS)
    assert_none_in([bodies["green"], frames["green"]], BLUE_SECRETS + RED_SECRETS)
    assert_none_in([bodies["blue"], frames["blue"], blue_picture], RED_SECRETS)
    assert [f for f in frames["green"] if f["type"] in {"alert", "incident", "incident_comment"}] == []

    for party, own_id in (("blue", "BLU101"), ("red", "RED707")):
        kinds = [(f["type"], f.get("state") or f.get("level")) for f in frames[party]]
        assert kinds[0] == ("alert", "new")
        assert ("alert", "update") in kinds and kinds[-1] == ("alert", "cleared")
        opened = [f for f in frames[party] if f["type"] == "incident" and f["state"] == "opened"]
        closed = [f for f in frames[party] if f["type"] == "incident" and f["state"] == "closed"]
        assert len(opened) == 1 and len(closed) == 1
        assert opened[0]["own_id"] == own_id and closed[0]["id"] == incident_id
        assert len(closed[0]["comments"]) == 2
        levels = [f["level"] for f in frames[party] if f["type"] == "alert" and f["state"] != "cleared"]
        assert levels == ["warning", "loss"]  # loss 103.7 s ahead: a warning at once
        comments = [f for f in frames[party] if f["type"] == "incident_comment"]
        assert [(f["incident_id"], f["comment"]["party"]) for f in comments] == [
            (incident_id, "red"),
            (incident_id, "blue"),
        ]

    # The incident and its thread are in the audit log, for both sides only.
    kinds_by_party = {}
    for party in ("blue", "red", "green"):
        entries = get(ch, party, "/v1/audit?limit=1000")["entries"]
        kinds_by_party[party] = [
            e["kind"] for e in entries if e["visible"] and e["kind"].startswith("incident")
        ]
        assert_none_in([e for e in entries if e["visible"]], RED_SECRETS if party == "blue" else BLUE_SECRETS)
    expected = ["incident_recorded", "incident_commented", "incident_commented", "incident_closed"]
    assert kinds_by_party["blue"] == kinds_by_party["red"] == expected
    assert kinds_by_party["green"] == []

    # Statistics can count what happened.
    s = services(ch)
    assert s.tactical is not None
    counts = s.tactical.monthly_counts("blue")
    assert sum(alerts for alerts, _ in counts.values()) == 1
    assert sum(incidents for _, incidents in counts.values()) == 1
    assert {other for _, other in counts} == {"red"}


def test_the_background_task_runs_cycles_until_shutdown(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "channel.db", tactical_cycle_s=0.05)
    tokens, _ = register_parties(settings.db_path, "blue", "red")
    clock = FakeClock(T0_S + 150)  # blue and red at their closest approach
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        for party, s in (
            ("blue", track("BLU101", 0.0, 90.0, 150.0)),
            ("red", track("RED707", GAP_DEG, 270.0, 150.0)),
        ):
            assert client.post("/v1/tracks", json={"states": [s]}, headers=auth[party]).status_code == 202
        deadline = time.monotonic() + 10.0
        while not client.get("/v1/incidents", headers=auth["blue"]).json()["incidents"]:
            assert time.monotonic() < deadline, "no detection cycle ran"
            time.sleep(0.05)
        [alert] = client.get("/v1/alerts", headers=auth["red"]).json()["alerts"]
        assert alert["level"] == "loss"
    assert not hasattr(app.state, "services")  # shut down: the task was stopped with the rest
