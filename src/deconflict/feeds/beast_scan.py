"""The compiled (numba) scan of Beast bytes: frames as arrays, one pass, no Python objects.

The one framing of the Beast reader, for files and live reads alike (the rules are
:mod:`deconflict.feeds.beast`'s): escapes undone, garbage resynchronised on the next ``0x1a``
and counted once per run, a frame cut short counted as truncated, status frames skipped. With
``final=False`` (a live read) an unfinished frame, or a run of bytes between frames reaching
the end, is left for the next read (:attr:`FrameArrays.rest`). The frame times: a 12 MHz MLAT
counter, wrapping at 2**48, a counter going backwards keeps the previous time. The tests check
both against a plain Python reference (message by message, ``tests/feeds/beast_reference.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["FrameArrays", "frame_times_s", "parity_ok", "scan_frame_arrays"]

ESCAPE = 0x1A
STATUS = 0x34
MODE_AC, MODE_S_SHORT, MODE_S_LONG = 0x31, 0x32, 0x33
MAX_MESSAGE = 14
CLOCK_HZ = 12_000_000.0
CLOCK_MASK = (1 << 48) - 1
HALF_WRAP = 1 << 47
MIN_FRAME = 11  # escape, type, 6 ticks, signal, a 2-byte Mode A/C message


@dataclass(frozen=True)
class FrameArrays:
    """The frames of a buffer as columns (one row per frame, in order).

    Attributes
    ----------
    kind
        The type byte (``0x31`` Mode A/C, ``0x32`` Mode S short, ``0x33`` Mode S long).
    ticks
        The MLAT counter (12 MHz).
    signal
        The signal level byte.
    message
        The message bytes, left-aligned in 14 columns (2, 7 or 14 of them used, by ``kind``).
    garbage, truncated
        Runs of bytes between frames, and frames cut short.
    rest
        Where the scan stopped: an unfinished frame's start when not ``final`` (at most the
        buffer's length).
    """

    kind: NDArray[np.uint8]
    ticks: NDArray[np.int64]
    signal: NDArray[np.uint8]
    message: NDArray[np.uint8]
    garbage: int
    truncated: int
    rest: int

    def __len__(self) -> int:
        return int(self.kind.size)


def _find_py(buf: Any, start: int, n: int) -> int:
    """The first ``0x1a`` at or after ``start``; -1 when there is none."""
    for j in range(start, n):
        if buf[j] == ESCAPE:
            return j
    return -1


_find: Any = numba.njit(cache=True)(_find_py)


def _scan_py(
    buf: Any, final: bool, kind: Any, ticks: Any, signal: Any, message: Any
) -> tuple[int, int, int, int]:
    """Fill the columns; (frames, garbage runs, truncated frames, where the scan stopped)."""
    n = buf.size
    body = np.zeros(7 + MAX_MESSAGE, dtype=np.uint8)
    i = count = garbage = truncated = 0
    while i < n:
        if buf[i] != ESCAPE:
            j = _find(buf, i, n)
            if j < 0 and not final:
                break  # a run the next chunk may go on with: counted once, where it ends
            garbage += 1
            i = n if j < 0 else j
            continue
        if i + 1 >= n:
            break
        k = buf[i + 1]
        if k == STATUS:
            j = _find(buf, i + 2, n)
            while 0 <= j < n - 1 and buf[j + 1] == ESCAPE:
                j = _find(buf, j + 2, n)
            if j < 0 or j == n - 1:
                if final:
                    i = n
                    continue
                break
            i = j
            continue
        size = 2 if k == MODE_AC else 7 if k == MODE_S_SHORT else MAX_MESSAGE if k == MODE_S_LONG else 0
        if size == 0:
            j = _find(buf, i + 2 if k == ESCAPE else i + 1, n)
            if j < 0 and not final:
                break  # as a run between frames: the next chunk may go on with it
            garbage += 1
            i = n if j < 0 else j
            continue
        need = 7 + size
        got, j, cut = 0, i + 2, False
        while got < need:
            if j >= n:
                cut = True
                break
            byte = buf[j]
            if byte == ESCAPE:
                if j + 1 < n and buf[j + 1] == ESCAPE:
                    j += 2
                else:
                    cut = True  # a single 0x1a: a new frame starts inside this one
                    break
            else:
                j += 1
            body[got] = byte
            got += 1
        if cut:
            if j >= n - 1 and not final:
                break  # the data ends in the frame, or in a 0x1a the next chunk may double
            truncated += 1
            i = j
            continue
        value = 0
        for b in range(6):
            value = (value << 8) | int(body[b])
        kind[count] = k
        ticks[count] = value
        signal[count] = body[6]
        for b in range(size):
            message[count, b] = body[7 + b]
        count += 1
        i = j
    return count, garbage, truncated, min(i, n)


_scan: Any = numba.njit(cache=True)(_scan_py)


def scan_frame_arrays(data: bytes, *, final: bool = True) -> FrameArrays:
    """Split Beast bytes into frames, as columns, undoing the ``0x1a`` escapes. Compiled on first
    use (and cached on disk by numba).

    With ``final=False`` a frame left unfinished at the end is not counted, nor a run of bytes
    between frames that reaches the end: :attr:`FrameArrays.rest` says where it starts (the live
    reader keeps those bytes for the next read, so a run split across reads counts once).

    Examples
    --------
    >>> frame = bytes([0x1A, 0x32, 0, 0, 0, 0, 0, 1, 0x80]) + bytes.fromhex("5d3c6614c6e7f0")
    >>> scan = scan_frame_arrays(b"junk" + frame + frame[:5])
    >>> len(scan), scan.message[0, :7].tobytes().hex(), scan.garbage, scan.truncated
    (1, '5d3c6614c6e7f0', 1, 1)
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    most = buf.size // MIN_FRAME + 1
    kind = np.zeros(most, dtype=np.uint8)
    ticks = np.zeros(most, dtype=np.int64)
    signal = np.zeros(most, dtype=np.uint8)
    message = np.zeros((most, MAX_MESSAGE), dtype=np.uint8)
    count, garbage, truncated, rest = _scan(buf, final, kind, ticks, signal, message)
    return FrameArrays(
        kind[:count].copy(),
        ticks[:count].copy(),
        signal[:count].copy(),
        message[:count].copy(),
        int(garbage),
        int(truncated),
        int(rest),
    )


def _times_py(ticks: Any, start_s: float, out: Any) -> None:
    if ticks.size == 0:
        return
    elapsed = 0
    last = ticks[0]
    for k in range(ticks.size):
        step = (ticks[k] - last) & CLOCK_MASK
        if step < HALF_WRAP:  # a counter going backwards (a restart) keeps the time
            elapsed += step
            last = ticks[k]
        out[k] = start_s + elapsed / CLOCK_HZ


_times: Any = numba.njit(cache=True)(_times_py)


def frame_times_s(ticks: NDArray[np.int64], start_s: float) -> NDArray[np.float64]:
    """Each frame's time: ``start_s`` plus the MLAT counter's elapsed time since the first frame.

    Examples
    --------
    >>> frame_times_s(np.array([5, 12_000_005, 3, (1 << 48) - 1], dtype=np.int64), 100.0).tolist()
    [100.0, 101.0, 101.0, 101.0]
    """
    out = np.empty(ticks.size, dtype=np.float64)
    _times(np.ascontiguousarray(ticks, dtype=np.int64), float(start_s), out)
    return out


GENERATOR = 0x1FFF409  # Mode S parity: x^24 + x^23 + ... (Annex 10, Vol. IV, 3.1.2.3.3)


def _crc_table() -> NDArray[np.int64]:
    table = np.zeros(256, dtype=np.int64)
    for byte in range(256):
        value = byte << 16
        for _ in range(8):
            value = (value << 1) ^ GENERATOR if value & 0x800000 else value << 1
        table[byte] = value & 0xFFFFFF
    return table


CRC_TABLE = _crc_table()


def _parity_ok_py(message: Any, table: Any, out: Any) -> None:
    for k in range(message.shape[0]):
        crc = 0
        for b in range(11):
            crc = ((crc << 8) & 0xFFFFFF) ^ table[((crc >> 16) ^ message[k, b]) & 0xFF]
        sent = (np.int64(message[k, 11]) << 16) | (np.int64(message[k, 12]) << 8) | np.int64(message[k, 13])
        out[k] = crc == sent


_parity_ok: Any = numba.njit(cache=True)(_parity_ok_py)


def parity_ok(message: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Whether each 14-byte Mode S message's last 24 bits are the parity of its first 88 (as in
    DF17/18, whose parity is not overlaid with an address).

    Examples
    --------
    >>> message = np.frombuffer(bytes.fromhex("8d485020994409940838175b284f"), dtype=np.uint8)
    >>> bad = message.copy()
    >>> bad[5] ^= 1
    >>> parity_ok(np.stack([message, bad])).tolist()
    [True, False]
    """
    out = np.zeros(message.shape[0], dtype=np.bool_)
    _parity_ok(np.ascontiguousarray(message, dtype=np.uint8), CRC_TABLE, out)
    return out
