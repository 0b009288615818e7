"""OpenSky Network state vectors: the REST API's ``states`` and the history's ``state_vectors_data4``.

Two layouts, one set of rules:

- **REST** (``GET /api/states/all``): a JSON object whose ``states`` array holds one
  positional row per aircraft: ``icao24, callsign, origin_country, time_position,
  last_contact, longitude, latitude, baro_altitude, on_ground, velocity, true_track,
  vertical_rate, sensors, geo_altitude, squawk, spi, position_source[, category]``. A
  file may hold one response, or one response per line (polls recorded over time).
  Row N is the Nth state of the file.
- **History** (the Impala table ``state_vectors_data4``): columns ``time, icao24, lat,
  lon, velocity, heading, vertrate, callsign, onground, alert, spi, squawk,
  baroaltitude, geoaltitude, lastposupdate, lastcontact[, hour]``, as CSV with a header
  (row N is line N), as a JSON array of records (row N is the Nth record), or as Parquet
  (what the history's exports and ``pyopensky`` write; row N is the Nth row; read with
  ``pyarrow``, an optional dependency: ``pip install deconflict[parquet]``). Missing values
  are empty, ``NULL`` or JSON ``null``. ``time``, ``lastposupdate`` and ``lastcontact`` may be
  Parquet timestamps as well as epoch seconds.

Units are SI already (m, m/s, degrees) and are converted only to our names. A state's
time is the time of its position (``time_position``; in the history ``lastposupdate``,
else ``time``). Altitude is the **barometric** one (pressure altitude, the reference
separation is measured in, as the ADS-B samples and the track CSV use); the geometric
(GNSS) altitude only where the barometric one is missing. A missing vertical rate counts
as level. ``on_ground`` is kept.

Records that give no state are dropped and counted: ``bad_ident``, ``no_position``,
``no_velocity``, ``no_altitude``, ``bad_number``, ``out_of_range``, ``truncated`` (a
REST row with fewer than 17 fields), and in the history ``repeated`` (the same
position carried forward into a later row: same aircraft and ``lastposupdate``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from deconflict.errors import InputError, Problem
from deconflict.feeds.drops import Drops, Reading
from deconflict.feeds.files import open_binary, open_text
from deconflict.tactical.states import States
from deconflict.tactical.tracks import Tracks

__all__ = ["HISTORY_COLUMNS", "REST_FIELDS", "looks_like_opensky", "looks_like_parquet", "read_opensky"]

REST_FIELDS = (
    "icao24",
    "callsign",
    "origin_country",
    "time_position",
    "last_contact",
    "longitude",
    "latitude",
    "baro_altitude",
    "on_ground",
    "velocity",
    "true_track",
    "vertical_rate",
    "sensors",
    "geo_altitude",
    "squawk",
    "spi",
    "position_source",
)
HISTORY_COLUMNS = ("time", "icao24", "lat", "lon", "velocity", "heading", "vertrate", "callsign", "onground")
"""The history columns the reader needs (``baroaltitude`` or ``geoaltitude`` as well)."""

# our name -> (REST field, history column); the time has its own rule
FIELDS = {
    "lat_deg": ("latitude", "lat"),
    "lon_deg": ("longitude", "lon"),
    "baro_alt_m": ("baro_altitude", "baroaltitude"),
    "geo_alt_m": ("geo_altitude", "geoaltitude"),
    "gs_mps": ("velocity", "velocity"),
    "trk_deg": ("true_track", "heading"),
    "vs_mps": ("vertical_rate", "vertrate"),
}
RANGE = {
    "lat_deg": (-90.0, 90.0),
    "lon_deg": (-180.0, 180.0),
    "gs_mps": (0.0, math.inf),
    "trk_deg": (0.0, 360.0),
    "time_s": (0.0, 253_402_300_799.0),
}
MISSING = ("", "null", "NULL", "None", "nan", "NaN")
TRUE = ("true", "True", "TRUE", "1", "t")


def looks_like_opensky(head: str) -> bool:
    """Whether a file's first characters are an OpenSky REST response or history table."""
    text = head.lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        return '"states"' in text
    if text.startswith("["):
        return '"icao24"' in text and ('"lastposupdate"' in text or '"baroaltitude"' in text)
    header = [name.strip().strip('"') for name in text.split("\n", 1)[0].split(",")]
    return "icao24" in header and "lat" in header and ("baroaltitude" in header or "geoaltitude" in header)


def _number(value: Any) -> float | None:
    """A value as a float; ``None`` when missing; raises ``ValueError`` when not a number."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError(value)
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if text in MISSING:
            return None
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip() in TRUE


class _Builder:
    """Collects the states of one file, record by record, dropping what gives none."""

    def __init__(self, source: str) -> None:
        self.drops = Drops(source)
        self.source = source
        self.records = 0
        self.columns: dict[str, list[float]] = {name: [] for name in ("time_s", *RANGE, "alt_m", "vs_mps")}
        self.ids: list[str] = []
        self.callsigns: list[str] = []
        self.ground: list[bool] = []
        self.rows: list[int] = []
        self.last_position: dict[str, float] = {}

    def add(self, row: int, raw: dict[str, Any], *, history: bool) -> None:
        self.records += 1
        ident = str(raw.get("icao24") or "").strip().lower()
        if not ident:
            self.drops.add("bad_ident", row, "icao24", "must not be empty")
            return
        numbers: dict[str, float | None] = {}
        time_fields = ("lastposupdate", "time") if history else ("time_position",)
        wanted = [(name, (column if history else rest,)) for name, (rest, column) in FIELDS.items()]
        for name, keys in [*wanted, ("time_s", time_fields)]:
            value: float | None = None
            for key in keys:
                try:
                    value = _number(raw.get(key))
                except (ValueError, TypeError):
                    self.drops.add("bad_number", row, key, f"must be a number, got {raw.get(key)!r}")
                    return
                if value is not None:
                    break
            low, high = RANGE.get(name, (-math.inf, math.inf))
            if value is not None and not low <= value <= high:
                self.drops.add(
                    "out_of_range", row, keys[0], f"must be within [{low:g}, {high:g}], got {value:g}"
                )
                return
            numbers[name] = value
        lat, lon, time_s = numbers["lat_deg"], numbers["lon_deg"], numbers["time_s"]
        if lat is None or lon is None or time_s is None:
            self.drops.add("no_position", row, None, "no position (or no time of position)")
            return
        gs, trk = numbers["gs_mps"], numbers["trk_deg"]
        if gs is None or trk is None:
            self.drops.add("no_velocity", row, None, "no velocity or track")
            return
        alt = numbers["baro_alt_m"] if numbers["baro_alt_m"] is not None else numbers["geo_alt_m"]
        if alt is None:
            self.drops.add("no_altitude", row, None, "no barometric or geometric altitude")
            return
        if history:
            if self.last_position.get(ident) == time_s:
                self.drops.add("repeated", row, "lastposupdate", "the aircraft's previous position again")
                return
            self.last_position[ident] = time_s
        for name, value in (
            ("time_s", time_s),
            ("lat_deg", lat),
            ("lon_deg", lon),
            ("gs_mps", gs),
            ("trk_deg", trk % 360.0),
            ("alt_m", alt),
            ("vs_mps", numbers["vs_mps"] or 0.0),
        ):
            self.columns[name].append(value)
        self.ids.append(ident)
        self.callsigns.append(str(raw.get("callsign") or "").strip())
        self.ground.append(_flag(raw.get("on_ground" if not history else "onground")))
        self.rows.append(row)

    def reading(self) -> Reading:
        c = {name: np.asarray(values, dtype=np.float64) for name, values in self.columns.items()}
        tracks = Tracks(
            source=self.source,
            row=np.asarray(self.rows, dtype=np.int64),
            ids=np.asarray(self.ids, dtype=np.str_),
            callsigns=np.asarray(self.callsigns, dtype=np.str_),
            time_s=c["time_s"],
            states=States(c["lat_deg"], c["lon_deg"], c["alt_m"], c["gs_mps"], c["trk_deg"], c["vs_mps"]),
            on_ground=np.asarray(self.ground, dtype=bool),
        )
        return Reading("opensky", tracks, self.drops, self.records)


def _rest_rows(builder: _Builder, responses: Iterable[Any]) -> None:
    row = 0
    for response in responses:
        states = response.get("states") if isinstance(response, dict) else None
        for state in states or []:
            row += 1
            if not isinstance(state, list) or len(state) < len(REST_FIELDS):
                builder.records += 1
                size = len(state) if isinstance(state, list) else 0
                builder.drops.add("truncated", row, None, f"expected {len(REST_FIELDS)} fields, got {size}")
                continue
            builder.add(row, dict(zip(REST_FIELDS, state, strict=False)), history=False)


def _history_records(builder: _Builder, records: Sequence[Any]) -> None:
    for row, record in enumerate(records, 1):
        if not isinstance(record, dict):
            builder.records += 1
            builder.drops.add("truncated", row, None, "expected a JSON object")
            continue
        builder.add(row, record, history=True)


def _history_csv(builder: _Builder, stream: Iterable[str]) -> None:
    reader = csv.reader(stream)
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in HISTORY_COLUMNS if name not in header]
    if "baroaltitude" not in header and "geoaltitude" not in header:
        missing.append("baroaltitude (or geoaltitude)")
    if missing:
        raise InputError(
            [Problem(builder.source, f"missing column(s) {', '.join(missing)}", "row 1", "header")]
        )
    width = len(header)
    for record in reader:
        if not record:
            continue
        if len(record) != width:
            builder.records += 1
            builder.drops.add(
                "truncated",
                reader.line_num,
                None,
                f"expected {width} fields as in the header, got {len(record)}",
            )
            continue
        builder.add(reader.line_num, dict(zip(header, record, strict=True)), history=True)


PARQUET_MAGIC = b"PAR1"


def _history_parquet(builder: _Builder, path: Path) -> None:
    """The rows of a Parquet ``state_vectors_data4`` extract (timestamps as epoch seconds)."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        message = "reading Parquet needs pyarrow (pip install 'deconflict[parquet]'), or export as CSV"
        raise InputError([Problem(str(path), message)]) from None
    try:
        table = parquet.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError([Problem(str(path), f"cannot read the Parquet file: {exc}")]) from None
    header = table.column_names
    missing = [name for name in HISTORY_COLUMNS if name not in header]
    if "baroaltitude" not in header and "geoaltitude" not in header:
        missing.append("baroaltitude (or geoaltitude)")
    if missing:
        raise InputError([Problem(str(path), f"missing column(s) {', '.join(missing)}", None, "schema")])
    for row, record in enumerate(table.to_pylist(), 1):
        for name in ("time", "lastposupdate", "lastcontact"):
            value = record.get(name)
            if hasattr(value, "timestamp"):  # a Parquet timestamp column: a datetime
                aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
                record[name] = aware.timestamp()
        builder.add(row, record, history=True)


def looks_like_parquet(head: bytes) -> bool:
    """Whether data starts as a Parquet file."""
    return head[:4] == PARQUET_MAGIC


def read_opensky(path: str | Path) -> Reading:
    """Read an OpenSky REST response file or a ``state_vectors_data4`` extract (CSV, JSON or Parquet).

    Raises
    ------
    InputError
        The file cannot be read, is not JSON where it starts as JSON, or a CSV lacks the
        columns needed (records with bad values are dropped and counted, not raised).
    """
    path = Path(path)
    builder = _Builder(str(path))
    with open_binary(path) as raw:
        if looks_like_parquet(raw.read(4)):
            _history_parquet(builder, path)
            return builder.reading()
    with open_text(path) as stream:
        text = stream.read()
    start = text.lstrip("\ufeff \t\r\n")[:1]
    try:
        if start == "{":
            try:
                responses: list[Any] = [json.loads(text)]
            except json.JSONDecodeError:  # one response per line
                responses = [json.loads(line) for line in text.splitlines() if line.strip()]
            _rest_rows(builder, responses)
        elif start == "[":
            records = json.loads(text)
            _history_records(builder, records)
        else:
            _history_csv(builder, text.splitlines())
    except (json.JSONDecodeError, csv.Error) as exc:
        raise InputError([Problem(str(path), f"cannot read the file: {exc}")]) from None
    return builder.reading()
