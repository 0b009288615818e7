"""``deconflict blind start|join|status`` into a real app: two parties, each with its own plan file and
keys, run a session; each prints only its own matched volumes, at the agreed resolution."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from deconflict.cli import _COMMANDS, _parser
from deconflict.cli.blind import run_blind
from deconflict.client import Response
from deconflict.errors import InputError
from tests.api.conftest import (
    BLUE_TEXTS,
    BLUE_VOLUMES,
    AppTransport,
    Channel,
    blue_plan,
    forbidden_strings,
    red_plan,
)
from tests.cli.conftest import CLIENT_URL, run_client
from tests.cli.test_ops import _plan_file

GRID = ["--cell-deg", "0.1", "--slot-s", "3600", "--band-m", "1000", "--cap", "512", "--poll-s", "0.01"]


def test_the_command_is_registered() -> None:
    assert _COMMANDS["blind"] == ("blind", "run_blind")


def _keys(channel: Channel, tmp_path: Path, party: str) -> tuple[str, str]:
    private = tmp_path / f"{party}.ed25519.pem"
    private.write_bytes(channel.keys[party])
    public = tmp_path / f"{party}.ed25519.pub.pem"
    key = load_pem_private_key(channel.keys[party], None)
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return str(private), str(public)


def _side(channel: Channel, tmp_path: Path, party: str, peer: str, plan: str) -> list[str]:
    key, _ = _keys(channel, tmp_path, party)
    _, peer_key = _keys(channel, tmp_path, peer)
    return ["--plan", plan, "--key", key, "--peer-key", peer_key, *GRID, "--json"]


def _cell_key(cell: dict[str, list[float]]) -> tuple[float, ...]:
    return (*cell["lon_deg"], *cell["lat_deg"], *cell["time_s"], *cell["alt_msl_m"])


def _session(
    channel: Channel, tmp_path: Path, session: str, blue_file: str, red_file: str
) -> dict[str, int | BaseException]:
    """Blue starts ``session`` and red joins it, each with ``--json`` and ``--out PARTY-result.geojson``."""
    codes: dict[str, int | BaseException] = {}
    # Both sides' key files are written before either runs: none is rewritten while read.
    blue_side = _side(channel, tmp_path, "blue", "red", blue_file)
    red_side = _side(channel, tmp_path, "red", "blue", red_file)

    def run(name: str, *argv: str) -> None:
        try:
            codes[name] = run_client(channel, name, "blind", *argv)
        except BaseException as exc:
            codes[name] = exc

    blue = threading.Thread(
        target=run,
        args=(
            "blue",
            "start",
            "red",
            "--session",
            session,
            *blue_side,
            "--out",
            str(tmp_path / "blue-result.geojson"),
        ),
    )
    blue.start()
    for _ in range(3000):  # red joins once blue has started the session (30 s at most: a loaded machine)
        if (
            channel.client.get(f"/v1/blind/sessions/{session}", headers=channel.auth("red")).status_code
            == 200
        ):
            break
        threading.Event().wait(0.01)
    red = threading.Thread(
        target=run,
        args=(
            "red",
            "join",
            session,
            *red_side,
            "--out",
            str(tmp_path / "red-result.geojson"),
        ),
    )
    red.start()
    blue.join(60.0)
    red.join(60.0)
    return codes


def test_two_parties_each_print_only_their_own_matched_volumes(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blue_file = _plan_file(tmp_path, "blue.geojson", blue_plan())
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    codes = _session(channel, tmp_path, "cli-1", blue_file, red_file)
    assert codes == {"blue": 0, "red": 0}
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_volume = {m["volume"]: m for p in printed for m in p["matched"]}
    # Blue's triangle meets red's box; blue's far circle matches nothing; each sees its own ids only.
    assert set(by_volume) == {BLUE_VOLUMES[0], "red-v1"}
    for doc in printed:
        ids = {m["volume"] for m in doc["matched"]}
        assert ids in ({BLUE_VOLUMES[0]}, {"red-v1"})
    cell = by_volume["red-v1"]["cells"][0]
    assert cell["lon_deg"][1] - cell["lon_deg"][0] == pytest.approx(0.1)
    assert cell["time_s"][1] - cell["time_s"][0] == 3600.0
    # --out wrote the same cells as GeoJSON: one rectangle per matched cell, the own volume ids in it.
    for doc in printed:
        party = "blue" if {m["volume"] for m in doc["matched"]} == {BLUE_VOLUMES[0]} else "red"
        geo = json.loads((tmp_path / f"{party}-result.geojson").read_text())
        assert geo["type"] == "FeatureCollection"
        assert geo["deconflict_blind"] == {"session": "cli-1", "parameters": doc["parameters"]}
        expected: dict[tuple[float, ...], set[str]] = {}
        for m in doc["matched"]:
            for c in m["cells"]:
                expected.setdefault(_cell_key(c), set()).add(m["volume"])
        features = geo["features"]
        assert len(features) == len(expected) > 0
        got = {}
        for feature in features:
            props = feature["properties"]
            (lon0, lon1), (lat0, lat1) = props["lon_deg"], props["lat_deg"]
            assert feature["geometry"] == {
                "type": "Polygon",
                "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
            }
            assert props["time_start"] < props["time_end"]
            assert props["time_start"].endswith("Z")
            got[_cell_key(props)] = set(props["volumes"])
        assert got == expected
    # Both ended the session: the server holds nothing of it.
    assert channel.client.get("/v1/blind/sessions/cli-1", headers=channel.auth("blue")).status_code == 404


def test_join_refuses_parameters_other_than_the_started_ones_and_status_shows_the_session(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    channel.client.post(
        "/v1/blind/sessions",
        json={"session": "cli-2", "peer": "red", "parameters": "blind-grid-v1 session=cli-2 cell_deg=0.5"},
        headers=channel.auth("blue"),
    )
    with pytest.raises(InputError, match="differ"):
        run_client(
            channel, "red", "blind", "join", "cli-2", *_side(channel, tmp_path, "red", "blue", red_file)
        )
    capsys.readouterr()
    assert run_client(channel, "red", "blind", "status", "cli-2", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["initiator"], status["peer"], status["posted"]) == ("blue", "red", [])


class RecordingTransport(AppTransport):
    """The app's transport, keeping every request body sent through it."""

    def __init__(self, channel: Channel) -> None:
        super().__init__(channel.client)
        self.sent: list[tuple[str, str, bytes]] = []

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        self.sent.append((method, url, body or b""))
        return super().request(method, url, headers, body)


def _reveal(channel: Channel, party: str, *argv: str) -> tuple[int, RecordingTransport]:
    transport = RecordingTransport(channel)
    args = _parser().parse_args(
        ["blind", "reveal", *argv, "--url", CLIENT_URL, "--token", channel.tokens[party]]
    )
    return run_blind(args, transport), transport


def _results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    """Each party's ``--json`` result, as printed, written to PARTY.json."""
    paths = {}
    for line in capsys.readouterr().out.splitlines():
        if line.strip():
            doc = json.loads(line)
            party = "red" if "red-v1" in {m["volume"] for m in doc["matched"]} else "blue"
            paths[party] = tmp_path / f"{party}.json"
            paths[party].write_text(line)
    return paths


def test_reveal_files_only_the_matched_volumes_and_both_sides_see_the_exact_conflict(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blue_file = _plan_file(tmp_path, "blue.geojson", blue_plan())
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    assert _session(channel, tmp_path, "cli-3", blue_file, red_file) == {"blue": 0, "red": 0}
    results = _results(tmp_path, capsys)
    assert set(results) == {"blue", "red"}

    # Asked first, and a "no" sends nothing.
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, transport = _reveal(channel, "blue", str(results["blue"]), "--plan", blue_file)
    assert code == 0 and "nothing filed" in capsys.readouterr().out
    assert [m for m, _, _ in transport.sent if m != "GET"] == []

    # Blue reveals from its --json result, red from its --out GeoJSON: red's filing meets blue's.
    code, blue_sent = _reveal(channel, "blue", str(results["blue"]), "--plan", blue_file, "--yes", "--json")
    assert code == 0
    blue_out = json.loads(capsys.readouterr().out)
    (filed,) = blue_out["filed"]
    blue_operation = json.loads(results["blue"].read_text())["matched"][0]["operation"]
    assert filed["operation"]["id"] == f"blind:cli-3:{blue_operation}"
    assert filed["conflicts"] == []
    geo = str(tmp_path / "red-result.geojson")
    code, red_sent = _reveal(channel, "red", geo, "--plan", red_file, "--yes")
    assert code == 1  # conflicts found, as `ops file`
    out = capsys.readouterr().out
    red_operation = json.loads(results["red"].read_text())["matched"][0]["operation"]
    assert f"filed blind:cli-3:{red_operation} version 1 (1 volumes)" in out and "Conflicts found" in out

    # Only the matched volumes went out: the unmatched volume's id (and text) is in no request body.
    posts = [body for method, _, body in blue_sent.sent if method != "GET"]
    assert len(posts) == 1 and BLUE_VOLUMES[0].encode() in posts[0]
    for _, _, body in blue_sent.sent + red_sent.sent:
        assert BLUE_VOLUMES[1].encode() not in body
        assert not any(text.encode() in body for text in BLUE_TEXTS)
    (operation,) = channel.client.get("/v1/operations", headers=channel.auth("blue")).json()
    assert [f["properties"]["id"] for f in operation["volumes"]["features"]] == [BLUE_VOLUMES[0]]

    # The exact check found the conflict: both sides see it, red only its minimal facts.
    (red_view,) = channel.client.get("/v1/conflicts", headers=channel.auth("red")).json()
    (blue_view,) = channel.client.get("/v1/conflicts", headers=channel.auth("blue")).json()
    assert (red_view["operation"], red_view["volume"], red_view["other_party"]) == (
        f"blind:cli-3:{red_operation}",
        "red-v1",
        "blue",
    )
    assert (red_view["time_start"], red_view["time_end"]) == ("2026-01-01T12:30:00Z", "2026-01-01T13:30:00Z")
    assert (red_view["altitude_lower_m"], red_view["altitude_upper_m"]) == (1234.5, 2000.0)
    assert not any(secret in json.dumps(red_view) for secret in forbidden_strings())
    assert (blue_view["volume"], blue_view["other_party"]) == (BLUE_VOLUMES[0], "red")


def test_reveal_with_no_match_files_nothing_and_says_so(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = blue_plan()
    plan["features"] = plan["features"][1:]  # the far circle alone: it meets nothing of red's
    blue_file = _plan_file(tmp_path, "blue.geojson", plan)
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    assert _session(channel, tmp_path, "cli-4", blue_file, red_file) == {"blue": 0, "red": 0}
    capsys.readouterr()
    for party, plan_file in (("blue", blue_file), ("red", red_file)):
        code, transport = _reveal(
            channel, party, str(tmp_path / f"{party}-result.geojson"), "--plan", plan_file
        )
        assert code == 0
        assert "none of your volumes matched; nothing filed" in capsys.readouterr().out
        assert [m for m, _, _ in transport.sent if m != "GET"] == []
    assert channel.client.get("/v1/operations", headers=channel.auth("blue")).json() == []


def test_reveal_refuses_a_matched_volume_missing_from_the_plans(channel: Channel, tmp_path: Path) -> None:
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    result = tmp_path / "result.json"
    result.write_text(
        json.dumps(
            {
                "session": "s",
                "parameters": "p",
                "matched": [{"volume": "nope", "operation": "op", "cells": []}],
            }
        )
    )
    with pytest.raises(InputError, match="volume nope of operation op is in none of the --plan files"):
        _reveal(channel, "red", str(result), "--plan", red_file, "--yes")
    result.write_text("{}")
    with pytest.raises(InputError, match="not a blind session result"):
        _reveal(channel, "red", str(result), "--plan", red_file, "--yes")
    # An --out cell that names several operations does not say which a volume id there is of.
    plan = red_plan()
    box = plan["features"][0]
    other = {**plan, "features": [{**box, "properties": {**box["properties"], "operation": "other"}}]}
    other_file = _plan_file(tmp_path, "red-other.geojson", other)
    cell = {
        "type": "Feature",
        "geometry": None,
        "properties": {"volumes": ["red-v1"], "operations": ["a", "b"]},
    }
    result.write_text(json.dumps({"deconflict_blind": {"session": "s"}, "features": [cell]}))
    with pytest.raises(InputError, match="red-v1 is in several operations"):
        _reveal(channel, "red", str(result), "--plan", red_file, "--plan", other_file, "--yes")
