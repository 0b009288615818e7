"""``WebSocket /v1/events`` numbers its events and resumes from the client's last event id.

Every frame of a party event carries the event's ``id``: the outbox's number as
parties are shown it (a keyed permutation: the outbox numbers every party's
events with one counter, and the ids a party sees must not count the others').
Frames come in the outbox's order. A client that comes back with its last id
(``Last-Event-ID`` header, ``last_event_id`` in its auth frame or the query) is
given every later event once, from the outbox, then the live ones: no gap, no
duplicate. An id that is not one of its own events kept (another party's, a
random number) is answered as an id too old to resume from. Runs on SQLite and
on PostgreSQL (one node, no bus).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from deconflict.api.deps import Services
from deconflict.channel.events import EventOutbox
from deconflict.channel.public_ids import MAX_PUBLIC_ID, NO_ROW, IdKind, PublicIds
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


def public_ids(channel: Channel) -> PublicIds:
    services = channel.app.state.services
    assert isinstance(services, Services)
    return services.public_ids


def outbox_of(channel: Channel) -> EventOutbox:
    services = channel.app.state.services
    assert isinstance(services, Services) and services.events.outbox is not None
    return services.events.outbox


def rows(channel: Channel, frames: list[dict[str, Any]]) -> list[int]:
    """The outbox rows of the frames' events: what their shown ids decode to."""
    ids = public_ids(channel)
    return [ids.row(IdKind.EVENT, int(f["id"])) for f in frames]


def assert_in_outbox_order(channel: Channel, frames: list[dict[str, Any]]) -> None:
    """One frame per event, each an event's, in the order of the outbox's rows."""
    found = rows(channel, frames)
    assert NO_ROW not in found and found == sorted(set(found)), found


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
    assert_in_outbox_order(channel, first)
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
    assert_in_outbox_order(channel, resumed)
    assert rows(channel, resumed[:1]) > rows(channel, first[1:2])


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
    assert outbox_of(channel).prune(time.time() + 1, published_only=False) == 2
    send_text(channel, "blue", "red", "m2")
    pruned_through = public_ids(channel).public(IdKind.EVENT, 2)
    with channel.client.websocket_connect(
        "/v1/events", headers=channel.auth("red", **{"Last-Event-ID": "0"})
    ) as red:
        assert red.receive_json() == {"type": "ready", "party": "red"}
        assert red.receive_json() == {"type": "gap", "after": 0, "pruned_through": pruned_through}
        assert texts([red.receive_json()]) == ["m2"]
    # The id the gap frame shows resumes too: after the latest event pruned, no gap.
    with channel.client.websocket_connect(
        "/v1/events", headers=channel.auth("red", **{"Last-Event-ID": str(pruned_through)})
    ) as red:
        assert red.receive_json() == {"type": "ready", "party": "red"}
        assert texts([red.receive_json()]) == ["m2"]


def test_a_partys_event_ids_carry_no_count_of_the_others_events(channel: Channel) -> None:
    between = (0, 50, 0, 3, 50, 1, 0, 7, 50, 2, 0)  # events green gets after each of red's, unseen by red
    with events(channel, "red") as red:
        for n, others in enumerate(between):
            send_text(channel, "blue", "red", f"m{n}")
            for _ in range(others):
                send_text(channel, "blue", "green", "unseen by red")
            channel.clock.now += 60.0  # within blue's messages_per_minute
        send_text(channel, "blue", "red", MARKER)
        frames = until_marker(red)
    assert texts(frames) == [f"m{n}" for n in range(len(between))]
    # The rows count green's events: one more than the step between two of red's...
    stored = [e.id for e in outbox_of(channel).since("red", NO_ROW, 100)][: len(between)]
    assert [b - a for a, b in itertools.pairwise(stored)] == [1 + n for n in between[:-1]]
    # ... the ids red is shown are their permutation: unlike the rows, and their steps count nothing.
    shown = [int(f["id"]) for f in frames]
    ids = public_ids(channel)
    assert shown == [ids.public(IdKind.EVENT, row) for row in stored]
    assert all(public != row for public, row in zip(shown, stored, strict=True))
    assert min(abs(b - a) for a, b in itertools.pairwise(shown)) > 1000


def resumed_frames(channel: Channel, party: str, last_event_id: object) -> list[dict[str, Any]]:
    """The frames a connection of ``party`` resuming from ``last_event_id`` gets, up to a marker sent live."""
    headers = channel.auth(party, **{"Last-Event-ID": str(last_event_id)})
    with channel.client.websocket_connect("/v1/events", headers=headers) as ws:
        assert ws.receive_json() == {"type": "ready", "party": party}
        send_text(channel, "blue", party, MARKER)
        return until_marker(ws)


def test_another_partys_id_or_a_random_number_resumes_as_an_id_too_old(channel: Channel) -> None:
    with events(channel, "red") as red, events(channel, "blue") as blue:
        send_text(channel, "blue", "red", "m0")
        send_text(channel, "red", "blue", "to blue before")
        send_text(channel, "blue", "red", MARKER)
        send_text(channel, "red", "blue", MARKER)
        own_pruned = int(until_marker(red)[0]["id"])
        (blues_pruned,) = (int(f["id"]) for f in until_marker(blue))
        outbox = outbox_of(channel)
        assert outbox.prune(time.time() + 1, published_only=False) == 4
        send_text(channel, "blue", "red", "m1")
        send_text(channel, "red", "blue", "to blue after")  # kept, between red's m1 and m2
        send_text(channel, "blue", "red", "m2")
        send_text(channel, "red", "blue", MARKER)
        (blues_kept,) = (int(f["id"]) for f in until_marker(blue))
    pruned_through = public_ids(channel).public(IdKind.EVENT, outbox.pruned_id())
    too_old = resumed_frames(channel, "red", own_pruned)
    assert too_old[0] == {"type": "gap", "after": own_pruned, "pruned_through": pruned_through}
    assert texts(too_old) == ["m1", "m2"]
    # Each answer ends at the marker the call before it left in the outbox: the same frames every time.
    for given in (0, blues_pruned, blues_kept, 123456789, MAX_PUBLIC_ID, MAX_PUBLIC_ID + 1, 2**62):
        assert resumed_frames(channel, "red", given) == [{**too_old[0], "after": given}, *too_old[1:]], given


def test_with_nothing_pruned_another_partys_id_resumes_as_0_does(channel: Channel) -> None:
    with events(channel, "red") as red, events(channel, "blue") as blue:
        send_text(channel, "blue", "red", "m0")
        send_text(channel, "red", "blue", "to blue")
        send_text(channel, "blue", "red", "m1")
        send_text(channel, "red", "blue", MARKER)
        send_text(channel, "blue", "red", MARKER)
        (blues,) = (int(f["id"]) for f in until_marker(blue))
        assert texts(until_marker(red)) == ["m0", "m1"]
    from_0 = resumed_frames(channel, "red", 0)
    assert texts(from_0) == ["m0", "m1"] and "gap" not in {f["type"] for f in from_0}
    for given in (blues, 123456789, 2**62):
        assert resumed_frames(channel, "red", given) == from_0, given
