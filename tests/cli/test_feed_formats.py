"""``detect``, ``replay`` and ``feed`` on BaseStation, OpenSky, Beast and ASTERIX files, and ``feed --source``
of a live BaseStation receiver and of ASTERIX datagrams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.tactical.tracks import Tracks
from tests.feeds.beast_encoder import beast_capture
from tests.feeds.derived import opensky_history_csv, opensky_rest, real_tracks, sbs_lines
from tests.feeds.test_live import Receiver, _lines

SLICE_END_S = 1633609701.0  # the sample's first slice (5 min)


def first_slice() -> Tracks:
    t = real_tracks()
    assert t.time_s is not None
    keep = t.time_s < SLICE_END_S
    return Tracks(t.source, t.row[keep], t.ids[keep], t.callsigns[keep], t.time_s[keep], t.states.take(keep))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recordings")
    tracks = first_slice()
    s = tracks.states
    assert tracks.time_s is not None
    csv_rows = [
        f"{tracks.time_s[k]:.0f},{tracks.ids[k]},{tracks.callsigns[k]},{s.lat_deg[k]},{s.lon_deg[k]},"
        f"{s.alt_m[k]},{s.gs_mps[k]},{s.trk_deg[k]},{s.vs_mps[k]}"
        for k in range(len(tracks))
    ]
    files = {
        "csv": (
            "t.csv",
            "time_s,icao24,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n" + "\n".join(csv_rows),
        ),
        "sbs": ("t.sbs", "\n".join(sbs_lines(tracks)) + "\n"),
        "rest": ("t.json", opensky_rest(tracks)),
        "history": ("sv.csv", opensky_history_csv(tracks)),
    }
    paths = {}
    for name, (file_name, text) in files.items():
        paths[name] = folder / file_name
        paths[name].write_text(text)
    paths["beast"] = folder / "t.bin"
    paths["beast"].write_bytes(beast_capture(tracks))
    return paths


def _replay(path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, dict[str, Any], str]:
    code = main(["replay", "--json", *flags, str(path)])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_replay_finds_the_same_incidents_in_every_format(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, expected, _ = _replay(recordings["csv"], capsys)
    pairs = {(i["a"], i["b"]) for i in expected["incidents"]}
    assert code == 1 and pairs
    for name in ("sbs", "rest", "history"):
        code, doc, err = _replay(recordings[name], capsys)
        assert code == 1 and {(i["a"], i["b"]) for i in doc["incidents"]} == pairs, name
        assert doc["rows"] == expected["rows"]
        assert "records" in err and "dropped" not in err
    code, doc, _ = _replay(recordings["sbs"], capsys, "--format", "sbs")
    assert code == 1


def test_replay_and_detect_read_a_beast_capture_from_its_start_time(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, expected, _ = _replay(recordings["csv"], capsys)
    start = f"{first_slice().time_s.min():.0f}"  # type: ignore[union-attr]
    code, doc, err = _replay(recordings["beast"], capsys, "--start-time", start)
    assert code == 1 and {(i["a"], i["b"]) for i in doc["incidents"]} == {
        (i["a"], i["b"]) for i in expected["incidents"]
    }
    # each aircraft's first position waits for its CPR pair
    assert "beast" in err and "no_position" in err and doc["rows"] < expected["rows"]
    code, relative, _ = _replay(recordings["beast"], capsys, "--format", "beast")
    assert code == 1 and relative["incidents"][0]["start_s"] < 1e6 < doc["incidents"][0]["start_s"]
    assert main(["detect", "--json", "--reference", "49.0,2.5", str(recordings["beast"])]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["aircraft"] > 0
    assert main(["detect", "--reference", "91,0", str(recordings["beast"])]) == 2
    assert "--reference: must be a latitude within [-90, 90]" in capsys.readouterr().err


def test_detect_takes_the_latest_state_of_each_aircraft_of_a_recording(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    aircraft = len(set(first_slice().ids.tolist()))
    documents = []
    for name in ("sbs", "rest", "history"):
        code = main(["detect", "--json", str(recordings[name])])
        out, _ = capsys.readouterr()
        doc = json.loads(out)
        assert code in (0, 1) and doc["aircraft"] + sum(doc["ignored"].values()) == aircraft, name
        documents.append({(c["a"], c["b"]) for c in doc["conflicts"]})
    assert documents[0] == documents[1] == documents[2]


def test_a_wrong_format_is_exit_2(recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--format", "csv", str(recordings["sbs"])]) == 2
    assert "missing column" in capsys.readouterr().err
    assert main(["replay", "--format", "sbs", str(recordings["csv"])]) == 2
    assert "t.csv: no sbs record in the file (another format? see --format)" in capsys.readouterr().err


def test_feed_replays_a_capture(
    recordings: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deconflict.client import ChannelClient

    posted: list[dict[str, Any]] = []

    def post_tracks(client: ChannelClient, states: list[dict[str, Any]]) -> dict[str, int]:
        posted.extend(states)
        return {"accepted": len(states)}

    monkeypatch.setattr(ChannelClient, "post_tracks", post_tracks)
    argv = ["feed", "--url", "http://127.0.0.1:9", "--token", "t", "--speed", "100000", "--batch-s", "0.01"]
    assert main([*argv, "--source", str(recordings["sbs"])]) == 0
    rows = len(first_slice())
    assert len(posted) == rows and posted[0]["id"] == "0101de" and posted[0]["callsign"] == "MSR799"
    assert capsys.readouterr().out.startswith(f"fed {rows} of {rows} states from ")


def test_feed_relays_a_live_receiver_that_drops_and_comes_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    from deconflict.client import ChannelClient

    posted: list[dict[str, Any]] = []

    def post_tracks(client: ChannelClient, states: list[dict[str, Any]]) -> dict[str, int]:
        posted.extend(states)
        return {"accepted": len(states)}

    monkeypatch.setattr(ChannelClient, "post_tracks", post_tracks)
    now = time.gmtime()
    stamp = f"{now.tm_year:04d}/{now.tm_mon:02d}/{now.tm_mday:02d}"
    fresh = _lines("4CA2D6", 1).replace(b"2024/05/01", stamp.encode())
    fresh = fresh.replace(b"12:00:01.000", time.strftime("%H:%M:%S.000", now).encode())
    receiver = Receiver([fresh + b"garbage\n", _lines("4CA2D7", 1)])  # the second one is stale
    try:
        argv = [
            "feed",
            "--url",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--batch-s",
            "0.2",
            "--max-seconds",
            "2",
        ]
        assert main([*argv, "--source", f"sbs://127.0.0.1:{receiver.port}"]) == 0
    finally:
        receiver.close()
    out = capsys.readouterr().out
    assert [p["id"] for p in posted] == ["4ca2d6"]
    assert "1 stale" in out and "lines dropped: garbage 1" in out and "2 connection(s)" in out, out


def _planted_encounter() -> bytes:
    """Two aircraft head-on at FL350, 20 NM apart at 450 kt each: one an ADS-B ground station's
    CAT021 target, the other an SDPS's CAT062 track without an aircraft address; reports every
    4 s for 80 s, a data block of each category per report time."""
    from tests.feeds.asterix_encoder import cat021_record, cat062_record, data_block

    start_s = 1714564800.0  # 2024-05-01T12:00:00Z
    blocks = []
    speed_deg_per_s = 450.0 / 3600.0 / 60.0  # 450 kt along a meridian
    for k in range(21):
        time_s = start_s + 4.0 * k
        north = 48.0 + 4.0 * k * speed_deg_per_s
        south = 48.0 + 20.0 / 60.0 - 4.0 * k * speed_deg_per_s
        blocks.append(
            data_block(21, [cat021_record(0x40621D, time_s, north, 2.0, 35000, 450, 0.0, 0, "KLM1")])
        )
        track = cat062_record(7, time_s, south, 2.0, 35000, 450 * 1852 / 3600, 180.0, 0, "AFR2")
        blocks.append(data_block(62, [track]))
    return b"".join(blocks)


def test_replay_alerts_on_an_encounter_planted_in_an_asterix_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "encounter.ast"
    path.write_bytes(_planted_encounter())
    code, doc, err = _replay(path, capsys, "--start-time", "2024-05-01")
    assert code == 1 and doc["rows"] == 42, err
    assert "asterix" in err and "dropped" not in err
    assert {(a["a"], a["b"]) for a in doc["alerts"]} == {("40621d", "track-25-10-7")}
    # 20 NM closing at 900 kt: 5 NM apart 60 s after the first report
    assert {(i["a"], i["b"]) for i in doc["incidents"]} == {("40621d", "track-25-10-7")}
    assert doc["incidents"][0]["start"].startswith("2024-05-01T12:01")
    assert main(["detect", "--json", "--format", "asterix", str(path)]) == 1
    assert json.loads(capsys.readouterr().out)["aircraft"] == 2


def test_detect_reads_the_shipped_asterix_samples(capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).parents[1] / "data" / "adsb" / "quickstart-60s.cat062.ast.gz"
    code = main(["detect", "--start-time", "2021-10-07T12:23:21Z", str(sample)])
    out, err = capsys.readouterr()
    assert code == 1 and "among 24 aircraft" in out
    assert "asterix, 1,273 records, 1,270 states" in err and "(bad_record 1, garbage 1, truncated 1)" in err
    assert "track-25-10-5 AFR91QD" in out  # a track without an aircraft address
    assert f"{sample}: record at byte 23108: I062/105: bad_record: " in err


def test_feed_relays_asterix_datagrams(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import threading
    import time

    from deconflict.client import ChannelClient
    from tests.feeds.asterix_encoder import cat021_record, data_block

    posted: list[dict[str, Any]] = []

    def post_tracks(client: ChannelClient, states: list[dict[str, Any]]) -> dict[str, int]:
        posted.extend(states)
        return {"accepted": len(states)}

    monkeypatch.setattr(ChannelClient, "post_tracks", post_tracks)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])

    def send() -> None:
        time.sleep(0.5)
        now_s = time.time()
        fresh = cat021_record(0x40621D, now_s, 48.5, 2.0, 35000, 450, 90, 0, "KLM1")
        stale = cat021_record(0x3944F1, now_s - 600, 48.0, 2.0, 30000, 400, 10, 0)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(data_block(21, [fresh, stale]) + b"\x00\xff", ("127.0.0.1", port))

    sender = threading.Thread(target=send)
    sender.start()
    argv = ["feed", "--url", "http://127.0.0.1:9", "--token", "t", "--batch-s", "0.2", "--max-seconds", "2"]
    try:
        assert main([*argv, "--source", f"asterix+udp://127.0.0.1:{port}"]) == 0
    finally:
        sender.join()
    out = capsys.readouterr().out
    assert [p["id"] for p in posted] == ["40621d"]
    assert "3 records over 1 bind(s)" in out and "1 stale" in out and "records dropped: garbage 1" in out, out
