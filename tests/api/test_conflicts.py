"""Conflicts through the API, and minimal disclosure proven on every body red can obtain."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import (
    BLUE_OPERATION,
    BLUE_TRIANGLE,
    BLUE_VOLUMES,
    RED_BOX,
    Channel,
    assert_allowed_view,
    blue_plan,
    forbidden_strings,
    red_plan,
)


def test_red_learns_only_what_the_rules_allow(channel: Channel) -> None:
    blue = channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    assert blue.status_code == 201 and blue.json()["conflicts"] == []
    # The search below has teeth: blue's own response prints its coordinates exactly so.
    for own in [json.dumps(c) for vertex in BLUE_TRIANGLE for c in vertex] + [
        BLUE_VOLUMES[0],
        BLUE_OPERATION,
    ]:
        assert own in blue.text
    red = channel.auth("red")
    bodies: dict[str, str] = {}

    filed = channel.client.post("/v1/operations", json=red_plan(), headers=red)
    assert filed.status_code == 201
    bodies["POST /v1/operations"] = filed.text
    (conflict,) = filed.json()["conflicts"]
    assert_allowed_view(conflict)

    for path in [
        "/v1/operations",
        "/v1/operations/red-op",
        "/v1/conflicts",
        "/v1/conflicts?operation=red-op",
        "/v1/parties/me",
        "/v1/health",
    ]:
        response = channel.client.get(path, headers=red)
        assert response.status_code == 200, path
        bodies[f"GET {path}"] = response.text
    (listed,) = json.loads(bodies["GET /v1/conflicts"])
    assert listed == conflict  # the same view, under the same stable id

    amended = channel.client.put("/v1/operations/red-op", json=red_plan(), headers={**red, "If-Match": '"1"'})
    assert amended.status_code == 200
    bodies["PUT /v1/operations/red-op"] = amended.text
    (after_put,) = amended.json()["conflicts"]
    assert_allowed_view(after_put)
    assert after_put["id"] != conflict["id"]  # a new version, a new conflict
    bodies["GET /v1/conflicts (after PUT)"] = channel.client.get("/v1/conflicts", headers=red).text
    withdrawn = channel.client.post("/v1/operations/red-op/withdraw", headers={**red, "If-Match": '"2"'})
    assert withdrawn.status_code == 200
    bodies["POST withdraw"] = withdrawn.text

    for where, text in bodies.items():
        for secret in forbidden_strings():
            assert secret not in text, f"{where} discloses {secret!r}"
    # The audit entry of the conflict, which both sides read, does not rank either side's plan.
    entries = channel.client.get("/v1/audit", headers=red).json()["entries"]
    (found,) = [e for e in entries if e.get("kind") == "conflict_found"][:1]
    assert not [key for key in found["payload"] if "priorit" in key]


def test_a_conflict_filed_by_the_other_side_is_seen_by_both_with_the_same_id(channel: Channel) -> None:
    channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    blue = channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue")).json()
    (blue_view,) = blue["conflicts"]
    assert blue_view["other_party"] == "red"
    assert (blue_view["operation"], blue_view["volume"]) == (BLUE_OPERATION, BLUE_VOLUMES[0])
    (red_view,) = channel.client.get("/v1/conflicts", headers=channel.auth("red")).json()
    assert red_view["id"] == blue_view["id"]
    assert_allowed_view(red_view)
    text = json.dumps(red_view)
    assert not any(secret in text for secret in forbidden_strings())
    # Blue, in turn, learns nothing of red's ids or coordinates.
    blue_text = json.dumps(channel.client.get("/v1/conflicts", headers=channel.auth("blue")).json())
    assert "red-op" not in blue_text and "red-v1" not in blue_text
    assert json.dumps(RED_BOX[2]) not in blue_text


@pytest.mark.parametrize("party", ["green"])
def test_a_third_party_sees_no_conflict_of_others(channel: Channel, party: str) -> None:
    channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    assert channel.client.get("/v1/conflicts", headers=channel.auth(party)).json() == []


def test_withdrawing_closes_the_conflict_for_both_sides(channel: Channel) -> None:
    channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    assert len(channel.client.get("/v1/conflicts", headers=channel.auth("blue")).json()) == 1
    withdraw = f"/v1/operations/{BLUE_OPERATION}/withdraw"
    assert channel.client.post(withdraw, headers=channel.auth("blue", If_Match="1")).status_code == 200
    for party in ("blue", "red"):
        assert channel.client.get("/v1/conflicts", headers=channel.auth(party)).json() == []


def test_conflicts_filter_by_own_operation(channel: Channel) -> None:
    channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    channel.client.post("/v1/operations", json=red_plan("red-op"), headers=channel.auth("red"))
    red = channel.auth("red")
    assert len(channel.client.get("/v1/conflicts?operation=red-op", headers=red).json()) == 1
    assert channel.client.get("/v1/conflicts?operation=other", headers=red).json() == []
    # Filtering by the other side's operation id finds nothing.
    assert channel.client.get(f"/v1/conflicts?operation={BLUE_OPERATION}", headers=red).json() == []
