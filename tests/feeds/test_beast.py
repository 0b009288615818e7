"""Beast reading: the real trajectories back from a derived capture (rs1090 decoding), the
framing's escapes and resynchronisation, and hostile input counted, never raised."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from deconflict.errors import InputError
from deconflict.feeds import beast, detect_format, read_feed
from deconflict.feeds.beast import SURFACE, assemble_beast, decode_frame_arrays, to_decoded
from deconflict.feeds.beast_scan import frame_times_s, scan_frame_arrays
from deconflict.feeds.drops import Drops
from deconflict.tactical.tracks import Tracks
from tests.feeds.beast_encoder import beast_capture, beast_frame, df17, first_minute, position, velocity
from tests.feeds.beast_reference import reference_messages
from tests.feeds.derived import real_tracks

KLM = 0x40621D
# A surface position published with rs1090 (its README): decodes locally near Amsterdam.
SURFACE_MESSAGE = "8c4841753a9a153237aef0f275be"


@pytest.fixture(scope="module")
def tracks() -> Tracks:
    return real_tracks()


def test_the_real_trajectories_come_back_from_their_capture(tracks: Tracks) -> None:
    assert tracks.time_s is not None
    start_s = float(tracks.time_s.min())
    reading = assemble_beast(beast_capture(tracks), "capture.beast", start_s=start_s)
    got = reading.tracks
    aircraft = len(set(tracks.ids.tolist()))
    # a velocity and a position a row, identifications
    assert 2 * len(tracks) + aircraft <= reading.records < 2 * len(tracks) + 2 * aircraft
    # the encoder clamps altitudes above the altitude code's range, which rs1090 rejects
    too_high = int((tracks.states.alt_m > 50_175 * 0.3048).sum())
    counts = reading.drops.counts
    assert (
        set(counts) <= {"bad_crc", "no_position", "no_velocity", "no_altitude"}
        and counts["bad_crc"] == too_high
    )
    # each aircraft's first position has no CPR pair yet, nor one after a gap of more than 10 s
    assert aircraft <= counts["no_position"] < 0.02 * len(tracks)
    assert len(got) + counts["no_position"] + counts["no_velocity"] + counts["no_altitude"] + too_high == len(
        tracks
    )
    truth = {
        (i, float(t)): k for k, (i, t) in enumerate(zip(tracks.ids.tolist(), tracks.time_s, strict=True))
    }
    assert got.time_s is not None
    at = np.array([truth[(i, float(t))] for i, t in zip(got.ids.tolist(), got.time_s, strict=True)])
    s, t = got.states, tracks.states.take(at)
    assert got.callsigns.tolist() == tracks.callsigns[at].tolist()
    assert np.abs(s.lat_deg - t.lat_deg).max() < 1e-4 and np.abs(s.lon_deg - t.lon_deg).max() < 1e-4  # ~10 m
    low = t.alt_m > -1000 * 0.3048
    assert np.abs(s.alt_m - t.alt_m)[low].max() <= 12.5 * 0.3048 + 1e-6  # 25 ft steps
    assert np.abs(s.gs_mps - t.gs_mps).max() < 0.75  # whole kt east and north
    assert np.abs(s.vs_mps - t.vs_mps).max() <= 32 * 0.00508 + 1e-6  # 64 ft/min steps
    assert got.on_ground is not None and not got.on_ground.any()


def test_frames_undo_escapes_and_resynchronise_after_garbage() -> None:
    message = velocity(KLM, 450.0, 90.0, 0.0)
    ticks = 0x1A1A001A1A1A  # escapes in the timestamp
    frame = beast_frame(message, ticks, signal=0x1A)
    assert frame.count(b"\x1a\x1a") >= 3
    status = b"\x1a4" + bytes(6) + b"\x00" + bytes(14)
    mode_ac = b"\x1a1" + bytes(7) + b"\x12\x34"
    data = b"GARBAGE" + frame + status + mode_ac + b"\x00\xff" + frame + frame[:9]
    scan = scan_frame_arrays(data)
    kinds = scan.kind.tolist()
    assert kinds == [0x33, 0x31, 0x33], kinds
    assert scan.message[0].tobytes() == message and scan.ticks[0] == ticks and scan.signal[0] == 0x1A
    assert scan.message[1, :2].tobytes() == b"\x12\x34"
    assert (scan.garbage, scan.truncated) == (2, 1)
    cut = scan_frame_arrays(frame + frame[:9], final=False)
    assert len(cut) == 1 and cut.truncated == 0 and cut.rest == len(frame)


def test_a_frame_cut_by_the_next_one_is_truncated_and_the_next_one_kept() -> None:
    frame = beast_frame(velocity(KLM, 300.0, 10.0, 0.0), 12)
    scan = scan_frame_arrays(frame[:10] + frame)
    assert len(scan) == 1 and scan.truncated == 1 and scan.garbage == 0


def test_hostile_frames_are_counted_never_raised() -> None:
    a = position(KLM, 52.2572, 3.9194, 38000, 0)
    b = position(KLM, 52.2600, 3.9200, 38000, 1)
    v = velocity(KLM, 450.0, 90.0, -640.0)
    bad = bytes(a[:5]) + bytes([a[5] ^ 0x10]) + a[6:]
    data = (
        beast_frame(v, 0)
        + b"\xde\xad"
        + beast_frame(bad, 12_000_000)
        + beast_frame(a, 12_000_000)
        + beast_frame(b, 24_000_000)[:12]
        + beast_frame(b, 24_000_000)
    )
    reading = assemble_beast(data, "hostile.beast", start_s=1000.0)
    assert dict(reading.drops.counts) == {"garbage": 1, "bad_crc": 1, "truncated": 1, "no_position": 1}
    assert len(reading.tracks) == 1
    assert reading.tracks.time_s is not None and reading.tracks.time_s.tolist() == [1002.0]
    s = reading.tracks.states
    assert abs(float(s.lat_deg[0]) - 52.26) < 1e-4 and abs(float(s.alt_m[0]) - 38000 * 0.3048) < 1e-6
    assert (
        abs(float(s.gs_mps[0]) - 450 * 1852 / 3600) < 0.5 and abs(float(s.vs_mps[0]) + 640 * 0.00508) < 1e-6
    )


def test_a_reference_position_decodes_a_lone_position_locally() -> None:
    data = beast_frame(velocity(KLM, 450.0, 90.0, 0.0), 0) + beast_frame(
        position(KLM, 52.2572, 3.9194, 38000, 1), 5
    )
    assert len(assemble_beast(data, "x").tracks) == 0  # no even/odd pair
    reading = assemble_beast(data, "x", reference=(52.0, 4.0))
    assert len(reading.tracks) == 1 and abs(float(reading.tracks.states.lon_deg[0]) - 3.9194) < 1e-4


def test_a_surface_position_is_on_the_ground() -> None:
    import rs1090

    decoded = to_decoded(dict(rs1090.decode(SURFACE_MESSAGE, reference=(52.3, 4.7))))
    assert decoded is not None and decoded.msg_type == SURFACE and decoded.ground == 1
    assert abs(decoded.lat_deg - 52.3206) < 1e-3 and decoded.gs_kt == 17.0


def test_files_are_detected_and_read_gzip_too(tmp_path: Path, tracks: Tracks) -> None:
    data = beast_capture(
        Tracks(
            tracks.source,
            tracks.row[:300],
            tracks.ids[:300],
            tracks.callsigns[:300],
            None if tracks.time_s is None else tracks.time_s[:300],
            tracks.states.take(np.arange(300)),
        )
    )
    plain, packed = tmp_path / "c.bin", tmp_path / "c.bin.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    assert detect_format(plain) == detect_format(packed) == "beast"
    assert len(read_feed(plain).tracks) == len(read_feed(packed, "beast").tracks) > 0
    garbage = tmp_path / "g.bin"
    garbage.write_bytes(b"\x00\xff" * 100)
    with pytest.raises(InputError, match="no beast record"):
        read_feed(garbage, "beast")


def test_the_shipped_sample_is_the_encoders_and_keeps_its_hostile_frames() -> None:
    sample = Path(__file__).parent.parent / "data" / "adsb" / "quickstart-60s.beast.gz"
    assert gzip.decompress(sample.read_bytes()) == first_minute()
    assert detect_format(sample) == "beast"
    reading = read_feed(sample, start_s=1633609401.0)
    counts = reading.drops.counts
    assert (counts["garbage"], counts["truncated"], counts["bad_crc"]) == (1, 1, 1)
    assert reading.tracks.time_s is not None and reading.tracks.time_s.min() >= 1633609401.0
    assert len(set(reading.tracks.ids.tolist())) == 24 and len(reading.tracks) > 1200


def mixed_capture(tracks: Tracks, seed: int) -> bytes:
    """The first rows' capture with, between its frames, ADS-B messages of the types decoded for
    their parity only or once per distinct message (half of them damaged), surface positions,
    short frames and garbage."""
    rng = random.Random(seed)
    head = Tracks(
        tracks.source,
        tracks.row[:1500],
        tracks.ids[:1500],
        tracks.callsigns[:1500],
        None if tracks.time_s is None else tracks.time_s[:1500],
        tracks.states.take(np.arange(1500)),
    )
    out = bytearray()
    frames = scan_frame_arrays(beast_capture(head))  # Mode S long frames only
    for body, ticks in zip(frames.message, frames.ticks.tolist(), strict=True):
        out += beast_frame(body.tobytes(), ticks)
        if rng.random() < 0.3:
            tc = rng.choice([0, 4, 19, 23, 28, 29, 31, 11, 5])
            message = bytearray(
                bytes.fromhex(SURFACE_MESSAGE)
                if tc == 5
                else df17(rng.choice([KLM, 0x3C6DD1]), (tc << 51) | rng.getrandbits(51))
            )
            if rng.random() < 0.5:
                message[rng.randrange(1, 14)] ^= 1 << rng.randrange(8)
            out += beast_frame(bytes(message), ticks)
        if rng.random() < 0.02:
            out += rng.choice([b"\x00\xff", beast_frame(bytes.fromhex("5d3c6614c6e7f0"), ticks)])
    return bytes(out)


@pytest.mark.parametrize(
    ("seed", "reference", "per_call"), [(1, None, None), (2, (52.3, 4.7), None), (3, None, 300)]
)
def test_the_file_path_agrees_with_the_message_by_message_reference(
    tracks: Tracks,
    seed: int,
    reference: tuple[float, float] | None,
    per_call: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if per_call is not None:  # positions decoded by groups of aircraft, as in a long capture
        monkeypatch.setattr(beast, "POSITIONS_PER_CALL", per_call)
    data = mixed_capture(tracks, seed)
    expected, names, expected_drops = reference_messages(data, "m.beast", 100.0, reference)
    drops = Drops("m.beast")
    frames = scan_frame_arrays(data)
    drops.add_many("garbage", frames.garbage)
    drops.add_many("truncated", frames.truncated)
    got, got_names = decode_frame_arrays(
        frames, frame_times_s(frames.ticks, 100.0), drops, reference=reference
    )
    assert got_names == names
    for name in ("row", "aircraft", "msg_type", "time_s", "callsign", "ground"):
        assert getattr(got, name).tolist() == getattr(expected, name).tolist(), name
    for name, values in expected.values.items():
        assert np.array_equal(got.values[name], values, equal_nan=True), name
    assert drops.counts == expected_drops.counts and drops.counts["bad_crc"] > 50
    assert [str(p) for p in drops.examples] == [str(p) for p in expected_drops.examples]
    assert (got.msg_type == SURFACE).any() == (reference is not None)
