"""A tiny ADS-B (DF17) encoder and Beast framer, for tests only: Beast files derived from the
real trajectories in tests/data/adsb.

Derived from the published ADS-B message formats (ICAO Doc 9871, Technical Provisions for
Mode S Extended Squitter; RTCA DO-260B): the 112-bit DF17 layout (DF, CA, ICAO address,
56-bit ME field, 24-bit parity from generator 0x1FFF409), airborne position (type code 11:
12-bit altitude with the Q bit, 25 ft steps; CPR latitude and longitude, 17 bits, even and
odd zones), airborne velocity (type code 19, subtype 1: east-west and north-south speeds
in kt, vertical rate in 64 ft/min steps) and identification (type code 4, 6-bit
characters). The Beast framing follows the Mode-S Beast receiver's documentation (0x1a,
type, 48-bit 12 MHz timestamp, signal, message; 0x1a doubled inside). rs1090 decodes
these files in the tests; this module only makes them.

    python -m tests.feeds.beast_encoder OUT.gz   # tests/data/adsb/quickstart-60s.beast.gz
"""

from __future__ import annotations

import gzip
import math
import sys
from pathlib import Path

import numpy as np

from deconflict.tactical.tracks import Tracks
from deconflict.units import FT_PER_MIN_TO_MPS, FT_TO_M, KT_TO_MPS
from tests.feeds.derived import real_tracks

__all__ = [
    "beast_capture",
    "beast_frame",
    "crc24",
    "first_minute",
    "identification",
    "position",
    "velocity",
]

GENERATOR = 0x1FFF409
CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
NZ = 15
CLOCK_HZ = 12_000_000


def crc24(bits88: int) -> int:
    """The 24-bit Mode S parity of the first 88 bits of a message."""
    value = bits88 << 24
    for shift in range(111, 23, -1):
        if value >> shift & 1:
            value ^= GENERATOR << (shift - 24)
    return value & 0xFFFFFF


def df17(icao: int, me: int) -> bytes:
    """A DF17 message (capability 5) with its parity."""
    head = (17 << 83) | (5 << 80) | (icao << 56) | me
    return ((head << 24) | crc24(head)).to_bytes(14, "big")


def _nl(lat_deg: float) -> int:
    """Number of longitude zones at a latitude (the CPR NL function)."""
    if lat_deg == 0:
        return 59
    if abs(lat_deg) == 87:
        return 2
    if abs(lat_deg) > 87:
        return 1
    a = 1 - math.cos(math.pi / (2 * NZ))
    b = math.cos(math.pi / 180 * abs(lat_deg)) ** 2
    return math.floor(2 * math.pi / math.acos(1 - a / b))


def cpr(lat_deg: float, lon_deg: float, odd: int) -> tuple[int, int]:
    """Airborne CPR encoding (17 bits) of a position in the even (0) or odd (1) zones."""
    dlat = 360.0 / (4 * NZ - odd)
    yz = math.floor(2**17 * (lat_deg % dlat) / dlat + 0.5)
    rlat = dlat * (yz / 2**17 + math.floor(lat_deg / dlat))
    dlon = 360.0 / max(_nl(rlat) - odd, 1)
    xz = math.floor(2**17 * (lon_deg % dlon) / dlon + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF


def position(icao: int, lat_deg: float, lon_deg: float, alt_ft: float, odd: int) -> bytes:
    """An airborne position (type code 11, barometric altitude)."""
    n = max(0, min(round((alt_ft + 1000) / 25), 0x7FF))
    alt12 = ((n & 0x7F0) << 1) | 0x10 | (n & 0xF)
    lat_cpr, lon_cpr = cpr(lat_deg, lon_deg, odd)
    me = (11 << 51) | (alt12 << 36) | (odd << 34) | (lat_cpr << 17) | lon_cpr
    return df17(icao, me)


def velocity(icao: int, gs_kt: float, trk_deg: float, vr_ftpmin: float) -> bytes:
    """An airborne velocity over ground (type code 19, subtype 1, barometric vertical rate)."""
    east = gs_kt * math.sin(math.radians(trk_deg))
    north = gs_kt * math.cos(math.radians(trk_deg))
    v_ew = min(round(abs(east)) + 1, 1023)
    v_ns = min(round(abs(north)) + 1, 1023)
    vr = min(round(abs(vr_ftpmin) / 64) + 1, 511)
    me = (
        (19 << 51)
        | (1 << 48)
        | ((east < 0) << 42)
        | (v_ew << 32)
        | ((north < 0) << 31)
        | (v_ns << 21)
        | (1 << 20)
        | ((vr_ftpmin < 0) << 19)
        | (vr << 10)
    )
    return df17(icao, me)


def identification(icao: int, callsign: str) -> bytes:
    """An identification message (type code 4) with up to 8 characters."""
    me = 4 << 51
    for k, char in enumerate(callsign.upper()[:8].ljust(8)):
        me |= (CHARSET.index(char) if char in CHARSET else 32) << (42 - 6 * k)
    return df17(icao, me)


def beast_frame(message: bytes, ticks: int, signal: int = 0x80) -> bytes:
    """A Beast frame of a Mode S message (long or short), 0x1a bytes doubled."""
    kind = b"3" if len(message) == 14 else b"2"
    body = ticks.to_bytes(6, "big") + bytes([signal]) + message
    return b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")


def beast_capture(tracks: Tracks) -> bytes:
    """Per track row: a velocity then a position (even and odd in turn per aircraft), an
    identification before an aircraft's first row and when its callsign changes; timed by the
    12 MHz counter from the first row's time (a start time of that time gives the rows' own)."""
    assert tracks.time_s is not None
    start_s = float(tracks.time_s.min())
    parity: dict[str, int] = {}
    callsigns: dict[str, str] = {}
    out = bytearray()
    s = tracks.states
    for i in range(len(tracks)):
        ident = str(tracks.ids[i])
        icao = int(ident, 16)
        ticks = round((float(tracks.time_s[i]) - start_s) * CLOCK_HZ)
        callsign = str(tracks.callsigns[i])
        if callsigns.get(ident) != callsign:
            callsigns[ident] = callsign
            out += beast_frame(identification(icao, callsign), ticks)
        parity.setdefault(ident, 0)
        gs_kt = float(s.gs_mps[i]) / KT_TO_MPS
        vr = float(s.vs_mps[i]) / FT_PER_MIN_TO_MPS
        out += beast_frame(velocity(icao, gs_kt, float(s.trk_deg[i]), vr), ticks)
        alt_ft = float(s.alt_m[i]) / FT_TO_M
        out += beast_frame(
            position(icao, float(s.lat_deg[i]), float(s.lon_deg[i]), alt_ft, parity[ident]), ticks
        )
        parity[ident] ^= 1
    return bytes(out)


def first_minute() -> bytes:
    """The first 60 s of the real sample's first slice as Beast frames, with hostile frames put
    in on purpose: garbage between frames 100 and 101, frame 1001 cut short by the next, and
    frame 2001 (a position) with a bit flipped (its CRC fails)."""
    t = real_tracks()
    assert t.time_s is not None
    keep = np.flatnonzero(t.time_s < t.time_s.min() + 60.0)
    minute = Tracks(
        t.source, t.row[keep], t.ids[keep], t.callsigns[keep], t.time_s[keep], t.states.take(keep)
    )
    frames = scan_frames(beast_capture(minute))
    out = bytearray()
    for k, (kind, body) in enumerate(frames, 1):
        if k == 2001:
            body = body[:12] + bytes([body[12] ^ 0x08]) + body[13:]
        frame = b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")
        out += frame[:12] if k == 1001 else frame
        if k == 100:
            out += b"\x1b[2J@@garbage"
    return bytes(out)


def scan_frames(data: bytes) -> list[tuple[bytes, bytes]]:
    """Type byte and unescaped body of each frame of what :func:`beast_capture` wrote."""
    out: list[tuple[bytes, bytes]] = []
    i = 0
    while i < len(data):
        kind, j, body = data[i + 1 : i + 2], i + 2, bytearray()
        while len(body) < 21:
            body.append(data[j])
            j += 2 if data[j] == 0x1A else 1
        out.append((kind, bytes(body)))
        i = j
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(gzip.compress(first_minute(), compresslevel=9, mtime=0))
