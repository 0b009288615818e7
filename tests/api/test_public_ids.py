"""Ids parties see count nothing of the others' activity; they decode for paths and survive restarts.

Conflicts, messages, incidents and alerts are numbered by counters the whole
channel shares; a party is shown a keyed permutation of them
(:mod:`deconflict.channel.public_ids`).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.config import Settings
from deconflict.storage import SQLiteAuditLog
from tests.api.conftest import Channel, box_feature, plan
from tests.api.test_messages import send
from tests.fakes import FakeClock

GARBAGE = ("0", "-1", "abc", "1e3", "12.5", "9" * 17, "4503599627370497")  # the last: 2**52 + 1


def _file(channel: Channel, party: str, operation_id: str, box: tuple[float, float, float, float]) -> Any:
    response = channel.client.post(
        "/v1/operations", json=plan(operation_id, box_feature("v1", *box)), headers=channel.auth(party)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_partys_message_ids_carry_no_count_of_the_others_messages(channel: Channel) -> None:
    blue_ids: list[int] = []
    others_between: list[int] = []
    for round_ in range(12):
        blue_ids.append(send(channel, "blue", code="FREE", params={}, reply_by=None)["id"])
        others = round_ % 4  # red and green talk in between, unseen by blue
        for _ in range(others):
            send(channel, "red", to="green", code="FREE", params={}, reply_by=None)
        others_between.append(others)
    steps = [b - a for a, b in itertools.pairwise(blue_ids)]
    assert all(step != 1 + n for step, n in zip(steps, others_between, strict=False))
    assert sorted(blue_ids) != blue_ids and sorted(blue_ids, reverse=True) != blue_ids  # in no order
    assert min(abs(s) for s in steps) > 1000
    # Listings keep the order the messages were sent in, and page with any id of the page.
    outbox = channel.client.get("/v1/messages?box=outbox", headers=channel.auth("blue")).json()
    assert [m["id"] for m in outbox] == blue_ids
    older = channel.client.get(
        "/v1/messages", params={"box": "outbox", "before": blue_ids[5]}, headers=channel.auth("blue")
    ).json()
    assert [m["id"] for m in older] == blue_ids[:5]


def test_a_partys_conflict_ids_carry_no_count_of_the_others_conflicts(channel: Channel) -> None:
    _file(channel, "blue", "blue-a", (10.0, 10.0, 10.2, 10.2))
    _file(channel, "green", "green-b", (20.0, 20.0, 20.2, 20.2))
    (first,) = _file(channel, "red", "red-a1", (10.1, 10.1, 10.3, 10.3))["conflicts"]
    for i in range(5):  # red and green: five conflicts blue never sees
        _file(channel, "red", f"red-b{i}", (20.1, 20.1, 20.3, 20.3))
    (second,) = _file(channel, "red", "red-a2", (10.1, 10.1, 10.3, 10.3))["conflicts"]
    seen = [c["id"] for c in channel.client.get("/v1/conflicts", headers=channel.auth("blue")).json()]
    assert seen == [first["id"], second["id"]]
    assert abs(second["id"] - first["id"]) not in (1, 6)
    # Red's own filings, one after the other: its ids tell it nothing either.
    red = [c["id"] for c in channel.client.get("/v1/conflicts", headers=channel.auth("red")).json()]
    assert len(red) == 7 and red != sorted(red)


def test_garbage_and_unknown_ids_get_the_same_404_as_another_partys(channel: Channel) -> None:
    sent = send(channel, "blue", code="FREE", params={}, reply_by=None)
    (conflict,) = [
        *_file(channel, "blue", "blue-a", (10.0, 10.0, 10.2, 10.2))["conflicts"],
        *_file(channel, "red", "red-a", (10.1, 10.1, 10.3, 10.3))["conflicts"],
    ]
    green = channel.auth("green")
    cases = [
        ("GET", "/v1/messages/{}", None, "no message {}"),
        ("POST", "/v1/messages/{}/ack", {"level": "read"}, "no message {} received by 'green'"),
        ("GET", "/v1/conflicts/{}", None, "no conflict {} for party 'green'"),
        ("POST", "/v1/conflicts/{}/ack", None, "no conflict {} for party 'green'"),
        ("GET", "/v1/incidents/{}", None, "no incident {} for party 'green'"),
        ("POST", "/v1/incidents/{}/comments", {"text": "x"}, "no incident {} for party 'green'"),
    ]
    for method, path, payload, detail in cases:
        theirs = sent["id"] if "messages" in path else conflict["id"]
        for shown in (str(theirs), *GARBAGE):
            response = channel.client.request(method, path.format(shown), json=payload, headers=green)
            assert (response.status_code, response.json()) == (404, {"detail": detail.format(shown)}), (
                method,
                path,
                shown,
            )
    for escaped, shown in (("a%5C", "a\\"), ("%5C1", "\\1"), ("%20", " ")):  # never read as a template
        response = channel.client.get(f"/v1/conflicts/{escaped}", headers=green)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"no conflict {shown} for party 'green'"},
        )
    # A paging cursor that is not one of the caller's messages is not found either.
    for before in (sent["id"], 1, 2**52):
        response = channel.client.get(
            "/v1/messages", params={"box": "inbox", "before": before}, headers=green
        )
        assert (response.status_code, response.json()) == (404, {"detail": f"no message {before}"})


def test_the_audit_entries_a_party_reads_name_the_ids_it_is_shown(channel: Channel) -> None:
    sent = send(channel, "blue", code="FREE", params={}, reply_by=None)
    (conflict,) = [
        *_file(channel, "blue", "blue-a", (10.0, 10.0, 10.2, 10.2))["conflicts"],
        *_file(channel, "red", "red-a", (10.1, 10.1, 10.3, 10.3))["conflicts"],
    ]
    view = channel.client.get("/v1/audit", headers=channel.auth("blue")).json()
    readable = [e for e in view["entries"] if e["visible"]]
    by_kind = {e["kind"]: e for e in readable}
    assert by_kind["message_sent"]["payload"]["message_id"] == sent["id"]
    assert by_kind["message_sent"]["subject"] == [f"message:{sent['id']}"]
    assert by_kind["conflict_found"]["payload"]["conflict_id"] == conflict["id"]
    assert by_kind["conflict_found"]["subject"] == [f"conflict:{conflict['id']}"]


def test_ids_are_the_same_after_a_restart_on_the_same_database(channel: Channel, tmp_path: Path) -> None:
    sent = send(channel, "blue", code="FREE", params={}, reply_by=None)
    (conflict,) = [
        *_file(channel, "blue", "blue-a", (10.0, 10.0, 10.2, 10.2))["conflicts"],
        *_file(channel, "red", "red-a", (10.1, 10.1, 10.3, 10.3))["conflicts"],
    ]
    settings = channel.app.state.services.settings
    channel.client.__exit__(None, None, None)  # the first server stops
    again = create_app(Settings(db_path=settings.db_path), clock=FakeClock(channel.clock.now))
    with TestClient(again) as client:
        blue = channel.auth("blue")
        assert client.get(f"/v1/messages/{sent['id']}", headers=blue).json()["text"] == sent["text"]
        assert client.get(f"/v1/conflicts/{conflict['id']}", headers=blue).json()["id"] == conflict["id"]
        later = send(
            Channel(again, client, channel.tokens, channel.keys, channel.clock), "blue", reply_by=None
        )
        assert later["id"] != sent["id"]
    with SQLiteAuditLog(settings.db_path) as log:
        sent_ids = [e.payload["message_id"] for e in log.entries() if e.kind == "message_sent"]
    assert sent_ids == [sent["id"], later["id"]]
    assert json.dumps(sent_ids)  # plain JSON integers


def test_a_refused_change_names_the_id_the_party_was_shown(channel: Channel) -> None:
    sent = send(channel, "blue", code="FREE", params={}, reply_by=None)
    (conflict,) = [
        *_file(channel, "blue", "blue-a", (10.0, 10.0, 10.2, 10.2))["conflicts"],
        *_file(channel, "red", "red-a", (10.1, 10.1, 10.3, 10.3))["conflicts"],
    ]
    red = channel.auth("red")
    for path, payload, detail in [
        (f"/v1/messages/{sent['id']}/ack", {"level": "read"}, f"message {sent['id']} is read"),
        (f"/v1/conflicts/{conflict['id']}/ack", None, f"conflict {conflict['id']} is already acknowledged"),
    ]:
        assert channel.client.post(path, json=payload, headers=red).status_code == 200
        again = channel.client.post(path, json=payload, headers=red)
        assert again.status_code == 409 and again.json()["detail"].startswith(detail), again.text
