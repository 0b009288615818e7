"""ICAO NOTAM: an operation's airspace as the NOTAM an AIS office publishes, and NOTAMs read as volumes.

No maintained, permissively licensed NOTAM parser exists; this one is small and
table-driven, after the ICAO format (Annex 15, PANS-AIM, Doc 8126): a header
``A1234/26 NOTAMN`` (``NOTAMR A1233/26`` replaces, ``NOTAMC A1233/26``
cancels), a Q-line ``FIR/QCODE/TRAFFIC/PURPOSE/SCOPE/LOWER/UPPER/CENTRE+RADIUS``
and items A (FIR or aerodrome), B and C (``yyMMddHHmm`` UTC; C may be ``PERM``
or end in ``EST``), D (a schedule), E (free text), F and G (lower and upper limits).

Written (:func:`operation_notam`): one NOTAMN for an operation, every part of it
wider than the operation, never narrower:

- Q-line: the given FIR (default ``XXXX``, for the AIS office to replace), code
  ``QRTCA`` (see :data:`Q_CODES`: ``RT`` temporary restricted area, ``CA``
  activated), traffic ``IV`` (IFR and VFR), purpose ``BO`` (for operators'
  briefing and flight operations), scope ``W`` (navigation warning); lower and
  upper flight levels the widest pressure altitudes the operation's band can mean
  (:func:`deconflict.units.msl_bounds_m` and the altitude margins, floor and
  ceiling to 100 ft); a centre (to the minute) and radius (whole NM, rounded up)
  whose geodesic circle contains every volume.
- B and C: the first start (rounded down to the minute) and the last end
  (rounded up); D when the volumes' windows are several: ``DAILY HHMM-HHMM``
  when they are the same hours on consecutive days, else a list of windows.
- E: ``TEMPORARY RESTRICTED AREA ...`` and the area: the polygon of the
  volumes' footprints in ``ddmmssN dddmmssE`` (grown by a second of arc before
  rounding, so the rounded polygon contains them), or, when a volume is a
  circle or the footprints are not one polygon, ``RADIUS x NM CENTRE ...``.
- F and G: the lowest lower and highest upper limit in their own reference
  (``SFC``, ``nnnFT AGL``, ``nnnnFT AMSL``, ``FLnnn``; W84 heights as the widest
  AMSL they can mean; bounds of different references as the widest AMSL).

Read (:func:`parse_notams`): every NOTAM of a text (single or several; a
multi-part NOTAM's parts, ``PART n OF m``, joined), each as volumes: the area is
the polygons and circles of item E when it gives them (``PSN 4530N00130E - ...``,
``451230N 0012030E - ...``, ``N451230E0012030``; ``RADIUS 5KM CENTRE ...``), else
the Q-line's circle (also when E describes arcs, sectors, ellipses or corridors,
which are not read: the Q-line's circle covers them); the band is F and G
(``SFC``, ``GND``, ``UNL``, ``FLnnn``, ``nnnnFT``/``nnnM`` ``AMSL``/``AGL``), else
the Q-line's flight levels; the windows are B to C, or item D's schedule
expanded between them (a PERM NOTAM over ``horizon_s`` from B, default
:data:`DEFAULT_HORIZON_S`). A NOTAMC has no volumes: it and the NOTAM it cancels
(when in the same text) give none; a NOTAMR drops the NOTAM it replaces.
"""

from __future__ import annotations

import calendar
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely

from deconflict.errors import InputError, Problem
from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.geometry.geodesy import WGS84, aeqd_xy_m, distance_m
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.units import (
    FL_TO_M,
    FT_TO_M,
    NM_TO_M,
    Altitude,
    AltitudeMargins,
    AltitudeReference,
    altitude_to_m,
    msl_bounds_m,
)

__all__ = [
    "DEFAULT_FIR",
    "DEFAULT_HORIZON_S",
    "Q_CODES",
    "Notam",
    "NotamText",
    "format_dms",
    "is_notam",
    "notam_volumes",
    "operation_notam",
    "parse_notams",
    "plan_notams",
]

DEFAULT_FIR = "XXXX"
"""The FIR written when none is given: a placeholder the AIS office replaces (ICAO uses ``XX`` fillers)."""

DEFAULT_HORIZON_S = 90 * 86_400.0
"""How far after B a PERM NOTAM is read (90 days, the time PANS-AIM gives to put it in the AIP)."""

Q_CODES: dict[str, str] = {
    "QRTCA": "temporary restricted area activated (written: the operation's reservation)",
    "QRRCA": "restricted area activated",
    "QRDCA": "danger area activated",
    "QRPCA": "prohibited area activated",
    "QRTTT": "temporary restricted area",
    "QWULW": "unmanned aircraft flights",
    "QWMLW": "military exercises",
}
"""Q-codes deconflict names (Doc 8126): the one it writes and common ones it reads; any other is read too."""

_WRITTEN = ("QRTCA", "IV", "BO", "W")
"""Code, traffic, purpose and scope of the NOTAMs written (see the module's docstring)."""

_MONTHS = {name.upper(): index for index, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name.upper()[:3]: index for index, name in enumerate(calendar.day_abbr)}
_DAY_S = 86_400.0
_EARLIEST_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_LATEST_S = datetime(2099, 12, 31, 23, 59, tzinfo=UTC).timestamp()

_HEADER = re.compile(r"\(?\s*\b([A-Z]?\d{1,4}/\d{2})\s*NOTAM([NRC])\b(?:\s+([A-Z]?\d{1,4}/\d{2}))?")
_ITEM = re.compile(r"(?<![A-Z0-9/])([QABCDEFG])\)")
_ORDER = "QABCDEFG"
_PART = re.compile(r"\b(?:END\s+)?PART\s+(\d{1,2})\s+OF\s+(\d{1,2})\b")
_LAT_LON = re.compile(
    r"(?<![A-Z0-9.])(?:"
    r"(\d{2})(\d{2})(\d{2}(?:\.\d+)?)?([NS])\s?(\d{3})(\d{2})(\d{2}(?:\.\d+)?)?([EW])"
    r"|([NS])(\d{2})(\d{2})(\d{2}(?:\.\d+)?)?\s?([EW])(\d{3})(\d{2})(\d{2}(?:\.\d+)?)?"
    r")(?![A-Z0-9])"
)
_CHAIN_GAP = re.compile(r"\s*(?:-|\u2013|,|TO)\s*")
_UNREAD_SHAPES = re.compile(r"\b(ARC|SECTOR|ELLIPSE|EITHER SIDE|ALONG|BORDER|CORRIDOR|LINE JOINING)\b")
_RADIUS_UNITS = {"NM": NM_TO_M, "KM": 1000.0, "M": 1.0}
_CIRCLES = (
    re.compile(
        r"RADIUS\s*(?:OF\s*)?(\d+(?:\.\d+)?)\s*(NM|KM|M)\b\W*(?:\w+\W+){0,2}?CENT\w*\s*(?:ON\s*)?(?:PSN\s*)?$"
    ),
    re.compile(r"(\d+(?:\.\d+)?)\s*(NM|KM|M)\s*RADIUS\W*(?:\w+\W+){0,2}?CENT\w*\s*(?:ON\s*)?(?:PSN\s*)?$"),
)
_RADIUS_AFTER = re.compile(r"^\W*(?:\w+\W+){0,2}?RADIUS\s*(?:OF\s*)?(\d+(?:\.\d+)?)\s*(NM|KM|M)\b")
_TIME = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\s*(EST)?$")
_LIMIT = re.compile(r"^(?:(SFC|GND)|(UNL)|FL\s?(\d{1,3})|(-?\d+)\s?(FT|M)\s*(AMSL|MSL|AGL|SFC|GND)?)$")


@dataclass(frozen=True)
class NotamText:
    """A text read as NOTAMs (what :func:`deconflict.formats.load_document` gives for one)."""

    text: str


@dataclass(frozen=True)
class Notam:
    """One NOTAM read: its id, kind (``N`` new, ``R`` replacing, ``C`` cancelling) and volumes.

    ``refers_to`` is the NOTAM a NOTAMR replaces or a NOTAMC cancels; a NOTAMC has no volumes.
    """

    id: str
    kind: str
    refers_to: str | None
    volumes: tuple[Volume, ...]


# --------------------------------------------------------------------------- writing


def format_dms(lon_deg: float, lat_deg: float, *, seconds: bool = True) -> str:
    """A position as NOTAM text, ``ddmmssN dddmmssE`` (``ddmmN dddmmE`` without seconds), rounded to nearest.

    Examples
    --------
    >>> format_dms(1.5083, 45.2033)
    '451212N 0013030E'
    >>> format_dms(-70.5, -33.75, seconds=False)
    '3345S 07030W'
    """
    unit = 1 if seconds else 60
    parts = []
    for value, width, signs in ((lat_deg, 2, "NS"), (lon_deg, 3, "EW")):
        total = round(abs(value) * 3600.0 / unit) * unit
        degrees, rest = divmod(int(total), 3600)
        minutes, secs = divmod(rest, 60)
        text = f"{degrees:0{width}d}{minutes:02d}" + (f"{secs:02d}" if seconds else "")
        parts.append(text + (signs[1] if value < 0 and total else signs[0]))
    return " ".join(parts)


def _dms_value(text: str) -> tuple[float, float]:
    """(lon, lat) of one position written by :func:`format_dms` (as the reader reads it)."""
    match = _LAT_LON.search(text)
    assert match is not None, text
    position = _position(match)
    assert isinstance(position, tuple), position
    return position


def _time_text(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, tz=UTC).strftime("%y%m%d%H%M")


def _floor_minute(time_s: float) -> float:
    return math.floor(time_s / 60.0) * 60.0


def _ceil_minute(time_s: float) -> float:
    return math.ceil(time_s / 60.0) * 60.0


def _windows(volumes: Sequence[Volume]) -> list[tuple[float, float]]:
    """The volumes' windows rounded outwards to the minute, merged where they overlap or touch."""
    spans = sorted((_floor_minute(v.time_start_s), _ceil_minute(v.time_end_s)) for v in volumes)
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _schedule(windows: list[tuple[float, float]]) -> str | None:
    """Item D of several windows: ``DAILY HHMM-HHMM`` when it says exactly them, else each window."""
    if len(windows) < 2:
        return None
    starts = [datetime.fromtimestamp(s, tz=UTC) for s, _ in windows]
    ends = [datetime.fromtimestamp(e, tz=UTC) for _, e in windows]
    lengths = {e - s for s, e in zip(starts, ends, strict=True)}
    daily = (
        len(lengths) == 1
        and next(iter(lengths)) < timedelta(days=1)
        and all(b - a == timedelta(days=1) for a, b in itertools.pairwise(starts))
    )
    if daily:
        return f"DAILY {starts[0]:%H%M}-{ends[0]:%H%M}"
    items = []
    for start, end in zip(starts, ends, strict=True):
        month = start.strftime("%b").upper()
        if end.date() == start.date():
            items.append(f"{month} {start:%d %H%M}-{end:%H%M}")
        else:
            items.append(f"{month} {start:%d %H%M}-{end.strftime('%b').upper()} {end:%d %H%M}")
    return ", ".join(items)


def _whole_down(value: float, step_m: float) -> int:
    """The largest whole number of ``step_m`` at or below ``value`` metres, as the reader converts it back."""
    count = math.floor(value / step_m)
    while round(count * step_m, 9) > value:
        count -= 1
    return count


def _whole_up(value: float, step_m: float) -> int:
    count = math.ceil(value / step_m)
    while round(count * step_m, 9) < value:
        count += 1
    return count


def _limit_text(altitudes: Sequence[Altitude], upper: bool, margins: AltitudeMargins) -> str:
    """Item F (lowest of ``altitudes``) or G (highest), in their reference when they share one."""
    references = {a.reference for a in altitudes}
    pick = max if upper else min
    rounding = _whole_up if upper else _whole_down
    reference = references.pop() if len(references) == 1 else None
    if reference is AltitudeReference.STD and pick(a.value_m for a in altitudes) < 0.0:
        reference = None  # no flight level below zero: the widest AMSL it can mean
    if reference is AltitudeReference.STD:
        return f"FL{rounding(pick(a.value_m for a in altitudes), FL_TO_M):03d}"
    if reference is AltitudeReference.AGL:
        value_m = pick(a.value_m for a in altitudes)
        if not upper and value_m == 0.0:
            return "SFC"
        return f"{rounding(value_m, FT_TO_M)}FT AGL"
    if reference is AltitudeReference.MSL:
        return f"{rounding(pick(a.value_m for a in altitudes), FT_TO_M)}FT AMSL"
    side = 1 if upper else 0
    msl_m = pick(msl_bounds_m(a.value_m, a.value_m, a.reference, margins)[side] for a in altitudes)
    return f"{rounding(msl_m, FT_TO_M)}FT AMSL"


def _pressure_band_m(volumes: Sequence[Volume], margins: AltitudeMargins) -> tuple[float, float]:
    """The lowest and highest pressure altitude (m) the volumes' bands can mean.

    A pressure altitude ``p`` lies in the MSL band ``msl_bounds_m(p, p, STD)``;
    the lowest ``p`` whose band reaches an MSL height ``m`` and the highest whose
    band starts below it invert that formula.
    """
    stretch = margins.temperature_error_fraction
    low_shift = (margins.qnh_min_hpa - 1013.25) * margins.pressure_m_per_hpa
    high_shift = (margins.qnh_max_hpa - 1013.25) * margins.pressure_m_per_hpa
    lows, highs = [], []
    for v in volumes:
        if v.lower.reference is AltitudeReference.STD:
            lows.append(v.lower.value_m)
        else:
            m = v.lower.msl_range_m(margins)[0] - high_shift
            lows.append(m / (1.0 + stretch) if m >= 0.0 else m / (1.0 - stretch))
        if v.upper.reference is AltitudeReference.STD:
            highs.append(v.upper.value_m)
        else:
            m = v.upper.msl_range_m(margins)[1] - low_shift
            highs.append(m / (1.0 - stretch) if m >= 0.0 else m / (1.0 + stretch))
    return min(lows), max(highs)


def _boundary_points(volumes: Sequence[Volume]) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """(lon, lat) points a covering circle must contain, and the circles (lon, lat, radius_m) likewise."""
    points: list[np.ndarray] = []
    circles: list[tuple[float, float, float]] = []
    for v in volumes:
        fp = v.footprint
        if fp.is_circle:
            assert fp.centre_lon_deg is not None and fp.centre_lat_deg is not None and fp.radius_m is not None
            circles.append((fp.centre_lon_deg, fp.centre_lat_deg, fp.radius_m))
        # Edges are straight in lon/lat: dense points on them stand for them.
        dense = shapely.segmentize(fp.shape, 0.01)
        for part in getattr(dense, "geoms", [dense]):
            points.append(np.asarray(part.exterior.coords, dtype=np.float64))
    return np.concatenate(points), circles


def _covering_radius_m(
    lon: float, lat: float, points: np.ndarray, circles: list[tuple[float, float, float]]
) -> float:
    reach = float(distance_m(lon, lat, points[:, 0], points[:, 1]).max())
    for c_lon, c_lat, radius_m in circles:
        reach = max(reach, float(distance_m(lon, lat, c_lon, c_lat)) + radius_m)
    # A straight lon/lat chord between dense points bulges off the geodesic circle by far less than this.
    return reach * (1.0 + 1e-6) + 1.0


def _covering_centre(points: np.ndarray) -> tuple[float, float]:
    """The centre of the smallest circle around ``points``, found in a local equidistant plane."""
    ref_lon, ref_lat = float(points[0, 0]), float(points[0, 1])
    x, y = aeqd_xy_m(ref_lon, ref_lat, points[:, 0], points[:, 1])
    circle = shapely.minimum_bounding_circle(shapely.MultiPoint(np.column_stack([x, y])))
    cx, cy = circle.centroid.x, circle.centroid.y
    if math.hypot(cx, cy) == 0.0:
        return ref_lon, ref_lat
    lon, lat, _ = WGS84.fwd(ref_lon, ref_lat, math.degrees(math.atan2(cx, cy)), math.hypot(cx, cy))
    return float((lon + 180.0) % 360.0 - 180.0), float(lat)


def _e_polygon(volumes: Sequence[Volume]) -> str | None:
    """The footprints' polygon as DMS text, grown so that its rounded vertices contain them.

    ``None`` when a footprint is a circle or they are not one polygon: item E then gives a circle.
    """
    if any(v.footprint.is_circle for v in volumes):
        return None
    union = shapely.union_all([v.footprint.shape for v in volumes])
    if union.geom_type != "Polygon":
        return None
    exterior = shapely.Polygon(union.exterior.coords)
    # Rounding moves each vertex by at most half a second per axis: grow by more first.
    grown = exterior.buffer(1.0 / 3600.0, join_style="mitre", mitre_limit=4.0)
    west, south, east, north = grown.bounds
    if grown.geom_type != "Polygon" or west < -180.0 or east > 180.0 or south < -90.0 or north > 90.0:
        return None  # at the antimeridian or a pole: a circle says it
    coords = list(grown.exterior.coords)[:-1]
    if len(coords) > 100:
        return None
    texts: list[str] = []
    for lon, lat in coords:
        text = format_dms(lon, lat)
        if not texts or texts[-1] != text:
            texts.append(text)
    if len(texts) > 1 and texts[0] == texts[-1]:
        texts.pop()
    ring = [_dms_value(t) for t in texts]
    if len(ring) < 3:
        return None
    rounded = shapely.Polygon(ring)
    if not rounded.is_valid or not rounded.covers(union):
        return None
    return " - ".join([*texts, texts[0]])


def operation_notam(
    volumes: Sequence[Volume],
    fir: str = DEFAULT_FIR,
    margins: AltitudeMargins = AltitudeMargins(),
    number: int = 1,
) -> str:
    """The NOTAMN text of an operation's volumes (see the module's docstring for each item).

    Parameters
    ----------
    volumes
        The operation's volumes (at least one).
    fir
        The ICAO location indicator of the FIR for the Q-line and item A
        (default ``XXXX``, for the AIS office to fill in).
    margins
        The altitude margins that widen bands given against another reference.
    number
        The NOTAM's number in series A (the AIS office gives the real series and number).

    Raises
    ------
    InputError
        If there are no volumes, the FIR is not four letters, the times are
        outside 2000-2099 (two-digit years), or the volumes span more than the
        999 NM a Q-line radius can say.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> v = Volume("v1", "blue", "op-1", circle_footprint(36.0, 35.0, 2000.0),
    ...            Altitude(0.0, AltitudeReference.AGL), Altitude(120.0, AltitudeReference.AGL),
    ...            1767268800.0, 1767272400.0)
    >>> print(operation_notam([v], fir="LCCC"), end="")  # FL359: 120 m above any terrain, on any QNH
    (A0001/26 NOTAMN
    Q) LCCC/QRTCA/IV/BO/W/000/359/3500N03600E002
    A) LCCC B) 2601011200 C) 2601011300
    E) TEMPORARY RESTRICTED AREA ACTIVATED FOR OPERATION OP-1 OF BLUE
    WI CIRCLE RADIUS 1.1NM CENTRE 350000N 0360000E.
    F) SFC G) 394FT AGL)
    """
    if not volumes:
        raise InputError([Problem("output", "no volumes to write as a NOTAM")])
    if not re.fullmatch(r"[A-Z]{4}", fir):
        raise InputError(
            [Problem("output", f"FIR {fir!r} is not a four-letter ICAO location indicator", None, "fir")]
        )
    first_s = min(v.time_start_s for v in volumes)
    last_s = max(v.time_end_s for v in volumes)
    if not (first_s >= _EARLIEST_S and last_s < _LATEST_S):
        message = "NOTAM times (yyMMddHHmm) can only say 2000-01-01 to 2099-12-31"
        raise InputError([Problem("output", message, None, "B)")])
    points, circles = _boundary_points(volumes)
    # Q-line: centre to the minute, whole NM.
    q_lon, q_lat = _covering_centre(points)
    q_text = format_dms(q_lon, q_lat, seconds=False)
    q_lon, q_lat = _dms_value(q_text)
    q_radius_nm = max(1, _whole_up(_covering_radius_m(q_lon, q_lat, points, circles), NM_TO_M))
    if q_radius_nm > 999:
        message = f"the volumes span more than 999 NM ({q_radius_nm} NM), more than a Q-line can say"
        raise InputError([Problem("output", message, None, "Q)")])
    low_m, high_m = _pressure_band_m(volumes, margins)
    q_lower = min(999, max(0, _whole_down(low_m, FL_TO_M)))
    q_upper = min(999, max(q_lower + 1, _whole_up(high_m, FL_TO_M)))
    code, traffic, purpose, scope = _WRITTEN
    position = f"{q_text.replace(' ', '')}{q_radius_nm:03d}"
    q_line = f"Q) {fir}/{code}/{traffic}/{purpose}/{scope}/{q_lower:03d}/{q_upper:03d}/{position}"
    windows = _windows(volumes)
    start_s, end_s = windows[0][0], windows[-1][1]
    schedule = _schedule(windows)
    operations = sorted({v.operation for v in volumes})
    parties = sorted({v.party for v in volumes})
    what = (
        f"TEMPORARY RESTRICTED AREA ACTIVATED FOR OPERATION {', '.join(operations).upper()} "
        f"OF {', '.join(parties).upper()}"
    )
    polygon = _e_polygon(volumes)
    if polygon is not None:
        area = f"WI AREA {polygon}."
    else:
        e_lon, e_lat = _covering_centre(points)
        e_text = format_dms(e_lon, e_lat)
        e_lon, e_lat = _dms_value(e_text)
        tenths = _whole_up(_covering_radius_m(e_lon, e_lat, points, circles), NM_TO_M / 10.0)
        while float(f"{tenths / 10:.1f}") * NM_TO_M < _covering_radius_m(e_lon, e_lat, points, circles):
            tenths += 1
        area = f"WI CIRCLE RADIUS {tenths / 10:.1f}NM CENTRE {e_text}."
    lines = [
        f"(A{number:04d}/{_time_text(start_s)[:2]} NOTAMN",
        q_line,
        f"A) {fir} B) {_time_text(start_s)} C) {_time_text(end_s)}",
    ]
    if schedule is not None:
        lines.append(f"D) {schedule}")
    lines += [
        f"E) {what}",
        area,
        f"F) {_limit_text([v.lower for v in volumes], False, margins)} "
        f"G) {_limit_text([v.upper for v in volumes], True, margins)})",
    ]
    return "\n".join(lines) + "\n"


def plan_notams(
    volumes: Sequence[Volume], fir: str = DEFAULT_FIR, margins: AltitudeMargins = AltitudeMargins()
) -> str:
    """One NOTAMN per operation of ``volumes`` (by party and operation, in order), numbered from A0001.

    Raises
    ------
    InputError
        As :func:`operation_notam`.
    """
    groups: dict[tuple[str, str], list[Volume]] = {}
    for v in volumes:
        groups.setdefault((v.party, v.operation), []).append(v)
    if not groups:
        return operation_notam([], fir, margins)
    texts = [operation_notam(group, fir, margins, n) for n, group in enumerate(groups.values(), start=1)]
    return "\n".join(texts)


# --------------------------------------------------------------------------- reading


class _Collector:
    """Problems of one text, located by NOTAM and item."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.record: str | None = None

    def add(self, field: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, message, self.record, field))


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 40 else text[:37] + "...")


def is_notam(text: str) -> bool:
    """Whether a text looks like ICAO NOTAMs: a ``NOTAMN/R/C`` header, or a Q-line and item E."""
    head = text[:100_000].upper()
    return bool(_HEADER.search(head)) or ("Q)" in head and "E)" in head)


def _position(match: re.Match[str]) -> tuple[float, float] | str:
    """(lon, lat) of a matched position, or what is wrong with it."""
    g = match.groups()
    if g[0] is not None:
        lat_parts, lat_sign, lon_parts, lon_sign = g[0:3], g[3], g[4:7], g[7]
    else:
        lat_sign, lat_parts, lon_sign, lon_parts = g[8], g[9:12], g[12], g[13:16]
    values = []
    for (deg, minutes, seconds), limit in ((lat_parts, 90), (lon_parts, 180)):
        m = int(minutes)
        s = float(seconds) if seconds else 0.0
        if m >= 60 or s >= 60.0:
            return f"position {match.group(0)!r}: minutes and seconds must be below 60"
        value = int(deg) + m / 60.0 + s / 3600.0
        if value > limit:
            return f"position {match.group(0)!r}: {value:g} degrees is beyond {limit}"
        values.append(value)
    lat = -values[0] if lat_sign == "S" else values[0]
    lon = -values[1] if lon_sign == "W" else values[1]
    return lon, lat


def _split(c: _Collector, text: str) -> list[tuple[str, str, str | None, str]]:
    """(id, kind, refers_to, body) of each NOTAM of the text, in order."""
    headers = list(_HEADER.finditer(text))
    if not headers:
        if "Q)" in text:
            return [("NOTAM", "N", None, text)]
        c.add(None, "no NOTAM found: expected a header such as 'A1234/26 NOTAMN' and items Q) to G)")
        return []
    found = []
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        found.append((match.group(1), match.group(2), match.group(3), text[match.end() : end]))
    return found


def _items(body: str) -> dict[str, str]:
    """Items Q) to G) of one NOTAM's body, each marker taken only in the items' order."""
    items: dict[str, str] = {}
    markers = []
    last = -1
    for match in _ITEM.finditer(body):
        rank = _ORDER.index(match.group(1))
        if rank > last:
            markers.append(match)
            last = rank
    for index, match in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(body)
        value = body[match.end() : end].strip()
        if value.endswith(")") and value.count(")") > value.count("("):
            value = value[:-1].rstrip()  # the closing parenthesis of the whole NOTAM
        items[match.group(1)] = value
    return items


def _time(c: _Collector, field: str, text: str) -> float | None:
    match = _TIME.match(" ".join(text.split()))
    if match is None:
        c.add(field, f"{_shorten(text)} is not a time yyMMddHHmm (UTC)")
        return None
    yy, month, day, hour, minute = (int(v) for v in match.groups()[:5])
    try:
        if hour == 24 and minute == 0:
            value = datetime(2000 + yy, month, day, tzinfo=UTC) + timedelta(days=1)
        else:
            value = datetime(2000 + yy, month, day, hour, minute, tzinfo=UTC)
    except ValueError as exc:
        c.add(field, f"{_shorten(text)} is not a time yyMMddHHmm (UTC): {exc}")
        return None
    return value.timestamp()


def _limit(c: _Collector, field: str, text: str, limits: Limits) -> Altitude | None:
    words = " ".join(text.replace(".", " ").split())
    match = _LIMIT.match(words)
    if match is None:
        c.add(field, f"{_shorten(text)} is not a limit (SFC, GND, UNL, FLnnn, nnnnFT AMSL or AGL, nnnM AMSL)")
        return None
    surface, unlimited, level, number, unit, reference = match.groups()
    if surface is not None:
        return Altitude(0.0, AltitudeReference.AGL)
    if unlimited is not None:
        return Altitude(altitude_to_m(limits.max_flight_level, "FL"), AltitudeReference.STD)
    if level is not None:
        if float(level) > limits.max_flight_level:
            c.add(field, f"FL{level} is above FL{limits.max_flight_level:g}")
            return None
        return Altitude(altitude_to_m(int(level), "FL"), AltitudeReference.STD)
    value_m = altitude_to_m(int(number), "ft" if unit == "FT" else "m")
    if not limits.min_altitude_m <= value_m <= limits.max_altitude_m:
        c.add(field, f"{number} {unit} is not a plausible altitude")
        return None
    agl = reference in ("AGL", "SFC", "GND")
    return Altitude(value_m, AltitudeReference.AGL if agl else AltitudeReference.MSL)


@dataclass(frozen=True)
class _QLine:
    lower_fl: int
    upper_fl: int
    lon_deg: float
    lat_deg: float
    radius_nm: int


_Q_FIELDS = (
    ("FIR", re.compile(r"[A-Z]{4}|")),
    ("code", re.compile(r"Q[A-Z]{4}")),
    ("traffic", re.compile(r"I|V|IV|K|")),
    ("purpose", re.compile(r"[NBOMK]{1,3}|")),
    ("scope", re.compile(r"A|E|W|AE|AW|EW|K|")),
    ("lower", re.compile(r"\d{3}")),
    ("upper", re.compile(r"\d{3}")),
    ("centre and radius", re.compile(r"\d{4}[NS]\d{5}[EW]\d{3}")),
)
"""The Q-line's fields in order, each with the pattern it must match (empty allowed where ICAO lets it be)."""


def _q_line(c: _Collector, text: str) -> _QLine | None:
    fields = [f.strip() for f in " ".join(text.split()).split("/")]
    if len(fields) != len(_Q_FIELDS):
        c.add(
            "Q)",
            f"{_shorten(text)} has {len(fields)} fields, expected 8 "
            "(FIR/QCODE/TRAFFIC/PURPOSE/SCOPE/LOWER/UPPER/POSITION+RADIUS)",
        )
        return None
    ok = True
    for (name, pattern), value in zip(_Q_FIELDS, fields, strict=True):
        if not pattern.fullmatch(value):
            c.add(f"Q) {name}", f"{value!r} is not a valid {name}")
            ok = False
    if not ok:
        return None
    lower, upper = int(fields[5]), int(fields[6])
    if lower > upper:
        c.add("Q) lower", f"lower FL{lower:03d} is above upper FL{upper:03d}")
        return None
    match = _LAT_LON.match(fields[7][:11])
    position = _position(match) if match is not None else f"position {fields[7][:11]!r} is not ddmmN dddmmE"
    if isinstance(position, str):
        c.add("Q) centre and radius", position)
        return None
    radius_nm = int(fields[7][11:])
    if radius_nm == 0:
        c.add("Q) centre and radius", "radius 000 NM: the Q-line's circle must have a radius")
        return None
    return _QLine(lower, upper, position[0], position[1], radius_nm)


def _e_shapes(c: _Collector, text: str, limits: Limits) -> list[Footprint] | None:
    """Polygons and circles (as footprints' outer polygons) of item E; None when it gives none it can read."""
    if _UNREAD_SHAPES.search(text):
        return None
    matches = list(_LAT_LON.finditer(text))
    positions = []
    for match in matches:
        position = _position(match)
        if isinstance(position, str):
            c.add("E)", position)
            return None
        positions.append(position)
    shapes: list[Footprint] = []
    in_circle: set[int] = set()
    for index, match in enumerate(matches):
        radius = None
        before = text[max(0, match.start() - 80) : match.start()]
        for pattern in _CIRCLES:
            found = pattern.search(before)
            if found:
                radius = found.groups()
                break
        if radius is None and re.search(r"CENT\w*\s*(?:ON\s*)?(?:PSN\s*)?$", before):
            found = _RADIUS_AFTER.search(text[match.end() : match.end() + 60])
            if found:
                radius = found.groups()
        if radius is None:
            continue
        radius_m = float(radius[0]) * _RADIUS_UNITS[radius[1]]
        if not 0.0 < radius_m <= limits.max_radius_m:
            c.add(
                "E)", f"circle radius {radius[0]} {radius[1]} is not between 0 and {limits.max_radius_m:g} m"
            )
            return None
        lon, lat = positions[index]
        shapes.append(circle_footprint(lon, lat, radius_m))
        in_circle.add(index)
    chain: list[int] = []
    chains: list[list[int]] = []
    for index, match in enumerate(matches):
        if index in in_circle:
            continue
        if (
            chain
            and _CHAIN_GAP.fullmatch(text[matches[chain[-1]].end() : match.start()])
            and chain[-1] == index - 1
        ):
            chain.append(index)
        else:
            chains.append(chain)
            chain = [index]
    chains.append(chain)
    for indices in (ch for ch in chains if len(ch) >= 3):
        ring = [positions[i] for i in indices]
        if ring[0] == ring[-1]:
            ring.pop()
        if len(ring) > limits.max_vertices_per_ring:
            c.add(
                "E)",
                f"a polygon of {len(ring)} positions, more than the limit of {limits.max_vertices_per_ring}",
            )
            return None
        if len(set(ring)) < 3:
            continue
        try:
            shapes.append(polygon_footprint([[np.asarray([*ring, ring[0]], dtype=np.float64)]]))
        except ValueError as exc:
            c.add("E)", f"polygon {' - '.join(matches[i].group(0) for i in indices[:3])} ...: {exc}")
            return None
    return shapes or None


def _e_footprint(shapes: list[Footprint]) -> Footprint:
    if len(shapes) == 1:
        return shapes[0]
    union = shapely.union_all([s.outer for s in shapes])
    parts = getattr(union, "geoms", [union])
    rings = [
        [np.asarray(p.exterior.coords, dtype=np.float64)]
        + [np.asarray(h.coords, dtype=np.float64) for h in p.interiors]
        for p in parts
    ]
    return polygon_footprint(rings)


_CLOCK = r"(\d{2})(\d{2})"
_D_DATE_SPAN = re.compile(rf"^([A-Z]{{3}})\s(\d{{2}})\s{_CLOCK}-([A-Z]{{3}})\s(\d{{2}})\s{_CLOCK}$")
_D_TIMES = re.compile(rf"{_CLOCK}-{_CLOCK}")
_D_DAY_RANGE = re.compile(r"^(\d{2})-(\d{2})$")
_D_WEEKDAY_RANGE = re.compile(r"^([A-Z]{3})-([A-Z]{3})$")


def _schedule_windows(
    c: _Collector, text: str, start_s: float, end_s: float
) -> list[tuple[float, float]] | None:
    """Item D's windows between B and C (clipped to them), or None with the problem reported.

    Read: ``DAILY``/``DLY``/``H24`` or no day (every day), weekdays (``MON WED``,
    ``MON-FRI``), dates (``15 17 20``, ``08-12``, with months ``JAN 15-FEB 02``),
    each followed by one or more ``HHMM-HHMM`` (past midnight when the end is
    earlier), clauses separated by commas; and ``MMM DD HHMM-MMM DD HHMM``.
    Not read: sunrise and sunset (``SR``, ``SS``), ``EXC``, and anything else.
    """
    first = datetime.fromtimestamp(start_s, tz=UTC)
    last_day = datetime.fromtimestamp(end_s, tz=UTC).date()
    windows: list[tuple[float, float]] = []

    def day_of(month: int, day: int) -> datetime | None:
        year = first.year + (1 if month < first.month else 0)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None

    def fail(clause: str) -> None:
        c.add(
            "D)",
            f"cannot read the schedule {_shorten(clause)} (read: DAILY, weekdays, dates and "
            "HHMM-HHMM times; not sunrise/sunset or EXC)",
        )

    for raw in text.replace("\n", " ").split(","):
        clause = " ".join(raw.replace("BTN", " ").split())
        if not clause:
            continue
        span = _D_DATE_SPAN.match(clause)
        if span:
            m0, d0, h0, n0, m1, d1, h1, n1 = span.groups()
            a = day_of(_MONTHS.get(m0, 0), int(d0)) if m0 in _MONTHS else None
            b = day_of(_MONTHS.get(m1, 0), int(d1)) if m1 in _MONTHS else None
            if a is None or b is None:
                fail(clause)
                return None
            windows.append(
                (a.timestamp() + int(h0) * 3600 + int(n0) * 60, b.timestamp() + int(h1) * 3600 + int(n1) * 60)
            )
            continue
        times = [t for t in clause.split() if _D_TIMES.fullmatch(t)]
        tokens = [t for t in clause.split() if not _D_TIMES.fullmatch(t)]
        if not times:
            fail(clause)
            return None
        weekdays: set[int] = set()
        month: int | None = None
        dates: set[tuple[int, int]] = set()
        for token in tokens:
            if token in ("DAILY", "DLY", "H24"):
                continue
            if token in _MONTHS:
                month = _MONTHS[token]
            elif token in _WEEKDAYS:
                weekdays.add(_WEEKDAYS[token])
            elif (
                (wr := _D_WEEKDAY_RANGE.match(token))
                and wr.group(1) in _WEEKDAYS
                and wr.group(2) in _WEEKDAYS
            ):
                a_day, b_day = _WEEKDAYS[wr.group(1)], _WEEKDAYS[wr.group(2)]
                weekdays.update(
                    range(a_day, b_day + 1) if a_day <= b_day else [*range(a_day, 7), *range(b_day + 1)]
                )
            elif token.isdigit() and len(token) <= 2:
                dates.add((month or first.month, int(token)))
            elif dr := _D_DAY_RANGE.match(token):
                dates.update((month or first.month, d) for d in range(int(dr.group(1)), int(dr.group(2)) + 1))
            else:
                fail(clause)
                return None
        clocks = []
        for span_text in times:
            digits = span_text.replace("-", "")
            h0, n0, h1, n1 = (int(digits[i : i + 2]) for i in (0, 2, 4, 6))
            if h0 > 24 or h1 > 24 or n0 > 59 or n1 > 59:
                fail(clause)
                return None
            clocks.append((h0, n0, h1, n1))
        every_day = not (weekdays or dates)
        day = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(days=1)
        while day.date() <= last_day:
            if every_day or day.weekday() in weekdays or (day.month, day.day) in dates:
                for h0, n0, h1, n1 in clocks:
                    t0 = day.timestamp() + h0 * 3600 + n0 * 60
                    t1 = day.timestamp() + h1 * 3600 + n1 * 60
                    if t1 <= t0:
                        t1 += _DAY_S
                    windows.append((t0, t1))
            day += timedelta(days=1)
    clipped = sorted((max(a, start_s), min(b, end_s)) for a, b in windows if min(b, end_s) > max(a, start_s))
    if not clipped:
        c.add("D)", f"the schedule {_shorten(text)} has no window between B) and C)")
        return None
    return clipped


def _read_one(
    c: _Collector,
    items: dict[str, str],
    names: tuple[str, str, str],
    limits: Limits,
    horizon_s: float,
) -> list[Volume]:
    """The volumes of one NOTAMN or NOTAMR, every problem reported."""
    before = len(c.problems)
    q = _q_line(c, items["Q"]) if "Q" in items else None
    if "Q" not in items:
        c.add("Q)", "missing: a NOTAM without a Q-line has no position to read")
    start_s = _time(c, "B)", items["B"]) if "B" in items else None
    if "B" not in items:
        c.add("B)", "missing (the start, yyMMddHHmm UTC)")
    end_text = " ".join(items.get("C", "").split())
    end_s: float | None = None
    if not end_text:
        c.add("C)", "missing (the end, yyMMddHHmm UTC, or PERM)")
    elif end_text in ("PERM", "UFN"):
        end_s = start_s + horizon_s if start_s is not None else None
    else:
        end_s = _time(c, "C)", end_text)
    if start_s is not None and end_s is not None and not end_s > start_s:
        c.add("C)", f"{end_text} is not after B) {items['B']}")
        end_s = None
    shapes = _e_shapes(c, items.get("E", ""), limits)
    footprint: Footprint | None = None
    if shapes:
        try:
            footprint = _e_footprint(shapes)
        except ValueError as exc:
            c.add("E)", str(exc))
    elif q is not None:
        if q.radius_nm == 999:
            c.add("Q) centre and radius", "radius 999 NM means the whole FIR: give the area in item E")
        else:
            footprint = circle_footprint(q.lon_deg, q.lat_deg, q.radius_nm * NM_TO_M)
    lower = upper = None
    if "F" in items or "G" in items:
        lower = _limit(c, "F)", items["F"], limits) if "F" in items else None
        upper = _limit(c, "G)", items["G"], limits) if "G" in items else None
        for key in "FG":
            if key not in items:
                c.add(f"{key})", "missing: items F) and G) go together")
    elif q is not None:
        lower = (
            Altitude(0.0, AltitudeReference.AGL)
            if q.lower_fl == 0
            else Altitude(altitude_to_m(q.lower_fl, "FL"), AltitudeReference.STD)
        )
        upper_fl = min(q.upper_fl, int(limits.max_flight_level))
        upper = Altitude(altitude_to_m(upper_fl, "FL"), AltitudeReference.STD)
    if (
        lower is not None
        and upper is not None
        and lower.reference == upper.reference
        and not lower.value_m < upper.value_m
    ):
        c.add("F)", f"lower {items.get('F', '')!r} is not below upper {items.get('G', '')!r}")
    if len(c.problems) > before or footprint is None or lower is None or upper is None:
        return []
    assert start_s is not None and end_s is not None
    windows = [(start_s, end_s)]
    if items.get("D"):
        found = _schedule_windows(c, items["D"], start_s, end_s)
        if found is None:
            return []
        windows = found
    if len(windows) > limits.max_volumes_per_file:
        c.add("D)", f"{len(windows)} windows, more than the limit of {limits.max_volumes_per_file} volumes")
        return []
    volume_id, party, operation = names
    return [
        Volume(f"{volume_id}/{index}", party, operation, footprint, lower, upper, t0, t1)
        for index, (t0, t1) in enumerate(windows)
    ]


def _joined(
    c: _Collector, found: list[tuple[str, str, str | None, str]]
) -> list[tuple[str, str, str | None, str]]:
    """Multi-part NOTAMs (``PART n OF m``) joined into one body each, in order; missing parts reported."""
    groups: dict[str, list[tuple[int, int, tuple[str, str, str | None, str]]]] = {}
    order: list[str] = []
    result: list[tuple[str, str, str | None, str]] = []
    for entry in found:
        part = _PART.search(entry[3])
        if part is None:
            result.append(entry)
            continue
        if entry[0] not in groups:
            order.append(entry[0])
            result.append(("", "", None, entry[0]))  # placeholder, keeps the order
        groups.setdefault(entry[0], []).append((int(part.group(1)), int(part.group(2)), entry))
    joined: dict[str, tuple[str, str, str | None, str]] = {}
    for notam_id in order:
        parts = sorted(groups[notam_id], key=lambda p: p[0])
        count = parts[0][1]
        numbers = [p[0] for p in parts]
        if numbers != list(range(1, count + 1)):
            c.record = f"NOTAM {notam_id}"
            missing = sorted(set(range(1, count + 1)) - set(numbers))
            what = (
                f"part {', '.join(map(str, missing))} of {count} missing"
                if missing
                else f"parts {numbers} of {count}"
            )
            c.add(None, f"multi-part NOTAM incomplete: {what}")
            c.record = None
            continue
        first = parts[0][2]
        items = _items(_PART.sub(" ", first[3]))
        texts = [_items(_PART.sub(" ", p[2][3])).get("E", "") for p in parts]
        body = " ".join(f"{key}) {value}" for key, value in items.items() if key in "QABCD")
        tail = " ".join(f"{key}) {items[key]}" for key in "FG" if key in items)
        for p in parts[1:]:
            extra = _items(_PART.sub(" ", p[2][3]))
            tail = tail or " ".join(f"{key}) {extra[key]}" for key in "FG" if key in extra)
        joined[notam_id] = (first[0], first[1], first[2], f"{body} E) {' '.join(texts)} {tail}")
    return [joined[e[3]] if e[0] == "" else e for e in result if e[0] != "" or e[3] in joined]


def _operation_name(notam_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._:-]", "-", notam_id)


def parse_notams(
    text: str,
    source: str,
    default_party: str,
    operation: str | None = None,
    limits: Limits = Limits(),
    horizon_s: float = DEFAULT_HORIZON_S,
) -> list[Notam]:
    """Every NOTAM of a text, each with its volumes (see the module's docstring for what is read).

    Parameters
    ----------
    text
        One or more NOTAMs in the ICAO format.
    source
        Where it came from, for messages (a file path).
    default_party
        The party of every volume (a NOTAM names none).
    operation
        The operation of every volume; default: each NOTAM's id with ``/`` as ``-`` (``A1234-26``).
    limits
        Sanity limits (altitudes, radius, vertices, volumes per file).
    horizon_s
        How far after B a PERM (or UFN) NOTAM is read.

    Raises
    ------
    InputError
        Naming ``source``, the NOTAM and the item of every problem.

    Examples
    --------
    >>> [n] = parse_notams('''A0012/26 NOTAMN
    ... Q) LCCC/QRTCA/IV/BO/W/000/050/3500N03600E005
    ... A) LCCC B) 2601011200 C) 2601031300 D) DAILY 1200-1300
    ... E) TEMPORARY RESTRICTED AREA. F) SFC G) 5000FT AMSL''', "n.txt", "blue")
    >>> n.id, n.kind, len(n.volumes), n.volumes[0].footprint.radius_m, str(n.volumes[0].upper.reference)
    ('A0012/26', 'N', 3, 9260.0, 'MSL')
    """
    c = _Collector(source)
    upper = text.upper().replace("\r", "")
    found = _joined(c, _split(c, upper))
    if len(found) > limits.max_volumes_per_file:
        c.add(None, f"{len(found)} NOTAMs, more than the limit of {limits.max_volumes_per_file}")
        raise InputError(c.problems)
    notams: list[Notam] = []
    total = 0
    for index, (notam_id, kind, refers_to, body) in enumerate(found):
        c.record = f"NOTAM {notam_id}" if notam_id != "NOTAM" else f"NOTAM {index + 1}"
        if kind in "RC" and refers_to is None:
            c.add(None, f"NOTAM{kind} must name the NOTAM it {'replaces' if kind == 'R' else 'cancels'}")
            continue
        if kind == "C":
            notams.append(Notam(notam_id, kind, refers_to, ()))
            continue
        name = operation or _operation_name(notam_id)
        volumes = _read_one(
            c, _items(body), (_operation_name(notam_id), default_party, name), limits, horizon_s
        )
        total += len(volumes)
        if total > limits.max_volumes_per_file:
            c.add(None, f"more than the limit of {limits.max_volumes_per_file} volumes")
            break
        notams.append(Notam(notam_id, kind, refers_to, tuple(volumes)))
    c.record = None
    if c.problems:
        raise InputError(c.problems)
    return notams


def notam_volumes(
    text: str,
    source: str,
    default_party: str,
    operation: str | None = None,
    limits: Limits = Limits(),
    horizon_s: float = DEFAULT_HORIZON_S,
) -> list[Volume]:
    """The volumes of the NOTAMs in force in a text: cancelled and replaced ones dropped.

    Raises
    ------
    InputError
        As :func:`parse_notams`, and when no NOTAM in force is left (only
        cancellations, with the NOTAMs they cancel).
    """
    notams = parse_notams(text, source, default_party, operation, limits, horizon_s)
    gone = {n.refers_to for n in notams if n.kind in "RC"}
    volumes = [v for n in notams if n.id not in gone for v in n.volumes]
    if not volumes:
        cancels = [f"{n.id} cancels {n.refers_to}" for n in notams if n.kind == "C"]
        reason = (
            "NOTAMC " + "; ".join(cancels) + ": a cancellation has no volumes" if cancels else "no volumes"
        )
        raise InputError([Problem(source, reason)])
    return volumes
