"""The conflict lifecycle through the API: both sides, a stranger, and minimal disclosure throughout."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import BLUE_OPERATION, Channel, blue_plan, forbidden_strings, red_plan


def _file_both(channel: Channel) -> int:
    channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    filed = channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    (conflict,) = filed.json()["conflicts"]
    return int(conflict["id"])


def _post(channel: Channel, party: str, path: str, body: Any = None) -> Any:
    return channel.client.post(path, json=body, headers=channel.auth(party))


def _get(channel: Channel, party: str, path: str) -> Any:
    return channel.client.get(path, headers=channel.auth(party))


def _audit_kinds(channel: Channel, party: str) -> list[tuple[str, dict[str, Any]]]:
    entries = _get(channel, party, "/v1/audit").json()["entries"]
    return [(e["kind"], e["payload"]) for e in entries if e.get("visible", True) and "kind" in e]


def test_acknowledged_by_each_side_then_accepted_by_both(channel: Channel) -> None:
    conflict_id = _file_both(channel)
    bodies: list[str] = []
    red_ack = _post(channel, "red", f"/v1/conflicts/{conflict_id}/ack")
    assert red_ack.status_code == 200, red_ack.text
    bodies.append(red_ack.text)
    assert red_ack.json()["state"] == "open"  # one side alone
    assert [a["party"] for a in red_ack.json()["acknowledged_by"]] == ["red"]

    # Blue sees red's acknowledgement, under the same id, from its own side.
    blue_view = _get(channel, "blue", f"/v1/conflicts/{conflict_id}").json()
    assert (blue_view["operation"], blue_view["other_party"]) == (BLUE_OPERATION, "red")
    assert [a["party"] for a in blue_view["acknowledged_by"]] == ["red"]

    channel.clock.now += 60
    blue_ack = _post(channel, "blue", f"/v1/conflicts/{conflict_id}/ack")
    assert blue_ack.json()["state"] == "acknowledged"
    assert [a["party"] for a in blue_ack.json()["acknowledged_by"]] == ["red", "blue"]

    accepted_red = _post(
        channel, "red", f"/v1/conflicts/{conflict_id}/accept", {"reason": "we stay below 2000 m"}
    )
    assert accepted_red.status_code == 200 and accepted_red.json()["state"] == "acknowledged"
    bodies.append(accepted_red.text)
    accepted = _post(
        channel, "blue", f"/v1/conflicts/{conflict_id}/accept", {"reason": "coordinated by phone"}
    )
    assert accepted.json()["state"] == "accepted"
    for party in ("red", "blue"):
        view = _get(channel, party, f"/v1/conflicts/{conflict_id}").json()
        assert view["state"] == "accepted"
        assert {(a["party"], a["reason"]) for a in view["accepted_by"]} == {
            ("red", "we stay below 2000 m"),
            ("blue", "coordinated by phone"),
        }
        (listed,) = _get(channel, party, "/v1/conflicts").json()
        assert listed == view
    assert _get(channel, "red", "/v1/conflicts?state=accepted").json()[0]["id"] == conflict_id
    assert _get(channel, "red", "/v1/conflicts?state=open").json() == []
    bodies += [
        _get(channel, "red", "/v1/conflicts").text,
        _get(channel, "red", f"/v1/conflicts/{conflict_id}").text,
    ]

    # Each change is in the audit log, for both sides.
    for party in ("red", "blue"):
        kinds = [k for k, _ in _audit_kinds(channel, party)]
        assert kinds.count("conflict_acknowledged") == 2
        assert kinds.count("conflict_accepted") == 2
    red_entries = _audit_kinds(channel, "red")
    bodies.append(json.dumps(red_entries))
    assert {p["reason"] for k, p in red_entries if k == "conflict_accepted"} == {
        "we stay below 2000 m",
        "coordinated by phone",
    }
    for text in bodies:
        for secret in forbidden_strings():
            assert secret not in text
    # Blue, in turn, learns none of red's ids through the lifecycle.
    blue_bodies = [_get(channel, "blue", "/v1/conflicts").text, json.dumps(_audit_kinds(channel, "blue"))]
    assert not any("red-op" in t or "red-v1" in t for t in blue_bodies)


def test_withdrawing_resolves_the_conflict_for_both_sides(channel: Channel) -> None:
    conflict_id = _file_both(channel)
    _post(channel, "red", f"/v1/conflicts/{conflict_id}/ack")
    withdraw = f"/v1/operations/{BLUE_OPERATION}/withdraw"
    assert channel.client.post(withdraw, headers=channel.auth("blue", If_Match="1")).status_code == 200
    for party in ("red", "blue"):
        assert _get(channel, party, "/v1/conflicts").json() == []
        (resolved,) = _get(channel, party, "/v1/conflicts?state=resolved").json()
        assert (resolved["id"], resolved["state"]) == (conflict_id, "resolved")
        assert (resolved["resolution"], resolved["resolved_by"]) == ("withdrawn", "blue")
        assert [a["party"] for a in resolved["acknowledged_by"]] == ["red"]
        entries = [p for k, p in _audit_kinds(channel, party) if k == "conflict_resolved"]
        assert entries == [
            {"conflict_id": conflict_id, "state": "resolved", "resolution": "withdrawn", "by": "blue"}
        ]
    red_text = _get(channel, "red", f"/v1/conflicts/{conflict_id}").text
    assert not any(secret in red_text for secret in forbidden_strings())
    # Nothing can happen to a resolved conflict any more.
    for party, path, body in [
        ("red", "ack", None),
        ("blue", "ack", None),
        ("red", "accept", {"reason": "too late"}),
    ]:
        refused = _post(channel, party, f"/v1/conflicts/{conflict_id}/{path}", body)
        assert refused.status_code == 409, (party, path)
        assert refused.json()["current"] == "resolved"


def test_amending_resolves_the_conflict_as_amended(channel: Channel) -> None:
    conflict_id = _file_both(channel)
    amended = channel.client.put(
        "/v1/operations/red-op", json=red_plan(), headers=channel.auth("red", If_Match='"1"')
    )
    (new,) = amended.json()["conflicts"]  # still conflicting: a new conflict, open
    assert new["id"] != conflict_id and new["state"] == "open"
    old = _get(channel, "blue", f"/v1/conflicts/{conflict_id}").json()
    assert (old["state"], old["resolution"], old["resolved_by"]) == ("resolved", "amended", "red")
    assert [c["id"] for c in _get(channel, "blue", "/v1/conflicts").json()] == [new["id"]]


def test_invalid_transitions_are_409(channel: Channel) -> None:
    conflict_id = _file_both(channel)
    base = f"/v1/conflicts/{conflict_id}"
    early = _post(channel, "red", f"{base}/accept", {"reason": "fine"})
    assert early.status_code == 409 and "acknowledge it before" in early.json()["detail"]
    assert _post(channel, "red", f"{base}/ack").status_code == 200
    again = _post(channel, "red", f"{base}/ack")
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
    assert _post(channel, "red", f"{base}/accept", {"reason": "fine"}).status_code == 200
    assert _post(channel, "red", f"{base}/accept", {"reason": "fine"}).status_code == 409
    _post(channel, "blue", f"{base}/ack")
    _post(channel, "blue", f"{base}/accept", {"reason": "ok"})
    for party in ("red", "blue"):
        assert _post(channel, party, f"{base}/ack").status_code == 409
        assert _post(channel, party, f"{base}/accept", {"reason": "x"}).json()["current"] == "accepted"


def test_a_reason_is_required_to_accept(channel: Channel) -> None:
    conflict_id = _file_both(channel)
    _post(channel, "red", f"/v1/conflicts/{conflict_id}/ack")
    for body in [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001}, {"reason": "x", "extra": 1}]:
        response = _post(channel, "red", f"/v1/conflicts/{conflict_id}/accept", body)
        assert response.status_code == 422, body
    assert _get(channel, "red", f"/v1/conflicts/{conflict_id}").json()["accepted_by"] == []


def test_a_third_party_and_unknown_ids_get_404(channel: Channel) -> None:
    conflict_id = _file_both(channel)
    _post(channel, "red", f"/v1/conflicts/{conflict_id}/ack")
    for path, body in [("", None), ("/ack", None), ("/accept", {"reason": "curious"})]:
        url = f"/v1/conflicts/{conflict_id}{path}"
        response = _get(channel, "green", url) if path == "" else _post(channel, "green", url, body)
        assert response.status_code == 404, path
        assert "red" not in response.text and "blue" not in response.text
        missing = f"/v1/conflicts/{conflict_id + 99}{path}"
        assert (
            _get(channel, "red", missing) if path == "" else _post(channel, "red", missing, body)
        ).status_code == 404
    assert _get(channel, "green", "/v1/conflicts?state=open").json() == []
    # The stranger's attempts changed nothing and recorded nothing it may read.
    assert _get(channel, "red", f"/v1/conflicts/{conflict_id}").json()["acknowledged_by"][0]["party"] == "red"
    assert not [k for k, _ in _audit_kinds(channel, "green") if k.startswith("conflict_")]
