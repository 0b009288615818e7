"""NOTAMs read as volumes (see :mod:`deconflict.formats.notam` for what is read).

Item D's schedule is read in :mod:`~deconflict.formats.notam.schedule`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely

from deconflict.errors import InputError, Problem, Problems
from deconflict.formats.notam.common import (
    _LAT_LON,
    DEFAULT_HORIZON_S,
    Notam,
    _position,
    _shorten,
)
from deconflict.formats.notam.schedule import _schedule_windows
from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.units import (
    NM_TO_M,
    Altitude,
    AltitudeReference,
    altitude_to_m,
)

_HEADER = re.compile(r"\(?\s*\b([A-Z]?\d{1,4}/\d{2})\s*NOTAM([NRC])\b(?:\s+([A-Z]?\d{1,4}/\d{2}))?")
_ITEM = re.compile(r"(?<![A-Z0-9/])([QABCDEFG])\)")
_ORDER = "QABCDEFG"
_PART = re.compile(r"\b(?:END\s+)?PART\s+(\d{1,2})\s+OF\s+(\d{1,2})\b")
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


def is_notam(text: str) -> bool:
    """Whether a text looks like ICAO NOTAMs: a ``NOTAMN/R/C`` header, or a Q-line and item E."""
    head = text[:100_000].upper()
    return bool(_HEADER.search(head)) or ("Q)" in head and "E)" in head)


def _split(c: Problems, text: str) -> list[tuple[str, str, str | None, str]]:
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


def _time(c: Problems, field: str, text: str) -> float | None:
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


def _limit(c: Problems, field: str, text: str, limits: Limits) -> Altitude | None:
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


def _q_line(c: Problems, text: str) -> _QLine | None:
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


def _e_shapes(c: Problems, text: str, limits: Limits) -> list[Footprint] | None:
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


def _read_one(
    c: Problems,
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
    c: Problems, found: list[tuple[str, str, str | None, str]]
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
    """Every NOTAM of a text, each with its volumes (see the package's docstring for what is read).

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
    c = Problems(source)
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
