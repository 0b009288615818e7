"""Conflicts through the API, and minimal disclosure proven on every body red can obtain."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Channel, box_feature, plan
from tests.builders import altitude, feature, point, polygon_geometry, ring

# Blue's plan: distinctive ids, texts and coordinates that red must never see.
BLUE_OPERATION = "blue-op-NIGHTJAR-7731"
BLUE_VOLUMES = ("blue-vol-ALPHA-5521", "blue-vol-BRAVO-6632")
BLUE_TEXTS = ("SECRET-REMARK-callsign-SPECTRE", "Exercise-Crimson-Dawn")
BLUE_TRIANGLE = ((36.1123457, 35.0456789), (36.6789123, 35.1234567), (36.3456789, 35.7891234))
BLUE_CIRCLE = (37.9876543, 34.8765432, 4321.9)
BLUE_UPPER_M = 5432.1

# Red's box is cut by the triangle's edge B-C: a partial overlap, no blue vertex inside.
RED_BOX = (36.45, 35.25, 36.65, 35.45)


def blue_plan() -> dict[str, Any]:
    triangle = feature(
        BLUE_VOLUMES[0],
        geometry=polygon_geometry(ring(*BLUE_TRIANGLE)),
        altitude_lower=altitude(1234.5),
        altitude_upper=altitude(BLUE_UPPER_M),
        time_start="2026-01-01T12:00:00Z",
        time_end="2026-01-01T13:30:00Z",
        remarks=BLUE_TEXTS[0],
        name=BLUE_TEXTS[1],
    )
    circle = feature(
        BLUE_VOLUMES[1],
        geometry=point(BLUE_CIRCLE[0], BLUE_CIRCLE[1]),
        radius_m=BLUE_CIRCLE[2],
        remarks=BLUE_TEXTS[0],
    )
    return {**plan(BLUE_OPERATION, triangle, circle, priority=7), "name": BLUE_TEXTS[1]}


def red_plan(operation_id: str = "red-op") -> dict[str, Any]:
    return plan(
        operation_id,
        box_feature(
            "red-v1",
            *RED_BOX,
            altitude_lower=altitude(1000),
            altitude_upper=altitude(2000),
            time_start="2026-01-01T12:30:00Z",
            time_end="2026-01-01T14:00:00Z",
        ),
        priority=2,
    )


def forbidden_strings() -> list[str]:
    coordinates = [c for vertex in BLUE_TRIANGLE for c in vertex] + list(BLUE_CIRCLE) + [BLUE_UPPER_M]
    return [BLUE_OPERATION, *BLUE_VOLUMES, *BLUE_TEXTS, "NIGHTJAR", "ALPHA", "BRAVO"] + [
        json.dumps(c) for c in coordinates
    ]


def assert_allowed_view(conflict: dict[str, Any]) -> None:
    """The facts red may learn are all there."""
    assert (conflict["other_party"], conflict["state"]) == ("blue", "open")
    assert not [key for key in conflict if "priority" in key]  # where, when, how high: never the rank
    assert (conflict["operation"], conflict["volume"]) == ("red-op", "red-v1")
    assert (conflict["time_start"], conflict["time_end"]) == ("2026-01-01T12:30:00Z", "2026-01-01T13:30:00Z")
    assert (conflict["altitude_lower_m"], conflict["altitude_upper_m"]) == (1234.5, 2000.0)
    assert conflict["altitude_reference"] == "MSL"
    lon0, lat0, lon1, lat1 = conflict["overlap_bbox"]
    # The overlap lies inside red's own box, and is cut by blue's edge inside it.
    assert (lon0, lat0, lat1) == (RED_BOX[0], RED_BOX[1], RED_BOX[3])
    assert RED_BOX[0] < lon1 < RED_BOX[2]
    assert conflict["overlap_area_m2"] > 0.0


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
