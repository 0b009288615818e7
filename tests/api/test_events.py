"""``WebSocket /v1/events``: bearer auth (1008 on a bad token), each party exactly its own events.

WebSocket routes are not in the OpenAPI document, so the auth matrix of
``test_auth.py`` does not reach this one: its cases are here.

A TestClient WebSocket has no receive timeout, so "nothing else arrived" is
shown with a marker: after the scenario each party is sent one last message,
and everything received before it must be exactly the expected events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deconflict.api.deps import Services
from deconflict.channel.audit import AuditKind
from deconflict.config import Settings
from tests.api.conftest import (
    MARKER,
    RED_BOX,
    REPLY_BY_S,
    Channel,
    ack,
    assert_allowed_view,
    blue_plan,
    events,
    forbidden_strings,
    open_channel,
    red_plan,
    send_text,
    until_marker,
)


def refused(client: TestClient, headers: dict[str, str], first_frame: str | None = None) -> int:
    """The close code of a connection that presents these credentials."""
    with client.websocket_connect("/v1/events", headers=headers) as ws:
        if first_frame is not None:
            ws.send_text(first_frame)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return closed.value.code


def outbox_state(channel: Channel, party: str, message_id: int) -> str:
    outbox = channel.client.get("/v1/messages?box=outbox", headers=channel.auth(party)).json()
    return next(str(m["state"]) for m in outbox if m["id"] == message_id)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic Ymx1ZTpibHVl"},
        {"Authorization": "Bearer"},
    ],
    ids=["unknown", "not-bearer", "empty"],
)
def test_a_bad_authorization_header_is_refused_with_1008(channel: Channel, headers: dict[str, str]) -> None:
    assert refused(channel.client, headers) == 1008


def test_a_revoked_party_is_refused_and_the_log_keeps_no_token(channel: Channel) -> None:
    assert refused(channel.client, channel.auth("gone")) == 1008
    assert refused(channel.client, {}, json.dumps({"type": "auth", "token": "first-frame-secret"})) == 1008
    services = channel.app.state.services
    assert isinstance(services, Services)
    failures = [e for e in services.audit.entries() if e.kind == AuditKind.LOGIN_FAILED]
    assert len(failures) == 2
    logged = json.dumps([e.payload_json for e in failures])
    assert channel.tokens["gone"] not in logged and "first-frame-secret" not in logged
    assert "revoked" in failures[0].payload_json


@pytest.mark.parametrize("first_frame", [json.dumps({"token": "x"}), json.dumps([1]), "null"])
def test_without_a_header_the_first_frame_must_carry_a_token(channel: Channel, first_frame: str) -> None:
    assert refused(channel.client, {}, first_frame) == 1008


@pytest.mark.parametrize("first_frame", ["not json", "[" * 33 + "]" * 33, "[" * 100_000 + "]" * 100_000])
def test_a_first_frame_that_cannot_be_decoded_is_closed_with_1007(channel: Channel, first_frame: str) -> None:
    assert refused(channel.client, {}, first_frame) == 1007


def test_a_browser_authenticates_with_its_first_frame(channel: Channel) -> None:
    with channel.client.websocket_connect("/v1/events") as ws:
        ws.send_text(json.dumps({"type": "auth", "token": channel.tokens["red"]}))
        assert ws.receive_json() == {"type": "ready", "party": "red"}
        sent = send_text(channel, "blue", "red", "hello", None)
        frame = ws.receive_json()
        assert (frame["type"], frame["message"]["id"]) == ("message", sent["id"])


def test_a_party_over_its_connection_limit_is_told_to_try_again_later(channel: Channel) -> None:
    services = channel.app.state.services
    assert isinstance(services, Services)
    limit = services.settings.events_max_connections_per_party
    with ExitStack() as stack:
        for _ in range(limit):
            stack.enter_context(events(channel, "blue"))
        assert refused(channel.client, channel.auth("blue")) == 1013
        with events(channel, "red"):  # other parties are not affected
            pass


def test_each_party_receives_exactly_its_own_events(channel: Channel) -> None:
    with events(channel, "blue") as blue, events(channel, "red") as red, events(channel, "green") as green:
        assert channel.client.post(
            "/v1/operations", json=blue_plan(), headers=channel.auth("blue")
        ).is_success
        filed = channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
        (red_conflict,) = filed.json()["conflicts"]

        sent = send_text(channel, "blue", "red", "please amend", "2026-01-01T12:30:00Z")
        # Red's connection got it, and pushing it marked it delivered (as fetching the inbox would).
        for _ in range(200):
            if outbox_state(channel, "blue", sent["id"]) == "delivered":
                break
            time.sleep(0.01)
        assert outbox_state(channel, "blue", sent["id"]) == "delivered"
        assert ack(channel, "red", sent["id"], "read").status_code == 200

        channel.clock.advance(REPLY_BY_S - channel.clock.now + 1)
        assert channel.client.get("/v1/escalations", headers=channel.auth("green")).status_code == 200
        # Running the deadlines again announces nothing new.
        assert channel.client.get("/v1/escalations", headers=channel.auth("blue")).status_code == 200

        send_text(channel, "red", "blue", MARKER, None)
        send_text(channel, "blue", "red", MARKER, None)
        send_text(channel, "blue", "green", MARKER, None)
        got = {party: until_marker(ws) for party, ws in (("blue", blue), ("red", red), ("green", green))}

    kinds = {party: [f["type"] for f in frames] for party, frames in got.items()}
    assert kinds == {
        "blue": ["conflict", "acknowledgement", "deadline_passed", "escalation"],
        "red": ["conflict", "message", "deadline_passed", "escalation"],
        "green": [],
    }
    blue_frames, red_frames = got["blue"], got["red"]
    assert red_frames[0]["conflict"] == red_conflict  # the view GET /v1/conflicts gives
    assert_allowed_view(red_frames[0]["conflict"])
    assert blue_frames[0]["conflict"]["id"] == red_conflict["id"]
    assert blue_frames[0]["conflict"]["other_party"] == "red"
    assert red_frames[1]["message"]["id"] == sent["id"] and red_frames[1]["message"]["from"] == "blue"
    assert blue_frames[1]["message"]["id"] == sent["id"] and blue_frames[1]["message"]["state"] == "read"
    for frames in (blue_frames, red_frames):
        assert frames[2]["message"]["id"] == sent["id"]
        assert (frames[3]["escalation"]["message"], frames[3]["escalation"]["step"]) == (sent["id"], 0)

    # Disclosure: nothing of blue's plan reaches red, nothing of red's reaches blue.
    red_text = json.dumps(red_frames)
    for secret in forbidden_strings():
        assert secret not in red_text, f"a frame to red discloses {secret!r}"
    blue_text = json.dumps(blue_frames)
    assert "red-op" not in blue_text and "red-v1" not in blue_text
    assert json.dumps(RED_BOX[2]) not in blue_text


@pytest.fixture
def quick_sweep(tmp_path: Path) -> Iterator[Channel]:
    """The channel of ``conftest.channel``, with the server looking for passed deadlines every 10 ms."""
    settings = Settings(db_path=tmp_path / "sweep.db", deadline_sweep_s=0.01)
    with open_channel(settings, "blue", "red") as channel:
        yield channel


def test_a_passed_deadline_is_pushed_without_any_request(quick_sweep: Channel) -> None:
    with events(quick_sweep, "red") as red, events(quick_sweep, "blue") as blue:
        sent = send_text(quick_sweep, "blue", "red", "reply by 12:30", "2026-01-01T12:30:00Z")
        assert red.receive_json()["type"] == "message"
        quick_sweep.clock.advance(REPLY_BY_S - quick_sweep.clock.now + 1)  # no request after this
        for ws in (red, blue):
            passed, escalated = ws.receive_json(), ws.receive_json()
            assert (passed["type"], passed["message"]["id"]) == ("deadline_passed", sent["id"])
            assert (escalated["type"], escalated["escalation"]["step"]) == ("escalation", 0)


def test_a_flood_of_bad_tokens_on_the_socket_adds_one_entry_per_source_and_reason(channel: Channel) -> None:
    for n in range(50):
        assert refused(channel.client, {"Authorization": f"Bearer wrong-{n}"}) == 1008
    services = channel.app.state.services
    assert isinstance(services, Services)
    failures = [e.payload for e in services.audit.entries() if e.kind == AuditKind.LOGIN_FAILED]
    assert failures == [
        {
            "reason": "unknown token",
            "presented_sha256": failures[0]["presented_sha256"],
            "source": "testclient",
            "count": 1,
        }
    ]  # the other 49 are counted, and recorded as one entry when the window has passed
