"""``deconflict feed``: re-timing and batching of a recorded file, and its errors (exit 2)."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.demo.feed import feed
from deconflict.strategic.geojson import parse_datetime_s
from tests.builders import STATE_MOTION_FIELDS

HEADER = "time_s,id,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"
REC0_S = 1_600_000_000.0
START_S = 1_790_000_000.0


def write_tracks(path: Path, rows: list[str]) -> Path:
    text = HEADER + "".join(r + "\n" for r in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def recording(path: Path, seconds: int = 10, aircraft: int = 3) -> Path:
    """``aircraft`` aircraft reporting every second for ``seconds`` s (rows written newest first)."""
    rows = [
        f"{REC0_S + t:.0f},A{a},CS{a},35.0,{36.0 + a * 0.1 + t * 0.001:.4f},3000,100,90,0"
        for t in range(seconds, -1, -1)
        for a in range(aircraft)
    ]
    return write_tracks(path, rows)


class FakeTime:
    """Wall clock and sleep that only move when slept."""

    def __init__(self, start_s: float) -> None:
        self.now_s = start_s
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        assert seconds > 0.0
        self.slept.append(seconds)
        self.now_s += seconds


def run(path: Path, **options: Any) -> tuple[list[tuple[float, list[dict[str, Any]]]], Any, FakeTime]:
    fake = FakeTime(START_S)
    posts: list[tuple[float, list[dict[str, Any]]]] = []

    def post(batch: list[dict[str, Any]]) -> int:
        posts.append((fake.now_s, batch))
        return len(batch) - 1

    summary = feed(path, post, clock=fake.clock, sleep=fake.sleep, **options)
    return posts, summary, fake


@pytest.mark.parametrize("name", ["tracks.csv", "tracks.csv.gz"])
def test_a_recording_is_re_timed_to_now_and_posted_as_it_falls_due(tmp_path: Path, name: str) -> None:
    posts, summary, fake = run(recording(tmp_path / name), speed=2.0, batch_s=1.0)
    assert summary.rows == summary.posted == 33 and summary.complete
    assert summary.accepted == 33 - summary.posts
    for posted_at_s, batch in posts:
        for state in batch:
            # The recording's first time is the start; 2 recorded seconds per second.
            time_s = parse_datetime_s(state["time"])
            assert time_s <= posted_at_s + 1e-6  # never posted before it is due
            assert time_s > posted_at_s - 1.0 - 1e-6  # nor more than one batch late
    first = posts[0][1]
    assert {s["id"] for s in first} == {"A0", "A1", "A2"}
    assert all(parse_datetime_s(s["time"]) == START_S for s in first)
    assert first[0].keys() == {"id", "callsign", *STATE_MOTION_FIELDS}
    last = posts[-1][1]
    assert max(parse_datetime_s(s["time"]) for s in last) == START_S + 10 / 2.0
    assert fake.now_s - START_S == pytest.approx(5.0, abs=0.01)


def test_batches_respect_the_service_limit_and_max_seconds_stops_early(tmp_path: Path) -> None:
    posts, summary, _ = run(recording(tmp_path / "t.csv", seconds=100, aircraft=7), max_batch=4, batch_s=2.0)
    assert all(len(batch) <= 4 for _, batch in posts)
    assert summary.posted == 707
    posts, summary, fake = run(recording(tmp_path / "t.csv", seconds=100, aircraft=2), max_seconds=10.0)
    assert not summary.complete
    assert fake.now_s - START_S <= 11.0
    assert 18 <= summary.posted <= 24  # about 11 of the 101 recorded seconds


def test_a_bad_file_exits_2_naming_file_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_tracks(
        tmp_path / "bad.csv",
        [f"{REC0_S:.0f},A1,,35.0,36.0,3000,100,90,0", f"{REC0_S:.0f},A2,,95.0,36.0,3000,100,90,0"],
    )
    code = main(["feed", "--url", "http://127.0.0.1:9", "--token", "t", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.csv" in err and "row 3" in err and "lat_deg" in err
    missing = main(["feed", "--url", "http://127.0.0.1:9", "--token", "t", str(tmp_path / "none.csv")])
    assert missing == 2 and "none.csv" in capsys.readouterr().err


def test_an_unreachable_service_exits_2_naming_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code = main(["feed", "--url", url, "--token", "t", str(recording(tmp_path / "t.csv", seconds=1))])
    err = capsys.readouterr().err
    assert code == 2
    assert url in err and "cannot reach" in err


@pytest.mark.parametrize("option", [["--speed", "0"], ["--batch-s", "-1"], ["--max-seconds", "nan"]])
def test_bad_options_are_usage_errors(tmp_path: Path, option: list[str]) -> None:
    path = recording(tmp_path / "t.csv", seconds=1)
    assert main(["feed", "--url", "http://127.0.0.1:9", "--token", "t", *option, str(path)]) == 2


def test_ctrl_c_stops_the_feed_and_says_what_was_fed(tmp_path: Path) -> None:
    fake = FakeTime(START_S)
    batches: list[int] = []

    def post(batch: list[dict[str, Any]]) -> int:
        if len(batches) == 2:
            raise KeyboardInterrupt
        batches.append(len(batch))
        return len(batch)

    path = recording(tmp_path / "t.csv")
    summary = feed(path, post, clock=fake.clock, sleep=fake.sleep)
    assert summary.interrupted and not summary.complete
    assert (summary.posted, summary.accepted, summary.posts) == (sum(batches), sum(batches), 2)


def test_feed_takes_url_and_token_from_the_environment_and_ctrl_c_is_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deconflict.client import ChannelClient

    seen: list[tuple[str, int]] = []

    def post_tracks(client: ChannelClient, states: list[dict[str, Any]]) -> dict[str, int]:
        if seen:
            raise KeyboardInterrupt
        seen.append((client.url, len(states)))
        assert client._token == "env-token"
        return {"accepted": len(states)}

    monkeypatch.setattr(ChannelClient, "post_tracks", post_tracks)
    monkeypatch.setenv("DECONFLICT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DECONFLICT_TOKEN", "env-token")
    path = recording(tmp_path / "t.csv")
    assert main(["feed", "--speed", "1000", "--batch-s", "0.001", str(path)]) == 130
    out = capsys.readouterr().out
    assert seen == [("http://127.0.0.1:9", 3)]
    assert out.startswith(f"fed 3 of 33 states from {path} to http://127.0.0.1:9 in 1 posts over ")
    assert out.endswith(
        "3 accepted (interrupted by Ctrl-C; a post then under way may or may not have been stored)\n"
    )


def test_ground_flags_travel_with_the_states(tmp_path: Path) -> None:
    text = "time_s,id,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps,on_ground\n"
    text += f"{REC0_S:.0f},G1,35.0,36.0,120,5,90,0,true\n{REC0_S:.0f},A1,35.0,36.1,120,60,90,0,false\n"
    path = tmp_path / "ground.csv"
    path.write_text(text)
    posts, summary, _ = run(path)
    states = {s["id"]: s for _, batch in posts for s in batch}
    assert summary.posted == 2
    assert states["G1"].get("on_ground") is True
    assert "on_ground" not in states["A1"]  # airborne is the service's default


def test_the_summary_counts_the_states_the_service_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deconflict.client import ChannelClient

    def post_tracks(client: ChannelClient, states: list[dict[str, Any]]) -> dict[str, Any]:
        return {"accepted": len(states) - 1, "refused": {"ground_speed": 1}}

    monkeypatch.setattr(ChannelClient, "post_tracks", post_tracks)
    path = recording(tmp_path / "t.csv", seconds=1, aircraft=2)
    argv = ["feed", "--url", "http://127.0.0.1:9", "--token", "t", "--speed", "1000", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.endswith("; 2 accepted; 2 refused (ground_speed 2)\n"), out
