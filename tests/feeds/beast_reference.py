"""The plain references the compiled Beast scan and the file path are checked against: frames
split in Python message by message (:func:`scan_frames`) and timed frame by frame
(:func:`frame_times`), every ADS-B message decoded by rs1090 in one call and read message by
message (:func:`~deconflict.feeds.beast._checked`, the live path's rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rs1090

from deconflict.feeds.beast import Decoded, _checked
from deconflict.feeds.drops import Drops
from deconflict.feeds.sbs import Messages

__all__ = ["Frame", "FrameScan", "frame_times", "reference_messages", "scan_frames"]

ESCAPE = 0x1A
PAYLOAD_BYTES = {0x31: 2, 0x32: 7, 0x33: 14}
"""Message bytes per frame type; status frames (``'4'``) run to the next frame start."""
STATUS = 0x34
CLOCK_HZ = 12_000_000.0
CLOCK_WRAP = 1 << 48


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


def scan_frames(data: bytes, *, final: bool = True) -> FrameScan:
    """The reference of :func:`~deconflict.feeds.beast_scan.scan_frame_arrays` (its rules, its
    ``final``), frame by frame in plain Python; :attr:`FrameScan.rest` as ``FrameArrays.rest``."""
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
            j = data.find(b"\x1a", i + 1 + (kind == ESCAPE))
            if j < 0 and not final:
                break  # as a run between frames: the next chunk may go on with it
            scan.garbage += 1
            i = n if j < 0 else j
            continue
        need = 7 + size
        body = data[i + 2 : i + 2 + need]
        if ESCAPE in body:
            body, j, cut = _unescape(data, i + 2, need)
        else:
            j, cut = i + 2 + need, len(body) < need
        if cut:
            if j >= n - 1 and not final:
                break  # the data ends in the frame, or in a 0x1a the next chunk may double
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


def decode_frames(
    frames: list[Frame],
    times_s: list[float],
    drops: Drops,
    reference: tuple[float, float] | None,
) -> list[tuple[int, float, Decoded]]:
    """(row, time, what it says) for each ADS-B message with a state's part."""
    picked = [k for k, frame in enumerate(frames) if frame.kind == 0x33 and frame.message[0] >> 3 in (17, 18)]
    if not picked:
        return []
    hexes = [frames[k].message.hex() for k in picked]
    messages = rs1090.decode(hexes, [times_s[k] for k in picked], reference=reference)
    out: list[tuple[int, float, Decoded]] = []
    m = 0
    for k, text in zip(picked, hexes, strict=True):
        found = m < len(messages) and messages[m].get("frame") == text
        decoded = _checked(dict(messages[m]) if found else None, text, k + 1, drops, reference)
        m += found
        if decoded is not None:
            out.append((k + 1, times_s[k], decoded))
    return out


def reference_messages(
    data: bytes, source: str, start_s: float = 0.0, reference: tuple[float, float] | None = None
) -> tuple[Messages, list[str], Drops]:
    """The messages, aircraft names and drops of a capture, message by message."""
    drops = Drops(source)
    scan = scan_frames(data)
    drops.add_many("garbage", scan.garbage)
    drops.add_many("truncated", scan.truncated)
    decoded = decode_frames(scan.frames, frame_times(scan.frames, start_s), drops, reference)
    codes: dict[str, int] = {}

    def column(name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([getattr(d, name) for _, _, d in decoded], dtype=np.float64)

    messages = Messages(
        row=np.array([row for row, _, _ in decoded], dtype=np.int64),
        aircraft=np.array([codes.setdefault(d.icao24, len(codes)) for _, _, d in decoded], dtype=np.int64),
        msg_type=np.array([d.msg_type for _, _, d in decoded], dtype=np.int8),
        time_s=np.array([time_s for _, time_s, _ in decoded], dtype=np.float64),
        values={
            name: column(name) for name in ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
        },
        callsign=np.array([d.callsign for _, _, d in decoded], dtype=np.str_),
        ground=np.array([d.ground for _, _, d in decoded], dtype=np.int8),
    )
    return messages, list(codes), drops
