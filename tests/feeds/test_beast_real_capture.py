"""A real receiver's messages (rs1090's test capture, MIT) framed as Beast and read as a file.

``tests/data/adsb/rs1090-short_flights.csv`` holds 486 DF17 messages as a receiver
heard them near Atlanta on 2025-07-29 (reception time, hex message), from the
rs1090 repository (see the README beside it). Framed as Beast (our framing, their
real messages and times), our reader must give exactly the positions rs1090
decodes from the same messages by itself, and drop nothing as damaged.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import rs1090

from deconflict.feeds.beast import assemble_beast
from tests.feeds.beast_encoder import beast_frame

CAPTURE = Path(__file__).parents[1] / "data" / "adsb" / "rs1090-short_flights.csv"
TICKS_PER_S = 12_000_000  # the Beast clock (12 MHz)
ATLANTA = (33.64, -84.43)  # the airport the flights come and go from
FT = 0.3048


def _messages() -> tuple[list[float], list[str]]:
    with CAPTURE.open(newline="", encoding="ascii") as stream:
        rows = list(csv.reader(stream))
    return [float(t) for t, _ in rows], [m for _, m in rows]


def test_a_real_capture_reads_as_rs1090_decodes_it() -> None:
    times, messages = _messages()
    assert len(messages) == 486
    start_s = times[0]
    capture = b"".join(
        beast_frame(bytes.fromhex(m), round((t - start_s) * TICKS_PER_S))
        for t, m in zip(times, messages, strict=True)
    )
    reading = assemble_beast(capture, CAPTURE.name, start_s=start_s)
    assert reading.records == len(messages)
    damaged = {"garbage", "truncated", "bad_crc"} & set(reading.drops.counts)
    assert not damaged, reading.drops.counts

    # rs1090 alone, on the hex messages and their times: the positions it pairs.
    decoded = rs1090.decode(messages, times)
    truth = {(str(d["icao24"]), round(float(d["timestamp"]), 4)): d for d in decoded if "latitude" in d}
    got = reading.tracks
    assert got.time_s is not None
    assert 0.95 * len(truth) <= len(got) <= len(truth)  # a state needs a velocity heard recently too
    assert set(got.ids.tolist()) == {icao for icao, _ in truth}  # the 7 aircraft that sent positions
    for k, (icao, time_s) in enumerate(zip(got.ids.tolist(), got.time_s.tolist(), strict=True)):
        expected = truth[(icao, round(time_s, 4))]
        assert abs(got.states.lat_deg[k] - expected["latitude"]) < 1e-9, (icao, time_s)
        assert abs(got.states.lon_deg[k] - expected["longitude"]) < 1e-9, (icao, time_s)
        assert abs(got.states.alt_m[k] - expected["altitude"] * FT) < 1e-6, (icao, time_s)
    # Where the receiver was: every aircraft within 150 km of Atlanta's airport.
    assert np.abs(got.states.lat_deg - ATLANTA[0]).max() < 1.4
    assert np.abs(got.states.lon_deg - ATLANTA[1]).max() < 1.6
