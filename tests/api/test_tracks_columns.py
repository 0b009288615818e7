"""``GET /v1/tracks/columns``, ``GET /v1/tracks/own/{id}`` and the ``tracks`` frames: a fleet in bulk.

The same picture as ``GET /v1/tracks`` (what each party may see does not
change), without trails and with the own aircraft as columns; a trail on
demand, one aircraft at a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import MARKER, Channel, send_text, until_marker
from tests.api.test_tracks import (
    BLUE_SECRETS,
    RED_SECRETS,
    assert_none_in,
    cycle,
    fly,
    get,
    live_channel,
    post,
    track,
)
from tests.builders import T0_S

__all__ = ["live_channel"]  # the fixture, shared with test_tracks

_STATE = ("lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")


def rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The columns as one dict per aircraft."""
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def test_columns_hold_the_same_own_aircraft_as_the_tracks_without_trails(live_channel: Channel) -> None:
    ch = live_channel
    fly(ch, range(0, 121))  # blue's two aircraft, in alert and incident with red's
    full = get(ch, "blue", "/v1/tracks")
    columns = get(ch, "blue", "/v1/tracks/columns")
    assert columns["time"] == full["time"]
    own = rows(columns["own"])
    assert [o["id"] for o in own] == ["BLU101", "BLU202"]  # by id
    by_id = {o["id"]: o for o in full["own"]}
    for aircraft in own:
        expected = by_id[aircraft["id"]]
        assert aircraft["callsign"] == expected["callsign"]
        for name in _STATE:
            assert aircraft[name] == pytest.approx(expected[name], abs=1e-6 if name.endswith("deg") else 0.06)
        assert aircraft["time_s"] == T0_S + 120
    assert "trail" not in columns["own"]
    assert columns["foreign"] == full["foreign"] != []  # the red aircraft in alert, as /v1/tracks shows it
    red = get(ch, "red", "/v1/tracks/columns")
    assert red["own"]["id"] == ["RED707"]
    assert_none_in(red, BLUE_SECRETS)
    green = get(ch, "green", "/v1/tracks/columns")
    assert (green["own"]["id"], green["foreign"]) == (["G1"], [])
    assert_none_in(green, BLUE_SECRETS + RED_SECRETS)


def test_a_party_without_aircraft_gets_empty_columns(live_channel: Channel) -> None:
    empty = get(live_channel, "blue", "/v1/tracks/columns")
    assert empty["own"] == {name: [] for name in ("id", "callsign", "time_s", *_STATE)}
    assert empty["foreign"] == []


def test_one_own_aircraft_with_its_trail_and_nobody_elses(live_channel: Channel) -> None:
    ch = live_channel
    post(ch, "blue", track("BLU101", 0.0, 90.0, 0.0, callsign="VIPER1"))
    ch.clock.now = T0_S + 10
    post(ch, "blue", track("BLU101", 0.0, 90.0, 10.0))
    one = get(ch, "blue", "/v1/tracks/own/BLU101")
    [expected] = get(ch, "blue", "/v1/tracks")["own"]
    assert one == expected
    assert len(one["trail"]) == 2
    for party, aircraft_id in (("red", "BLU101"), ("blue", "NOPE"), ("blue", "x" * 300)):
        response = ch.client.get(f"/v1/tracks/own/{aircraft_id}", headers=ch.auth(party))
        assert response.status_code == 404, response.text
        assert_none_in(response.json(), ("VIPER1",))
    assert ch.client.get("/v1/tracks/own/BLU101").status_code == 401


def _next_tracks(ws: Any) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == "tracks":
            return frame


def test_tracks_frames_come_at_once_and_after_each_cycle_only_when_asked(live_channel: Channel) -> None:
    ch = live_channel
    post(ch, "blue", track("BLU101", 0.0, 90.0, 0.0, callsign="VIPER1"))
    post(ch, "red", track("RED707", 20.0, 270.0, 0.0, callsign="REDCAP"))
    with ch.client.websocket_connect("/v1/events?tracks=true", headers=ch.auth("blue")) as ws:
        assert ws.receive_json() == {"type": "ready", "party": "blue"}
        first = _next_tracks(ws)
        assert set(first) == {"type", "time", "own", "foreign"}
        assert first["own"]["id"] == ["BLU101"] and first["own"]["callsign"] == ["VIPER1"]
        ch.clock.now = T0_S + 5
        post(ch, "blue", track("BLU101", 0.0, 90.0, 5.0))
        cycle(ch)
        after = _next_tracks(ws)
        assert after["own"]["time_s"] == [T0_S + 5]
        assert after == {"type": "tracks", **get(ch, "blue", "/v1/tracks/columns")}
        assert_none_in(after, RED_SECRETS)
    # Without ?tracks=true, no tracks frame: a cycle, then a marker message, and nothing between.
    with ch.client.websocket_connect("/v1/events", headers=ch.auth("blue")) as ws:
        assert ws.receive_json() == {"type": "ready", "party": "blue"}
        ch.clock.now = T0_S + 6
        cycle(ch)
        send_text(ch, "red", "blue", MARKER)
        assert until_marker(ws) == []
