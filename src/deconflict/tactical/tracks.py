"""Reading track CSV files (PRODUCT.md's format), with errors that name file, row and field.

Columns: ``time_s`` (optional for a single snapshot), ``id`` (or ``icao24``),
optional ``callsign``, ``lat_deg``, ``lon_deg``, ``alt_m``, ``gs_mps``,
``trk_deg``, ``vs_mps``, optional ``on_ground`` (``true``/``false``, ``1``/``0``, any
case; empty: not known, taken as airborne); in any order, extra columns ignored. Files ending in
``.gz`` are decompressed. Rows are numbered as lines of the file (the header is
row 1), so an editor jumps straight to them.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deconflict.errors import InputError, Problem
from deconflict.tactical.states import States
from deconflict.units import FT_TO_M

__all__ = [
    "ALT_JUMP_TOLERANCE_M",
    "MAX_PROBLEMS",
    "Implausible",
    "PlausibleRanges",
    "Tracks",
    "altitude_jumps",
    "implausible_values",
    "read_tracks",
]

MAX_PROBLEMS = 20
"""Stop collecting problems after this many: the first ones are what a user fixes first."""
ALT_JUMP_TOLERANCE_M = 150.0
"""Altitude change allowed between two reports on top of ``max_vs_mps`` times the time between them."""

NUMERIC = ("lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")
RANGES: dict[str, tuple[float, float]] = {
    "lat_deg": (-90.0, 90.0),
    "lon_deg": (-180.0, 180.0),
    "gs_mps": (0.0, math.inf),
    "trk_deg": (0.0, 360.0),
    "time_s": (0.0, 253_402_300_799.0),  # 1970 to 9999-12-31T23:59:59Z: times must print as RFC 3339
}

GROUND_FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}
"""``on_ground`` values (lower case): empty means not known, and an aircraft not known to be
on the ground is kept, so that a missing flag never hides one."""

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]
Text = NDArray[np.str_]


@dataclass(frozen=True, eq=False)
class Tracks:
    """Rows of a track file, in file order.

    Attributes
    ----------
    source
        The file name, for messages.
    row
        Line number of each record in the file.
    ids, callsigns
        Aircraft identifier (``id`` or ``icao24``) and callsign (empty when absent).
    time_s
        Report times, seconds since the Unix epoch; ``None`` when the file has no ``time_s`` column.
    states
        The kinematic state of each row.
    on_ground
        Each row's ground flag; ``None`` when the file has no ``on_ground`` column.
    """

    source: str
    row: Int
    ids: Text
    callsigns: Text
    time_s: Float | None
    states: States
    on_ground: Bool | None = None

    def __len__(self) -> int:
        return int(self.row.size)


@dataclass(frozen=True)
class PlausibleRanges:
    """The values an aircraft can report; outside them a value is a glitch or a unit mistake.

    Attributes
    ----------
    min_alt_m, max_alt_m
        Altitude range: pressure altitude reads about -700 m on the Dead Sea shore in a
        strong high; the highest flight levels in use (FL510, 15,545 m) are below 16 km.
    max_gs_mps
        Ground speed: 1000 m/s is about Mach 3 at altitude.
    max_vs_mps
        Vertical speed either way: 100 m/s is about 20,000 ft/min.
    """

    min_alt_m: float = -1000.0
    max_alt_m: float = 16_000.0
    max_gs_mps: float = 1000.0
    max_vs_mps: float = 100.0


@dataclass(frozen=True, eq=False)
class Implausible:
    """The rows of a track file with values outside :class:`PlausibleRanges`.

    Attributes
    ----------
    altitude, speed
        Masks over the rows: altitude out of range; ground or vertical speed out of range.
    problems
        The first :data:`MAX_PROBLEMS` of them, each naming file, row, field and the range.
    """

    altitude: Bool
    speed: Bool
    problems: tuple[Problem, ...]

    def __len__(self) -> int:
        return int((self.altitude | self.speed).sum())


def implausible_values(tracks: Tracks, ranges: PlausibleRanges) -> Implausible:
    """Find the rows whose altitude, ground speed or vertical speed no aircraft can have.

    Examples
    --------
    >>> s = States([48.0, 48.0], [2.0, 2.1], [35000.0, 3000.0], [200.0, 200.0], [90.0, 90.0], [0.0, 0.0])
    >>> t = Tracks("t.csv", np.array([2, 3]), np.array(["a", "b"]), np.array(["", ""]), None, s)
    >>> found = implausible_values(t, PlausibleRanges())
    >>> len(found), found.problems[0].record, found.problems[0].field
    (1, 'row 2', 'alt_m')
    >>> found.problems[0].message
    'must be within [-1000, 16000] m for an aircraft, got 35000 (feet given as metres?)'
    """
    s = tracks.states
    checks = (
        ("alt_m", s.alt_m, ranges.min_alt_m, ranges.max_alt_m, "m"),
        ("gs_mps", s.gs_mps, 0.0, ranges.max_gs_mps, "m/s"),
        ("vs_mps", s.vs_mps, -ranges.max_vs_mps, ranges.max_vs_mps, "m/s"),
    )
    problems = _Collector(tracks.source)
    masks = []
    for name, values, low, high, unit in checks:
        outside = (values < low) | (values > high)
        masks.append(outside)
        for at in np.flatnonzero(outside)[:MAX_PROBLEMS].tolist():
            value = float(values[at])
            feet = name == "alt_m" and value > high and low <= value * FT_TO_M <= high
            hint = " (feet given as metres?)" if feet else ""
            problems.add(
                int(tracks.row[at]),
                name,
                f"must be within [{low:g}, {high:g}] {unit} for an aircraft, got {value:.10g}{hint}",
            )
    return Implausible(masks[0], masks[1] | masks[2], tuple(problems.problems))


def altitude_jumps(
    alt_m: float, previous_alt_m: float, previous_vs_mps: float, dt_s: float, max_vs_mps: float
) -> bool:
    """Whether a report's altitude jumps from the aircraft's previous accepted report.

    It jumps when it is off the previous altitude dead-reckoned ``dt_s`` seconds
    on (at the previous vertical speed) by more than ``max_vs_mps * dt_s`` plus
    :data:`ALT_JUMP_TOLERANCE_M`: a single spike, or a transponder stuck on an
    impossible level. The one rule of the replay's cleaning and of the live
    picture's intake; both apply it for ``0 < dt_s <= stale_s`` only.

    Examples
    --------
    >>> altitude_jumps(3400.0, 3000.0, 0.0, 1.0, 100.0), altitude_jumps(3260.0, 3000.0, 10.0, 1.0, 100.0)
    (True, False)
    """
    expected_m = previous_alt_m + previous_vs_mps * dt_s
    return bool(abs(alt_m - expected_m) > max_vs_mps * dt_s + ALT_JUMP_TOLERANCE_M)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


class _Collector:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, row: int | None, column: str | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.source, message, None if row is None else f"row {row}", column))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def read_tracks(path: str | Path, *, require_time: bool = False) -> Tracks:
    """Read a track CSV file (optionally gzip-compressed).

    Parameters
    ----------
    path
        The file.
    require_time
        Whether a ``time_s`` column is required (replay) or optional (a snapshot).

    Raises
    ------
    InputError
        Unreadable file, missing columns, or rows with bad values; every problem
        names the file, the row and the field.
    """
    path = Path(path)
    source = str(path)
    problems = _Collector(source)
    try:
        with _open_text(path) as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                raise InputError([Problem(source, "the file is empty; expected a CSV header row")])
            names = [name.strip() for name in header]
            index = {name: k for k, name in enumerate(names) if name}
            id_column = "id" if "id" in index else "icao24"
            required = [*(["time_s"] if require_time else []), id_column, *NUMERIC]
            missing = [name for name in required if name not in index]
            if missing:
                need = ", ".join(("id (or icao24)" if m == "icao24" else m) for m in missing)
                raise InputError([Problem(source, f"missing column(s) {need}", "row 1", "header")])
            wanted = [*(["time_s"] if "time_s" in index else []), id_column, *NUMERIC]
            has_callsign = "callsign" in index
            has_ground = "on_ground" in index
            ground_texts: list[str] = []
            width = len(names)
            columns: dict[str, list[str]] = {name: [] for name in wanted}
            callsigns: list[str] = []
            rows: list[int] = []
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                line = reader.line_num
                if len(record) != width:
                    problems.add(line, None, f"expected {width} fields as in the header, got {len(record)}")
                    continue
                rows.append(line)
                for name in wanted:
                    columns[name].append(record[index[name]].strip())
                callsigns.append(record[index["callsign"]].strip() if has_callsign else "")
                if has_ground:
                    ground_texts.append(record[index["on_ground"]])
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([Problem(source, f"cannot read the file: {exc}")]) from None

    row = np.asarray(rows, dtype=np.int64)
    values: dict[str, Float] = {}
    for name in wanted:
        if name == id_column:
            continue
        values[name] = _numbers(columns[name], name, row, problems)
    on_ground = _ground_flags(ground_texts, row, problems) if has_ground else None
    ids = np.asarray(columns[id_column], dtype=np.str_)
    for at in np.flatnonzero(ids == "").tolist():
        problems.add(int(row[at]), id_column, "must not be empty")
    problems.raise_if_any()
    states = States(*(values[name] for name in NUMERIC))
    return Tracks(
        source=source,
        row=row,
        ids=ids,
        callsigns=np.asarray(callsigns, dtype=np.str_),
        time_s=values.get("time_s"),
        states=states,
        on_ground=on_ground,
    )


def _ground_flags(texts: list[str], row: Int, problems: _Collector) -> Bool:
    """Parse the ``on_ground`` column; record a problem per value that is not a flag."""
    flags = np.zeros(len(texts), dtype=bool)
    for k, text in enumerate(texts):
        flag = GROUND_FLAGS.get(text.strip().lower())
        if flag is None:
            problems.add(int(row[k]), "on_ground", f"must be true or false (or 1/0), got {text!r}")
        else:
            flags[k] = flag
    return flags


def _numbers(texts: list[str], name: str, row: Int, problems: _Collector) -> Float:
    """Parse one numeric column; record a problem per bad value."""
    try:
        numbers = np.asarray(texts, dtype=np.float64) if texts else np.empty(0)
    except ValueError:
        numbers = np.empty(len(texts))
        for k, text in enumerate(texts):
            try:
                numbers[k] = float(text)
            except ValueError:
                problems.add(int(row[k]), name, f"must be a number, got {text!r}")
                numbers[k] = 0.0
    bad = ~np.isfinite(numbers)
    low, high = RANGES.get(name, (-math.inf, math.inf))
    out_of_range = ~bad & ((numbers < low) | (numbers > high))
    for at in np.flatnonzero(bad).tolist():
        problems.add(int(row[at]), name, f"must be a finite number, got {texts[at]!r}")
    for at in np.flatnonzero(out_of_range).tolist():
        allowed = f">= {low:g}" if math.isinf(high) else f"within [{low:g}, {high:g}]"
        problems.add(int(row[at]), name, f"must be {allowed}, got {texts[at]}")
    numbers[bad | out_of_range] = 0.0
    return numbers
