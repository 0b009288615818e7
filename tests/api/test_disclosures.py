"""Filing limits, the disclosure ledger (``GET /v1/disclosures``) and probe alarms, in process.

The fake clock stands still unless a test moves it, so rates and windows are exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Channel, events
from tests.builders import box_feature, plan

FILINGS_PER_MINUTE = 6
WITHDRAWALS_PER_MINUTE = 4
RED_BOX = (36.0, 35.0, 36.2, 35.2)


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    return {
        "filings_per_minute": FILINGS_PER_MINUTE,
        "withdrawals_per_minute": WITHDRAWALS_PER_MINUTE,
        "probe_window_s": 600.0,
        "probe_burst_filings": 3,
    }


def file(channel: Channel, party: str, operation_id: str, bbox: tuple[float, float, float, float]) -> Any:
    body = plan(operation_id, box_feature(f"{operation_id}/v1", *bbox))
    return channel.client.post("/v1/operations", json=body, headers=channel.auth(party))


def withdraw(channel: Channel, party: str, operation_id: str, version: int = 1) -> Any:
    headers = channel.auth(party, If_Match=f'"{version}"')
    return channel.client.post(f"/v1/operations/{operation_id}/withdraw", headers=headers)


def ledger(channel: Channel, party: str, **query: int) -> list[dict[str, Any]]:
    response = channel.client.get("/v1/disclosures", params=query, headers=channel.auth(party))
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def test_an_oversized_operation_is_refused_naming_the_setting(channel: Channel) -> None:
    body = {
        **plan("probe", box_feature("probe/v1", 30.0, 30.0, 46.0, 40.0)),
    }
    body["features"][0]["properties"] |= {
        "time_end": "2028-01-01T12:00:00Z",
        "altitude_upper": {"value": 30000, "units": "m", "reference": "MSL"},
    }
    refused = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
    assert refused.status_code == 422, refused.text
    text = refused.text
    for setting in ("max_operation_area_km2", "max_operation_window_h", "max_operation_band_m"):
        assert setting in text
    assert channel.client.get("/v1/operations", headers=channel.auth("blue")).json() == []


def test_each_side_of_a_conflict_reads_what_the_other_was_told_about_it(channel: Channel) -> None:
    assert file(channel, "red", "red-op", RED_BOX).status_code == 201
    filed = file(channel, "blue", "blue-op", (36.1, 35.1, 36.3, 35.3))
    (conflict,) = filed.json()["conflicts"]
    (about_red,) = ledger(channel, "red")
    assert about_red == {
        "number": 1,
        "time": "2026-01-01T12:00:00Z",
        "kind": "conflict",
        "recipient": "blue",
        "subject_ref": "red-op/red-op/v1",
        "fields": ["overlap_bbox", "overlap_area", "altitude_band", "time_window"],
        "reason": f"conflict:{conflict['id']}",
        "note": "",
    }
    (about_blue,) = ledger(channel, "blue")
    assert (about_blue["recipient"], about_blue["subject_ref"]) == ("red", "blue-op/blue-op/v1")
    assert ledger(channel, "green") == []
    unauthenticated = channel.client.get("/v1/disclosures")
    assert unauthenticated.status_code == 401


def test_the_ledger_pages_back_like_the_inbox(channel: Channel) -> None:
    assert file(channel, "red", "red-op", RED_BOX).status_code == 201
    for k in range(5):
        channel.clock.advance(3600.0)  # no burst: one filing an hour
        assert file(channel, "blue", f"b{k}", (36.1, 35.1, 36.3, 35.3)).status_code == 201
    newest = ledger(channel, "red", limit=2)
    assert [e["number"] for e in newest] == [4, 5]
    assert [e["number"] for e in ledger(channel, "red", limit=2, before=4)] == [2, 3]
    assert channel.client.get("/v1/disclosures?limit=0", headers=channel.auth("red")).status_code == 422


def test_a_withdrawal_right_after_revealing_alarms_the_other_side(channel: Channel) -> None:
    assert file(channel, "red", "red-op", RED_BOX).status_code == 201
    with events(channel, "red") as red_events:
        filed = file(channel, "blue", "probe", (36.1, 35.1, 36.3, 35.3)).json()
        assert red_events.receive_json()["type"] == "conflict"
        channel.clock.advance(5.0)
        assert withdraw(channel, "blue", "probe").status_code == 200
        resolved = red_events.receive_json()  # the conflict is gone: told at once, then the alarm
        frame = red_events.receive_json()
    (conflict,) = filed["conflicts"]
    assert resolved["type"] == "conflict" and resolved["conflict"]["resolution"] == "withdrawn"
    assert frame["type"] == "probe_alarm"
    alarm = frame["alarm"]
    assert (alarm["kind"], alarm["recipient"], alarm["note"]) == ("probe_alarm", "blue", "withdrawn")
    assert (alarm["subject_ref"], alarm["reason"]) == ("red-op", f"conflict:{conflict['id']}")
    assert ledger(channel, "red")[-1] == alarm
    # The prober is not told of the alarm, and its own ledger holds only what red learnt of it.
    assert [e["kind"] for e in ledger(channel, "blue")] == ["conflict"]


def test_withdrawing_a_plan_that_stood_raises_no_alarm(channel: Channel) -> None:
    assert file(channel, "red", "red-op", RED_BOX).status_code == 201
    assert file(channel, "blue", "blue-op", (36.1, 35.1, 36.3, 35.3)).status_code == 201
    channel.clock.advance(600.0)
    assert withdraw(channel, "blue", "blue-op").status_code == 200
    assert [e["kind"] for e in ledger(channel, "red")] == ["conflict"]


def test_a_burst_of_revealing_filings_alarms_the_other_side_once(channel: Channel) -> None:
    assert file(channel, "red", "red-op", RED_BOX).status_code == 201
    for k in range(4):
        channel.clock.advance(10.0)
        assert file(channel, "blue", f"sweep-{k}", (36.1, 35.1, 36.3, 35.3)).status_code == 201
    alarms = [e for e in ledger(channel, "red") if e["kind"] == "probe_alarm"]
    assert [(a["recipient"], a["note"]) for a in alarms] == [("blue", "burst")]


def test_filings_and_withdrawals_are_rate_limited_per_party(channel: Channel) -> None:
    for k in range(FILINGS_PER_MINUTE):
        assert file(channel, "blue", f"op-{k}", (30.0 + k, 30.0, 30.1 + k, 30.1)).status_code == 201
        channel.clock.advance(1.0)
    refused = file(channel, "blue", "op-x", (40.0, 30.0, 40.1, 30.1))
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == str(60 - FILINGS_PER_MINUTE)
    assert "filings_per_minute" in refused.json()["detail"]
    assert (
        len(channel.client.get("/v1/operations", headers=channel.auth("blue")).json()) == FILINGS_PER_MINUTE
    )
    # Amendments count as filings; another party is not affected.
    body = plan("op-0", box_feature("op-0/v1", 30.0, 30.0, 30.1, 30.1))
    amended = channel.client.put(
        "/v1/operations/op-0", json=body, headers=channel.auth("blue", If_Match='"1"')
    )
    assert amended.status_code == 429
    assert file(channel, "red", "red-op", RED_BOX).status_code == 201
    for k in range(WITHDRAWALS_PER_MINUTE):
        assert withdraw(channel, "blue", f"op-{k}").status_code == 200
    refused = withdraw(channel, "blue", f"op-{WITHDRAWALS_PER_MINUTE}")
    assert refused.status_code == 429 and "withdrawals_per_minute" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) == 60
