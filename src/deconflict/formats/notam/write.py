"""NOTAMs written: one NOTAMN per operation (see :mod:`deconflict.formats.notam` for each item)."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely

from deconflict.errors import InputError, Problem
from deconflict.formats.notam.common import DEFAULT_FIR, _dms_value, format_dms
from deconflict.geometry.geodesy import WGS84, aeqd_xy_m, distance_m
from deconflict.strategic.volume import Volume
from deconflict.units import (
    FL_TO_M,
    FT_TO_M,
    NM_TO_M,
    Altitude,
    AltitudeMargins,
    AltitudeReference,
    msl_bounds_m,
)

_WRITTEN = ("QRTCA", "IV", "BO", "W")
"""Code, traffic, purpose and scope of the NOTAMs written (see the package's docstring)."""

_EARLIEST_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_LATEST_S = datetime(2099, 12, 31, 23, 59, tzinfo=UTC).timestamp()


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
    """The NOTAMN text of an operation's volumes (see the package's docstring for each item).

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
