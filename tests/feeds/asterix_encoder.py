"""ASTERIX CAT021 and CAT062 recordings of the real ADS-B trajectories, encoded with libasterix.

No CAT021/CAT062 sample under a licence we can ship exists, so the tests make their own
from the real trajectories in tests/data/adsb (the ``traffic`` package's quickstart sample,
MIT, attributed to the OpenSky Network; see tests/data/adsb/README.md) with libasterix's
encoder (MIT), the editions the reader parses. Each track row becomes one record at the
row's time: CAT021 as an ADS-B ground station reports it (target address, time of
applicability, high-resolution position, flight level, ground vector, barometric vertical
rate, callsign); CAT062 as an SDPS tracks it (track number, time of track information,
position, Cartesian velocity, measured flight level, rate of climb, callsign, and the
aircraft address except for every fifth aircraft). Records of the same second go in one
data block per category.

    python -m tests.feeds.asterix_encoder tests/data/adsb   # writes quickstart-60s.cat021/.cat062.ast.gz
"""

from __future__ import annotations

import gzip
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from asterix.generated import Cat_021_2_7, Cat_062_1_21

from deconflict.tactical.tracks import Tracks
from deconflict.units import FT_PER_MIN_TO_MPS, FT_TO_M, KT_TO_MPS
from tests.feeds.derived import real_tracks

__all__ = [
    "SAC_SIC",
    "cat021_record",
    "cat062_record",
    "data_block",
    "first_minute",
    "recording",
    "time_of_day_s",
]

SAC_SIC = (25, 10)
START_S = 1633609401.0  # the first second of the sample's first slice, 2021-10-07T12:23:21Z


def time_of_day_s(time_s: float) -> float:
    """Seconds since midnight UTC."""
    return time_s % 86_400.0


def cat021_record(
    icao24: int,
    time_s: float,
    lat_deg: float,
    lon_deg: float,
    alt_ft: float | None,
    gs_kt: float | None,
    trk_deg: float | None,
    vr_ftpmin: float | None,
    callsign: str = "",
    *,
    ground: int = 0,
    address_type: int = 0,
) -> Any:
    """A CAT021 record (None: the item left out)."""
    items: dict[str, Any] = {
        "010": (("SAC", SAC_SIC[0]), ("SIC", SAC_SIC[1])),
        "040": (
            (("ATP", address_type), ("ARC", 0), ("RC", 0), ("RAB", 0), None),
            (("DCR", 0), ("GBS", ground), ("SIM", 0), ("TST", 0), ("SAA", 0), ("CL", 0), None),
        ),
        "071": (time_of_day_s(time_s), "s"),
        "080": icao24,
        "131": (("LAT", (lat_deg, "°")), ("LON", (lon_deg, "°"))),
    }
    if alt_ft is not None:
        items["145"] = (alt_ft / 100.0, "FL")
    if gs_kt is not None and trk_deg is not None:
        items["160"] = (("RE", 0), ("GS", (gs_kt / 3600.0, "NM/s")), ("TA", (trk_deg % 360.0, "°")))
    if vr_ftpmin is not None:
        items["155"] = (("RE", 0), ("BVR", (vr_ftpmin, "ft/min")))
    if callsign:
        items["170"] = callsign
    return Cat_021_2_7.cv_record.create(items)


def cat062_record(
    track: int,
    time_s: float,
    lat_deg: float,
    lon_deg: float,
    alt_ft: float | None,
    gs_mps: float,
    trk_deg: float,
    vr_ftpmin: float,
    callsign: str = "",
    *,
    icao24: int | None = None,
    surface: int | None = None,
) -> Any:
    """A CAT062 record (``icao24`` None: no I062/380 ADR; ``surface`` None: no I062/080 SFC)."""
    vx_mps = gs_mps * math.sin(math.radians(trk_deg))
    vy_mps = gs_mps * math.cos(math.radians(trk_deg))
    items: dict[str, Any] = {
        "010": (("SAC", SAC_SIC[0]), ("SIC", SAC_SIC[1])),
        "040": track,
        "070": (time_of_day_s(time_s), "s"),
        "105": (("LAT", (lat_deg, "°")), ("LON", (lon_deg, "°"))),
        "185": (("VX", (vx_mps, "m/s")), ("VY", (vy_mps, "m/s"))),
        "220": (vr_ftpmin, "ft/min"),
    }
    if alt_ft is not None:
        items["136"] = (alt_ft / 100.0, "FL")
    if callsign:
        items["245"] = (("STI", 0), 0, ("CHR", callsign))
    if icao24 is not None:
        items["380"] = {"ADR": icao24}
    if surface is not None:
        zero = ("MON", 0), ("SPI", 0), ("MRH", 0), ("SRC", 0), ("CNF", 0), None
        items["080"] = (zero, 0, 0, 0, 0, (0, 0, 0, ("SFC", surface), 0, 0, 0, None))
    return Cat_062_1_21.cv_record.create(items)


def data_block(category: int, records: list[Any]) -> bytes:
    """The records as one data block."""
    spec = Cat_021_2_7 if category == 21 else Cat_062_1_21
    return bytes(spec.create(records).unparse().to_bytes())


def recording(tracks: Tracks, category: int) -> bytes:
    """The track rows as a recording of one category: a data block per second."""
    assert tracks.time_s is not None
    s = tracks.states
    numbers: dict[str, int] = {}
    blocks: list[bytes] = []
    pending: list[Any] = []
    second = math.nan
    for k in range(len(tracks)):
        time_s = float(tracks.time_s[k])
        if pending and time_s != second:
            blocks.append(data_block(category, pending))
            pending = []
        second = time_s
        ident = str(tracks.ids[k])
        number = numbers.setdefault(ident, len(numbers) + 1)
        alt_ft = float(s.alt_m[k]) / FT_TO_M
        vr_ftpmin = float(s.vs_mps[k]) / FT_PER_MIN_TO_MPS
        callsign = str(tracks.callsigns[k])
        lat_deg, lon_deg, trk_deg = float(s.lat_deg[k]), float(s.lon_deg[k]), float(s.trk_deg[k])
        if category == 21:
            gs_kt = float(s.gs_mps[k]) / KT_TO_MPS
            record = cat021_record(
                int(ident, 16), time_s, lat_deg, lon_deg, alt_ft, gs_kt, trk_deg, vr_ftpmin, callsign
            )
        else:
            address = None if number % 5 == 0 else int(ident, 16)
            record = cat062_record(
                number,
                time_s,
                lat_deg,
                lon_deg,
                alt_ft,
                float(s.gs_mps[k]),
                trk_deg,
                vr_ftpmin,
                callsign,
                icao24=address,
            )
        pending.append(record)
    if pending:
        blocks.append(data_block(category, pending))
    return b"".join(blocks)


def _first_minute_tracks() -> Tracks:
    tracks = real_tracks()
    assert tracks.time_s is not None
    keep = np.flatnonzero(tracks.time_s < START_S + 60.0)
    return Tracks(
        tracks.source,
        tracks.row[keep],
        tracks.ids[keep],
        tracks.callsigns[keep],
        tracks.time_s[keep],
        tracks.states.take(keep),
    )


def first_minute(category: int) -> bytes:
    """The shipped sample of a category: the first 60 s of the real sample, with hostile bytes
    put in: garbage after the 10th block, the 20th block cut short by the next, and in the
    30th block a record whose position item is cut (its block's length says so)."""
    data = recording(_first_minute_tracks(), category)
    starts: list[int] = []
    i = 0
    while i < len(data):
        starts.append(i)
        i += int.from_bytes(data[i + 1 : i + 3], "big")
    out = bytearray()
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(data)
        block = data[start:end]
        if k == 19:
            block = block[: len(block) // 2]
        elif k == 29:
            block = _cut_last_record(category, block)
        out += block
        if k == 9:
            out += b"\x00\xff garbage \x1b[2J"
    return bytes(out)


def _cut_last_record(category: int, block: bytes) -> bytes:
    """The block with its last record cut in its position item, the block's length fixed up."""
    spec = Cat_021_2_7 if category == 21 else Cat_062_1_21
    from asterix.base import Bits, ParsingMode

    bits = Bits.from_bytes(block[3:])
    records = []
    while len(bits):
        record, bits = spec.cv_record.parse(ParsingMode.StrictParsing, bits)
        records.append(record)
    head = data_block(category, records[:-1])
    last = bytes(records[-1].unparse().to_bytes())
    # the last record without its last bytes (the position and what follows it in the UAP)
    body = head[3:] + last[:12]
    return bytes([category]) + (len(body) + 3).to_bytes(2, "big") + body


def main(argv: list[str] | None = None) -> int:
    """Write the shipped samples to the folder given (gzip level 9, mtime 0)."""
    folder = Path((argv if argv is not None else sys.argv[1:])[0])
    for category in (21, 62):
        data = first_minute(category)
        path = folder / f"quickstart-60s.cat{category:03d}.ast.gz"
        path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        print(f"{path}: {len(data):,} bytes, {datetime.fromtimestamp(START_S, tz=UTC).isoformat()} + 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
