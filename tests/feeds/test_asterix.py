"""ASTERIX reading: the real trajectories back from CAT021 and CAT062 recordings (libasterix's
encoder and parser), the block framing's resynchronisation, what each item means, dates of
times of day, and hostile input counted with the record's byte offset and item, never raised."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deconflict.errors import InputError
from deconflict.feeds import detect_format, read_feed
from deconflict.feeds.asterix import AsterixAssembler, assemble_asterix, scan_blocks
from deconflict.tactical.tracks import Tracks
from tests.feeds.asterix_encoder import (
    START_S,
    _first_minute_tracks,
    cat021_record,
    cat062_record,
    data_block,
    first_minute,
    recording,
)

DATA = Path(__file__).parent.parent / "data" / "adsb"
KLM, AFR = 0x40621D, 0x3944F1
NOON_S = 1714564800.0  # 2024-05-01T12:00:00Z


@pytest.fixture(scope="module")
def tracks() -> Tracks:
    return _first_minute_tracks()


@pytest.mark.parametrize("category", [21, 62])
def test_the_real_trajectories_come_back_from_their_recording(tracks: Tracks, category: int) -> None:
    reading = assemble_asterix(recording(tracks, category), f"c.cat{category}", start_s=START_S)
    got = reading.tracks
    assert reading.records == len(tracks) and reading.drops.total == 0 and len(got) == len(tracks)
    assert got.time_s is not None and tracks.time_s is not None
    assert np.array_equal(got.time_s, tracks.time_s)  # dated from --start-time's day
    s, t = got.states, tracks.states
    assert got.callsigns.tolist() == tracks.callsigns.tolist()
    assert np.abs(s.lat_deg - t.lat_deg).max() < 1e-5 and np.abs(s.lon_deg - t.lon_deg).max() < 1e-5
    assert np.abs(s.alt_m - t.alt_m).max() <= 12.5 * 0.3048 + 1e-6  # flight level in quarters: 25 ft
    assert np.abs(s.gs_mps - t.gs_mps).max() < 0.3
    moving = t.gs_mps > 5.0
    turn = np.abs((s.trk_deg - t.trk_deg + 180.0) % 360.0 - 180.0)
    assert turn[moving].max() < 0.5
    assert np.abs(s.vs_mps - t.vs_mps).max() <= 3.125 * 0.00508 + 1e-6  # 6.25 ft/min steps
    if category == 21:
        assert got.ids.tolist() == tracks.ids.tolist()
        assert got.on_ground is not None and not got.on_ground.any()  # GBS not set
    else:  # every fifth aircraft's track has no address: known by its track number
        ids = set(got.ids.tolist())
        tracked = {i for i in ids if i.startswith("track-25-10-")}
        assert len(tracked) == len(set(tracks.ids.tolist())) // 5 and len(ids) == len(
            set(tracks.ids.tolist())
        )
        assert {i for i in ids if not i.startswith("track-")} <= set(tracks.ids.tolist())


def test_the_shipped_samples_are_the_encoders_and_keep_their_hostile_bytes() -> None:
    for category, item in ((21, "I021/131"), (62, "I062/105")):
        sample = DATA / f"quickstart-60s.cat{category:03d}.ast.gz"
        assert gzip.decompress(sample.read_bytes()) == first_minute(category)
        assert detect_format(sample) == "asterix"
        reading = read_feed(sample, start_s=START_S)
        assert dict(reading.drops.counts) == {"garbage": 1, "truncated": 1, "bad_record": 1}
        assert len(set(reading.tracks.ids.tolist())) == 24 and len(reading.tracks) > 1200
        messages = [str(p) for p in reading.drops.examples]
        bad = next(m for m in messages if "bad_record" in m)
        assert bad.startswith(f"{sample}: record at byte ") and f": {item}: bad_record: " in bad, bad
        offset = int(bad.split("record at byte ")[1].split(":")[0])
        data = gzip.decompress(sample.read_bytes())
        assert data[offset] & 0x01  # a field specification starts there (it goes on)
        assert any(m.startswith(f"{sample}: byte ") and "garbage" in m for m in messages)


def test_blocks_resynchronise_after_garbage_and_a_cut_block() -> None:
    one = data_block(21, [cat021_record(KLM, NOON_S, 48.5, 2.0, 35000, 450, 90, 0)])
    other = bytes([23, 0, 6, 0x80, 25, 10])  # a CAT023 service message: read, skipped
    data = b"\x00\xff" + one + other + one + one[:-4] + one + one[:7]
    scan = scan_blocks(data)
    assert [b.category for b in scan.blocks] == [21, 23, 21, 21]
    assert scan.garbage == [(0, 2)]
    assert scan.truncated == [(2 + 2 * len(one) + len(other), 4), (len(data) - 7, len(one) - 7)]
    reading = assemble_asterix(data, "x.ast", start_s=NOON_S)
    assert dict(reading.drops.counts) == {"garbage": 1, "truncated": 2}
    assert len(reading.tracks) == 3 and set(reading.tracks.ids.tolist()) == {"40621d"}


def test_what_the_items_say() -> None:
    records = [
        cat021_record(KLM, NOON_S, 48.5, 2.0, None, 15.0, 270.0, None, "KLM1", ground=1),  # no altitude
        cat021_record(KLM, NOON_S + 1, 48.5, 2.0, 0, 15.0, 270.0, None, ground=1),
        cat021_record(AFR, NOON_S + 1, 48.0, 2.0, 30000, None, None, None, address_type=3),  # no velocity
    ]
    reading = assemble_asterix(data_block(21, records), "x.ast", start_s=NOON_S)
    assert dict(reading.drops.counts) == {"no_altitude": 1, "no_velocity": 1}
    t = reading.tracks
    assert t.ids.tolist() == ["40621d"] and t.callsigns.tolist() == ["KLM1"] and t.row.tolist() == [2]
    assert t.on_ground is not None and t.on_ground.tolist() == [True]
    assert abs(float(t.states.trk_deg[0]) - 270.0) < 0.01 and float(t.states.vs_mps[0]) == 0.0
    assert {str(p) for p in reading.drops.examples} == {
        "x.ast: row 1: no_altitude: no altitude within 10 s",
        "x.ast: row 3: no_velocity: no velocity within 10 s",
    }
    anonymous = [cat021_record(AFR, NOON_S, 48.0, 2.0, 30000, 400, 10, 0, address_type=3)]
    assert assemble_asterix(data_block(21, anonymous), "x").tracks.ids.tolist() == ["~3944f1"]
    tracked = [
        cat062_record(7, NOON_S, 48.5, 2.0, 1000, 10.0, 0.0, 0.0, surface=1),
        cat062_record(7, NOON_S + 4, 48.5, 2.0, 1000, 10.0, 90.0, 0.0, "AFR12", icao24=AFR, surface=0),
        cat062_record(7, NOON_S + 8, 48.5, 2.0, None, 10.0, 180.0, 0.0),  # the address stays
    ]
    t = assemble_asterix(data_block(62, tracked), "y.ast", start_s=NOON_S).tracks
    assert t.ids.tolist() == ["track-25-10-7", "3944f1", "3944f1"]
    assert t.on_ground is not None and t.on_ground.tolist() == [True, False, False]
    assert np.allclose(t.states.trk_deg, [0.0, 90.0, 180.0]) and np.allclose(t.states.gs_mps, 10.0)
    assert t.callsigns.tolist() == ["", "AFR12", "AFR12"] and np.allclose(t.states.alt_m, 1000 * 0.3048)


def test_bad_records_name_their_byte_offset_and_item() -> None:
    good = cat021_record(KLM, NOON_S, 48.5, 2.0, 35000, 450, 90, 0)
    north = cat021_record(AFR, NOON_S, 95.0, 2.0, 35000, 450, 90, 0)  # beyond the pole
    block = data_block(21, [good, north, good])
    reading = assemble_asterix(block, "x.ast", start_s=NOON_S)
    assert dict(reading.drops.counts) == {"out_of_range": 1} and len(reading.tracks) == 2
    size = len(bytes(good.unparse().to_bytes()))
    assert str(reading.drops.examples[0]) == (
        f"x.ast: record at byte {3 + size}: I021/131 LAT: out_of_range: latitude must be within "
        "[-90, 90], got 95.000000"
    )
    from asterix.generated import Cat_021_2_7

    no_time = Cat_021_2_7.cv_record.create({"010": ((("SAC", 1), ("SIC", 2))), "080": KLM})
    reading = assemble_asterix(data_block(21, [no_time]), "y.ast")
    assert [str(p) for p in reading.drops.examples] == [
        "y.ast: record at byte 3: I021/071 or I021/073 or I021/077: no_time: no time of day"
    ]
    no_number = data_block(62, [cat062_record(1, NOON_S, 48.0, 2.0, 100, 1, 1, 0).del_item("040")])
    reading = assemble_asterix(no_number, "z.ast")
    assert [str(p) for p in reading.drops.examples] == [
        "z.ast: record at byte 3: I062/040: no_identity: no track number"
    ]


def test_times_of_day_are_dated_from_the_start_and_run_past_midnight() -> None:
    midnight_s = 1714608000.0  # 2024-05-02T00:00:00Z
    records = [
        cat021_record(KLM, midnight_s - 1, 48.5, 2.0, 35000, 450, 90, 0),
        cat021_record(KLM, midnight_s + 1, 48.5, 2.01, 35000, 450, 90, 0),
    ]
    data = data_block(21, records)
    start = assemble_asterix(data, "x", start_s=midnight_s - 3600).tracks.time_s
    assert start is not None and start.tolist() == [midnight_s - 1, midnight_s + 1]
    # a start given just after midnight: the first record's 23:59:59 is the day before it...
    late = assemble_asterix(data, "x", start_s=midnight_s - 86400).tracks.time_s
    assert late is not None and late.tolist() == [midnight_s - 1, midnight_s + 1]
    # ... and without a start, times are seconds from 1970-01-01 00:00 UTC
    plain = assemble_asterix(data, "x").tracks.time_s
    assert plain is not None and plain.tolist() == [86399.0, 86401.0]
    live = AsterixAssembler("live")
    states = live.datagram(data, midnight_s + 5.0)  # received just after midnight
    assert [s.time_s for s in states] == [midnight_s - 1, midnight_s + 1]


def test_files_are_detected_and_read_gzip_too(tmp_path: Path, tracks: Tracks) -> None:
    data = recording(tracks, 62)[:20_000]
    plain, packed = tmp_path / "c.ast", tmp_path / "c.ast.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    assert detect_format(plain) == detect_format(packed) == "asterix"
    assert len(read_feed(plain).tracks) == len(read_feed(packed, "asterix").tracks) > 0
    single = tmp_path / "one.ast"
    single.write_bytes(data_block(21, [cat021_record(KLM, NOON_S, 48.5, 2.0, 35000, 450, 90, 0)]))
    assert detect_format(single) == "asterix"
    text = tmp_path / "t.csv"
    text.write_text(">\x00\x10 not ASTERIX, a CSV with a strange first line\n")
    assert detect_format(text) == "csv"
    garbage = tmp_path / "g.bin"
    garbage.write_bytes(b"\x00\xff" * 100)
    with pytest.raises(InputError, match="no asterix record"):
        read_feed(garbage, "asterix")


def test_the_editions_are_loaded_only_by_a_reading_of_asterix() -> None:
    # asterix.generated takes seconds to load: the command's parser, a server (its live feeds and
    # demo too) must start without it, in a fresh process (this one has loaded it already).
    code = (
        "import sys\n"
        "from deconflict.cli import _parser\n"
        "import deconflict.api.app, deconflict.cli.serve, deconflict.cli.feed, deconflict.demo.feed\n"
        "_parser()\n"
        "print('asterix.generated' in sys.modules)\n"
        "from deconflict.feeds.asterix import _edition\n"
        "_edition(21)\n"
        "print('asterix.generated' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
