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

Files and live reads are split into frames by one compiled scan
(:mod:`deconflict.feeds.beast_scan`; a live read keeps an unfinished frame, or a run of bytes
between frames, for the next read). A file (:func:`assemble_beast`) is decoded in a few rs1090
calls (:func:`decode_frame_arrays`): positions in order, by groups of aircraft; identification,
velocity and operational status messages once per distinct message; ADS-B messages of a type
carrying no state only have their parity checked (they are ``bad_crc`` exactly when rs1090
would reject them). The live path (:class:`BeastAssembler`) decodes message by message; the
tests check the file path against that way of decoding.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import rs1090
from numpy.typing import NDArray

from deconflict.feeds.beast_scan import FrameArrays, frame_times_s, parity_ok, scan_frame_arrays
from deconflict.feeds.drops import Drops, Reading
from deconflict.feeds.files import open_binary
from deconflict.feeds.sbs import (
    DEFAULT_MAX_VELOCITY_AGE_S,
    FeedState,
    Messages,
    SbsAssembler,
    assemble_messages,
)

__all__ = ["decode_frame_arrays", "looks_like_beast", "read_beast"]

# BaseStation transmission types, so the decoded messages go through the same assembly.
IDENTIFICATION, SURFACE, AIRBORNE, VELOCITY = 1, 2, 3, 4


def looks_like_beast(head: bytes) -> bool:
    """Whether data looks like a Beast stream: mostly frames (a capture may start inside a
    frame and hold some garbage; text holds no frame).

    Examples
    --------
    >>> frame = bytes([0x1A, 0x32, 0, 0, 0, 0, 0, 1, 0x80]) + bytes.fromhex("5d3c6614c6e7f0")
    >>> looks_like_beast(frame * 3), looks_like_beast(b"MSG,3,1,1,40621D,1,2021/10/07\\n" * 3)
    (True, False)
    """
    scan = scan_frame_arrays(head, final=False)
    return len(scan) >= 2 and 4 * (scan.garbage + scan.truncated) < len(scan)


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


LONG_ADSB = np.array([17, 18], dtype=np.uint8)
# What rs1090 is asked to decode, by ADS-B type code: positions (surface 5-8, airborne 9-18 and
# 20-22) in order with their times, rs1090 pairing them (CPR); identification (1-4), velocity
# (19) and operational status (31, which carries no state but which rs1090 rejects for some
# field values) once per distinct message, since they decode alone and repeat. The other types
# carry no part of a state (no position, 0; test, 23; surface system status, 24; reserved,
# 25-27 and 30; aircraft status, 28; target state, 29) and rs1090 rejects none of them for a
# field's value: their parity alone says whether they are ``bad_crc``.
POSITION_TYPE_CODES = np.zeros(32, dtype=np.bool_)
POSITION_TYPE_CODES[[*range(5, 19), 20, 21, 22]] = True
DISTINCT_TYPE_CODES = np.zeros(32, dtype=np.bool_)
DISTINCT_TYPE_CODES[[1, 2, 3, 4, 19, 31]] = True
MESSAGE_TYPES = {"05": AIRBORNE, "06": SURFACE, "09": VELOCITY, "08": IDENTIFICATION}
BAD_CRC = "rejected by the decoder (CRC, or a field out of range): {}"
NO_POSITION = "CPR: no even/odd pair within 10 s, and no --reference"
VALUE_NAMES = ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
POSITIONS_PER_CALL = 100_000
"""About this many positions go to rs1090 at once (by groups of aircraft), for memory, not speed:
a one-hour capture of 2 million frames peaked at 4.8 GB decoded in one call, 2.5 GB by groups."""


@dataclass(frozen=True)
class _Columns:
    """rs1090's messages as columns (one row each): BaseStation transmission type (0: no state),
    the numbers of :data:`VALUE_NAMES` (NaN where the message says nothing) and callsigns."""

    msg_type: NDArray[np.int8]
    values: dict[str, NDArray[np.float64]]
    callsign: list[str]

    @classmethod
    def of(cls, messages: list[dict[str, Any]]) -> _Columns:
        """What :func:`to_decoded` says of each message, each field read only where it counts."""
        msg_type = np.array(
            [
                MESSAGE_TYPES.get(m.get("bds"), 0) if m.get("df") in ("17", "18") and "icao24" in m else 0  # type: ignore[arg-type]
                for m in messages
            ],
            dtype=np.int8,
        )
        values = {name: np.full(len(messages), np.nan) for name in VALUE_NAMES}

        def read(types: tuple[int, ...], key: str, name: str) -> None:
            at = np.flatnonzero(np.isin(msg_type, types))
            if at.size:
                values[name][at] = _column([messages[k] for k in at.tolist()], key)

        read((AIRBORNE,), "altitude", "alt_ft")
        read((AIRBORNE, SURFACE), "latitude", "lat_deg")
        read((AIRBORNE, SURFACE), "longitude", "lon_deg")
        read((SURFACE, VELOCITY), "groundspeed", "gs_kt")
        read((SURFACE, VELOCITY), "track", "trk_deg")
        read((VELOCITY,), "vertical_rate", "vr_ftpmin")
        callsign = [""] * len(messages)
        for k in np.flatnonzero(msg_type == IDENTIFICATION).tolist():
            callsign[k] = str(messages[k].get("callsign") or "").strip().rstrip("_#")
        return cls(msg_type, values, callsign)

    @classmethod
    def concatenate(cls, parts: list[_Columns]) -> _Columns:
        return cls(
            np.concatenate([p.msg_type for p in parts]),
            {name: np.concatenate([p.values[name] for p in parts]) for name in VALUE_NAMES},
            [c for p in parts for c in p.callsign],
        )


def _decoded(
    hexes: list[str], times_s: list[float], reference: tuple[float, float] | None
) -> tuple[list[int], list[dict[str, Any]]]:
    """rs1090's messages for ``hexes`` and which of them it kept: it leaves out a message whose
    parity (CRC) does not check, or with a field out of range."""
    # rs1090's messages are dictionaries (typed by kind): read here by key, as _checked does
    found = cast(list[dict[str, Any]], rs1090.decode(hexes, times_s, reference=reference) if hexes else [])
    if len(found) == len(hexes):
        return list(range(len(hexes))), found
    kept: list[int] = []
    k, n = 0, len(hexes)
    for text in [m.get("frame") for m in found]:  # in order: skip the messages left out
        while k < n and hexes[k] != text:
            k += 1
        kept.append(k)
        k += 1
    return kept, found


def _addresses(message: NDArray[np.uint8]) -> NDArray[np.int64]:
    """The 24-bit address of each DF17/18 message (its bytes 2 to 4)."""
    return (message[:, 1].astype(np.int64) << 16) | (message[:, 2].astype(np.int64) << 8) | message[:, 3]


def _hexes(message: NDArray[np.uint8]) -> list[str]:
    text = message.tobytes().hex()
    width = 2 * message.shape[1]
    return [text[k : k + width] for k in range(0, len(text), width)]


def decode_frame_arrays(
    frames: FrameArrays,
    times_s: NDArray[np.float64],
    drops: Drops,
    *,
    reference: tuple[float, float] | None = None,
) -> tuple[Messages, list[str]]:
    """Decode a file's Mode S frames with rs1090 into the assembly's columns (rows are frame
    numbers from 1), and the aircraft addresses the ``aircraft`` column numbers.

    The rules are :func:`_checked`'s (the live path's, message by message): long frames rs1090
    rejects are counted in ``drops`` as ``bad_crc``, positions left unresolved as
    ``no_position``, both in row order. rs1090 decodes the positions in one call, in order, and
    each distinct identification, velocity or operational status message once (see
    :data:`DISTINCT_TYPE_CODES`); other ADS-B messages only have their parity checked.
    """
    message = frames.message
    adsb = (frames.kind == 0x33) & np.isin(message[:, 0] >> 3, LONG_ADSB)
    type_code = message[:, 4] >> 3
    is_position = adsb & POSITION_TYPE_CODES[type_code]
    is_distinct = adsb & DISTINCT_TYPE_CODES[type_code]
    checked = adsb & ~is_position & ~is_distinct
    bad = [checked & ~parity_ok(message)]

    # rs1090 pairs the positions of each aircraft apart from the others': decoding them by groups
    # of aircraft gives the same messages, and the decoded dictionaries of one group at a time
    address = _addresses(message)
    all_positions = np.flatnonzero(is_position)
    groups = max(1, -(-all_positions.size // POSITIONS_PER_CALL))
    parts: list[tuple[NDArray[np.intp], _Columns]] = []
    for group in range(groups):
        positions = all_positions[address[all_positions] % groups == group] if groups > 1 else all_positions
        hexes = _hexes(message[positions])
        kept, found = _decoded(hexes, times_s[positions].tolist(), reference)
        rejected = np.ones(positions.size, dtype=np.bool_)
        rejected[kept] = False
        bad.append(np.zeros_like(adsb))
        bad[-1][positions[rejected]] = True
        if reference is not None:  # rs1090 decodes a lone position against a reference one at a time
            for k, m in enumerate(found):
                if m.get("bds") in ("05", "06") and "latitude" not in m:
                    found[k] = dict(rs1090.decode(hexes[kept[k]], reference=reference))
        parts.append((positions[kept], _Columns.of(found)))
    positions = np.concatenate([p for p, _ in parts])
    position_columns = _Columns.concatenate([c for _, c in parts])

    others = np.flatnonzero(is_distinct)
    distinct, first, inverse = np.unique(
        np.ascontiguousarray(message[others]).view(np.dtype((np.void, message.shape[1]))).ravel(),
        return_index=True,
        return_inverse=True,
    )
    kept, found = _decoded(_hexes(message[others[first]]), times_s[others[first]].tolist(), None)
    accepted = np.zeros(distinct.size, dtype=np.bool_)
    accepted[kept] = True
    bad.append(np.zeros_like(adsb))
    bad[-1][others[~accepted[inverse]]] = True
    index = np.full(distinct.size, -1, dtype=np.int64)
    index[kept] = np.arange(len(kept))
    others, inverse = others[accepted[inverse]], index[inverse[accepted[inverse]]]
    other_columns = _Columns.of(found)

    at = np.concatenate((positions, others))
    msg_type = np.concatenate((position_columns.msg_type, other_columns.msg_type[inverse]))
    values = {
        name: np.concatenate((position_columns.values[name], other_columns.values[name][inverse]))
        for name in VALUE_NAMES
    }
    callsign = position_columns.callsign + [other_columns.callsign[k] for k in inverse.tolist()]
    unresolved = ((msg_type == AIRBORNE) | (msg_type == SURFACE)) & np.isnan(values["lat_deg"])
    bad_crc = np.flatnonzero(np.logical_or.reduce(bad)) + 1
    no_position = np.sort(at[unresolved]) + 1
    events = sorted([(row, 0) for row in bad_crc.tolist()] + [(row, 1) for row in no_position.tolist()])
    for row, reason in events:
        if reason == 0:
            drops.add("bad_crc", row, None, BAD_CRC.format(message[row - 1].tobytes().hex()))
        else:
            drops.add("no_position", row, None, NO_POSITION)

    keep = (msg_type > 0) & ~unresolved
    order = np.flatnonzero(keep)[np.argsort(at[keep], kind="stable")]
    at, msg_type = at[order], msg_type[order]
    addresses, first_seen, aircraft = np.unique(address[at], return_index=True, return_inverse=True)
    numbering = np.empty(addresses.size, dtype=np.int64)  # numbered as first seen, as the live path does
    numbering[np.argsort(first_seen, kind="stable")] = np.arange(addresses.size)
    names = [f"{a:06x}" for a in addresses[np.argsort(first_seen, kind="stable")].tolist()]
    callsign_kept = [callsign[k] for k in order.tolist()]
    airborne, surface = msg_type == AIRBORNE, msg_type == SURFACE
    messages = Messages(
        row=at.astype(np.int64) + 1,
        aircraft=numbering[aircraft.ravel()],
        msg_type=msg_type,
        time_s=times_s[at],
        values={name: values[name][order] for name in VALUE_NAMES},
        callsign=np.array(callsign_kept, dtype=np.str_) if callsign_kept else np.empty(0, np.str_),
        ground=np.where(airborne, 0, np.where(surface, 1, -1)).astype(np.int8),
    )
    return messages, names


def _column(messages: list[dict[str, Any]], key: str) -> NDArray[np.float64]:
    """A number of each message as a float, NaN where it is missing or not a number (as
    :func:`_number`)."""
    values = [m.get(key) for m in messages]
    try:
        return np.array(values, dtype=np.float64)  # None becomes NaN
    except (TypeError, ValueError):
        return np.array([_number(m, key) for m in messages], dtype=np.float64)


def _checked(
    message: dict[str, Any] | None, text: str, row: int, drops: Drops, reference: tuple[float, float] | None
) -> Decoded | None:
    """What a decoded message says (``None``: rejected, or nothing), a lone position decoded
    against ``reference``; rejected messages and unresolved positions are counted."""
    if message is None:  # rs1090 leaves out a message whose parity (CRC) does not check
        drops.add("bad_crc", row, None, BAD_CRC.format(text))
        return None
    if message.get("bds") in ("05", "06") and "latitude" not in message and reference is not None:
        # rs1090 decodes a lone position against a reference one message at a time only
        message = dict(rs1090.decode(text, reference=reference))
    decoded = to_decoded(message)
    if decoded is not None and decoded.msg_type in (AIRBORNE, SURFACE) and math.isnan(decoded.lat_deg):
        drops.add("no_position", row, None, NO_POSITION)
        return None
    return decoded


def assemble_beast(
    data: bytes,
    source: str,
    *,
    start_s: float = 0.0,
    reference: tuple[float, float] | None = None,
    max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
) -> Reading:
    """States from the bytes of a Beast capture (see the module's rules); rows are frame numbers
    from 1. The frames are split by a compiled scan (:mod:`deconflict.feeds.beast_scan`) and
    decoded together (:func:`decode_frame_arrays`)."""
    drops = Drops(source)
    frames = scan_frame_arrays(data)
    drops.add_many("garbage", frames.garbage)
    drops.add_many("truncated", frames.truncated)
    messages, names = decode_frame_arrays(
        frames, frame_times_s(frames.ticks, start_s), drops, reference=reference
    )
    tracks = assemble_messages(messages, names, source, max_velocity_age_s, drops)
    return Reading("beast", tracks, drops, len(frames) + frames.garbage + frames.truncated)


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
    >>> a.frames(scan_frame_arrays(frame), 100.0), a.records, dict(a.drops.counts)
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

    def frames(self, frames: FrameArrays, time_s: float) -> list[FeedState]:
        """Take frames (:func:`~deconflict.feeds.beast_scan.scan_frame_arrays`) received at
        ``time_s``; the states they complete."""
        states: list[FeedState] = []
        adsb = ((frames.kind == 0x33) & np.isin(frames.message[:, 0] >> 3, LONG_ADSB)).tolist()
        for k, is_adsb in enumerate(adsb):
            self.records += 1
            if not is_adsb:
                continue
            text = frames.message[k].tobytes().hex()
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
