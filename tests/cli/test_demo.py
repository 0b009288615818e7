"""``deconflict demo``: the live scenario as a real process, its demo folder, and ``--plans-only``."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deconflict.demo.folder import DEMO_MARKER, prepare_folder
from deconflict.demo.scenario import load_scenario
from deconflict.errors import InputError
from tests.cli.conftest import run_cli, run_main

PARTIES = ["blue", "civil", "red"]


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path, float]:
    """45 s of the demo's scenario at speed 3, headless (the slow part, shared by the tests below)."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo" / "deconflict.db"
    started = time.monotonic()
    done = run_cli(
        "demo",
        "--duration",
        "15",
        "--speed",
        "3",
        "--json",
        "--port",
        "0",
        "--db",
        str(db),
        timeout_s=120.0,
        cwd=folder,
    )
    elapsed_s = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout), db, elapsed_s


def test_live_run_summary(live_run: tuple[dict[str, object], Path, float]) -> None:
    summary, db, elapsed_s = live_run
    assert elapsed_s < 45.0  # 15 s of demo, start-up and shutdown (about 20 s on an idle machine)
    assert summary["parties"] == PARTIES
    assert summary["database"] == str(db.resolve())
    assert str(summary["url"]).startswith("http://127.0.0.1:")
    assert 45.0 <= float(summary["elapsed_s"]) <= 60.0  # type: ignore[arg-type]  # scenario time
    operations = summary["operations"]
    assert isinstance(operations, dict) and operations["filed"] == 8
    conflicts = summary["conflicts"]
    assert isinstance(conflicts, dict) and conflicts["total"] > 0
    # The lifecycle moves of the script: acknowledged by both, accepted by both, resolved by amendment.
    assert {"acknowledged", "accepted", "resolved"} <= set(conflicts["by_state"])
    messages = summary["messages"]
    assert isinstance(messages, dict)
    assert {"accepted", "disputed", "read"} <= set(messages["by_state"])
    assert messages["overdue"] >= 1
    assert summary["escalations"] == 3  # the ladder 0, 10, 20 s past the missed deadline, within 45 s
    script = summary["script"]
    assert isinstance(script, dict) and script["failed"] == []


def test_live_run_posts_tracks_and_sees_alerts_and_an_incident(
    live_run: tuple[dict[str, object], Path, float],
) -> None:
    summary, _, _ = live_run
    tracks = summary["tracks"]
    assert isinstance(tracks, dict) and tracks["available"] is True
    assert tracks["states_posted"] >= tracks["aircraft"] * 12  # every aircraft, about once a wall second
    alerts = summary["alerts"]
    assert isinstance(alerts, dict) and alerts["total"] >= 2
    assert alerts["by_level"].get("loss", 0) >= 1
    incidents = summary["incidents"]
    assert isinstance(incidents, dict) and incidents["total"] >= 1
    script = summary["script"]
    assert isinstance(script, dict)
    assert script["skipped"] == [], "the incident steps find the incident"


def test_live_run_writes_credentials_into_the_demo_folder(
    live_run: tuple[dict[str, object], Path, float],
) -> None:
    summary, db, _ = live_run
    credentials = summary["credentials"]
    assert isinstance(credentials, dict) and sorted(credentials) == PARTIES
    for name, party in credentials.items():
        token_file = db.parent / f"{name}.token"
        assert party["token_file"] == str(token_file.resolve())
        assert token_file.read_text().strip() == party["token"]
        key = (db.parent / f"{name}.ed25519.pem").read_bytes()
        assert key.startswith(b"-----BEGIN PRIVATE KEY-----")
        assert (token_file.stat().st_mode & 0o777) == 0o600
    assert json.loads((db.parent / DEMO_MARKER).read_text())["database"] == db.name


def test_the_demo_database_verifies(live_run: tuple[dict[str, object], Path, float]) -> None:
    summary, db, _ = live_run
    key = db.parent / "server-audit-key.pub.pem"
    assert summary["audit_key"] == str(key.resolve())
    code, out, err = run_main("audit", "verify", "--db", str(db), "--key", str(key))
    assert (code, err) == (0, "")
    assert out.startswith("chain verified:")


def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path: Path) -> None:
    log = tmp_path / "out.txt"
    command = [sys.executable, "-m", "deconflict", "demo", "--port", "0", "--speed", "8"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60.0
        # At speed 8 the first incident's report (scenario time 50 s) comes after about 7 s.
        while "UNSAFE_ENCOUNTER_REPORT" not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        # While it runs: the map is served, and each party sees its own aircraft (and only them).
        running = log.read_text()
        url = re.search(r"map: +(http://127\.0\.0\.1:\d+)/", running)
        token = re.search(r"blue +\(.*\): token (\S+)", running)
        assert url is not None and token is not None, running
        with urllib.request.urlopen(url.group(1) + "/", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        request = urllib.request.Request(
            url.group(1) + "/v1/tracks", headers={"Authorization": f"Bearer {token.group(1)}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            picture = json.loads(answer.read())
        assert sorted(t["id"] for t in picture["own"]) == sorted(
            f.id for f in load_scenario().flights if f.party == "blue"
        )
        assert all(set(f) >= {"ref", "party"} and "id" not in f for f in picture["foreign"])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    text = log.read_text()
    assert "Ctrl-C stops the demo." in text
    assert "map:         http://127.0.0.1:" in text
    assert "interrupted: stopping" in text
    assert "Summary" in text and "parties:     blue, civil, red" in text
    assert "at speed 8" in text
    assert "escalation step 2 of" in text  # the deadline ladder runs on the scenario clock too
    assert "skipped" not in text and "step failed" not in text
    assert "Traceback" not in text
    assert (tmp_path / "demo" / "deconflict.db").is_file()


# --- the demo folder --------------------------------------------------------------------


def test_refuses_an_existing_database_that_is_not_a_demo(tmp_path: Path) -> None:
    db = tmp_path / "production.db"
    db.write_bytes(b"precious")
    code, out, err = run_main("demo", "--db", str(db), "--duration", "1", "--port", "0")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {db}: exists and is not a demo database")
    assert db.read_bytes() == b"precious"


def test_refuses_to_overwrite_a_token_file_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "red.token").write_text("someone's")
    with pytest.raises(InputError, match=re.escape("red.token: exists and is not a demo file")):
        prepare_folder(tmp_path / "deconflict.db", PARTIES)
    assert (tmp_path / "red.token").read_text() == "someone's"


def test_replaces_a_previous_demo_and_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "deconflict.db"
    assert prepare_folder(db, PARTIES) == db.parent
    marker = {"database": db.name, "files": ["deconflict.db", "blue.token", "notes.txt"]}
    (db.parent / DEMO_MARKER).write_text(json.dumps(marker))
    for name in ("deconflict.db", "blue.token", "notes.txt"):
        (db.parent / name).write_text("old")
    prepare_folder(db, PARTIES)
    assert not db.exists() and not (db.parent / "blue.token").exists()
    assert (db.parent / "notes.txt").read_text() == "old"  # not a file the demo writes
    assert not (db.parent / DEMO_MARKER).exists()


def test_a_marker_for_another_database_does_not_count(tmp_path: Path) -> None:
    (tmp_path / DEMO_MARKER).write_text(json.dumps({"database": "other.db", "files": ["mine.db"]}))
    (tmp_path / "mine.db").write_text("data")
    with pytest.raises(InputError, match=re.escape("mine.db: exists and is not a demo database")):
        prepare_folder(tmp_path / "mine.db", PARTIES)


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, _, err = run_main(
            "demo", "--db", str(tmp_path / "d" / "x.db"), "--port", str(port), "--duration", "1"
        )
    assert code == 2
    assert err.startswith(f"error: --port: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-1", "nan", "fast"])
def test_bad_speed_and_duration_are_usage_errors(value: str) -> None:
    for option in ("--speed", "--duration"):
        code, out, err = run_main("demo", option, value)
        assert (code, out) == (2, "")
        assert option in err


def test_help_names_the_options() -> None:
    code, out, _ = run_main("demo", "--help")
    assert code == 0
    for option in ("--db", "--host", "--port", "--duration", "--speed", "--json", "--plans-only"):
        assert option in out


ADSB = Path(__file__).resolve().parents[1] / "data" / "adsb" / "quickstart-slices.csv.gz"


def test_adsb_recording_is_replayed_as_civil_traffic(tmp_path: Path) -> None:
    done = run_cli(
        "demo",
        *("--duration", "6", "--speed", "10", "--json", "--port", "0", "--adsb", str(ADSB)),
        timeout_s=90.0,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    replayed = json.loads(done.stdout)["adsb"]
    assert replayed["file"] == str(ADSB)
    assert replayed["error"] is None and replayed["complete"] is False  # the file lasts 12 minutes
    # The recording has tens of aircraft reporting every second, replayed ten times as fast: far
    # more than 100 states even when a loaded machine starts the replay late in the 6 s.
    assert replayed["states_posted"] > 100
    assert replayed["accepted"] <= replayed["states_posted"]


def test_a_bad_recording_is_refused_before_anything_starts(tmp_path: Path) -> None:
    recording = tmp_path / "tracks.csv"
    recording.write_text("id,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\nA1,35.0,39.0,9000,230,90,0\n")
    code, out, err = run_main("demo", "--adsb", str(recording), "--db", str(tmp_path / "d" / "x.db"))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {recording}: ")
    assert "time_s" in err
    assert not (tmp_path / "d").exists()
