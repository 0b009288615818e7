"""End to end: two parties feed recorded tracks to a real ``deconflict serve``, which finds the incident.

Blue's and red's aircraft fly head-on at the same level in two recordings;
each party replays its own file with ``deconflict feed`` (20x speed, detection every 0.5 s: 10
recorded seconds a cycle, as at 10x with the default 1 s) at once.
The service's background detection must open and close one incident between
them, record it in the audit log, and show each side only what it may see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from deconflict.client import ChannelClient
from tests.cli.conftest import run_main
from tests.servers import audit_key_file, register_party, serve_process, ungated_env

GAP_DEG = 30_000.0 / 111_319.49
SPEED_MPS = 200.0
SECONDS = 110
WAIT_S = 60.0
SPEED = 20
CYCLE_S = 0.5


def _recording(path: Path, aircraft_id: str, callsign: str, lon0_deg: float, trk_deg: float) -> Path:
    step_deg = SPEED_MPS / 111_319.49 * (1 if trk_deg == 90.0 else -1)
    rows = [
        f"{1_600_000_000 + t},{aircraft_id},{callsign},0.0,{lon0_deg + t * step_deg:.6f},"
        f"3000,{SPEED_MPS},{trk_deg},0"
        for t in range(SECONDS + 1)
    ]
    path.write_text(
        "time_s,id,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n" + "\n".join(rows) + "\n"
    )
    return path


def test_two_feeds_make_one_incident_each_side_sees_its_own(tmp_path: Path) -> None:
    db = tmp_path / "channel.db"
    tokens = {name: register_party(db, name, tmp_path)[0] for name in ("blue", "red", "green")}
    files = {
        "blue": _recording(tmp_path / "blue.csv", "BLU101", "VIPER1", 0.0, 90.0),
        "red": _recording(tmp_path / "red.csv", "RED707", "REDCAP", GAP_DEG, 270.0),
    }
    env = {**ungated_env("blue", "red", "green"), "DECONFLICT_TACTICAL_CYCLE_S": str(CYCLE_S)}
    with serve_process(db, tmp_path / "serve.log", env) as (_, url):
        feeds = {
            party: subprocess.Popen(
                [
                    *(sys.executable, "-m", "deconflict", "feed", "--url", url, "--token", tokens[party]),
                    *("--speed", str(SPEED), "--batch-s", "0.5", "--max-seconds", "40", str(path)),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for party, path in files.items()
        }
        outputs = {party: process.communicate(timeout=WAIT_S) for party, process in feeds.items()}
        for party, process in feeds.items():
            assert process.returncode == 0, outputs[party]
            assert f"fed {SECONDS + 1} of {SECONDS + 1} states" in outputs[party][0]

        clients = {name: ChannelClient(url, token) for name, token in tokens.items()}
        deadline = time.monotonic() + WAIT_S
        while True:  # the last cycles may still be closing the incident
            incidents = {name: client.incidents() for name, client in clients.items()}
            if all(i and i[0]["ended"] for i in (incidents["blue"], incidents["red"])):
                break
            assert time.monotonic() < deadline, incidents
            time.sleep(0.5)
        [blue_incident], [red_incident] = incidents["blue"], incidents["red"]
        assert blue_incident["id"] == red_incident["id"]
        assert (blue_incident["own_id"], blue_incident["other_party"]) == ("BLU101", "red")
        assert (red_incident["own_id"], red_incident["other_party"]) == ("RED707", "blue")
        assert blue_incident["closest"]["distance_m"] < 9260.0
        assert blue_incident["closest"]["vertical_m"] < 1.0
        assert incidents["green"] == []

        comment = clients["red"].comment_incident(red_incident["id"], "no clearance was given")
        assert comment["party"] == "red"
        assert [c["text"] for c in clients["blue"].incident(blue_incident["id"])["comments"]] == [
            "no clearance was given"
        ]
        red_view = json.dumps([clients["red"].tracks(), clients["red"].alerts(), clients["red"].incidents()])
        green_view = json.dumps([clients["green"].tracks(), clients["green"].alerts(), incidents["green"]])
        for secret in ("BLU101", "VIPER1"):
            assert secret not in red_view and secret not in green_view
        assert "RED707" not in green_view and "REDCAP" not in green_view
        kinds = [e.get("kind") for e in clients["blue"].audit()["entries"] if e["visible"]]
        assert kinds.count("incident_recorded") == 1 and kinds.count("incident_closed") == 1
    code, out, err = run_main("audit", "verify", "--db", str(db), "--key", str(audit_key_file(db)))
    assert code == 0, out + err
