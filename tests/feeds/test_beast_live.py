"""The live Beast source against a receiver the test plays on 127.0.0.1: frames split anywhere,
garbage, bad CRCs, a frame cut by a dropped connection and a receiver that stalls; and the
frame-by-frame assembly against the file path on the real trajectories."""

from __future__ import annotations

import contextlib
import socket
import threading

import numpy as np
import pytest

from deconflict.feeds.beast import BeastAssembler, assemble_beast
from deconflict.feeds.beast_scan import FrameArrays, frame_times_s, scan_frame_arrays
from deconflict.feeds.live import BeastSource, open_source
from tests.feeds.beast_encoder import beast_capture, beast_frame, position, velocity
from tests.feeds.derived import real_tracks
from tests.feeds.test_live import _wait

KLM, AFR = 0x40621D, 0x3944F1


class StallingReceiver:
    """Plays a receiver: each accepted connection gets its script's bytes (sent in small pieces),
    is then held silent for the script's seconds (or until the client hangs up), then closed."""

    def __init__(self, scripts: list[tuple[bytes, float]]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10.0)
        self.port = self.server.getsockname()[1]
        self.scripts = scripts
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for script, hold_s in self.scripts:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                for start in range(0, len(script), 7):  # frames split anywhere
                    connection.sendall(script[start : start + 7])
                connection.settimeout(hold_s)
                with contextlib.suppress(OSError):
                    connection.recv(1)  # returns when the client hangs up on a stalled connection
        self.server.close()

    def close(self) -> None:
        self.server.close()
        self.thread.join(5.0)


def _frames(icao: int, lat_deg: float, odd: int) -> bytes:
    return beast_frame(velocity(icao, 450.0, 90.0, 0.0), 0) + beast_frame(
        position(icao, lat_deg, 2.0, 35000.0, odd), 0
    )


def test_states_from_a_beast_receiver_that_stalls_drops_and_comes_back() -> None:
    bad = bytearray(position(AFR, 48.0, 2.0, 30000.0, 0))
    bad[7] ^= 0x01
    first = b"\x00garbage" + _frames(KLM, 48.5, 0) + beast_frame(bytes(bad), 0) + _frames(KLM, 48.5, 1)
    second = _frames(AFR, 48.0, 0)[:-5]  # the connection drops inside a frame
    third = _frames(AFR, 48.0, 0) + _frames(AFR, 48.0, 1)
    receiver = StallingReceiver([(first, 30.0), (second, 0.0), (third, 0.0)])
    now_s = 1714564805.0
    try:
        source = BeastSource(
            "127.0.0.1",
            receiver.port,
            clock=lambda: now_s,
            initial_backoff_s=0.05,
            max_backoff_s=0.2,
            stall_s=0.5,
        )
        with source:
            assert _wait(lambda: source.counts().connects >= 3 and source.counts().states >= 2)
            states = {s.id: s for s in source.take(now_s, stale_s=30.0)}
            counts = source.counts()
    finally:
        receiver.close()
    assert set(states) == {"40621d", "3944f1"}
    assert states["40621d"].lat_deg == pytest.approx(48.5, abs=1e-4) and states["40621d"].time_s == now_s
    assert abs(states["40621d"].alt_m - 35000 * 0.3048) < 1e-6 and states["40621d"].on_ground is False
    assert counts.dropped == {"garbage": 1, "bad_crc": 1, "truncated": 1, "no_position": 2}, counts.dropped
    assert counts.failures >= 2


def test_a_live_source_is_opened_from_its_url() -> None:
    source = open_source("beast://127.0.0.1:30005", reference=(48.0, 2.0))
    assert isinstance(source, BeastSource) and source.url == "beast://127.0.0.1:30005"
    assert source.assembler.reference == (48.0, 2.0)


def test_frame_by_frame_assembly_agrees_with_the_file_path() -> None:
    tracks = real_tracks()
    data = beast_capture(tracks)[:200_000]
    file_states = assemble_beast(data, "c", start_s=100.0).tracks
    frames = scan_frame_arrays(data)
    assembler = BeastAssembler("live")
    live = []
    for k, time_s in enumerate(frame_times_s(frames.ticks, 100.0).tolist()):
        one = slice(k, k + 1)
        frame = FrameArrays(
            frames.kind[one], frames.ticks[one], frames.signal[one], frames.message[one], 0, 0, 0
        )
        live += assembler.frames(frame, time_s)
    # rs1090 pairs a file's positions by its own rules, the live path each with the aircraft's
    # previous one of the other parity within 10 s: they resolve nearly the same positions ...
    by_row = {s.row: s for s in live}
    common = [k for k, row in enumerate(file_states.row.tolist()) if row in by_row]
    assert len(common) > 0.99 * len(file_states) > 1000 and len(by_row) < 1.01 * len(file_states)
    # ... and the states of those agree
    mine = [by_row[row] for row in file_states.row[common].tolist()]
    assert [s.id for s in mine] == file_states.ids[common].tolist()
    assert [s.callsign for s in mine] == file_states.callsigns[common].tolist()
    theirs = file_states.states.take(np.array(common))
    assert np.allclose([s.lat_deg for s in mine], theirs.lat_deg, atol=1e-9)
    assert np.allclose([s.lon_deg for s in mine], theirs.lon_deg, atol=1e-9)
    assert np.allclose([s.gs_mps for s in mine], theirs.gs_mps) and np.allclose(
        [s.alt_m for s in mine], theirs.alt_m
    )


@pytest.mark.parametrize("piece", [1, 3, 7, 1000])
def test_a_run_of_garbage_split_across_reads_counts_once(piece: int) -> None:
    data = b"\x00garbage" + _frames(KLM, 48.5, 0) + b"junk" + _frames(KLM, 48.5, 1) + b"tail"
    source = BeastSource("127.0.0.1", 9, clock=lambda: 1714564805.0)
    for start in range(0, len(data), piece):
        source._consume(data[start : start + piece])
    source._connection_ends()
    assert source.drops.counts["garbage"] == 3 and "truncated" not in source.drops.counts, source.drops.counts


def _read_in_pieces(data: bytes, piece: int) -> tuple[int, int, dict[str, int]]:
    source = BeastSource("127.0.0.1", 9, clock=lambda: 1714564805.0)
    states = sum(len(source._consume(data[start : start + piece])[1]) for start in range(0, len(data), piece))
    source._connection_ends()
    return source.records, states, dict(source.drops.counts)


@pytest.mark.parametrize("piece", [1, 2, 3, 7])
def test_escaped_0x1a_and_bad_frame_types_split_across_reads_change_nothing(piece: int) -> None:
    escaped = 0x1A1A001A1A1A  # doubled 0x1a in the timestamp, some of them split between reads
    data = (
        beast_frame(velocity(KLM, 450.0, 90.0, 0.0), escaped, signal=0x1A)
        + b"\x1a\x1ajunk"  # a run between frames starting with 0x1a and no frame type
        + beast_frame(position(KLM, 48.5, 2.0, 35000.0, 0), escaped, signal=0x1A)
        + b"\x1a5junk"
        + beast_frame(position(KLM, 48.5, 2.0, 35000.0, 1), escaped, signal=0x1A)
    )
    whole = _read_in_pieces(data, len(data))
    assert whole == (3, 1, {"garbage": 2, "no_position": 1}), whole  # the first position waits for a pair
    assert _read_in_pieces(data, piece) == whole
