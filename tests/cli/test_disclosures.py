"""``deconflict disclosures list`` through the client, routed into the in-process app."""

from __future__ import annotations

import json

import pytest

from deconflict.cli import _COMMANDS, main
from tests.api.conftest import Channel, blue_plan, red_plan
from tests.cli.conftest import CLIENT_URL, run_client


def test_the_command_is_registered() -> None:
    assert _COMMANDS["disclosures"] == ("disclosures", "run_disclosures")


def test_lists_what_the_other_side_was_told(channel: Channel, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red")).status_code == 201
    )
    filed = channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue")).json()
    (conflict,) = filed["conflicts"]
    capsys.readouterr()
    assert run_client(channel, "red", "disclosures", "list", "--json") == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["kind"], entry["recipient"], entry["reason"]) == (
        "conflict",
        "blue",
        f"conflict:{conflict['id']}",
    )
    assert entry["subject_ref"].startswith("red-op/")
    assert run_client(channel, "red", "disclosures", "list") == 0
    table = capsys.readouterr().out
    assert "blue" in table and f"conflict:{conflict['id']}" in table and "overlap_bbox" in table
    assert run_client(channel, "green", "disclosures", "list") == 0
    assert "no disclosures" in capsys.readouterr().out
    assert run_client(channel, "red", "disclosures", "list", "--json", "--limit", "1", "--before", "1") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_arguments_exit_2_with_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["disclosures", "list", "--url", CLIENT_URL, "--token", "t", "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err
    monkeypatch.delenv("DECONFLICT_TOKEN", raising=False)
    assert main(["disclosures", "list", "--url", CLIENT_URL]) == 2
    assert "give --token or set DECONFLICT_TOKEN" in capsys.readouterr().err
