"""Non-conformance alerts through the API: raised in the next cycle, on the socket, counted; who sees what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from deconflict.config import Settings
from deconflict.strategic.conflicts import format_time
from tests.api.conftest import (
    MARKER,
    Channel,
    blue_plan,
    events,
    open_channel,
    red_plan,
    send_text,
    until_marker,
)
from tests.api.test_tracks import cycle, get, post
from tests.builders import T0_S, unpack_alerts

NOW_S = T0_S + 45 * 60  # 12:45 UTC: blue's plan (12:00-13:30) and red's (12:30-14:00) are active
# Inside blue's triangle; far from every plan; east of the triangle's edge, inside red's box and band.
INSIDE = (36.35, 35.3, 3000.0)
FAR = (30.0, 35.0, 3000.0)
IN_RED = (36.63, 35.3, 1500.0)
BLUE_IDS = ("BLU101", "BLU202", "BLU303", "CONFORM1", "STRAY2", "STRAY3")


@pytest.fixture
def plans_channel(tmp_path: Path) -> Iterator[Channel]:
    settings = Settings(db_path=tmp_path / "channel.db", tactical_cycle_s=86_400.0, tracks_probation_s=0.0)
    with open_channel(settings, "blue", "red", "green") as channel:
        channel.clock.now = NOW_S
        for party, body in (("blue", blue_plan()), ("red", red_plan())):
            filed = channel.client.post("/v1/operations", json=body, headers=channel.auth(party))
            assert filed.status_code == 201, filed.text
        yield channel


def state(
    aircraft_id: str, where: tuple[float, float, float], time_s: float, callsign: str
) -> dict[str, Any]:
    lon_deg, lat_deg, alt_m = where
    return {
        "id": aircraft_id,
        "callsign": callsign,
        "time": format_time(time_s),
        "lat_deg": lat_deg,
        "lon_deg": lon_deg,
        "alt_m": alt_m,
        "gs_mps": 60.0,
        "trk_deg": 0.0,
        "vs_mps": 0.0,
    }


def fleet(channel: Channel, time_s: float, stray2: tuple[float, float, float] = FAR) -> None:
    channel.clock.now = time_s
    post(
        channel,
        "blue",
        state("BLU101", INSIDE, time_s, "CONFORM1"),
        state("BLU202", stray2, time_s, "STRAY2"),
        state("BLU303", IN_RED, time_s, "STRAY3"),
    )


def test_a_stray_is_alerted_to_its_owner_and_shown_where_it_is_to_the_party_whose_space_it_entered(
    plans_channel: Channel,
) -> None:
    ch = plans_channel
    with ExitStack() as stack:
        sockets = {p: stack.enter_context(events(ch, p)) for p in ("blue", "red", "green")}
        fleet(ch, NOW_S)
        cycle(ch)  # one detection cycle
        blue = get(ch, "blue", "/v1/alerts")["alerts"]
        red = get(ch, "red", "/v1/alerts")["alerts"]
        red_tracks = get(ch, "red", "/v1/tracks")
        green = [get(ch, "green", path) for path in ("/v1/alerts", "/v1/tracks")]
        for party in ("blue", "red", "green"):
            send_text(ch, "red" if party == "blue" else "blue", party, MARKER, None)
        frames = {p: unpack_alerts(until_marker(ws)) for p, ws in sockets.items()}

    assert sorted((a["kind"], a["level"], a["own_id"], a["other_party"]) for a in blue) == [
        ("non_conformance", "warning", "BLU202", None),
        ("non_conformance", "warning", "BLU303", None),
    ]
    by_id = {a["own_id"]: a for a in blue}
    assert by_id["BLU202"]["own"] == pytest.approx(list(FAR)) and by_id["BLU202"]["other"] is None
    # Red: the stray in its space, where it is and under the alert's reference; nothing of blue's ids.
    (seen,) = red
    assert (seen["kind"], seen["own_id"], seen["own"], seen["other_party"]) == (
        "non_conformance",
        None,
        None,
        "blue",
    )
    assert (
        seen["other"] == pytest.approx(list(IN_RED))
        and seen["id"] == by_id["BLU303"]["id"] == seen["other_ref"]
    )
    assert [(t["ref"], t["party"]) for t in red_tracks["foreign"]] == [(seen["id"], "blue")]
    red_frames = [f for f in frames["red"] if f["type"] == "alert"]
    assert [(f["state"], f["kind"], f["other_party"]) for f in red_frames] == [
        ("new", "non_conformance", "blue")
    ]
    for text in (json.dumps([red, red_tracks, frames["red"]]),):
        for secret in BLUE_IDS:
            assert secret not in text
    # Green: nothing at all.
    assert green[0]["alerts"] == [] and green[1]["foreign"] == []
    assert [f for f in frames["green"] if f["type"] == "alert"] == []
    # Blue hears of both at once, on the socket as in the listing.
    blue_frames = [(f["state"], f["kind"], f["own_id"]) for f in frames["blue"] if f["type"] == "alert"]
    assert sorted(blue_frames) == [("new", "non_conformance", "BLU202"), ("new", "non_conformance", "BLU303")]


def test_back_inside_clears_the_alert_and_strays_are_counted_in_stats(plans_channel: Channel) -> None:
    ch = plans_channel
    fleet(ch, NOW_S)
    cycle(ch)
    first = {a["own_id"]: a["id"] for a in get(ch, "blue", "/v1/alerts")["alerts"]}
    # BLU202 back inside its plan (after a gap: a jump that far within seconds is refused).
    fleet(ch, NOW_S + 120, stray2=INSIDE)
    cycle(ch)
    after = {a["own_id"]: a["id"] for a in get(ch, "blue", "/v1/alerts")["alerts"]}
    assert after == {"BLU303": first["BLU303"]}
    months = {m["month"]: m["non_conformance"] for m in get(ch, "blue", "/v1/stats")["months"]}
    assert months.pop("2026-01") == 2 and set(months.values()) <= {0}, months
    # Red's statistics count none of blue's strays (its own aircraft are not in them).
    assert all(m["non_conformance"] == 0 for m in get(ch, "red", "/v1/stats")["months"])


def test_a_party_without_plans_gets_no_non_conformance_alerts(plans_channel: Channel) -> None:
    ch = plans_channel
    post(ch, "green", state("G1", FAR, NOW_S, "GREEN1"))
    cycle(ch)
    assert get(ch, "green", "/v1/alerts")["alerts"] == []
