"""BaseStation reading: the real trajectories back from a derived capture, hostile lines, and the
array path against the line-by-line reference (:class:`SbsAssembler`)."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pytest

from deconflict.feeds import FeedState, SbsAssembler, assemble_sbs, detect_format, read_feed
from tests.feeds.derived import real_tracks, sbs_lines

STAMP = "2024/05/01,12:00:{:02d}.000,2024/05/01,12:00:{:02d}.000"


def msg(kind: int, second: int, rest: str, ident: str = "4CA2D6") -> str:
    return f"MSG,{kind},1,1,{ident},1,{STAMP.format(second, second)},{rest}"


VELOCITY = (
    ",,450,90.0,,,-640,,,,,0"  # callsign, alt, gs, trk, lat, lon, vr, squawk, alert, emerg, spi, ground
)
POSITION = ",35000,,,48.5,2.25,,,0,0,0,0"


def reference(lines: list[str]) -> tuple[list[FeedState], dict[str, int]]:
    assembler = SbsAssembler("ref", forget_s=1e12)
    states = [s for row, line in enumerate(lines, 1) if (s := assembler.line(line, row)) is not None]
    return states, dict(assembler.drops.counts)


def test_the_real_trajectories_come_back_from_their_capture() -> None:
    tracks = real_tracks()
    reading = assemble_sbs(sbs_lines(tracks), "capture.sbs")
    got = reading.tracks
    assert reading.drops.total == 0 and len(got) == len(tracks)
    assert got.ids.tolist() == tracks.ids.tolist()
    assert got.callsigns.tolist() == tracks.callsigns.tolist()
    assert np.array_equal(got.time_s, tracks.time_s)
    s, t = got.states, tracks.states
    assert np.allclose(s.lat_deg, t.lat_deg, atol=1e-5) and np.allclose(s.lon_deg, t.lon_deg, atol=1e-5)
    assert np.allclose(s.alt_m, t.alt_m, atol=0.2)  # whole feet
    assert np.allclose(s.gs_mps, t.gs_mps, atol=0.03)  # 0.1 kt
    assert np.allclose(s.vs_mps, t.vs_mps, atol=0.003)  # whole ft/min
    trk = np.abs((s.trk_deg - t.trk_deg + 180.0) % 360.0 - 180.0)
    assert trk.max() <= 0.051


def test_the_array_path_agrees_with_the_line_by_line_reference() -> None:
    lines = sbs_lines(real_tracks())[:6000]
    lines[10:10] = ["garbage", msg(3, 1, ",35000,,,abc,2.25,,,0,0,0,0"), "MSG,3,1,1", msg(9, 1, POSITION)]
    lines[500:500] = [msg(3, 2, ",35000,,,48.5,200.0,,,0,0,0,0"), msg(4, 2, ",,450,400,,,0,,,,,0")]
    lines[900:900] = [
        msg(3, 2, POSITION, "XYZ123"),
        "MSG,3,1,1,4CA2D6,1,2024/13/01,12:00:00,,,,35000,,,1,1,,,,,,0",
    ]
    reading = assemble_sbs(lines, "c.sbs", chunk_lines=1000)  # several chunks
    states, drops = reference(lines)
    assert dict(reading.drops.counts) == drops
    t = reading.tracks
    assert t.row.tolist() == [s.row for s in states]
    assert t.ids.tolist() == [s.id for s in states]
    assert t.callsigns.tolist() == [s.callsign for s in states]
    assert np.array_equal(t.time_s, [s.time_s for s in states])
    for name in ("lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps"):
        assert np.array_equal(getattr(t.states, name), [getattr(s, name) for s in states]), name


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("$GPGGA,123519,4807.038,N", "garbage"),
        ("\x00\x01\x02", "garbage"),
        ("MSG,3,1,1,4CA2D6,1,2024/05/01,12:00:01.000", "truncated"),
        (msg(9, 1, POSITION), "bad_type"),
        (msg(3, 1, POSITION, "4CA2DZ"), "bad_ident"),
        ("MSG,3,1,1,4CA2D6,1,2024/05/01,25:00:01.000,,," + POSITION, "bad_time"),
        ("MSG,3,1,1,4CA2D6,1,2024/02/30,12:00:01.000,,," + POSITION, "bad_time"),
        (msg(3, 1, ",35000,,,48.5x,2.25,,,0,0,0,0"), "bad_number"),
        (msg(3, 1, ",35000,,,nan,2.25,,,0,0,0,0"), "bad_number"),
        (msg(3, 1, ",35000,,,91.0,2.25,,,0,0,0,0"), "out_of_range"),
        (msg(4, 1, ",,-5,90,,,0,,,,,0"), "out_of_range"),
        (msg(3, 1, POSITION), "no_velocity"),
    ],
)
def test_a_hostile_line_is_dropped_and_counted_never_raised(line: str, reason: str) -> None:
    lines = [msg(4, 0, VELOCITY, "ABCDEF"), line, msg(3, 1, POSITION, "ABCDEF")]
    reading = assemble_sbs(lines, "c.sbs")
    assert len(reading.tracks) == 1 and reading.tracks.ids.tolist() == ["abcdef"]
    assert dict(reading.drops.counts) == {reason: 1}
    assert reading.drops.examples[0].record == "row 2"
    assert reference(lines)[1] == {reason: 1}


def test_assembly_rule_velocity_age_altitude_callsign_and_ground() -> None:
    lines = [
        msg(1, 0, "AFR123  ,,,,,,,,,,,0"),
        msg(4, 0, VELOCITY),
        msg(3, 5, ",,,,48.5,2.25,,,0,0,0,0"),  # no altitude of its own, none before: dropped
        msg(5, 6, ",34000,,,,,,,0,,0,0"),
        msg(3, 7, ",,,,48.5,2.25,,,0,0,0,-1"),  # altitude from MSG,5; ground flag set
        msg(3, 20, POSITION),  # velocity 20 s old: dropped
    ]
    reading = assemble_sbs(lines, "c.sbs")
    assert dict(reading.drops.counts) == {"no_altitude": 1, "no_velocity": 1}
    t = reading.tracks
    assert t.row.tolist() == [5] and t.callsigns.tolist() == ["AFR123"]
    assert t.states.alt_m[0] == pytest.approx(34000 * 0.3048)
    assert t.on_ground is not None and t.on_ground.tolist() == [True]
    assert t.states.vs_mps[0] == pytest.approx(-640 * 0.3048 / 60)


def test_files_are_detected_and_read_gzip_too(tmp_path: Path) -> None:
    lines = [msg(4, 0, VELOCITY), msg(3, 1, POSITION), "\xff\xfe not utf-8"]
    path = tmp_path / "capture.sbs.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode("utf-8", "surrogateescape")))
    assert detect_format(path) == "sbs"
    reading = read_feed(path)
    assert reading.format == "sbs" and len(reading.tracks) == 1 and reading.records == 3
    assert dict(reading.drops.counts) == {"garbage": 1}


def test_a_read_logs_its_summary_and_first_drops(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.sbs"
    path.write_text("\n".join([msg(4, 0, VELOCITY), msg(3, 1, POSITION), "junk"]) + "\n")
    with caplog.at_level(logging.DEBUG, logger="deconflict.feeds"):
        read_feed(path)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: 3 records read, 1 dropped (garbage 1)",
        f"{path}: row 3: garbage: not a BaseStation line: 'junk'",
    ]
