"""``deconflict blind start|join|status`` into a real app: two parties, each with its own plan file and
keys, run a session; each prints only its own matched volumes, at the agreed resolution."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from deconflict.cli import _COMMANDS
from deconflict.errors import InputError
from tests.api.conftest import BLUE_VOLUMES, Channel, blue_plan, red_plan
from tests.cli.conftest import run_client
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


def test_two_parties_each_print_only_their_own_matched_volumes(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blue_file = _plan_file(tmp_path, "blue.geojson", blue_plan())
    red_file = _plan_file(tmp_path, "red.geojson", red_plan())
    codes: dict[str, int | BaseException] = {}

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
            "cli-1",
            *_side(channel, tmp_path, "blue", "red", blue_file),
            "--out",
            str(tmp_path / "blue-result.geojson"),
        ),
    )
    blue.start()
    for _ in range(500):  # red joins once blue has started the session
        if channel.client.get("/v1/blind/sessions/cli-1", headers=channel.auth("red")).status_code == 200:
            break
        threading.Event().wait(0.01)
    red = threading.Thread(
        target=run,
        args=(
            "red",
            "join",
            "cli-1",
            *_side(channel, tmp_path, "red", "blue", red_file),
            "--out",
            str(tmp_path / "red-result.geojson"),
        ),
    )
    red.start()
    blue.join(60.0)
    red.join(60.0)
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
