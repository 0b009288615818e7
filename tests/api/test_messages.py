"""The hotline through the API: signed messages, boxes, acknowledgements, deadlines, languages.

Every test runs on SQLite and on PostgreSQL (``channel_backend``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from deconflict.channel.messages import MessageContent, verify_signature
from tests.api.conftest import (
    BLUE_OPERATION,
    REPLY_BY,
    REPLY_BY_S,
    SECRET_TEXT,
    Channel,
    ack,
    both_backends,
    send,
    signed_body,
)

channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)


def test_the_catalogue_lists_every_code_with_texts_and_schemas(channel: Channel) -> None:
    response = channel.client.get("/v1/catalogue", headers=channel.auth("green"))
    assert response.status_code == 200
    catalogue = response.json()
    assert catalogue["languages"] == ["en", "ru"]
    codes = {m["code"]: m for m in catalogue["messages"]}
    assert {"NOTICE_OF_OPERATION", "TRAFFIC_ADVISORY", "FREE", "ACKNOWLEDGEMENT"} <= set(codes)
    advisory = codes["TRAFFIC_ADVISORY"]
    assert advisory["title"] == {"en": "Traffic advisory", "ru": "Информация о воздушном движении"}
    assert advisory["params_schema"]["required"] == ["callsign", "position", "altitude_ft", "track_deg"]


def test_a_message_goes_through_every_level(channel: Channel) -> None:
    sent = send(channel)
    assert (sent["from"], sent["to"], sent["state"], sent["overdue"]) == ("blue", "red", "sent", False)
    assert (sent["created"], sent["reply_by"]) == ("2026-01-01T12:00:00Z", REPLY_BY)
    assert (
        sent["rendered"]
        == f"Request to amend operation {BLUE_OPERATION}: raise the lower limit to FL100.\n{SECRET_TEXT}"
    )

    channel.clock.advance(30)
    (inbox,) = channel.client.get("/v1/messages?box=inbox", headers=channel.auth("red")).json()
    assert (inbox["id"], inbox["state"], inbox["delivered"]) == (
        sent["id"],
        "delivered",
        "2026-01-01T12:00:30Z",
    )
    (outbox,) = channel.client.get("/v1/messages?box=outbox", headers=channel.auth("blue")).json()
    assert outbox["state"] == "delivered"

    channel.clock.advance(30)
    read = ack(channel, "red", sent["id"], "read")
    assert read.status_code == 200 and read.json()["state"] == "read"
    assert read.json()["read"] == "2026-01-01T12:01:00Z"
    disputed = ack(channel, "red", sent["id"], "disputed", "our operation has priority")
    assert disputed.status_code == 200
    assert (disputed.json()["state"], disputed.json()["reason"]) == ("disputed", "our operation has priority")
    seen_by_blue = channel.client.get(f"/v1/messages/{sent['id']}", headers=channel.auth("blue")).json()
    assert (seen_by_blue["state"], seen_by_blue["reason"]) == ("disputed", "our operation has priority")


def test_levels_only_move_forward(channel: Channel) -> None:
    sent = send(channel)
    assert ack(channel, "red", sent["id"], "accepted").status_code == 200
    for level in ("read", "accepted", "disputed"):
        response = ack(channel, "red", sent["id"], level, "changed my mind")
        assert response.status_code == 409, level
        assert response.json()["current"] == "accepted"
        assert "only move forward" in response.json()["detail"]


def test_ack_input_errors(channel: Channel) -> None:
    sent = send(channel)
    response = ack(channel, "red", sent["id"], "disputed")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "reason"
    assert ack(channel, "red", sent["id"], "delivered").status_code == 422
    assert ack(channel, "red", sent["id"], "sent").status_code == 422


def test_the_stored_signature_reverifies_with_the_registered_key(channel: Channel) -> None:
    sent = send(channel, code="ACKNOWLEDGEMENT", params={"message": 1}, text="Принято", reply_by=None)
    me = channel.client.get("/v1/parties/me", headers=channel.auth("blue")).json()
    fetched = channel.client.get(f"/v1/messages/{sent['id']}", headers=channel.auth("red")).json()
    content = MessageContent(
        fetched["from"], fetched["to"], fetched["code"], fetched["params"], fetched["text"],
        fetched["reply_by"], fetched["nonce"],
    )  # fmt: skip
    verify_signature(content, fetched["signature"], me["public_key_pem"])


def test_a_tampered_body_is_rejected_with_a_clear_message(channel: Channel) -> None:
    tampered = {**signed_body(channel, "blue"), "text": "Exercise cancelled"}
    response = channel.client.post("/v1/messages", json=tampered, headers=channel.auth("blue"))
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "signature"
    assert "does not verify with the registered public key of 'blue'" in problem["msg"]


def test_a_message_signed_with_another_key_is_rejected(channel: Channel) -> None:
    # Red's key, blue's token: the server checks against the caller's registered key.
    forged = signed_body(channel, "blue", key=channel.keys["red"])
    response = channel.client.post("/v1/messages", json=forged, headers=channel.auth("blue"))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "signature"
    # A body red signed as "from red", posted with blue's token, does not verify either.
    as_red = signed_body(channel, "red", to="green")
    assert channel.client.post("/v1/messages", json=as_red, headers=channel.auth("blue")).status_code == 422
    assert channel.client.get("/v1/messages?box=outbox", headers=channel.auth("blue")).json() == []


def test_a_replayed_message_is_refused(channel: Channel) -> None:
    signed = signed_body(channel, "blue")
    assert channel.client.post("/v1/messages", json=signed, headers=channel.auth("blue")).status_code == 201
    again = channel.client.post("/v1/messages", json=signed, headers=channel.auth("blue"))
    assert again.status_code == 409 and "nonce" in again.json()["detail"]


def test_params_errors_carry_field_paths(channel: Channel) -> None:
    bad = signed_body(
        channel, "blue", code="TRAFFIC_ADVISORY", params={"callsign": "RCH1", "altitude_ft": "high"}
    )
    response = channel.client.post("/v1/messages", json=bad, headers=channel.auth("blue"))
    assert response.status_code == 422
    fields = {(p["field"], p["record"]) for p in response.json()["detail"]}
    assert ("params.altitude_ft", "code TRAFFIC_ADVISORY") in fields
    assert ("params", "code TRAFFIC_ADVISORY") in fields  # the missing position and track
    unknown = signed_body(channel, "blue", to="nobody", code="NOPE", params={})
    problems = channel.client.post("/v1/messages", json=unknown, headers=channel.auth("blue")).json()[
        "detail"
    ]
    assert {p["field"] for p in problems} == {"to", "code"}


@pytest.mark.parametrize(
    ("query", "headers", "title", "start"),
    [
        ("?lang=ru", {}, "Просьба об изменении плана", "Просим изменить операцию"),
        ("", {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}, "Просьба об изменении плана", "Просим изменить"),
        ("?lang=en", {"Accept-Language": "ru"}, "Request to amend", "Request to amend operation"),
        ("", {}, "Request to amend", "Request to amend operation"),
    ],
)
def test_the_reader_chooses_the_language(
    channel: Channel, query: str, headers: dict[str, str], title: str, start: str
) -> None:
    sent = send(channel)
    (inbox,) = channel.client.get(
        f"/v1/messages?box=inbox&{query[1:]}", headers=channel.auth("red", **headers)
    ).json()
    one = channel.client.get(
        f"/v1/messages/{sent['id']}{query}", headers=channel.auth("red", **headers)
    ).json()
    for shown in (inbox, one):
        assert shown["title"] == title
        assert shown["rendered"].startswith(start)
        assert shown["rendered"].endswith(SECRET_TEXT)  # the free text is never translated


def test_an_unknown_language_is_a_422(channel: Channel) -> None:
    response = channel.client.get("/v1/messages?box=inbox&lang=de", headers=channel.auth("red"))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "lang"


def test_other_parties_cannot_read_or_ack_and_see_nothing(channel: Channel) -> None:
    sent = send(channel)
    channel.clock.now = REPLY_BY_S + 3600  # escalations exist too
    green = channel.auth("green")
    bodies = {}
    for path in [
        "/v1/messages?box=inbox",
        "/v1/messages?box=outbox",
        "/v1/messages?box=inbox&overdue=true",
        "/v1/escalations",
    ]:
        response = channel.client.get(path, headers=green)
        assert response.status_code == 200 and response.json() == [], path
        bodies[path] = response.text
    for method, path, payload in [
        ("GET", f"/v1/messages/{sent['id']}", None),
        ("POST", f"/v1/messages/{sent['id']}/ack", {"level": "read"}),
        ("POST", f"/v1/messages/{sent['id']}/ack", {"level": "disputed", "reason": "x"}),
        ("GET", "/v1/messages/999999", None),
    ]:
        response = channel.client.request(method, path, json=payload, headers=green)
        assert response.status_code == 404, (method, path)
        bodies[f"{method} {path}"] = response.text
    # The sender cannot acknowledge its own message either.
    assert ack(channel, "blue", sent["id"], "accepted").status_code == 404
    for where, text in bodies.items():
        for secret in (SECRET_TEXT, BLUE_OPERATION, "NIGHTJAR", sent["signature"], sent["nonce"]):
            assert secret not in text, f"{where} discloses {secret!r}"
    # A 404 for another's message reads exactly like one for a message that does not exist.
    assert json.loads(bodies[f"GET /v1/messages/{sent['id']}"])["detail"] == f"no message {sent['id']}"


def test_a_missed_deadline_escalates_to_both_sides_up_the_ladder(channel: Channel) -> None:
    sent = send(channel)
    send(channel, reply_by=None)  # no deadline, never escalates
    channel.clock.now = REPLY_BY_S - 1
    assert channel.client.get("/v1/escalations", headers=channel.auth("blue")).json() == []

    channel.clock.now = REPLY_BY_S
    for party in ("blue", "red"):
        (escalation,) = channel.client.get("/v1/escalations", headers=channel.auth(party)).json()
        assert escalation == {
            "message": sent["id"],
            "code": "REQUEST_TO_AMEND",
            "from": "blue",
            "to": "red",
            "step": 0,
            "due": REPLY_BY,
            "recorded": REPLY_BY,
        }
    (overdue,) = channel.client.get(
        "/v1/messages?box=outbox&overdue=true", headers=channel.auth("blue")
    ).json()
    assert (overdue["id"], overdue["overdue"]) == (sent["id"], True)

    channel.clock.now = REPLY_BY_S + 15 * 60
    steps = [e["step"] for e in channel.client.get("/v1/escalations", headers=channel.auth("red")).json()]
    assert steps == [0, 1]
    # Answering stops the ladder; the message stays overdue, as it was.
    assert ack(channel, "red", sent["id"], "accepted").json()["overdue"] is True
    channel.clock.now = REPLY_BY_S + 24 * 3600
    steps = [e["step"] for e in channel.client.get("/v1/escalations", headers=channel.auth("blue")).json()]
    assert steps == [0, 1]


def test_state_filter(channel: Channel) -> None:
    first = send(channel)
    second = send(channel)
    channel.client.get("/v1/messages?box=inbox", headers=channel.auth("red"))
    ack(channel, "red", second["id"], "read")
    red = channel.auth("red")
    delivered = channel.client.get("/v1/messages?box=inbox&state=delivered", headers=red).json()
    assert [m["id"] for m in delivered] == [first["id"]]
    read = channel.client.get("/v1/messages?box=inbox&state=read", headers=red).json()
    assert [m["id"] for m in read] == [second["id"]]
    assert channel.client.get("/v1/messages?box=inbox&state=bogus", headers=red).status_code == 422
    assert channel.client.get("/v1/messages", headers=red).status_code == 422  # box is required


def test_a_deadline_in_the_past_or_to_oneself_is_refused(channel: Channel) -> None:
    past = signed_body(channel, "blue", reply_by="2026-01-01T11:59:59Z")
    response = channel.client.post("/v1/messages", json=past, headers=channel.auth("blue"))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "reply_by"
    to_self = signed_body(channel, "blue", to="blue")
    response = channel.client.post("/v1/messages", json=to_self, headers=channel.auth("blue"))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "to"


def test_listings_come_in_pages_newest_first_and_a_page_marks_only_its_own_delivered(
    channel: Channel,
) -> None:
    sent = [
        send(channel, "blue", code="FREE", params={}, text=f"page {i}", reply_by=None)["id"] for i in range(5)
    ]
    red = channel.auth("red")

    def page(**query: Any) -> list[dict[str, Any]]:
        response = channel.client.get("/v1/messages", params={"box": "inbox", **query}, headers=red)
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()
        return listed

    newest = page(limit=2)
    assert [m["id"] for m in newest] == sent[3:]  # the newest two, oldest first
    assert {m["state"] for m in newest} == {"delivered"}
    outbox = channel.client.get("/v1/messages?box=outbox", headers=channel.auth("blue")).json()
    assert [m["state"] for m in outbox] == ["sent"] * 3 + ["delivered"] * 2  # only the page was delivered
    before = page(limit=2, before=newest[0]["id"])
    assert [m["id"] for m in before] == sent[1:3]
    assert [m["id"] for m in page(limit=2, before=before[0]["id"])] == sent[:1]
    assert [m["id"] for m in page()] == sent  # the default page holds them all
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": 0}):
        response = channel.client.get("/v1/messages", params={"box": "inbox", **bad}, headers=red)
        assert response.status_code == 422, bad
