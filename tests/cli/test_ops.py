"""``deconflict ops`` and ``deconflict conflicts`` through the client, routed into the in-process app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import _COMMANDS, main
from deconflict.client import ChannelError
from deconflict.errors import InputError
from tests.api.conftest import BLUE_OPERATION, Channel, blue_plan, forbidden_strings, red_plan
from tests.builders import write_geojson
from tests.cli.conftest import CLIENT_URL, run_client


def run_json(channel: Channel, party: str, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    code = run_client(channel, party, *argv, "--json")
    assert code in (0, 1)
    return json.loads(capsys.readouterr().out)


def _plan_file(tmp_path: Path, name: str, document: dict[str, Any]) -> str:
    collection = {k: v for k, v in document.items() if k not in ("id", "priority")}
    return str(write_geojson(tmp_path / name, collection))


def test_the_commands_are_registered() -> None:
    assert _COMMANDS["ops"] == ("ops", "run_ops")
    assert _COMMANDS["conflicts"] == ("conflicts", "run_conflicts")


def test_file_list_amend_and_withdraw(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blue_file = _plan_file(tmp_path, "blue.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", blue_file, "--id", "op-1", "--priority", "7") == 0
    assert "filed op-1 version 1" in capsys.readouterr().out

    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    assert run_client(channel, "red", "ops", "file", red_file, "--id", "red-op") == 1  # conflicts found
    out = capsys.readouterr().out
    assert "Conflicts found" in out and "blue" in out and "red-op" in out
    assert "priority 7" not in out  # the other side's rank is not disclosed
    assert not any(secret in out for secret in forbidden_strings())

    assert run_client(channel, "red", "ops", "list") == 0
    table = capsys.readouterr().out
    assert "Operations" in table and "red-op" in table and "op-1" not in table
    (listed,) = run_json(channel, "red", capsys, "ops", "list")
    assert (listed["id"], listed["version"], listed["priority"]) == ("red-op", 1, 0)

    amended = run_json(channel, "red", capsys, "ops", "file", red_file, "--id", "red-op", "--replaces", "1")
    assert amended["operation"]["version"] == 2 and len(amended["conflicts"]) == 1

    assert run_client(channel, "red", "ops", "withdraw", "red-op", "--version", "2") == 0
    assert "withdrew red-op: version 3, withdrawn" in capsys.readouterr().out
    assert run_json(channel, "red", capsys, "ops", "list")[0]["state"] == "withdrawn"


def test_activate_extend_and_release(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blue_file = _plan_file(tmp_path, "blue.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", blue_file, "--id", "op-1") == 0
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    assert run_client(channel, "red", "ops", "file", red_file, "--id", "red-op") == 1
    capsys.readouterr()
    # Without --version the current one is read first.
    assert run_client(channel, "blue", "ops", "activate", "op-1") == 0
    assert "activated op-1: version 2, activated" in capsys.readouterr().out
    # Still across red's plan: the extension's check finds the conflict again (exit 1).
    extend = ("ops", "extend", "op-1", "--version", "2", "--until", "2026-01-01T15:00:00Z")
    assert run_client(channel, "blue", *extend) == 1
    out = capsys.readouterr().out
    assert "extended op-1: version 3, activated" in out and "Conflicts found" in out
    with pytest.raises(ChannelError, match="HTTP 409"):  # stale version
        run_client(channel, "blue", "ops", "release", "op-1", "--version", "2")
    released = run_json(channel, "blue", capsys, "ops", "release", "op-1", "--version", "3")
    assert (released["state"], released["version"]) == ("ended", 4)
    (resolved,) = run_json(channel, "red", capsys, "conflicts", "list", "--state", "resolved")[-1:]
    assert (resolved["resolution"], resolved["resolved_by"]) == ("released", "blue")
    with pytest.raises(ChannelError, match="HTTP 409"):  # ended: nothing left to release
        run_client(channel, "blue", "ops", "release", "op-1")
    # The log replays to the stored state: op-1 at version 4, ended; its conflicts resolved.
    db, key = tmp_path / "channel.db", tmp_path / "server.pub.pem"
    assert main(["audit", "key", "--db", str(db), "--out", str(key)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--db", str(db), "--key", str(key)]) == 0
    assert "stored objects as logged" in capsys.readouterr().out


def test_an_amendment_keeps_the_priority_unless_given_again(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _plan_file(tmp_path, "blue.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", path, "--id", "op-1", "--priority", "7") == 0
    amended = run_json(channel, "blue", capsys, "ops", "file", path, "--id", "op-1", "--replaces", "1")
    assert (amended["operation"]["version"], amended["operation"]["priority"]) == (2, 7)
    assert run_client(channel, "blue", "ops", "file", path, "--id", "op-1", "--replaces", "2") == 0
    assert "filed op-1 version 3 (proposed, priority 7)" in capsys.readouterr().out
    lowered = run_json(
        channel, "blue", capsys, "ops", "file", path, "--id", "op-1", "--replaces", "3", "--priority", "1"
    )
    assert lowered["operation"]["priority"] == 1


def test_conflicts_list_ack_accept(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_client(
        channel, "blue", "ops", "file", _plan_file(tmp_path, "b.geojson", blue_plan()), "--id", BLUE_OPERATION
    )
    filed = run_json(
        channel, "red", capsys, "ops", "file", _plan_file(tmp_path, "r.geojson", red_plan()), "--id", "red-op"
    )
    (conflict,) = filed["conflicts"]
    conflict_id = str(conflict["id"])

    assert run_client(channel, "red", "conflicts", "list") == 0
    out = capsys.readouterr().out
    assert "open" in out and "blue" in out and "priority" not in out
    assert not any(secret in out for secret in forbidden_strings())

    assert (
        run_json(channel, "red", capsys, "conflicts", "ack", conflict_id)["acknowledged_by"][0]["party"]
        == "red"
    )
    assert run_json(channel, "blue", capsys, "conflicts", "ack", conflict_id)["state"] == "acknowledged"
    run_client(channel, "red", "conflicts", "accept", conflict_id, "--reason", "we stay low")
    assert "red / red" in capsys.readouterr().out  # acknowledged by / accepted by
    accepted = run_json(channel, "blue", capsys, "conflicts", "accept", conflict_id, "--reason", "agreed")
    assert accepted["state"] == "accepted"
    assert [
        c["id"] for c in run_json(channel, "blue", capsys, "conflicts", "list", "--state", "accepted")
    ] == [conflict["id"]]
    assert run_json(channel, "blue", capsys, "conflicts", "list", "--state", "open") == []
    run_client(channel, "red", "conflicts", "list", "--state", "resolved")
    assert "no conflicts" in capsys.readouterr().out


def test_refusals_are_errors_with_the_servers_message(channel: Channel, tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match="HTTP 404"):
        run_client(channel, "green", "conflicts", "ack", "1")
    path = _plan_file(tmp_path, "b.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", path, "--id", "x") == 0
    with pytest.raises(ChannelError, match="HTTP 409"):  # filed already
        run_client(channel, "blue", "ops", "file", path, "--id", "x")
    with pytest.raises(ChannelError, match="HTTP 409"):  # stale version
        run_client(channel, "blue", "ops", "withdraw", "x", "--version", "7")
    with pytest.raises(ChannelError, match="HTTP 404"):
        run_client(channel, "blue", "ops", "withdraw", "nope", "--version", "1")
    (tmp_path / "bad.geojson").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="FeatureCollection"):
        run_client(channel, "blue", "ops", "file", str(tmp_path / "bad.geojson"), "--id", "x")
    with pytest.raises(InputError, match="cannot read"):
        run_client(channel, "blue", "ops", "file", str(tmp_path / "missing.geojson"), "--id", "x")


def test_a_refused_plan_lists_each_problem_with_its_feature_as_check_does(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = blue_plan()
    document["features"][0]["properties"]["altitude_lower"] = {"value": 1, "units": "km", "reference": "MSL"}
    document["features"][1]["properties"]["radius_m"] = -5
    document["features"][1]["properties"]["time_end"] = "soon"
    path = _plan_file(tmp_path, "blue.geojson", document)
    with pytest.raises(InputError) as info:
        run_client(channel, "blue", "ops", "file", path, "--id", "op-1")
    first, second = (f"feature {i} (id {f['properties']['id']})" for i, f in enumerate(document["features"]))
    assert str(info.value).splitlines() == [
        f'{path}: {first}: altitude_lower.units: unknown unit "km" (expected one of m, ft, FL)',
        f"{path}: {second}: radius_m: must be positive, got -5.0",
        f"{path}: {second}: time_end: not an RFC 3339 time 'soon': needs a date and a time, "
        "e.g. 2026-01-01T12:00:00Z",
    ]
    # The same lines as `deconflict check` prints for the file.
    assert main(["check", path]) == 2
    assert capsys.readouterr().err == "".join(f"error: {line}\n" for line in str(info.value).splitlines())


def test_without_a_token_the_command_fails_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DECONFLICT_TOKEN", raising=False)
    assert main(["conflicts", "list", "--url", CLIENT_URL]) == 2
    assert "give --token or set DECONFLICT_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["ops", "list"],
        ["conflicts", "list"],
        ["stats"],
        ["msg", "inbox"],
        ["feed", "tracks.csv"],
        ["audit", "export"],
        ["audit", "checkpoint"],
    ],
)
def test_every_remote_command_takes_url_and_token_from_the_environment(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DECONFLICT_URL", raising=False)
    monkeypatch.delenv("DECONFLICT_TOKEN", raising=False)
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "error: command line: --url: give --url or set DECONFLICT_URL\n"
        "error: command line: --token: give --token or set DECONFLICT_TOKEN\n"
    )
    from deconflict.cli import _parser
    from deconflict.cli.ops import client_from_args

    monkeypatch.setenv("DECONFLICT_URL", "https://channel.example:8000/")
    monkeypatch.setenv("DECONFLICT_TOKEN", "t")
    client = client_from_args(_parser().parse_args(argv))
    assert client.url == "https://channel.example:8000"
    assert (
        client_from_args(_parser().parse_args([*argv, "--url", "http://127.0.0.1:9"])).url
        == "http://127.0.0.1:9"
    )


def test_file_an_f3548_plan(channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An F3548 file is filed as the caller's operation, with its priority; it conflicts as GeoJSON does."""
    from deconflict.formats.f3548 import operation_details
    from deconflict.strategic.geojson import parse_features

    blue_file = _plan_file(tmp_path, "b.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", blue_file, "--id", "op-1") == 0
    red = parse_features({k: v for k, v in red_plan().items() if k not in ("id", "priority")}, "r", "red")
    path = tmp_path / "red-intent.json"
    path.write_text(json.dumps(operation_details(red, priority=3)), encoding="utf-8")
    capsys.readouterr()
    filed = run_json(channel, "red", capsys, "ops", "file", str(path), "--id", "red-op")
    assert (filed["operation"]["id"], filed["operation"]["priority"]) == ("red-op", 3)
    assert len(filed["operation"]["volumes"]["features"]) == len(red)
    assert filed["conflicts"] and {c["other_party"] for c in filed["conflicts"]} == {"blue"}
    with pytest.raises(InputError, match="ED-318 geographical zones are restrictions an authority publishes"):
        run_client(channel, "red", "ops", "file", str(path), "--id", "x", "--from", "ed318")
    path.write_text('{"extents": [{"volume": {}}]}', encoding="utf-8")
    with pytest.raises(InputError, match=r"red-intent\.json: extents\[0\]: volume: needs exactly one of"):
        run_client(channel, "red", "ops", "file", str(path), "--id", "x")


def test_file_a_notam(channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A NOTAM written from red's plan is filed as red's operation and conflicts with blue as the plan did."""
    from deconflict.formats.notam import operation_notam
    from deconflict.strategic.geojson import parse_features

    blue_file = _plan_file(tmp_path, "b.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", blue_file, "--id", "op-1") == 0
    red = parse_features({k: v for k, v in red_plan().items() if k not in ("id", "priority")}, "r", "red")
    path = tmp_path / "red-notam.txt"
    path.write_text(operation_notam(red, fir="LCCC"), encoding="utf-8")
    capsys.readouterr()
    for argv in ([], ["--from", "notam"]):
        filed = run_json(
            channel, "red", capsys, "ops", "file", str(path), "--id", f"red-op{len(argv)}", *argv
        )
        assert filed["operation"]["id"] == f"red-op{len(argv)}"
        assert filed["conflicts"] and {c["other_party"] for c in filed["conflicts"]} == {"blue"}
    path.write_text("(A0001/26 NOTAMN\nA) LCCC B) 2601011200 C) 2601011300\nE) NO Q-LINE)", encoding="utf-8")
    with pytest.raises(InputError, match=r"red-notam\.txt: NOTAM A0001/26: Q\): missing"):
        run_client(channel, "red", "ops", "file", str(path), "--id", "x")


def test_conflicts_list_writes_the_servers_kml(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_client(
        channel, "blue", "ops", "file", _plan_file(tmp_path, "b.geojson", blue_plan()), "--id", BLUE_OPERATION
    )
    run_client(channel, "red", "ops", "file", _plan_file(tmp_path, "r.geojson", red_plan()), "--id", "red-op")
    [conflict] = run_json(channel, "red", capsys, "conflicts", "list")
    out = tmp_path / "conflicts.kml"
    assert run_client(channel, "red", "conflicts", "list", "--kml", str(out)) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    served = channel.client.get("/v1/conflicts", params={"format": "kml"}, headers=channel.auth("red"))
    assert text == served.text
    assert f"<name>conflict {conflict['id']}</name>" in text
    assert not any(secret in text for secret in forbidden_strings())
    assert run_client(channel, "red", "conflicts", "list", "--kml", "-", "--state", "resolved") == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("<?xml") and "<Placemark>" not in stdout  # none resolved yet
