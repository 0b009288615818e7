"""``deconflict stats`` through the client, routed into the in-process app."""

from __future__ import annotations

import json

import pytest

from deconflict.cli import _COMMANDS, main
from deconflict.client import ChannelError
from tests.api.conftest import Channel, ack, send
from tests.cli.conftest import run_client


@pytest.fixture
def talked(channel: Channel) -> Channel:
    first = send(channel, "blue", to="red")
    channel.clock.advance(45.0)
    assert ack(channel, "red", first["id"], "accepted").status_code == 200
    send(channel, "green", to="red", reply_by=None)
    return channel


def test_the_command_is_registered() -> None:
    assert _COMMANDS["stats"] == ("stats", "run_stats")
    assert main(["stats", "--help"]) == 0


def test_json_is_the_api_document(talked: Channel, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_client(talked, "blue", "stats", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document == talked.client.get("/v1/stats", headers=talked.auth("blue")).json()
    (month,) = document["months"]
    (pair,) = month["pairs"]
    assert (month["month"], pair["parties"], pair["messages"], pair["ack_median_s"]) == (
        "2026-01",
        ["blue", "red"],
        1,
        45.0,
    )


def test_the_table_has_a_row_per_month_and_pair(talked: Channel, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_client(talked, "red", "stats") == 0
    out = capsys.readouterr().out
    assert "Channel statistics of red" in out
    rows = [line for line in out.splitlines() if " - " in line]
    assert len(rows) == 2
    assert "blue - red" in rows[0] and "45.0" in rows[0]
    assert "green - red" in rows[1]
    assert "2026-01" in rows[0] and "2026-01" not in rows[1]  # the month heads its group once


def test_a_party_without_activity_is_told_so(channel: Channel, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_client(channel, "green", "stats") == 0
    assert "no channel activity of green yet" in capsys.readouterr().out


def test_a_bad_token_is_a_clear_error(channel: Channel) -> None:
    with pytest.raises(ChannelError, match="401"):
        run_client(channel, "blue", "stats", token="not-a-token")


def test_own_non_conformance_alerts_are_counted_under_the_table(
    talked: Channel, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.api.test_conformance import FAR, NOW_S, state
    from tests.api.test_tracks import cycle, post
    from tests.builders import box_feature, plan

    talked.clock.now = NOW_S
    window = {"time_start": "2026-01-01T12:00:00Z", "time_end": "2026-01-01T13:30:00Z"}
    filed = talked.client.post(
        "/v1/operations",
        json=plan("blue-op", box_feature("blue-v1", 36.0, 35.0, 36.2, 35.2, **window)),
        headers=talked.auth("blue"),
    )
    assert filed.status_code == 201, filed.text
    post(talked, "blue", state("BLU202", FAR, NOW_S, "STRAY2"))
    cycle(talked)
    capsys.readouterr()
    assert run_client(talked, "blue", "stats") == 0
    assert "non-conformance alerts of own aircraft (off plan): 2026-01: 1" in capsys.readouterr().out
