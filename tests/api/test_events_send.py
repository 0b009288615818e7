"""Sending hotline messages over ``WebSocket /v1/events``: the same rules as ``POST /v1/messages``.

Each ``send`` frame is answered, in order, by ``sent`` (the stored message,
once durable) or ``refused`` (the status and detail ``POST`` would give); the
recipient gets the message as an event, and the audit chain records it.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from deconflict.storage import SQLiteAuditLog
from tests.api.conftest import Channel, events, signed_body


def send_frame(channel: Channel, sender: str, ref: str, **kwargs: Any) -> dict[str, Any]:
    message = signed_body(channel, sender, **{"code": "FREE", "params": {}, "reply_by": None, **kwargs})
    return {"type": "send", "ref": ref, "message": message}


def test_messages_sent_on_the_socket_are_stored_signed_delivered_and_audited(channel: Channel) -> None:
    with events(channel, "red") as red, events(channel, "blue") as blue:
        frames = [send_frame(channel, "blue", f"ref-{i}", text=f"socket message {i}") for i in range(3)]
        for frame in frames:
            blue.send_json(frame)
        answers = [blue.receive_json() for _ in frames]
        assert [(a["type"], a["ref"]) for a in answers] == [("sent", f"ref-{i}") for i in range(3)]
        sent = [a["message"] for a in answers]
        assert [(m["from"], m["to"], m["text"]) for m in sent] == [
            ("blue", "red", f"socket message {i}") for i in range(3)
        ]
        assert [m["nonce"] for m in sent] == [f["message"]["nonce"] for f in frames]
        received = [red.receive_json() for _ in frames]
        assert [(r["type"], r["message"]["id"]) for r in received] == [("message", m["id"]) for m in sent]
    outbox = channel.client.get("/v1/messages?box=outbox", headers=channel.auth("blue")).json()
    assert {m["id"] for m in sent} <= {m["id"] for m in outbox}
    with SQLiteAuditLog(channel.app.state.services.audit.path) as log:
        recorded = {e.payload["message_id"] for e in log.entries() if e.kind == "message_sent"}
    assert {m["id"] for m in sent} <= recorded


def test_refusals_carry_the_status_and_detail_of_the_rest_api(channel: Channel) -> None:
    with events(channel, "blue") as blue:
        good = send_frame(channel, "blue", "good")
        forged = send_frame(channel, "blue", "forged")
        forged["message"]["text"] = "altered after signing"
        replayed = {**good, "ref": "replayed"}
        unknown = send_frame(channel, "blue", "nobody", to="nobody")
        shapeless = {"type": "send", "ref": "shapeless", "message": {"to": "red"}}
        for frame in (good, forged, replayed, unknown, shapeless):
            blue.send_json(frame)
        blue.send_json({"type": "hello", "ref": "odd"})
        answers = {a["ref"]: a for a in (blue.receive_json() for _ in range(6))}
    assert answers["good"]["type"] == "sent"
    assert (answers["forged"]["status"], answers["forged"]["type"]) == (422, "refused")
    assert "signature" in str(answers["forged"]["detail"])
    assert answers["replayed"]["status"] == 409
    assert answers["nobody"]["status"] == 422 and "nobody" in str(answers["nobody"]["detail"])
    assert answers["shapeless"]["status"] == 422
    assert {p["field"] for p in answers["shapeless"]["detail"]} >= {"code", "nonce", "signature"}
    assert answers["odd"]["status"] == 400
    sent = channel.client.get("/v1/messages?box=outbox", headers=channel.auth("blue")).json()
    assert [m["nonce"] for m in sent] == [good["message"]["nonce"]]  # nothing refused was stored


def test_the_socket_counts_against_the_same_rate_as_post(channel: Channel) -> None:
    limit = channel.app.state.services.settings.messages_per_minute
    rate = channel.app.state.services.rate
    for _ in range(limit - 1):
        assert rate.admit("blue", channel.clock.now_s()) is None
    with events(channel, "blue") as blue:
        blue.send_json(send_frame(channel, "blue", "last"))
        blue.send_json(send_frame(channel, "blue", "over"))
        answers = {a["ref"]: a for a in (blue.receive_json(), blue.receive_json())}
    assert answers["last"]["type"] == "sent"
    assert (answers["over"]["status"], answers["over"]["retry_after_s"]) == (429, 60)
    response = channel.client.post(
        "/v1/messages", json=signed_body(channel, "red", to="blue"), headers=channel.auth("red")
    )
    assert response.status_code == 201  # other parties are not affected


def test_a_frame_that_is_not_json_closes_the_socket_with_1007(channel: Channel) -> None:
    with events(channel, "blue") as blue:
        blue.send_json(send_frame(channel, "blue", "good"))
        assert blue.receive_json()["type"] == "sent"
        blue.send_text("not json")
        with pytest.raises(WebSocketDisconnect) as closed:
            blue.receive_json()
    assert closed.value.code == 1007
    with events(channel, "blue") as again:  # the party reconnects as before
        again.send_json({"type": "hello", "ref": "back"})
        assert again.receive_json()["ref"] == "back"
