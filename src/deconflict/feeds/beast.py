"""Beast binary (dump1090/readsb port 30005): frames to Mode S messages to states.

Framing: each frame is ``0x1a``, a type byte (``'1'`` Mode A/C, 2 bytes; ``'2'`` Mode S
short, 7 bytes; ``'3'`` Mode S long, 14 bytes; ``'4'`` receiver status), a 6-byte
big-endian MLAT timestamp (a 12 MHz counter), a 1-byte signal level, then the message;
a ``0x1a`` inside a frame is sent twice. Bytes between frames are resynchronised on the
next ``0x1a`` and counted as ``garbage``; a frame cut short (by the end of the data, or
by a new frame start) counts as ``truncated``.

Decoding: Mode S messages are decoded by `rs1090 <https://pypi.org/project/rs1090/>`_
(MIT). Only ADS-B (DF17/18) carries states: airborne positions (CPR decoded globally
from even/odd pairs, or locally against ``reference`` when given), surface positions
(on the ground), velocities (ground speed) and identification (callsign). A position
that neither a pair nor the reference resolves is dropped as ``no_position``. A Mode S
long frame whose CRC does not check (rs1090 rejects it; it also rejects the rare message
with a field out of its range, e.g. an altitude code above 50,175 ft) is dropped as
``bad_crc``. Mode A/C, status frames and other Mode S messages carry no state and are
skipped (read, not dropped).

Time: the MLAT counter has no epoch. A file's states are timed ``start_s`` plus the
counter's elapsed time since the file's first frame (12 MHz ticks; the counter wraps
at 2**48); ``start_s`` defaults to 0 (times are seconds into the capture: give
``--start-time`` for wall-clock times). A frame whose counter goes backwards (a
receiver restart) keeps the previous frame's time. A live source times states by
their receive time.

Assembly is the BaseStation reader's rule (:mod:`deconflict.feeds.sbs`): a position
becomes a state when its aircraft has a velocity and an altitude within
``max_velocity_age_s``; the decoded messages go through the same assembly code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rs1090

from deconflict.feeds.drops import Drops, Reading
from deconflict.feeds.files import open_binary
from deconflict.feeds.sbs import (
    DEFAULT_MAX_VELOCITY_AGE_S,
    FeedState,
    Messages,
    SbsAssembler,
    assemble_messages,
)

__all__ = ["Frame", "FrameScan", "decode_frames", "looks_like_beast", "read_beast", "scan_frames"]

ESCAPE = 0x1A
PAYLOAD_BYTES = {0x31: 2, 0x32: 7, 0x33: 14}
"""Message bytes per frame type; status frames (``'4'``) run to the next frame start."""
STATUS = 0x34
CLOCK_HZ = 12_000_000.0
CLOCK_WRAP = 1 << 48
# BaseStation transmission types, so the decoded messages go through the same assembly.
IDENTIFICATION, SURFACE, AIRBORNE, VELOCITY = 1, 2, 3, 4


@dataclass(frozen=True)
class Frame:
    """One Beast frame: its type byte, MLAT ticks (12 MHz), signal level and message bytes."""

    kind: int
    ticks: int
    signal: int
    message: bytes


@dataclass
class FrameScan:
    """What :func:`scan_frames` found: the frames, where an unfinished frame starts (the
    caller keeps the bytes from there for the next chunk), and the bytes it skipped."""

    frames: list[Frame] = field(default_factory=list)
    rest: int = 0
    garbage: int = 0
    truncated: int = 0


def looks_like_beast(head: bytes) -> bool:
    """Whether data looks like a Beast stream: mostly frames (a capture may start inside a
    frame and hold some garbage; text holds no frame)."""
    scan = scan_frames(head, final=False)
    return len(scan.frames) >= 2 and 4 * (scan.garbage + scan.truncated) < len(scan.frames)


def scan_frames(data: bytes, *, final: bool = True) -> FrameScan:
    """Split Beast bytes into frames, undoing the ``0x1a`` escapes.

    With ``final=False`` a frame left unfinished at the end is not counted, nor a run of bytes
    between frames that reaches the end: :attr:`FrameScan.rest` says where it starts (the live
    reader keeps those bytes for the next read, so a run split across reads counts once).

    Examples
    --------
    >>> frame = bytes([0x1A, 0x32, 0, 0, 0, 0, 0, 1, 0x80]) + bytes.fromhex("5d3c6614c6e7f0")
    >>> scan = scan_frames(b"junk" + frame + frame[:5])
    >>> len(scan.frames), scan.frames[0].message.hex(), scan.garbage, scan.truncated
    (1, '5d3c6614c6e7f0', 1, 1)
    """
    scan = FrameScan()
    n = len(data)
    i = 0
    while i < n:
        if data[i] != ESCAPE:
            j = data.find(b"\x1a", i)
            if j < 0 and not final:
                break  # a run the next chunk may go on with: counted once, where it ends
            scan.garbage += 1  # one run of bytes between frames
            i = n if j < 0 else j
            continue
        if i + 1 >= n:
            break
        kind = data[i + 1]
        if kind == STATUS:
            j = data.find(b"\x1a", i + 2)
            while 0 <= j < n - 1 and data[j + 1] == ESCAPE:
                j = data.find(b"\x1a", j + 2)
            if j < 0 or j == n - 1:
                if final:
                    i = n
                    continue
                break
            i = j
            continue
        size = PAYLOAD_BYTES.get(kind)
        if size is None:
            scan.garbage += 1
            j = data.find(b"\x1a", i + 1 + (kind == ESCAPE))
            i = n if j < 0 else j
            continue
        need = 7 + size
        body = data[i + 2 : i + 2 + need]
        if ESCAPE in body:
            body, j, cut = _unescape(data, i + 2, need)
        else:
            j, cut = i + 2 + need, len(body) < need
        if cut:
            if j >= n and not final:
                break
            scan.truncated += 1
            i = j
            continue
        ticks = int.from_bytes(body[:6], "big")
        scan.frames.append(Frame(kind, ticks, body[6], bytes(body[7:])))
        i = j
    scan.rest = i
    return scan


def _unescape(data: bytes, start: int, need: int) -> tuple[bytes, int, bool]:
    """``need`` bytes from ``start`` with doubled ``0x1a`` made single; where the frame ends,
    and whether it was cut short (a single ``0x1a``, a new frame, or the end of the data)."""
    out = bytearray()
    j, n = start, len(data)
    while len(out) < need:
        if j >= n:
            return bytes(out), j, True
        byte = data[j]
        if byte == ESCAPE:
            if j + 1 < n and data[j + 1] == ESCAPE:
                j += 2
            else:
                return bytes(out), j, True
        else:
            j += 1
        out.append(byte)
    return bytes(out), j, False


def frame_times(frames: list[Frame], start_s: float) -> list[float]:
    """Each frame's time: ``start_s`` plus the MLAT counter's elapsed time since the first frame."""
    times: list[float] = []
    if not frames:
        return times
    elapsed = 0
    last = frames[0].ticks
    for frame in frames:
        step = (frame.ticks - last) % CLOCK_WRAP
        if step < CLOCK_WRAP // 2:  # a counter going backwards (a restart) keeps the time
            elapsed += step
            last = frame.ticks
        times.append(start_s + elapsed / CLOCK_HZ)
    return times


@dataclass(frozen=True)
class Decoded:
    """One ADS-B message with what it says about its aircraft (NaN where it says nothing)."""

    icao24: str
    msg_type: int
    alt_ft: float
    gs_kt: float
    trk_deg: float
    lat_deg: float
    lon_deg: float
    vr_ftpmin: float
    callsign: str
    ground: int


def _number(message: dict[str, Any], key: str) -> float:
    value = message.get(key)
    return float(value) if isinstance(value, int | float) else math.nan


def to_decoded(message: dict[str, Any]) -> Decoded | None:
    """What an rs1090 message says about its aircraft; ``None`` when it carries no state."""
    if message.get("df") not in ("17", "18") or "icao24" not in message:
        return None
    bds = message.get("bds")
    lat_deg, lon_deg = _number(message, "latitude"), _number(message, "longitude")
    nan = math.nan
    if bds == "05":
        return Decoded(
            message["icao24"], AIRBORNE, _number(message, "altitude"), nan, nan, lat_deg, lon_deg, nan, "", 0
        )
    if bds == "06":
        return Decoded(
            message["icao24"],
            SURFACE,
            nan,
            _number(message, "groundspeed"),
            _number(message, "track"),
            lat_deg,
            lon_deg,
            nan,
            "",
            1,
        )
    if bds == "09":
        gs_kt, trk_deg = _number(message, "groundspeed"), _number(message, "track")
        vr = _number(message, "vertical_rate")
        return Decoded(message["icao24"], VELOCITY, nan, gs_kt, trk_deg, nan, nan, vr, "", -1)
    if bds == "08":
        callsign = str(message.get("callsign") or "").strip().rstrip("_#")
        return Decoded(message["icao24"], IDENTIFICATION, nan, nan, nan, nan, nan, nan, callsign, -1)
    return None


def decode_frames(
    frames: list[Frame],
    times_s: list[float],
    rows: list[int],
    drops: Drops,
    *,
    reference: tuple[float, float] | None = None,
) -> list[tuple[int, float, Decoded]]:
    """Decode Mode S frames with rs1090: (row, time, what it says) for each ADS-B message with a
    state's part; long frames whose CRC fails are counted in ``drops`` as ``bad_crc``."""
    picked = [k for k, frame in enumerate(frames) if frame.kind == 0x33 and frame.message[0] >> 3 in (17, 18)]
    if not picked:
        return []
    hexes = [frames[k].message.hex() for k in picked]
    messages = rs1090.decode(hexes, [times_s[k] for k in picked], reference=reference)
    out: list[tuple[int, float, Decoded]] = []
    m = 0
    for k, text in zip(picked, hexes, strict=True):
        found = m < len(messages) and messages[m].get("frame") == text
        decoded = _checked(dict(messages[m]) if found else None, text, rows[k], drops, reference)
        m += found
        if decoded is not None:
            out.append((rows[k], times_s[k], decoded))
    return out


def _checked(
    message: dict[str, Any] | None, text: str, row: int, drops: Drops, reference: tuple[float, float] | None
) -> Decoded | None:
    """What a decoded message says (``None``: rejected, or nothing), a lone position decoded
    against ``reference``; rejected messages and unresolved positions are counted."""
    if message is None:  # rs1090 leaves out a message whose parity (CRC) does not check
        drops.add("bad_crc", row, None, f"rejected by the decoder (CRC, or a field out of range): {text}")
        return None
    if message.get("bds") in ("05", "06") and "latitude" not in message and reference is not None:
        # rs1090 decodes a lone position against a reference one message at a time only
        message = dict(rs1090.decode(text, reference=reference))
    decoded = to_decoded(message)
    if decoded is not None and decoded.msg_type in (AIRBORNE, SURFACE) and math.isnan(decoded.lat_deg):
        drops.add("no_position", row, None, "CPR: no even/odd pair within 10 s, and no --reference")
        return None
    return decoded


def to_messages(decoded: list[tuple[int, float, Decoded]], codes: dict[str, int]) -> Messages:
    """The decoded messages as the assembly's arrays."""

    def column(name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([getattr(d, name) for _, _, d in decoded], dtype=np.float64)

    return Messages(
        row=np.array([row for row, _, _ in decoded], dtype=np.int64),
        aircraft=np.array([codes.setdefault(d.icao24, len(codes)) for _, _, d in decoded], dtype=np.int64),
        msg_type=np.array([d.msg_type for _, _, d in decoded], dtype=np.int8),
        time_s=np.array([time_s for _, time_s, _ in decoded], dtype=np.float64),
        values={
            name: column(name) for name in ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
        },
        callsign=np.array([d.callsign for _, _, d in decoded], dtype=np.str_)
        if decoded
        else np.empty(0, np.str_),
        ground=np.array([d.ground for _, _, d in decoded], dtype=np.int8),
    )


def assemble_beast(
    data: bytes,
    source: str,
    *,
    start_s: float = 0.0,
    reference: tuple[float, float] | None = None,
    max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
) -> Reading:
    """States from the bytes of a Beast capture (see the module's rules); rows are frame numbers
    from 1."""
    drops = Drops(source)
    scan = scan_frames(data)
    drops.add_many("garbage", scan.garbage)
    drops.add_many("truncated", scan.truncated)
    frames = scan.frames
    rows = list(range(1, len(frames) + 1))
    decoded = decode_frames(frames, frame_times(frames, start_s), rows, drops, reference=reference)
    codes: dict[str, int] = {}
    tracks = assemble_messages(to_messages(decoded, codes), list(codes), source, max_velocity_age_s, drops)
    return Reading("beast", tracks, drops, len(frames) + scan.garbage + scan.truncated)


def read_beast(
    path: str | Path,
    *,
    start_s: float = 0.0,
    reference: tuple[float, float] | None = None,
    max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
) -> Reading:
    """Read a Beast capture file (optionally ``.gz``); see :func:`assemble_beast`.

    Raises
    ------
    InputError
        The file cannot be read (bad frames are dropped and counted, not raised).
    """
    with open_binary(Path(path)) as stream:
        data = stream.read()
    return assemble_beast(
        data, str(path), start_s=start_s, reference=reference, max_velocity_age_s=max_velocity_age_s
    )


class BeastAssembler:
    """Frame-by-frame assembly of Beast states (the live path): each ADS-B message is decoded
    as it comes, a position against its aircraft's previous position message of the other
    parity (within 10 s; global CPR) or else against ``reference`` (local CPR), and goes
    through the BaseStation reader's assembly (:class:`~deconflict.feeds.sbs.SbsAssembler`).
    A file's messages are decoded together instead, rs1090 pairing positions by its own
    rules: the two paths resolve nearly, not exactly, the same positions, and agree on those.

    Examples
    --------
    >>> a = BeastAssembler("live")
    >>> frame = bytes([0x1A, 0x33, 0, 0, 0, 0, 0, 0, 0x80]) + bytes.fromhex("8d485020994409940838175b284f")
    >>> a.frames(scan_frames(frame).frames, 100.0), a.records, dict(a.drops.counts)
    ([], 1, {})
    """

    def __init__(
        self,
        source: str,
        *,
        reference: tuple[float, float] | None = None,
        max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
    ) -> None:
        self.assembler = SbsAssembler(source, max_velocity_age_s)
        self.drops = self.assembler.drops
        self.reference = reference
        self.records = 0
        # icao24 -> (parity, frame hex, time): the latest airborne position message
        self._positions: dict[str, tuple[str, str, float]] = {}

    def frames(self, frames: list[Frame], time_s: float) -> list[FeedState]:
        """Take frames received at ``time_s``; the states they complete."""
        states: list[FeedState] = []
        for frame in frames:
            self.records += 1
            if frame.kind != 0x33 or frame.message[0] >> 3 not in (17, 18):
                continue
            text = frame.message.hex()
            found = rs1090.decode([text], [time_s])
            message = dict(found[0]) if found else None
            if message is not None and message.get("bds") == "05" and "latitude" not in message:
                message = self._paired(message, text, time_s)
            decoded = _checked(message, text, self.records, self.drops, self.reference)
            state = None if decoded is None else self._message(decoded, time_s, self.records)
            if state is not None:
                states.append(state)
        return states

    def _paired(self, message: dict[str, Any], text: str, time_s: float) -> dict[str, Any]:
        """An airborne position decoded globally with the aircraft's previous one of the other
        parity, when there is one within 10 s; else as it is."""
        icao24, parity = str(message["icao24"]), str(message.get("parity"))
        previous = self._positions.get(icao24)
        self._positions[icao24] = (parity, text, time_s)
        if previous is None or previous[0] == parity or not 0 <= time_s - previous[2] <= 10.0:
            return message
        pair = rs1090.decode([previous[1], text], [previous[2], time_s])
        return dict(pair[-1]) if len(pair) == 2 and "latitude" in pair[-1] else message

    def _message(self, decoded: Decoded, time_s: float, row: int) -> FeedState | None:
        return self.assembler.message(
            decoded.icao24,
            decoded.msg_type,
            time_s,
            {
                name: value
                for name in ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
                if not math.isnan(value := getattr(decoded, name))
            },
            decoded.callsign,
            None if decoded.ground < 0 else decoded.ground,
            row,
        )
