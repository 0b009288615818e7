"""Activating, releasing and extending operations: If-Match, transitions, conflicts resolved, disclosure.

Every test runs on SQLite and on PostgreSQL (``channel_backend``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Channel, both_backends, events, send_text, until_marker
from tests.builders import box_feature, plan

channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)

# Blue's and red's boxes overlap; both fly 12:00-13:00 on 2026-01-01 (the clock starts at 12:00).
BLUE_BOX = (36.0, 35.0, 36.1, 35.1)
RED_BOX = (36.05, 35.05, 36.15, 35.15)


def file(channel: Channel, party: str, operation_id: str, *lon_lat: float, **props: Any) -> dict[str, Any]:
    body = plan(operation_id, box_feature(f"{operation_id}-v1", *lon_lat, **props))
    response = channel.client.post("/v1/operations", json=body, headers=channel.auth(party))
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    return filed


def change(channel: Channel, party: str, operation_id: str, action: str, version: int, **body: Any) -> Any:
    return channel.client.post(
        f"/v1/operations/{operation_id}/{action}",
        json=body or None,
        headers=channel.auth(party, If_Match=f'"{version}"'),
    )


def conflicts(channel: Channel, party: str, state: str | None = None) -> list[dict[str, Any]]:
    query = "" if state is None else f"?state={state}"
    listed: list[dict[str, Any]] = channel.client.get(
        f"/v1/conflicts{query}", headers=channel.auth(party)
    ).json()
    return listed


def audit_kinds(channel: Channel, party: str) -> list[str]:
    entries = channel.client.get("/v1/audit", headers=channel.auth(party)).json()["entries"]
    return [e["kind"] for e in entries if e.get("kind") is not None]


def test_activation_needs_if_match_keeps_the_conflicts_and_is_audited(channel: Channel) -> None:
    file(channel, "red", "red-op", *RED_BOX)
    filed = file(channel, "blue", "blue-op", *BLUE_BOX)
    assert len(filed["conflicts"]) == 1
    url = "/v1/operations/blue-op/activate"
    missing = channel.client.post(url, headers=channel.auth("blue"))
    assert missing.status_code == 428
    stale = change(channel, "blue", "blue-op", "activate", 7)
    assert stale.status_code == 409 and stale.json()["current_version"] == 1
    activated = change(channel, "blue", "blue-op", "activate", 1)
    assert activated.status_code == 200, activated.text
    assert activated.headers["ETag"] == '"2"'
    assert (activated.json()["state"], activated.json()["version"]) == ("activated", 2)
    stored = channel.client.get("/v1/operations/blue-op", headers=channel.auth("blue")).json()
    assert (stored["state"], stored["version"]) == ("activated", 2)
    # The conflict stands, as found, for both sides.
    assert [c["state"] for c in conflicts(channel, "blue")] == ["open"]
    assert [c["state"] for c in conflicts(channel, "red")] == ["open"]
    assert "operation_activated" in audit_kinds(channel, "blue")
    assert "operation_activated" not in audit_kinds(channel, "red")
    again = change(channel, "blue", "blue-op", "activate", 2)
    assert again.status_code == 409 and again.json()["current"] == "activated"


def test_activation_outside_the_window_is_refused(channel: Channel) -> None:
    later = {"time_start": "2026-01-01T14:00:00Z", "time_end": "2026-01-01T15:00:00Z"}
    file(channel, "blue", "late", *BLUE_BOX, **later)
    file(channel, "blue", "now", 30.0, 30.0, 30.1, 30.1)
    early = change(channel, "blue", "late", "activate", 1)
    assert early.status_code == 409 and "starts at 2026-01-01T14:00:00Z" in early.json()["detail"]
    channel.clock.advance(1.5 * 3600)  # 13:30: 30 minutes before the start, 30 after the other's end
    assert change(channel, "blue", "late", "activate", 1).status_code == 200
    ended = change(channel, "blue", "now", "activate", 1)
    assert ended.status_code == 409 and "ended at 2026-01-01T13:00:00Z" in ended.json()["detail"]
    # A withdrawn operation is never activated.
    assert change(channel, "blue", "now", "withdraw", 1).status_code == 200
    withdrawn = change(channel, "blue", "now", "activate", 2)
    assert withdrawn.status_code == 409 and withdrawn.json()["current"] == "withdrawn"


def test_release_ends_it_and_resolves_its_conflicts_at_once(channel: Channel) -> None:
    file(channel, "red", "red-op", *RED_BOX)
    file(channel, "blue", "blue-op", *BLUE_BOX)
    proposed = change(channel, "blue", "blue-op", "release", 1)
    assert proposed.status_code == 409 and proposed.json()["current"] == "proposed"
    assert change(channel, "blue", "blue-op", "activate", 1).status_code == 200
    channel.clock.advance(900)
    released = change(channel, "blue", "blue-op", "release", 2)
    assert released.status_code == 200, released.text
    assert (released.json()["state"], released.json()["version"]) == ("ended", 3)
    assert released.headers["ETag"] == '"3"'
    assert conflicts(channel, "blue") == conflicts(channel, "red") == []
    (seen_by_red,) = conflicts(channel, "red", "resolved")
    assert (seen_by_red["resolution"], seen_by_red["resolved_by"]) == ("released", "blue")
    assert seen_by_red["resolved"] == "2026-01-01T12:15:00Z"
    assert "operation_released" in audit_kinds(channel, "blue")
    assert "conflict_resolved" in audit_kinds(channel, "red")


def test_a_release_soon_after_the_conflicts_were_found_raises_a_probe_alarm(channel: Channel) -> None:
    file(channel, "red", "red-op", *RED_BOX)
    file(channel, "blue", "blue-op", *BLUE_BOX)
    assert change(channel, "blue", "blue-op", "activate", 1).status_code == 200
    assert change(channel, "blue", "blue-op", "release", 2).status_code == 200
    ledger = channel.client.get("/v1/disclosures", headers=channel.auth("red")).json()
    assert [e["note"] for e in ledger if e["kind"] == "probe_alarm"] == ["withdrawn"]
    # Its volumes no longer conflict: red's next filing there finds nothing.
    assert file(channel, "red", "red-op-2", *RED_BOX)["conflicts"] == []
    assert change(channel, "blue", "blue-op", "release", 3).status_code == 409
    assert change(channel, "blue", "blue-op", "extend", 3, until="2026-01-01T14:00:00Z").status_code == 409


@pytest.mark.parametrize(
    ("action", "resolution", "state"),
    [("release", "released", "ended"), ("withdraw", "withdrawn", "withdrawn")],
)
def test_the_other_side_learns_only_that_the_conflict_was_released_or_withdrawn(
    channel: Channel, action: str, resolution: str, state: str
) -> None:
    file(channel, "red", "red-op", *RED_BOX)
    file(channel, "blue", "blue-op", *BLUE_BOX, name="NIGHTJAR")
    assert change(channel, "blue", "blue-op", "activate", 1).status_code == 200
    channel.clock.advance(900)  # past the probe window: no alarm
    with events(channel, "red") as red_ws, events(channel, "blue") as blue_ws:
        assert change(channel, "blue", "blue-op", action, 2).status_code == 200
        send_text(channel, "blue", "red", "end-of-scenario marker")
        send_text(channel, "red", "blue", "end-of-scenario marker")
        red_frames = until_marker(red_ws)
        blue_frames = until_marker(blue_ws)
    red_frames = [f for f in red_frames if f["type"] != "acknowledgement"]
    (red_frame,) = red_frames
    assert red_frame["type"] == "conflict"
    shown = red_frame["conflict"]
    assert (shown["state"], shown["resolution"], shown["resolved_by"]) == ("resolved", resolution, "blue")
    assert shown["resolved"] == "2026-01-01T12:15:00Z"
    assert red_frame["conflict"]["operation"] == "red-op"  # red's own side
    text = json.dumps(red_frames)
    for secret in ("blue-op", "NIGHTJAR", "activated", "ended"):
        assert secret not in text
    assert sorted(f["type"] for f in blue_frames if f["type"] not in ("message", "acknowledgement")) == [
        "conflict",
        "operation",
    ]
    (blue_op,) = [f["operation"] for f in blue_frames if f["type"] == "operation"]
    assert (blue_op["id"], blue_op["state"]) == ("blue-op", state)


def test_extension_is_checked_as_an_amendment_and_keeps_the_state(channel: Channel) -> None:
    file(channel, "blue", "blue-op", *BLUE_BOX)
    late = {"time_start": "2026-01-01T13:30:00Z", "time_end": "2026-01-01T14:30:00Z"}
    file(channel, "red", "red-late", *RED_BOX, **late)
    assert change(channel, "blue", "blue-op", "activate", 1).status_code == 200
    missing = channel.client.post(
        "/v1/operations/blue-op/extend", json={"until": "2026-01-01T14:00:00Z"}, headers=channel.auth("blue")
    )
    assert missing.status_code == 428
    earlier = change(channel, "blue", "blue-op", "extend", 2, until="2026-01-01T12:30:00Z")
    assert earlier.status_code == 422 and earlier.json()["detail"][0]["field"] == "until"
    extended = change(channel, "blue", "blue-op", "extend", 2, until="2026-01-01T14:00:00Z")
    assert extended.status_code == 200, extended.text
    assert extended.headers["ETag"] == '"3"'
    body = extended.json()
    assert (body["operation"]["state"], body["operation"]["version"]) == ("activated", 3)
    (volume,) = body["operation"]["volumes"]["features"]
    assert volume["properties"]["time_end"] == "2026-01-01T14:00:00Z"
    # The extension runs into red's later plan: a new conflict, for both sides.
    (found,) = body["conflicts"]
    assert (found["other_party"], found["time_start"]) == ("red", "2026-01-01T13:30:00Z")
    assert [c["other_party"] for c in conflicts(channel, "red")] == ["blue"]
    assert "operation_extended" in audit_kinds(channel, "blue")
    stale = change(channel, "blue", "blue-op", "extend", 2, until="2026-01-01T15:00:00Z")
    assert stale.status_code == 409 and stale.json()["current_version"] == 3
    too_long = change(channel, "blue", "blue-op", "extend", 3, until="2026-01-05T12:00:00Z")
    assert too_long.status_code == 422 and "max_operation_window_h" in too_long.text


def test_another_partys_operation_cannot_be_activated_released_or_extended(channel: Channel) -> None:
    file(channel, "red", "red-op", *RED_BOX)
    for action, body in (("activate", {}), ("release", {}), ("extend", {"until": "2026-01-01T14:00:00Z"})):
        assert change(channel, "blue", "red-op", action, 1, **body).status_code == 404
    red = channel.client.get("/v1/operations/red-op", headers=channel.auth("red")).json()
    assert (red["version"], red["state"]) == (1, "proposed")


def test_an_amendment_of_an_activated_operation_keeps_it_activated(channel: Channel) -> None:
    file(channel, "blue", "blue-op", *BLUE_BOX)
    assert change(channel, "blue", "blue-op", "activate", 1).status_code == 200
    body = plan("blue-op", box_feature("blue-op-v2", 36.2, 35.0, 36.3, 35.1))
    amended = channel.client.put(
        "/v1/operations/blue-op", json=body, headers=channel.auth("blue", If_Match='"2"')
    )
    assert amended.status_code == 200, amended.text
    assert (amended.json()["operation"]["state"], amended.json()["operation"]["version"]) == ("activated", 3)
    # A proposed one stays proposed; a withdrawn one filed again is proposed again.
    file(channel, "blue", "other", 30.0, 30.0, 30.1, 30.1)
    again = channel.client.put(
        "/v1/operations/other",
        json=plan("other", box_feature("o", 30.0, 30.0, 30.1, 30.1)),
        headers=channel.auth("blue", If_Match='"1"'),
    )
    assert again.json()["operation"]["state"] == "proposed"
