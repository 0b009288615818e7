"""``GET /v1/stats`` through the API: three parties, each sees only the pairs it is in."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Any

import pytest

from deconflict.channel.stats import month_of
from tests.api.conftest import Channel, ack, blue_plan, red_plan, send
from tests.builders import T0_S

JANUARY = month_of(T0_S)


@dataclass
class FakeTacticalHistory:
    """A :class:`~deconflict.channel.live.TacticalHistory` with fixed counts per party."""

    counts: dict[str, dict[tuple[str, str], tuple[int, int]]]

    def monthly_counts(self, party: str) -> dict[tuple[str, str], tuple[int, int]]:
        return dict(self.counts.get(party, {}))


def _stats(channel: Channel, party: str) -> dict[str, Any]:
    response = channel.client.get("/v1/stats", headers=channel.auth(party))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["party"] == party
    return body


def _pairs(body: dict[str, Any]) -> dict[tuple[str, tuple[str, ...]], dict[str, Any]]:
    return {(m["month"], tuple(p["parties"])): p for m in body["months"] for p in m["pairs"]}


def _with_tactical(channel: Channel, history: FakeTacticalHistory) -> None:
    channel.app.state.services = replace(channel.app.state.services, tactical=history)


@pytest.fixture
def busy(channel: Channel) -> Channel:
    """Blue and red talk and conflict; red and green talk; green's message to red goes unanswered."""
    first = send(channel, "blue", to="red")
    second = send(channel, "blue", to="red")
    channel.clock.advance(30.0)
    assert ack(channel, "red", first["id"], "accepted").status_code == 200
    channel.clock.advance(60.0)
    assert ack(channel, "red", second["id"], "disputed", "not our area").status_code == 200
    send(channel, "green", to="red")  # reply by T0 + 1800 s, never answered
    send(channel, "red", to="green", reply_by=None)
    assert (
        channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red")).status_code == 201
    )
    filed = channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    assert filed.status_code == 201 and len(filed.json()["conflicts"]) == 1
    channel.clock.advance(3600.0)  # green's deadline has passed
    return channel


def test_blue_sees_its_pair_with_red_only(busy: Channel) -> None:
    body = _stats(busy, "blue")
    pairs = _pairs(body)
    january = pairs[JANUARY, ("blue", "red")]
    assert january["messages"] == 2
    assert january["ack_median_s"] == pytest.approx(60.0)  # answered after 30 s and 90 s
    assert january["ack_p95_s"] == pytest.approx(87.0)  # 30 + 0.95 * 60
    assert january["overdue"] == 0
    assert (january["alerts"], january["incidents"]) == (0, 0)  # no live traffic posted
    # Conflicts count in the month they were detected, by their state now.
    conflicts = [p["conflicts"] for (_, parties), p in pairs.items() if parties == ("blue", "red")]
    assert sum(c["open"] for c in conflicts) == 1
    assert all(parties == ("blue", "red") for _, parties in pairs)
    assert "green" not in json.dumps(body)


def test_green_sees_its_pair_with_red_only(busy: Channel) -> None:
    body = _stats(busy, "green")
    assert list(_pairs(body)) == [(JANUARY, ("green", "red"))]
    pair = _pairs(body)[JANUARY, ("green", "red")]
    assert (pair["messages"], pair["overdue"], pair["ack_median_s"], pair["ack_p95_s"]) == (2, 1, None, None)
    assert pair["conflicts"] == {"open": 0, "acknowledged": 0, "resolved": 0, "accepted": 0}
    assert "blue" not in json.dumps(body)


def test_red_sees_both_of_its_pairs(busy: Channel) -> None:
    pairs = _pairs(_stats(busy, "red"))
    assert {parties for _, parties in pairs} == {("blue", "red"), ("green", "red")}
    assert pairs[JANUARY, ("blue", "red")]["messages"] == 2
    assert pairs[JANUARY, ("green", "red")]["overdue"] == 1


def test_conflicts_move_between_states_in_their_detection_month(busy: Channel) -> None:
    (conflict,) = busy.client.get("/v1/conflicts", headers=busy.auth("blue")).json()
    before = time.time()
    for party in ("blue", "red"):
        response = busy.client.post(f"/v1/conflicts/{conflict['id']}/ack", headers=busy.auth(party))
        assert response.status_code == 200, response.text
    counts = [
        p["conflicts"]
        for (_, parties), p in _pairs(_stats(busy, "red")).items()
        if parties == ("blue", "red")
    ]
    assert sum(c["acknowledged"] for c in counts) == 1 and sum(c["open"] for c in counts) == 0
    # The store stamps detection with the server's wall clock (the plans were filed moments ago).
    months = {m for (m, parties), p in _pairs(_stats(busy, "red")).items() if p["conflicts"]["acknowledged"]}
    assert months <= {month_of(before - 60.0), month_of(before)}


def test_alerts_and_incidents_come_from_the_tactical_history(busy: Channel) -> None:
    _with_tactical(
        busy,
        FakeTacticalHistory(
            {
                "blue": {(JANUARY, "red"): (3, 1)},
                "red": {(JANUARY, "blue"): (3, 1), ("2026-02", "green"): (2, 0)},
                "green": {("2026-02", "red"): (2, 0)},
            }
        ),
    )
    blue = _pairs(_stats(busy, "blue"))
    assert (blue[JANUARY, ("blue", "red")]["alerts"], blue[JANUARY, ("blue", "red")]["incidents"]) == (3, 1)
    green = _pairs(_stats(busy, "green"))
    february = green["2026-02", ("green", "red")]
    assert (february["messages"], february["alerts"], february["incidents"]) == (0, 2, 0)
    assert all("blue" not in parties for _, parties in green)


def test_without_tactical_history_alerts_are_zero(busy: Channel) -> None:
    busy.app.state.services = replace(busy.app.state.services, tactical=None)
    pairs = _pairs(_stats(busy, "red"))
    assert all((p["alerts"], p["incidents"]) == (0, 0) for p in pairs.values())
    assert pairs[JANUARY, ("blue", "red")]["messages"] == 2


def test_a_party_with_no_activity_has_no_months(channel: Channel) -> None:
    assert _stats(channel, "green") == {"party": "green", "months": []}
