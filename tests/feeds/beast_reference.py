"""The plain reference the Beast file path is checked against: frames split in Python
(:func:`~deconflict.feeds.beast.scan_frames`), every ADS-B message decoded by rs1090 in one call
and read message by message (:func:`~deconflict.feeds.beast._checked`, the live path's rules)."""

from __future__ import annotations

from typing import Any

import numpy as np
import rs1090

from deconflict.feeds.beast import Decoded, Frame, _checked, frame_times, scan_frames
from deconflict.feeds.drops import Drops
from deconflict.feeds.sbs import Messages

__all__ = ["reference_messages"]


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
