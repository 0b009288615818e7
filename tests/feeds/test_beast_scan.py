"""The compiled Beast scan against the Python reference (:func:`tests.feeds.beast_reference.scan_frames`,
:func:`tests.feeds.beast_reference.frame_times`), and the parity check against rs1090's."""

from __future__ import annotations

import random

import numpy as np
import rs1090
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.feeds.beast_scan import frame_times_s, parity_ok, scan_frame_arrays
from tests.feeds.beast_encoder import beast_frame, df17, position, velocity
from tests.feeds.beast_reference import frame_times, scan_frames

KLM = 0x40621D
FRAMES = [
    beast_frame(position(KLM, 52.2572, 3.9194, 38000, 0), 0x1A1A001A1A1A, signal=0x1A),
    beast_frame(velocity(KLM, 450.0, 90.0, 0.0), 12),
    beast_frame(bytes.fromhex("5d3c6614c6e7f0"), 1 << 47),
    b"\x1a1" + bytes(7) + b"\x12\x34",
    b"\x1a4" + bytes(6) + b"\x00" + bytes(14),
]
PIECES = st.one_of(
    st.sampled_from(FRAMES),
    st.sampled_from(FRAMES).flatmap(lambda f: st.integers(1, len(f) - 1).map(lambda n: f[:n])),
    st.sampled_from([b"\x1a", b"\x1a\x1a", b"\x1a1", b"\x1a2", b"\x1a3", b"\x1a4", b"\x1a5"]),
    st.binary(max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=16), st.booleans())
def test_the_compiled_scan_agrees_with_the_reference(pieces: list[bytes], final: bool) -> None:
    data = b"".join(pieces)
    expected = scan_frames(data, final=final)
    got = scan_frame_arrays(data, final=final)
    assert (got.garbage, got.truncated, got.rest) == (
        expected.garbage,
        expected.truncated,
        min(expected.rest, len(data)),
    )
    assert got.kind.tolist() == [f.kind for f in expected.frames]
    assert got.ticks.tolist() == [f.ticks for f in expected.frames]
    assert got.signal.tolist() == [f.signal for f in expected.frames]
    assert [got.message[k, : len(f.message)].tobytes() for k, f in enumerate(expected.frames)] == [
        f.message for f in expected.frames
    ]
    assert frame_times_s(got.ticks, 7.5).tolist() == frame_times(expected.frames, 7.5)


def test_frame_times_keep_the_time_when_the_counter_goes_back_and_follow_its_wrap() -> None:
    ticks = np.array([(1 << 48) - 12_000_000, 0, (1 << 48) - 5, 12_000_000], dtype=np.int64)
    assert frame_times_s(ticks, 10.0).tolist() == [10.0, 11.0, 11.0, 12.0]
    assert frame_times_s(np.empty(0, dtype=np.int64), 0.0).size == 0


def test_the_parity_check_rejects_what_rs1090_rejects() -> None:
    rng = random.Random(16)
    messages = []
    for _ in range(400):
        tc = rng.choice([19, 23, 28, 29, 30])  # types rs1090 rejects for their parity only
        damaged = bytearray(df17(rng.getrandbits(24), (tc << 51) | rng.getrandbits(51)))
        if rng.random() < 0.5:
            damaged[rng.randrange(1, 14)] ^= 1 << rng.randrange(8)
        messages.append(bytes(damaged))
    decoded = {m["frame"] for m in rs1090.decode([m.hex() for m in messages], [0.0] * len(messages))}
    matrix = np.frombuffer(b"".join(messages), dtype=np.uint8).reshape(-1, 14)
    assert parity_ok(matrix).tolist() == [m.hex() in decoded for m in messages]
    assert 100 < int(parity_ok(matrix).sum()) < 300


def _two_reads(data: bytes, cut: int) -> tuple[list[int], list[bytes], int, int]:
    """Frames and drops of ``data`` read in two pieces, as the live source reads them: the first
    read's unfinished tail kept and put before the second."""
    first = scan_frame_arrays(data[:cut], final=False)
    second = scan_frame_arrays(data[first.rest : cut] + data[cut:])
    return (
        first.ticks.tolist() + second.ticks.tolist(),
        [m.tobytes() for m in (*first.message, *second.message)],
        first.garbage + second.garbage,
        first.truncated + second.truncated,
    )


def test_an_escaped_0x1a_split_between_two_reads_keeps_its_frame() -> None:
    frame = FRAMES[0]  # doubled 0x1a in its timestamp and signal level
    data = frame + FRAMES[1] + frame
    whole = scan_frame_arrays(data)
    assert (len(whole), whole.garbage, whole.truncated) == (3, 0, 0)
    for cut in range(len(data) + 1):
        assert _two_reads(data, cut) == (
            whole.ticks.tolist(),
            [m.tobytes() for m in whole.message],
            0,
            0,
        ), cut


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=16), st.data())
def test_reading_in_two_pieces_finds_what_one_read_finds(pieces: list[bytes], data: st.DataObject) -> None:
    joined = b"".join(pieces)
    cut = data.draw(st.integers(0, len(joined)))
    whole = scan_frame_arrays(joined)
    assert _two_reads(joined, cut) == (
        whole.ticks.tolist(),
        [m.tobytes() for m in whole.message],
        whole.garbage,
        whole.truncated,
    )
