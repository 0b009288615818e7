"""``WebSocket /v1/events`` numbers its events and resumes from the client's last event id.

Every frame of a party event carries the event's ``id`` (the outbox's number),
and ids on one connection only grow. A client that comes back with its last id
(``Last-Event-ID`` header, ``last_event_id`` in its auth frame or the query) is
given every later event once, from the outbox, then the live ones: no gap, no
duplicate. Runs on SQLite and on PostgreSQL (one node, no bus).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from deconflict.api.deps import Services
from tests.api.conftest import (
    MARKER,
    Channel,
    blue_plan,
    both_backends,
    events,
    red_plan,
    send_text,
    until_marker,
)

channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)


def texts(frames: list[dict[str, Any]]) -> list[str]:
    return [str(f["message"]["text"]) for f in frames if f["type"] == "message"]


def assert_growing_ids(frames: list[dict[str, Any]]) -> None:
    ids = [int(f["id"]) for f in frames]
    assert ids == sorted(set(ids)), ids


def test_a_client_resumes_from_its_last_event_id_with_no_gap_and_no_duplicate(channel: Channel) -> None:
    with events(channel, "red") as red:
        for n in range(3):
            send_text(channel, "blue", "red", f"m{n}")
        assert channel.client.post(
            "/v1/operations", json=blue_plan(), headers=channel.auth("blue")
        ).is_success
        assert channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red")).is_success
        send_text(channel, "blue", "red", MARKER)
        first = until_marker(red)
    assert texts(first) == ["m0", "m1", "m2"] and [f["type"] for f in first][-1] == "conflict"
    assert_growing_ids(first)
    last_id = int(first[1]["id"])  # the client kept m0 and m1, then lost its connection

    for n in range(3, 5):  # while it is away
        send_text(channel, "blue", "red", f"m{n}")
    headers = channel.auth("red", **{"Last-Event-ID": str(last_id)})
    with channel.client.websocket_connect("/v1/events", headers=headers) as red:
        assert red.receive_json() == {"type": "ready", "party": "red"}
        send_text(channel, "blue", "red", "m5")  # live
        send_text(channel, "blue", "red", MARKER)
        # Up to the first connection's marker (stored too), then what came after it.
        resumed = until_marker(red)
        later = until_marker(red)
    assert texts(resumed) == ["m2"] and [f["type"] for f in resumed] == ["message", "conflict"]
    assert resumed[1] == first[-1]  # the same frame as live, id included
    assert texts(later) == ["m3", "m4", "m5"]
    resumed += later
    assert_growing_ids(resumed)
    assert int(resumed[0]["id"]) > last_id


def test_a_browser_resumes_with_its_auth_frame(channel: Channel) -> None:
    with events(channel, "red") as red:
        send_text(channel, "blue", "red", "m0")
        send_text(channel, "blue", "red", "m1")
        send_text(channel, "blue", "red", MARKER)
        first = until_marker(red)
    with channel.client.websocket_connect("/v1/events") as red:
        auth = {"type": "auth", "token": channel.tokens["red"], "last_event_id": int(first[0]["id"])}
        red.send_text(json.dumps(auth))
        assert red.receive_json() == {"type": "ready", "party": "red"}
        assert texts([red.receive_json()]) == ["m1"]
        last = red.receive_json()  # the first connection's marker: given again, it was after m1
        assert texts([last]) == [MARKER]


def test_a_client_without_a_last_id_gets_only_live_events(channel: Channel) -> None:
    send_text(channel, "blue", "red", "before")
    with events(channel, "red") as red:
        send_text(channel, "blue", "red", "after")
        send_text(channel, "blue", "red", MARKER)
        assert texts(until_marker(red)) == ["after"]


def test_a_last_event_id_that_is_not_a_whole_number_closes_with_1007(channel: Channel) -> None:
    for given in ("-1", "x", "1.5", str(2**63)):
        headers = channel.auth("red", **{"Last-Event-ID": given})
        with (
            channel.client.websocket_connect("/v1/events", headers=headers) as red,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            red.receive_json()
        assert closed.value.code == 1007, given


def test_the_query_parameter_resumes_too(channel: Channel) -> None:
    with events(channel, "red") as red:
        send_text(channel, "blue", "red", "m0")
        send_text(channel, "blue", "red", MARKER)
        first = until_marker(red)
    url = f"/v1/events?last_event_id={first[0]['id']}"
    with channel.client.websocket_connect(url, headers=channel.auth("red")) as red:
        assert red.receive_json() == {"type": "ready", "party": "red"}
        assert texts([red.receive_json()]) == [MARKER]


def test_a_client_resuming_from_before_pruned_events_is_told_of_the_gap(channel: Channel) -> None:
    send_text(channel, "blue", "red", "m0")
    send_text(channel, "blue", "red", "m1")
    services = channel.app.state.services
    assert isinstance(services, Services) and services.events.outbox is not None
    assert services.events.outbox.prune(time.time() + 1, published_only=False) == 2
    send_text(channel, "blue", "red", "m2")
    with channel.client.websocket_connect(
        "/v1/events", headers=channel.auth("red", **{"Last-Event-ID": "0"})
    ) as red:
        assert red.receive_json() == {"type": "ready", "party": "red"}
        assert red.receive_json() == {"type": "gap", "after": 0, "pruned_through": 2}
        assert texts([red.receive_json()]) == ["m2"]
