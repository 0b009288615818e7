"""BaseStation ("SBS-1") text, as dump1090 and readsb serve it on port 30003: lines to states.

Each line is 22 comma-separated fields: ``MSG``, the transmission type (1-8), session,
aircraft and flight ids, the 24-bit hex ident, the date and time the message was
generated and logged (``YYYY/MM/DD``, ``HH:MM:SS.fff``), callsign, altitude (ft),
ground speed (kt), track (deg), latitude, longitude, vertical rate (ft/min), squawk,
alert, emergency, SPI and on-ground (``-1`` or ``1``: on the ground, ``0``: airborne).
Other BaseStation lines (``SEL``, ``ID``, ``AIR``, ``STA``, ``CLK``) carry no state and
are skipped.

Assembly rule: positions (``MSG,3``, and ``MSG,2`` on the surface) and velocities
(``MSG,4``; ``MSG,2`` carries both) arrive in different lines. For each aircraft, in the
order of the lines, the reader keeps its latest velocity, altitude, callsign and ground
flag. A state is emitted for every position whose aircraft has a velocity generated at
most ``max_velocity_age_s`` (default 10 s) from the position, and an altitude (the
position's own, else the latest one within the same age); the state's time is the
position message's generated time (its logged time when that is empty), read as UTC
(run the receiver with ``TZ=UTC``). A missing vertical rate counts as level (0 m/s).
Positions without such a velocity or altitude are dropped (``no_velocity``,
``no_altitude``), never guessed. Units are converted at the edge (ft, kt, ft/min to SI).

Malformed lines never stop a read: each is dropped and counted under its reason
(``garbage``, ``truncated``, ``bad_type``, ``bad_ident``, ``bad_time``, ``bad_number``,
``out_of_range``). Files are read in chunks of lines, each decoded with array
operations, then assembled with array operations; :class:`SbsAssembler` does the same
line by line for a live source, and the two agree.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deconflict.feeds.drops import MAX_EXAMPLES, Drops, Reading
from deconflict.feeds.files import open_binary
from deconflict.feeds.sbs_scan import BLANK, OK, REASONS, SLOW, scan
from deconflict.tactical.states import States
from deconflict.tactical.tracks import Tracks
from deconflict.units import FT_PER_MIN_TO_MPS, FT_TO_M, KT_TO_MPS

__all__ = [
    "DEFAULT_MAX_VELOCITY_AGE_S",
    "FeedState",
    "Messages",
    "SbsAssembler",
    "assemble_messages",
    "assemble_sbs",
    "looks_like_sbs",
    "read_sbs",
]

DEFAULT_MAX_VELOCITY_AGE_S = 10.0
"""How far apart (message time) a position and the velocity it is joined with may be."""
FIELDS = 22
CHUNK_LINES = 65_536
CHUNK_BYTES = 16 << 20
GARBAGE, TRUNCATED, BAD_TYPE, BAD_IDENT, BAD_TIME, BAD_NUMBER, OUT_OF_RANGE = 3, 4, 5, 6, 7, 8, 9
ASCII_SPACE = " \t\n\r\x0b\x0c"
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
KINDS = frozenset({"MSG", "SEL", "ID", "AIR", "STA", "CLK"})
IDENT = re.compile(r"~?[0-9a-fA-F]{6}")
CLOCK = re.compile(r"(\d\d):(\d\d):(\d\d(?:\.\d*)?)", re.ASCII)
GROUND = {"-1": 1, "1": 1, "0": 0}
"""On-ground flags: BaseStation writes ``-1`` for true; some feeders write ``1``."""

# Which transmission types carry which field (the BaseStation spec); a field in a type
# that does not carry it is ignored, whatever it holds.
ALTITUDE_TYPES = ("2", "3", "5", "6", "7")
VELOCITY_TYPES = ("2", "4")
POSITION_TYPES = ("2", "3")
NUMERIC_NAMES = ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
COLUMNS = {"alt_ft": 11, "gs_kt": 12, "trk_deg": 13, "lat_deg": 14, "lon_deg": 15, "vr_ftpmin": 16}
CARRIED_BY = {
    "alt_ft": ALTITUDE_TYPES,
    "gs_kt": VELOCITY_TYPES,
    "trk_deg": VELOCITY_TYPES,
    "lat_deg": POSITION_TYPES,
    "lon_deg": POSITION_TYPES,
    "vr_ftpmin": ("4",),
}
RANGE = {
    "lat_deg": (-90.0, 90.0),
    "lon_deg": (-180.0, 180.0),
    "trk_deg": (0.0, 360.0),
    "gs_kt": (0.0, math.inf),
}

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]


@dataclass(frozen=True)
class FeedState:
    """One aircraft state from a feed, in SI units; ``time_s`` is the message's own time."""

    id: str
    callsign: str
    time_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float
    on_ground: bool | None
    row: int


def looks_like_sbs(head: str) -> bool:
    """Whether the first lines of a text are BaseStation lines (the first non-blank one is)."""
    for line in head.splitlines():
        if line.strip():
            return line.split(",", 1)[0] in KINDS and line.count(",") >= 9
    return False


@functools.lru_cache(maxsize=1024)  # a capture spans a few dates; garbage cannot grow this
def _date_s(text: str) -> float:
    """Seconds since the epoch of a ``YYYY/MM/DD`` date at 00:00 UTC; NaN when it is not one."""
    try:
        return datetime.strptime(text, "%Y/%m/%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return math.nan


def _clock_s(text: str) -> float:
    """Seconds since midnight of ``HH:MM:SS[.fff]``; NaN when it is not one."""
    match = CLOCK.fullmatch(text)
    if match is None:
        return math.nan
    hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
    if hours > 23 or minutes > 59 or seconds >= 61.0:
        return math.nan
    return hours * 3600.0 + minutes * 60.0 + seconds


@dataclass(slots=True)
class _Aircraft:
    """What the line-by-line assembly remembers of one aircraft: its latest of each."""

    velocity_s: float = math.nan
    gs_kt: float = 0.0
    trk_deg: float = 0.0
    vr_ftpmin: float = 0.0
    altitude_s: float = math.nan
    alt_ft: float = 0.0
    callsign: str = ""
    on_ground: bool | None = None
    heard_s: float = -math.inf


class SbsAssembler:
    """Line-by-line assembly of BaseStation states (the live path; see the module's rule).

    Memory is bounded: aircraft not heard from for ``forget_s`` seconds (message time)
    are forgotten.

    Examples
    --------
    >>> a = SbsAssembler("live")
    >>> at = "2024/05/01,12:00:0{0}.000,2024/05/01,12:00:0{0}.000"
    >>> a.line(f"MSG,4,1,1,4CA2D6,1,{at.format(0)},,,450,90.0,,,-640,,,,,0", 1)
    >>> s = a.line(f"MSG,3,1,1,4CA2D6,1,{at.format(1)},,35000,,,48.5,2.25,,,0,0,0,0", 2)
    >>> s.id, round(s.alt_m, 1), round(s.gs_mps, 2), round(s.vs_mps, 2), s.on_ground
    ('4ca2d6', 10668.0, 231.5, -3.25, False)
    >>> a.line("MSG,3,garbage", 3) is None, dict(a.drops.counts)
    (True, {'truncated': 1})
    """

    def __init__(
        self,
        source: str,
        max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
        forget_s: float = 300.0,
    ) -> None:
        self.drops = Drops(source)
        self.max_velocity_age_s = max_velocity_age_s
        self.forget_s = forget_s
        self.records = 0
        # id -> [velocity time, gs, trk, vs, altitude time, alt, callsign, ground, last heard]
        self._aircraft: dict[str, _Aircraft] = {}
        self._latest_s = -math.inf

    def line(self, text: str, row: int) -> FeedState | None:
        """Take one line; the state it completes, or ``None`` (a drop is counted in :attr:`drops`)."""
        text = text.rstrip("\r\n")
        if not text.strip(ASCII_SPACE):  # as the compiled scan: ASCII white space only
            return None
        self.records += 1
        parts = text.split(",")
        kind = parts[0]
        if kind not in KINDS:
            self.drops.add("garbage", row, None, f"not a BaseStation line: {text[:40]!r}")
            return None
        if len(parts) < FIELDS:
            self.drops.add("truncated", row, None, f"expected {FIELDS} fields, got {len(parts)}")
            return None
        if kind != "MSG":
            return None
        msg_type = parts[1]
        if msg_type not in ("1", "2", "3", "4", "5", "6", "7", "8"):
            self.drops.add("bad_type", row, "transmission_type", f"must be 1 to 8, got {msg_type!r}")
            return None
        ident = parts[4]
        if IDENT.fullmatch(ident) is None:
            self.drops.add("bad_ident", row, "hex_ident", f"must be 6 hex digits, got {ident!r}")
            return None
        date, clock = (parts[6], parts[7]) if parts[6] or parts[7] else (parts[8], parts[9])
        time_s = _date_s(date) + _clock_s(clock)
        if math.isnan(time_s):
            self.drops.add(
                "bad_time", row, "time", f"must be YYYY/MM/DD HH:MM:SS.fff, got {date!r} {clock!r}"
            )
            return None
        values: dict[str, float] = {}
        for name, column in COLUMNS.items():
            raw = parts[column]
            if not raw or msg_type not in CARRIED_BY[name]:
                continue
            number = float(raw) if NUMBER.fullmatch(raw) else math.nan
            if not math.isfinite(number):
                self.drops.add("bad_number", row, name, f"must be a number, got {raw!r}")
                return None
            low, high = RANGE.get(name, (-math.inf, math.inf))
            if not low <= number <= high:
                self.drops.add("out_of_range", row, name, f"must be within [{low:g}, {high:g}], got {raw}")
                return None
            values[name] = number
        ground = GROUND.get(parts[21].strip(ASCII_SPACE))
        return self.message(ident.lower(), int(msg_type), time_s, values, parts[10].strip(), ground, row)

    def message(
        self,
        ident: str,
        msg_type: int,
        time_s: float,
        values: dict[str, float],
        callsign: str,
        ground: int | None,
        row: int,
    ) -> FeedState | None:
        """Take one decoded message (a BaseStation transmission type; ``values`` in the
        module's units, keyed as :data:`COLUMNS`, only those it carries); the state it
        completes, or ``None``. The Beast reader's messages come in here too."""
        memory = self._aircraft.get(ident)
        if memory is None:
            memory = self._aircraft[ident] = _Aircraft()
        memory.heard_s = time_s
        if callsign:
            memory.callsign = callsign
        if ground is not None:
            memory.on_ground = bool(ground)
        elif msg_type == 2:
            memory.on_ground = True
        if "gs_kt" in values and "trk_deg" in values:
            memory.velocity_s, memory.gs_kt, memory.trk_deg = time_s, values["gs_kt"], values["trk_deg"]
            memory.vr_ftpmin = values.get("vr_ftpmin", 0.0)
        own_alt = "alt_ft" in values
        if own_alt:
            memory.altitude_s, memory.alt_ft = time_s, values["alt_ft"]
        self._prune(time_s)
        if "lat_deg" not in values or "lon_deg" not in values:
            return None
        if not abs(time_s - memory.velocity_s) <= self.max_velocity_age_s:
            self.drops.add("no_velocity", row, None, f"no velocity within {self.max_velocity_age_s:g} s")
            return None
        if not own_alt and not abs(time_s - memory.altitude_s) <= self.max_velocity_age_s:
            self.drops.add("no_altitude", row, None, f"no altitude within {self.max_velocity_age_s:g} s")
            return None
        return FeedState(
            id=ident,
            callsign=memory.callsign,
            time_s=time_s,
            lat_deg=values["lat_deg"],
            lon_deg=values["lon_deg"],
            alt_m=memory.alt_ft * FT_TO_M,
            gs_mps=memory.gs_kt * KT_TO_MPS,
            trk_deg=memory.trk_deg % 360.0,
            vs_mps=memory.vr_ftpmin * FT_PER_MIN_TO_MPS,
            on_ground=memory.on_ground,
            row=row,
        )

    def _prune(self, time_s: float) -> None:
        if time_s > self._latest_s + self.forget_s:
            self._latest_s = time_s
            horizon_s = time_s - self.forget_s
            for ident in [k for k, m in self._aircraft.items() if m.heard_s < horizon_s]:
                del self._aircraft[ident]


# --- files: decoded in chunks with array operations, then assembled -------------------------


@dataclass(frozen=True, eq=False)
class Messages:
    """Decoded messages, one entry per message kept (arrays of equal length): the BaseStation
    lines of a file, or the ADS-B messages of a Beast capture (with BaseStation transmission types)."""

    row: Int
    aircraft: Int
    msg_type: NDArray[np.int8]
    time_s: Float
    values: dict[str, Float]  # NaN where the line does not carry the field
    callsign: NDArray[np.str_]
    ground: NDArray[np.int8]  # -1 not given, 0 airborne, 1 on the ground


def _decode(data: bytes, first_row: int, codes: dict[str, int], drops: Drops) -> tuple[Messages, int, int]:
    """Decode the lines of ``data`` (compiled scan); malformed ones are counted in ``drops`` and
    left out. Returns the messages kept, how many lines there were, and how many were not blank."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [buf.size])).astype(np.int64)
    if starts[-1] == buf.size:  # the text ends with a newline: no line after it
        starts, ends = starts[:-1], ends[:-1]
    status, bad_field, msg_type, ident, time_s, values, has, callsign, ground = scan(buf, starts, ends)
    row = np.arange(first_row, first_row + starts.size, dtype=np.int64)

    def text(i: int) -> str:
        return data[starts[i] : ends[i]].decode("utf-8", errors="replace").rstrip("\r\n")

    for i, k in zip(*np.nonzero(has == SLOW), strict=True):  # numbers the scan leaves to float()
        name = NUMERIC_NAMES[k]
        raw = text(int(i)).split(",")[COLUMNS[name]]
        number = float(raw)
        low, high = RANGE.get(name, (-math.inf, math.inf))
        if not math.isfinite(number):
            status[i], bad_field[i] = BAD_NUMBER, k
        elif not low <= number <= high:
            status[i], bad_field[i] = OUT_OF_RANGE, k
        values[i, k] = number
    for code, reason in REASONS.items():
        where = np.flatnonzero(status == code)
        shown = where[: max(MAX_EXAMPLES - len(drops.examples), 0)]
        drops.add_many(reason, where.size - shown.size)
        for i in shown.tolist():
            line = text(i)
            parts = line.split(",")
            if code in (BAD_NUMBER, OUT_OF_RANGE):
                name = NUMERIC_NAMES[int(bad_field[i])]
                drops.add(reason, int(row[i]), name, f"got {parts[COLUMNS[name]]!r}")
            elif code == GARBAGE:
                drops.add(reason, int(row[i]), None, f"not a BaseStation line: {line[:40]!r}")
            elif code == TRUNCATED:
                drops.add(reason, int(row[i]), None, f"expected {FIELDS} fields, got {len(parts)}")
            else:
                field = {BAD_TYPE: "transmission_type", BAD_IDENT: "hex_ident", BAD_TIME: "time"}[code]
                drops.add(reason, int(row[i]), field, f"got {line[:80]!r}")
    keep = np.flatnonzero(status == OK)
    kept_ident = ident[keep]
    unique, inverse = np.unique(kept_ident, return_inverse=True)
    names = [("~" if code >> 24 else "") + f"{code & 0xFFFFFF:06x}" for code in unique.tolist()]
    aircraft = np.array([codes.setdefault(name, len(codes)) for name in names], dtype=np.int64)[inverse]
    callsigns = np.zeros(keep.size, dtype=object)
    callsigns[:] = ""
    span = callsign[keep]
    for j in np.flatnonzero(span[:, 1] > span[:, 0]).tolist():
        callsigns[j] = data[span[j, 0] : span[j, 1]].decode("utf-8", errors="replace").strip()
    messages = Messages(
        row=row[keep],
        aircraft=aircraft,
        msg_type=msg_type[keep],
        time_s=time_s[keep],
        values={name: values[keep, k] for k, name in enumerate(NUMERIC_NAMES)},
        callsign=callsigns.astype(np.str_) if keep.size else np.empty(0, dtype=np.str_),
        ground=ground[keep],
    )
    return messages, int(starts.size), int((status != BLANK).sum())


def _latest(present: Bool, aircraft: Int) -> tuple[Int, Bool]:
    """For each entry (sorted by aircraft, then line), the index of the latest entry of the same
    aircraft at or before it where ``present``, and whether there is one."""
    index = np.where(present, np.arange(present.size), -1)
    np.maximum.accumulate(index, out=index)
    found = index >= 0
    found[found] = aircraft[index[found]] == aircraft[found]
    return index, found


def assemble_messages(
    messages: Messages, names: list[str], source: str, max_age_s: float, drops: Drops
) -> Tracks:
    """Join positions with their aircraft's latest velocity and altitude (the module's rule)."""
    order = np.lexsort((messages.row, messages.aircraft))
    aircraft = messages.aircraft[order]
    time_s = messages.time_s[order]
    msg_type = messages.msg_type[order]
    v = {name: values[order] for name, values in messages.values.items()}
    row = messages.row[order]

    has_alt = ~np.isnan(v["alt_ft"])
    is_velocity = ~np.isnan(v["gs_kt"]) & ~np.isnan(v["trk_deg"])
    is_position = ~np.isnan(v["lat_deg"]) & ~np.isnan(v["lon_deg"])
    velocity_at, has_velocity = _latest(is_velocity, aircraft)
    altitude_at, has_altitude = _latest(has_alt, aircraft)
    callsign_at, has_callsign = _latest(messages.callsign[order] != "", aircraft)
    ground = messages.ground[order]
    ground = np.where((ground < 0) & (msg_type == 2), 1, ground)
    ground_at, has_ground = _latest(ground >= 0, aircraft)

    velocity_ok = has_velocity & (np.abs(time_s - time_s[velocity_at]) <= max_age_s)
    altitude_ok = has_alt | (has_altitude & (np.abs(time_s - time_s[altitude_at]) <= max_age_s))
    no_velocity = is_position & ~velocity_ok
    no_altitude = is_position & velocity_ok & ~altitude_ok
    for reason, mask, text in (
        ("no_velocity", no_velocity, "no velocity"),
        ("no_altitude", no_altitude, "no altitude"),
    ):
        for at in sorted(row[mask].tolist()):
            drops.add(reason, at, None, f"{text} within {max_age_s:g} s")
    emit = is_position & velocity_ok & altitude_ok
    at = np.flatnonzero(emit)
    at = at[np.argsort(row[at], kind="stable")]  # back to file order
    vel = velocity_at[at]
    alt = np.where(has_alt[at], at, altitude_at[at])
    vs_ftpmin = np.nan_to_num(v["vr_ftpmin"][vel], nan=0.0)
    callsigns = np.where(has_callsign[at], messages.callsign[order][callsign_at[at]], "")
    on_ground = np.where(has_ground[at], ground[ground_at[at]] == 1, False)
    names_array = np.asarray(names, dtype=np.str_)
    states = States(
        v["lat_deg"][at],
        v["lon_deg"][at],
        v["alt_ft"][alt] * FT_TO_M,
        v["gs_kt"][vel] * KT_TO_MPS,
        v["trk_deg"][vel] % 360.0,
        vs_ftpmin * FT_PER_MIN_TO_MPS,
    )
    return Tracks(
        source=source,
        row=row[at],
        ids=names_array[aircraft[at]] if names else np.empty(0, dtype=np.str_),
        callsigns=np.asarray(callsigns, dtype=np.str_),
        time_s=time_s[at],
        states=states,
        on_ground=np.asarray(on_ground, dtype=bool),
    )


def _concatenate(parts: list[Messages]) -> Messages:
    if not parts:
        empty = np.empty(0)
        return Messages(
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            empty,
            dict.fromkeys(COLUMNS, empty),
            np.empty(0, np.str_),
            np.empty(0, np.int8),
        )
    return Messages(
        row=np.concatenate([p.row for p in parts]),
        aircraft=np.concatenate([p.aircraft for p in parts]),
        msg_type=np.concatenate([p.msg_type for p in parts]),
        time_s=np.concatenate([p.time_s for p in parts]),
        values={name: np.concatenate([p.values[name] for p in parts]) for name in COLUMNS},
        callsign=np.concatenate([p.callsign.astype(object) for p in parts]).astype(np.str_),
        ground=np.concatenate([p.ground for p in parts]),
    )


def _read_chunks(chunks: Iterable[bytes], source: str, max_velocity_age_s: float) -> Reading:
    """Decode byte chunks (split anywhere), then assemble."""
    drops = Drops(source)
    codes: dict[str, int] = {}
    parts: list[Messages] = []
    records = 0
    first_row = 1
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        data, carry = data[:cut], data[cut:]
        if data:
            messages, lines, kept = _decode(data, first_row, codes, drops)
            parts.append(messages)
            records += kept
            first_row += lines
    if carry:
        messages, _, kept = _decode(carry, first_row, codes, drops)
        parts.append(messages)
        records += kept
    tracks = assemble_messages(_concatenate(parts), list(codes), source, max_velocity_age_s, drops)
    return Reading("sbs", tracks, drops, records)


def assemble_sbs(
    lines: Iterable[str],
    source: str,
    *,
    max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
    chunk_lines: int = CHUNK_LINES,
) -> Reading:
    """States from BaseStation lines (see the module's rule); rows are line numbers from 1.

    Examples
    --------
    >>> lines = [
    ...     "MSG,4,1,1,4CA2D6,1,2024/05/01,12:00:00.000,2024/05/01,12:00:00.000,,,450,90.0,,,-640,,,,,0",
    ...     "MSG,3,1,1,4CA2D6,1,2024/05/01,12:00:01.000,2024/05/01,12:00:01.000,,35000,,,48.5,2.25,,,0,0,0,0",
    ...     "MSG,3,1,1,4CA2D6,1,2024/05/01,12:00:02.000,2024/05/01,12:00:02.000,,35000,,,95.0,2.25,,,0,0,0,0",
    ...     "$GPGGA,noise",
    ... ]
    >>> reading = assemble_sbs(lines, "capture.sbs")
    >>> len(reading.tracks), reading.tracks.row.tolist(), reading.drops.summary()
    (1, [2], 'garbage 1, out_of_range 1')
    """

    def chunks() -> Iterator[bytes]:
        iterator = iter(lines)
        while chunk := list(islice(iterator, chunk_lines)):
            yield "".join(line.rstrip("\r\n") + "\n" for line in chunk).encode("utf-8", "surrogateescape")

    return _read_chunks(chunks(), source, max_velocity_age_s)


def read_sbs(path: str | Path, *, max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S) -> Reading:
    """Read a BaseStation capture file (optionally ``.gz``); see :func:`assemble_sbs`.

    Raises
    ------
    InputError
        The file cannot be read (malformed lines are dropped and counted, not raised).
    """
    with open_binary(Path(path)) as stream:
        first = stream.read(CHUNK_BYTES)
        if first.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
            first = first[3:]
        return _read_chunks(
            itertools.chain([first], iter(lambda: stream.read(CHUNK_BYTES), b"")),
            str(path),
            max_velocity_age_s,
        )
