"""Bursts of alerts on ``/v1/events``: one coalesced ``alerts`` frame per party per cycle, never a close.

A cycle that changes thousands of a party's alerts (or opens over a thousand
incidents) used to overflow the connection's queue (``events_max_queued``) and
close it with 1013. Now each cycle's alert changes reach the socket together, the
most urgent first, its incidents each in its frame, and the connection stays open.
"""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from deconflict.api.deps import Services
from deconflict.api.routers.events import MAX_ALERTS_PER_FRAME, _alert_frames, _alert_texts, _with_id
from deconflict.channel.events import Event, EventKind
from deconflict.channel.live import AlertBatch, AlertLevel, AlertNotice, AlertState, AlertView, CycleChanges
from deconflict.channel.public_ids import PublicIds
from deconflict.channel.service.tracks import run_tactical_cycle
from deconflict.strategic.conflicts import format_time
from tests.api.conftest import MARKER, Channel, events, send_text, until_marker
from tests.builders import T0_S

PAIRS = 5_000
M_PER_DEG = 111_319.49


def head_on_pairs(count: int) -> dict[str, list[dict[str, Any]]]:
    """``count`` pairs (blue east, red west at 100 m/s), each 1 to 30 km apart, on a grid far apart.

    Pairs closer than the horizontal minimum (9,260 m) are in loss now; the
    others reach their closest approach at ``gap / 200`` s, all within the look-ahead.
    """
    time = format_time(T0_S)
    states: dict[str, list[dict[str, Any]]] = {"blue": [], "red": []}
    for k in range(count):
        lon_deg, lat_deg = -150.0 + 3.0 * (k % 100), -37.5 + 1.5 * (k // 100)
        gap_m = 1_000.0 + (k * 7_919) % 29_000  # scrambled, so urgency is not the posting order
        for party, offset_m, trk_deg in (("blue", 0.0, 90.0), ("red", gap_m, 270.0)):
            states[party].append(
                {
                    "id": f"{party[0].upper()}{k}",
                    "time": time,
                    "lat_deg": lat_deg,
                    "lon_deg": lon_deg + offset_m / M_PER_DEG,
                    "alt_m": 3000.0,
                    "gs_mps": 100.0,
                    "trk_deg": trk_deg,
                    "vs_mps": 0.0,
                }
            )
    return states


def cycle(channel: Channel) -> CycleChanges:
    s: Services = channel.app.state.services
    assert s.live is not None and s.incidents is not None
    return run_tactical_cycle(s.live, s.incidents, s.audit, channel.clock.now_s(), s.events)


def received(ws: Any, channel: Channel) -> list[dict[str, Any]]:
    """The frames up to a marker message sent now: it arrives only while the connection is open."""
    send_text(channel, "red", "blue", MARKER)
    return until_marker(ws)


def test_a_burst_of_5000_alerts_reaches_the_socket_coalesced_by_urgency(burst_channel: Channel) -> None:
    ch = burst_channel
    for party, states in head_on_pairs(PAIRS).items():
        response = ch.client.post("/v1/tracks", json={"states": states}, headers=ch.auth(party))
        assert response.status_code == 202 and response.json()["accepted"] == PAIRS, response.text
    ids = ch.app.state.services.public_ids
    with events(ch, "blue") as blue:
        changes = cycle(ch)
        assert len(changes.new_alerts) == PAIRS
        frames = received(blue, ch)
        # The pairs in loss (over 1,000: a burst of incidents too), one incident frame each.
        opened = [f for f in frames if f["type"] == "incident"]
        assert len(opened) == len(changes.opened) > 1000
        assert {f["state"] for f in opened} == {"opened"}
        frames = [f for f in frames if f["type"] != "incident"]
        assert [f["type"] for f in frames] == ["alerts"] * (PAIRS // MAX_ALERTS_PER_FRAME)
        assert [f["more"] for f in frames] == [True] * (len(frames) - 1) + [False]
        assert {f["time"] for f in frames} == {format_time(T0_S)}
        shown = [c for f in frames for c in f["changes"]]
        # Every change of the cycle's diff, once.
        assert sorted(c["id"] for c in shown) == sorted(ids.ref(a.id) for a in changes.new_alerts)
        assert {c["state"] for c in shown} == {"new"}
        # Losses first, then by time to closest approach.
        urgency = [(c["level"] != "loss", c["time_to_cpa_s"]) for c in shown]
        assert urgency == sorted(urgency)
        losses = sum(c["level"] == "loss" for c in shown)
        assert losses == len(changes.opened)

        # Every pair goes stale: the next cycle clears them all, again in frames, again without a close.
        ch.clock.now = T0_S + 60.0
        cleared = cycle(ch)
        assert len(cleared.cleared_alerts) == PAIRS
        frames = received(blue, ch)
        closed = [f for f in frames if f["type"] == "incident"]
        assert len(closed) == len(cleared.closed) == len(changes.opened)
        assert {f["state"] for f in closed} == {"closed"}
        frames = [f for f in frames if f["type"] != "incident"]
        shown = [c for f in frames for c in f["changes"]]
        assert len(shown) == PAIRS and {c["state"] for c in shown} == {"cleared"}
        assert {c["id"] for c in shown} == {ids.ref(a.id) for a in cleared.cleared_alerts}
    assert ch.client.get("/v1/alerts", headers=ch.auth("blue")).json()["alerts"] == []


@pytest.mark.parametrize(
    "odd",
    [None, math.inf, math.nan, np.float64(12.5), "\ud800"],
    ids=["finite", "inf", "nan", "numpy", "surrogate"],
)
def test_alert_frames_are_the_json_of_json_dumps(odd: object) -> None:
    # Frames of finite numbers are written by msgspec, the others by json.dumps: the same JSON either way.
    view = AlertView(
        "a-3", AlertLevel.LOSS, "BLU1", "red", "a-9", T0_S, 1.5, 20.0, 300.25, 10.0, (8.0, 47.0, 1e16), None
    )
    if isinstance(odd, str):
        view = dataclasses.replace(view, own_id=odd)
    elif odd is not None:
        view = dataclasses.replace(view, time_to_cpa_s=odd)
    batch = AlertBatch(
        T0_S,
        tuple(AlertNotice(AlertState.NEW, dataclasses.replace(view, id=f"a-{n}")) for n in range(1, 2_500)),
    )
    services = SimpleNamespace(public_ids=PublicIds(b"k" * 32))
    event = Event(EventKind.ALERTS, "blue", batch, 7)
    texts = _alert_texts(event, services)  # type: ignore[arg-type]
    frames = [_with_id(event, frame, services.public_ids) for frame in _alert_frames(batch, services)]  # type: ignore[arg-type]
    assert len(texts) == 3
    assert [json.loads(t) for t in texts].__repr__() == [json.loads(json.dumps(f)) for f in frames].__repr__()
    assert (odd is None) == ("e+16" not in texts[0])  # msgspec writes 1e16, json.dumps 1e+16
