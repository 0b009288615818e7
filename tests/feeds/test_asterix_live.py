"""The live ASTERIX source against datagrams the test sends to 127.0.0.1: states dated by their
receive time, garbage and bad records counted, a port already taken retried with back-off; and
the datagram-by-datagram assembly against the file path on the real trajectories."""

from __future__ import annotations

import socket

import numpy as np

from deconflict.feeds.asterix import AsterixAssembler, assemble_asterix, scan_blocks
from deconflict.feeds.live import AsterixSource, open_source, parse_source
from tests.feeds.asterix_encoder import (
    START_S,
    _first_minute_tracks,
    cat021_record,
    cat062_record,
    data_block,
)
from tests.feeds.asterix_encoder import recording as asterix_recording
from tests.feeds.test_live import _wait

KLM, AFR = 0x40621D, 0x3944F1
NOON_S = 1714564800.0  # 2024-05-01T12:00:00Z


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_states_from_datagrams_sent_to_a_loopback_port() -> None:
    port = _free_port()
    now_s = NOON_S + 2.0
    source = AsterixSource("127.0.0.1", port, clock=lambda: now_s, stall_s=0.2)
    cat021 = data_block(21, [cat021_record(KLM, NOON_S, 48.5, 2.0, 35000, 450, 90, -625, "KLM1")])
    cat062 = data_block(62, [cat062_record(9, NOON_S + 1, 48.0, 2.0, 30000, 200.0, 180.0, 0.0, icao24=AFR)])
    bad = data_block(62, [cat062_record(10, NOON_S, 48.0, 2.0, 30000, 200.0, 0.0, 0.0)])[:-3]
    bad = bytes([62]) + len(bad).to_bytes(2, "big") + bad[3:]  # a record cut inside its block
    with source, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        assert _wait(lambda: source.counts().connected)
        for datagram in (b"\x00garbage", cat021 + cat062, bad):
            sender.sendto(datagram, ("127.0.0.1", port))
        assert _wait(lambda: source.counts().lines >= 4)
        states = {s.id: s for s in source.take(now_s, stale_s=30.0)}
        counts = source.counts()
    assert set(states) == {"40621d", "3944f1"}
    klm = states["40621d"]
    assert klm.time_s == NOON_S and klm.callsign == "KLM1" and abs(klm.lat_deg - 48.5) < 1e-6
    assert abs(klm.alt_m - 35000 * 0.3048) < 1e-6 and abs(klm.vs_mps + 625 * 0.00508) < 1e-6
    assert states["3944f1"].time_s == NOON_S + 1 and abs(states["3944f1"].gs_mps - 200.0) < 0.3
    assert counts.dropped == {"garbage": 1, "bad_record": 1}, counts.dropped
    assert counts.connects == 1 and counts.failures == 0
    example = str(source.drops.examples[-1])
    offset = 8 + len(cat021) + len(cat062) + 3
    assert example.startswith(f"asterix+udp://127.0.0.1:{port}: record at byte {offset}: I062/"), example


def test_stale_records_are_dropped_when_taken() -> None:
    port = _free_port()
    source = AsterixSource("127.0.0.1", port, clock=lambda: NOON_S + 120.0)
    with source, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        assert _wait(lambda: source.counts().connected)
        sender.sendto(
            data_block(21, [cat021_record(KLM, NOON_S, 48.5, 2.0, 35000, 450, 90, 0)]), ("127.0.0.1", port)
        )
        assert _wait(lambda: source.counts().states == 1)
        assert source.take(NOON_S + 120.0, stale_s=30.0) == []
        assert source.counts().stale == 1


def test_a_port_already_taken_is_retried_with_back_off() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = int(taken.getsockname()[1])
        source = AsterixSource("127.0.0.1", port, initial_backoff_s=0.05, max_backoff_s=0.1)
        with source:
            assert _wait(lambda: source.counts().failures >= 2)
            assert not source.counts().connected


def test_a_live_source_is_opened_from_its_url() -> None:
    assert parse_source("asterix+udp://239.1.2.3:8600") == ("239.1.2.3", 8600)
    source = open_source("asterix+udp://127.0.0.1:8600")
    assert isinstance(source, AsterixSource) and source.url == "asterix+udp://127.0.0.1:8600"


def test_datagram_by_datagram_assembly_agrees_with_the_file_path() -> None:
    data = asterix_recording(_first_minute_tracks(), 21)[:30_000]
    file_states = assemble_asterix(data, "c", start_s=START_S).tracks
    assembler = AsterixAssembler("live")
    live = []
    for block in scan_blocks(data).blocks:
        live += assembler.datagram(block.data, START_S + 30.0)
    assert len(live) == len(file_states) > 500
    assert [s.row for s in live] == file_states.row.tolist()
    assert [s.id for s in live] == file_states.ids.tolist()
    assert np.array_equal([s.time_s for s in live], file_states.time_s)  # type: ignore[arg-type]
    assert np.array_equal([s.lat_deg for s in live], file_states.states.lat_deg)
    assert np.allclose([s.gs_mps for s in live], file_states.states.gs_mps)
    assert np.allclose([s.alt_m for s in live], file_states.states.alt_m)
