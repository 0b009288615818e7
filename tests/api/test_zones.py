"""``/v1/zones`` and filings against published zones, on both backends.

Red publishes zones (it is their authority); blue files plans that enter them.
Blue sees each restriction entered as a conflict with red, with the zone's
published facts; red sees only the facts any other side of a conflict sees;
green sees the zones (they are public) and nothing of the conflicts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import (
    BLUE_OPERATION,
    MARKER,
    RED_BOX,
    Channel,
    blue_plan,
    both_backends,
    events,
    forbidden_strings,
    send_text,
    until_marker,
)
from tests.builders import box_feature, plan

channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)

AUTHORITY = {
    "name": "Levant Civil Aviation Authority",
    "service": "UAS cell",
    "contactName": "Duty officer",
    "email": "uas@lcaa.example",
    "phone": "+000 555 0199",
    "siteURL": "https://lcaa.example/uas",
    "purpose": "AUTHORIZATION",
}


def zone(
    identifier: str = "RZ001",
    restriction: str = "PROHIBITED",
    box: tuple[float, float, float, float] = RED_BOX,
    message: str = "No UAS flights: range firing",
    lower_m: float = 1000.0,
    upper_m: float = 2000.0,
) -> dict[str, Any]:
    """An ED-269 zone: a box between two AMSL limits, at all times."""
    lon0, lat0, lon1, lat1 = box
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {
        "identifier": identifier,
        "country": "SYR",
        "name": f"Range {identifier}",
        "type": "COMMON",
        "restriction": restriction,
        "reason": ["SENSITIVE"],
        "message": message,
        "applicability": [{"permanent": "YES"}],
        "zoneAuthority": [AUTHORITY],
        "geometry": [
            {
                "uomDimensions": "M",
                "lowerLimit": lower_m,
                "lowerVerticalReference": "AMSL",
                "upperLimit": upper_m,
                "upperVerticalReference": "AMSL",
                "horizontalProjection": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }


def publish(channel: Channel, party: str, *zones: dict[str, Any]) -> Any:
    answer = channel.client.post("/v1/zones", json={"features": list(zones)}, headers=channel.auth(party))
    assert answer.status_code == 200, answer.text
    return answer.json()


def file_blue(channel: Channel) -> list[dict[str, Any]]:
    filed = channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    assert filed.status_code == 201, filed.text
    conflicts: list[dict[str, Any]] = filed.json()["conflicts"]
    return conflicts


def amend_blue(channel: Channel, version: int) -> list[dict[str, Any]]:
    amended = channel.client.put(
        f"/v1/operations/{BLUE_OPERATION}",
        json=blue_plan(),
        headers=channel.auth("blue", If_Match=f'"{version}"'),
    )
    assert amended.status_code == 200, amended.text
    conflicts: list[dict[str, Any]] = amended.json()["conflicts"]
    return conflicts


def conflicts_of(channel: Channel, party: str, **params: str) -> list[dict[str, Any]]:
    answer = channel.client.get("/v1/conflicts", params=params, headers=channel.auth(party))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_zones_are_published_replaced_listed_to_everyone_and_withdrawn(channel: Channel) -> None:
    assert publish(channel, "red", zone("RZ001"), zone("RZ002", "NO_RESTRICTION")) == {
        "published": ["RZ001", "RZ002"]
    }
    publish(channel, "green", zone("RZ001", message="green's own RZ001"))
    publish(channel, "red", zone("RZ001", message="Closed until further notice"))
    for viewer in ("red", "blue", "green"):
        listed = channel.client.get("/v1/zones", headers=channel.auth(viewer)).json()
        assert [(z["party"], z["identifier"]) for z in listed] == [
            ("green", "RZ001"),
            ("red", "RZ001"),
            ("red", "RZ002"),
        ]
    red_rz001 = listed[1]
    assert red_rz001["message"] == "Closed until further notice"
    assert (red_rz001["restriction"], red_rz001["reasons"], red_rz001["name"]) == (
        "prohibited",
        ["SENSITIVE"],
        "Range RZ001",
    )
    assert red_rz001["authorities"][0]["email"] == "uas@lcaa.example"
    (layer,) = red_rz001["layers"]
    assert layer["geometry"]["type"] == "Polygon"
    assert (layer["altitude_lower"], layer["altitude_upper"]) == (
        {"value_m": 1000.0, "reference": "MSL"},
        {"value_m": 2000.0, "reference": "MSL"},
    )
    assert red_rz001["applicability"] == [{"start": None, "end": None, "schedule": []}]
    assert listed[0]["message"] == "green's own RZ001"

    assert channel.client.delete("/v1/zones/RZ001", headers=channel.auth("blue")).status_code == 404
    assert channel.client.delete("/v1/zones/RZ001", headers=channel.auth("red")).status_code == 204
    assert channel.client.delete("/v1/zones/RZ001", headers=channel.auth("red")).status_code == 404
    listed = channel.client.get("/v1/zones", headers=channel.auth("blue")).json()
    assert [(z["party"], z["identifier"]) for z in listed] == [("green", "RZ001"), ("red", "RZ002")]


def test_a_filing_that_enters_a_restriction_conflicts_with_the_authority(channel: Channel) -> None:
    publish(channel, "red", zone("RZ001"), zone("RZ009", "NO_RESTRICTION"))
    (entered,) = file_blue(channel)  # the triangle enters RZ001; RZ009 restricts nothing
    assert (entered["other_party"], entered["operation"], entered["state"]) == ("red", BLUE_OPERATION, "open")
    assert entered["zone"] == {
        "identifier": "RZ001",
        "country": "SYR",
        "name": "Range RZ001",
        "restriction": "prohibited",
        "reasons": ["SENSITIVE"],
        "other_reason": None,
        "message": "No UAS flights: range firing",
        "conditions": None,
        "authorities": [
            {
                "name": "Levant Civil Aviation Authority",
                "service": "UAS cell",
                "contact_name": "Duty officer",
                "email": "uas@lcaa.example",
                "phone": "+000 555 0199",
                "site_url": "https://lcaa.example/uas",
                "purpose": "AUTHORIZATION",
            }
        ],
    }
    assert [c["id"] for c in conflicts_of(channel, "blue")] == [entered["id"]]
    assert conflicts_of(channel, "blue")[0]["zone"] == entered["zone"]


def test_the_authority_sees_the_minimal_facts_and_a_third_party_nothing(channel: Channel) -> None:
    publish(channel, "red", zone("RZ001"))
    (entered,) = file_blue(channel)
    (seen,) = conflicts_of(channel, "red")
    assert seen["id"] == entered["id"]
    assert (seen["operation"], seen["volume"]) == ("zone/RZ001", "RZ001/0/0")
    # The same facts as a plan of red in the same box would give it: blue's ids, texts, geometry
    # beyond the overlap, priority and band beyond it never reach red.
    assert (seen["other_party"], seen["state"], seen["zone"]["identifier"]) == ("blue", "open", "RZ001")
    assert set(seen) == set(entered)
    assert not [key for key in seen if "priority" in key]
    assert (seen["time_start"], seen["time_end"]) == ("2026-01-01T12:00:00Z", "2026-01-01T13:30:00Z")
    assert (seen["altitude_lower_m"], seen["altitude_upper_m"]) == (1234.5, 2000.0)
    lon0, lat0, lon1, lat1 = seen["overlap_bbox"]
    assert (lon0, lat0, lat1) == (RED_BOX[0], RED_BOX[1], RED_BOX[3]) and RED_BOX[0] < lon1 < RED_BOX[2]
    text = json.dumps(seen)
    assert not [s for s in forbidden_strings() if s in text]
    assert conflicts_of(channel, "green") == []
    got = channel.client.get(f"/v1/conflicts/{entered['id']}", headers=channel.auth("green"))
    assert got.status_code == 404


def test_no_restriction_zones_own_zones_and_zones_elsewhere_never_conflict(channel: Channel) -> None:
    publish(channel, "red", zone("RZ009", "NO_RESTRICTION"), zone("RZ010", box=(10.0, 10.0, 10.1, 10.1)))
    publish(channel, "blue", zone("BZ001"))  # blue's own zone over its own plan
    publish(channel, "red", zone("RZ011", lower_m=6000.0, upper_m=7000.0))  # above the plan
    assert file_blue(channel) == []


def test_publishing_rechecks_nothing_filed_and_an_amendment_meets_the_zones_as_published(
    channel: Channel,
) -> None:
    assert file_blue(channel) == []
    publish(channel, "red", zone("RZ001"))
    assert conflicts_of(channel, "blue") == [] and conflicts_of(channel, "red") == []
    (found,) = amend_blue(channel, 1)
    assert found["zone"]["message"] == "No UAS flights: range firing"
    # Replacing the zone changes no conflict found before; the facts stay as they were when found.
    publish(channel, "red", zone("RZ001", message="Closed until further notice"))
    assert [c["zone"]["message"] for c in conflicts_of(channel, "blue")] == ["No UAS flights: range firing"]
    (again,) = amend_blue(channel, 2)
    assert again["zone"]["message"] == "Closed until further notice"
    old = channel.client.get(f"/v1/conflicts/{found['id']}", headers=channel.auth("red")).json()
    assert (old["state"], old["resolution"], old["resolved_by"]) == ("resolved", "amended", "blue")
    # Withdrawing the zone leaves the conflict standing; the next amendment no longer enters it.
    assert channel.client.delete("/v1/zones/RZ001", headers=channel.auth("red")).status_code == 204
    assert [c["id"] for c in conflicts_of(channel, "blue")] == [again["id"]]
    assert amend_blue(channel, 3) == []
    assert conflicts_of(channel, "blue") == []


def test_the_zone_conflicts_lifecycle_and_audit_are_those_of_any_conflict(channel: Channel) -> None:
    publish(channel, "red", zone("RZ001"))
    (entered,) = file_blue(channel)
    for party in ("blue", "red"):
        ack = channel.client.post(f"/v1/conflicts/{entered['id']}/ack", headers=channel.auth(party))
        assert ack.status_code == 200, ack.text
    assert conflicts_of(channel, "blue")[0]["state"] == "acknowledged"
    entries = [
        e
        for e in channel.client.get("/v1/audit", headers=channel.auth("red")).json()["entries"]
        if e["visible"]
    ]
    kinds = [e["kind"] for e in entries]
    assert "zones_published" in kinds and "conflict_found" in kinds
    (found,) = [e for e in entries if e["kind"] == "conflict_found"]
    assert found["payload"]["zone"] == "zone/RZ001"
    assert found["payload"]["parties"] == ["blue", "red"]
    assert not [s for s in forbidden_strings() if s in json.dumps(entries)]
    ledger = channel.client.get("/v1/disclosures", headers=channel.auth("blue")).json()
    told = [d for d in (ledger["entries"] if isinstance(ledger, dict) else ledger) if d["kind"] == "conflict"]
    assert [(d["recipient"], d["subject_ref"]) for d in told] == [
        ("red", f"{BLUE_OPERATION}/blue-vol-ALPHA-5521")
    ]


def test_bad_and_oversized_zones_are_refused_whole(channel: Channel) -> None:
    bad = zone("RZ001")
    bad["geometry"][0]["upperVerticalReference"] = "STD"
    refused = channel.client.post("/v1/zones", json={"features": [bad]}, headers=channel.auth("red"))
    assert refused.status_code == 422
    assert "upperVerticalReference" in refused.text
    huge = zone("RZ002", box=(20.0, 20.0, 60.0, 60.0))
    refused = channel.client.post(
        "/v1/zones", json={"features": [zone("RZ003"), huge]}, headers=channel.auth("red")
    )
    assert refused.status_code == 422 and "max_operation_area_km2" in refused.text
    twice = channel.client.post(
        "/v1/zones", json={"features": [zone("RZ003"), zone("RZ003")]}, headers=channel.auth("red")
    )
    assert twice.status_code == 422 and "duplicate identifier" in twice.text
    assert channel.client.get("/v1/zones", headers=channel.auth("red")).json() == []
    not_zones = channel.client.post(
        "/v1/zones", json=plan("x", box_feature("v", 0, 0, 1, 1)), headers=channel.auth("red")
    )
    assert not_zones.status_code == 422
    assert channel.client.get("/v1/zones").status_code == 401


def test_both_sides_are_pushed_the_zone_conflict_and_a_third_party_nothing(channel: Channel) -> None:
    publish(channel, "red", zone("RZ001"))
    with events(channel, "blue") as blue, events(channel, "red") as red, events(channel, "green") as green:
        (entered,) = file_blue(channel)
        send_text(channel, "red", "blue", MARKER, None)
        send_text(channel, "blue", "red", MARKER, None)
        send_text(channel, "blue", "green", MARKER, None)
        got = {party: until_marker(ws) for party, ws in (("blue", blue), ("red", red), ("green", green))}
    assert [f["type"] for f in got["green"]] == []
    (to_blue,) = got["blue"]
    assert to_blue["conflict"] == entered
    (to_red,) = got["red"]
    assert to_red["conflict"] == conflicts_of(channel, "red")[0]
    assert not [s for s in forbidden_strings() if s in json.dumps(to_red)]
