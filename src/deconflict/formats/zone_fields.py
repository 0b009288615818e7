"""What the ED-269 and ED-318 readers share: reading fields, schedules, limits, positions and zones.

The readers accept what published files do
that the standards do not, when it can mean one thing only, and refuse the rest
with the file, the feature and the field:

- strings longer than the standard allows (identifiers of more than 7
  characters, names and messages of more than 200) are kept whole;
- numbers written as strings (``"lowerLimit": "0"``) are read as numbers;
- a missing ``lowerLimit`` is the surface (0 m AGL), a missing ``upperLimit``
  no upper limit (the highest plausible altitude, 100 km above mean sea level):
  both take the zone as large as it can be, never smaller;
- a missing or empty applicability is at all times (again the larger reading);
- an unclosed polygon ring is closed; a ring given without the list of rings
  around it, and a day given without its list, are read as the one they are;
- positions are ``[lon, lat]`` as in GeoJSON; a file whose positions show
  ``[lat, lon]`` (a second number beyond 90, none first beyond 90) is read
  swapped, and one that shows both orders is refused at the features of the
  fewer; a file of places whose latitude and longitude are both within 90
  cannot show its order, and is read ``[lon, lat]``.

Refused, among others: unknown restrictions, references and units, a lower
limit not below the upper, times out of order, schedules by sunrise or sunset
(ED-318 ``startEvent``/``endEvent``), schedules with times but no day,
geometries that are neither polygons nor circles, duplicate identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from deconflict.errors import InputError, Problems, describe_value
from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.strategic.geojson import parse_datetime_s
from deconflict.strategic.limits import Limits
from deconflict.strategic.zones import (
    Applicability,
    DailyPeriod,
    Zone,
    ZoneAuthority,
    ZoneLayer,
    ZoneRestriction,
)
from deconflict.units import Altitude, AltitudeReference, altitude_to_m

__all__ = [
    "PendingLayer",
    "ZoneKeys",
    "ZoneProblems",
    "build_layers",
    "finish_zones",
    "list_field",
    "object_field",
    "read_zone",
]

T = TypeVar("T")

WEEKDAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", re.IGNORECASE)
_NAIVE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", re.IGNORECASE)
_UNITS = {"M": "m", "FT": "ft"}
_REFERENCES = {"AGL": AltitudeReference.AGL, "AMSL": AltitudeReference.MSL, "MSL": AltitudeReference.MSL}


@dataclass
class PendingLayer:
    """A layer read but for its footprint, built once the file's coordinate order is known."""

    record: str | None
    field: str
    kind: str  # "polygon" or "circle"
    rings: list[list[tuple[float, float]]]
    radius_m: float
    lower: Altitude
    upper: Altitude


class ZoneProblems(Problems):
    """:class:`~deconflict.errors.Problems` with the readings both zone formats share."""

    def text(self, field: str, value: object, *, required: bool = False) -> str | None:
        """A string field; ``None`` when absent; numbers are not strings."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(field, "missing")
            return None
        if not isinstance(value, str):
            self.add(field, f"must be a string, got {describe_value(value)}")
            return None
        return value.strip()

    def choice(self, field: str, value: object, table: Mapping[str, T], what: str) -> T | None:
        """``table[value]``, case-insensitively; a problem naming the choices otherwise."""
        if isinstance(value, str) and value.strip().upper() in table:
            return table[value.strip().upper()]
        given = "missing" if value is None else f"unknown {what} {describe_value(value)}"
        self.add(field, f"{given} (expected one of {', '.join(table)})")
        return None

    def limit(self, field: str, value: object) -> float | None:
        """A number, also written as a string (``"120"``)."""
        if isinstance(value, str):
            try:
                return self.number(field, float(value.strip()))
            except ValueError:
                self.add(field, f"must be a number, got {describe_value(value)}")
                return None
        return self.number(field, value)

    def instant(self, field: str, value: object) -> float | None:
        """An ISO 8601 date and time; UTC when it states no offset (ED-269 times are UTC)."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(field, f"must be an ISO 8601 date and time, got {describe_value(value)}")
            return None
        text = value.strip()
        if not _DATETIME.match(text):
            example = "e.g. 2026-01-01T12:00:00Z"
            self.add(field, f"not an ISO 8601 date and time ({example}): {describe_value(value)}")
            return None
        try:
            return parse_datetime_s(text + "Z" if _NAIVE_DATETIME.match(text) else text)
        except ValueError as exc:
            self.add(field, f"not an ISO 8601 date and time {describe_value(value)}: {exc}")
            return None

    def clock(self, field: str, value: object) -> tuple[float, float] | None:
        """``hh:mm[:ss[.s]][Z|±hh:mm]`` as (seconds after midnight, offset from UTC in seconds)."""
        match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
        if match is None:
            self.add(
                field,
                f"must be a time hh:mm, hh:mm:ss or with an offset (08:00+01:00), got "
                f"{describe_value(value)}",
            )
            return None
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
        of_day = hours * 3600 + minutes * 60 + seconds
        if minutes > 59 or seconds > 59 or of_day > 86_400:
            self.add(field, f"not a time of day: {describe_value(value)}")
            return None
        offset = 0.0
        zone = (match[4] or "Z").upper()
        if zone != "Z":
            digits = zone[1:].replace(":", "")
            offset = float((int(digits[:2]) * 3600 + int(digits[2:]) * 60) * (1 if zone[0] == "+" else -1))
        return float(of_day), offset

    def daily_period(self, field: str, days: object, start: object, end: object) -> DailyPeriod | bool | None:
        """A daily period; ``False`` when it is empty (no day, no time: no schedule), ``None`` if refused."""
        if not days and start is None and end is None:
            return False
        if isinstance(days, str):
            days = [days]  # one day without its list: unambiguous
        if not isinstance(days, list) or not days:
            self.add(f"{field}.day", f"needs at least one day (MON..SUN or ANY), got {describe_value(days)}")
            return None
        weekdays: set[int] = set()
        for i, day in enumerate(days):
            if isinstance(day, str) and day.strip().upper() == "ANY":
                weekdays.update(range(7))
                continue
            number = self.choice(f"{field}.day[{i}]", day, WEEKDAYS, "day")
            if number is None:
                return None
            weekdays.add(number)
        start_clock = (0.0, None) if start is None else self.clock(f"{field}.startTime", start)
        end_clock = (86_400.0, None) if end is None else self.clock(f"{field}.endTime", end)
        if start_clock is None or end_clock is None:
            return None
        if start_clock[0] >= 86_400.0:
            self.add(f"{field}.startTime", "24:00 ends a day, it does not start one: write 00:00")
            return None
        offsets = {o for o in (start_clock[1], end_clock[1]) if o is not None}
        if len(offsets) > 1:
            self.add(f"{field}.endTime", "has another UTC offset than startTime")
            return None
        offset = offsets.pop() if offsets else 0.0
        return DailyPeriod(frozenset(weekdays), start_clock[0], end_clock[0], offset)

    def altitude(
        self, field: str, value: object, reference: object, units: str | None, limits: Limits, *, upper: bool
    ) -> Altitude | None:
        """A layer's limit; missing: the surface (lower) or no limit (upper), see the module's docstring."""
        if value is None:
            if upper:
                return Altitude(limits.max_altitude_m, AltitudeReference.MSL)
            return Altitude(0.0, AltitudeReference.AGL)
        number = self.limit(field, value)
        ref_field = field.replace("Limit", "VerticalReference") if "Limit" in field else f"{field}Reference"
        ref = self.choice(ref_field, reference, _REFERENCES | {"WGS84": AltitudeReference.W84}, "reference")
        if number is None or ref is None or units is None:
            return None
        value_m = altitude_to_m(number, units)
        if not limits.min_altitude_m <= value_m <= limits.max_altitude_m:
            self.add(
                field,
                f"{number:g} {units} is not a plausible altitude "
                f"(plausible: {limits.min_altitude_m:g} m to {limits.max_altitude_m:g} m)",
            )
            return None
        return Altitude(value_m, ref)

    def units(self, field: str, value: object) -> str | None:
        """Metres or feet (``M``/``m``, ``FT``/``ft``)."""
        return self.choice(field, value, _UNITS, "unit")

    def band(self, field: str, lower: Altitude, upper: Altitude) -> bool:
        """Whether the lower limit is below the upper (same reference; others compare later, widened)."""
        if lower.reference == upper.reference and not lower.value_m < upper.value_m:
            self.add(field, f"lower limit {lower.value_m:g} m is not below upper limit {upper.value_m:g} m")
            return False
        return True

    def positions(self, field: str, value: object) -> list[tuple[float, float]] | None:
        """A list of positions, each two numbers (a third, an altitude, is ignored); order decided later."""
        if not isinstance(value, list):
            self.add(field, f"must be a list of positions, got {describe_value(value)}")
            return None
        found: list[tuple[float, float]] = []
        for i, item in enumerate(value):
            point = self.position(f"{field}[{i}]", item)
            if point is None:
                return None
            found.append(point)
        return found

    def position(self, field: str, value: object) -> tuple[float, float] | None:
        """Two numbers, each within [-180, 180] and one of them within [-90, 90]."""
        if not isinstance(value, list) or len(value) not in (2, 3):
            self.add(field, f"must be a position [lon, lat], got {describe_value(value)}")
            return None
        x = self.limit(f"{field}[0]", value[0])
        y = self.limit(f"{field}[1]", value[1])
        if x is None or y is None:
            return None
        if abs(x) > 180.0 or abs(y) > 180.0 or (abs(x) > 90.0 and abs(y) > 90.0):
            self.add(field, f"{describe_value(value)} is no position on Earth in either order")
            return None
        return x, y

    def check_count(self, count: int, limits: Limits) -> None:
        """Refuse a file of no zones or of more than ``limits`` allow, with every problem so far.

        Raises
        ------
        InputError
            If any problem is found by now.
        """
        if not self.problems and not count:
            self.add("features", "no zones (an empty list)")
        if count > limits.max_volumes_per_file:
            self.add("features", f"{count} zones, more than the limit of {limits.max_volumes_per_file}")
        if self.problems:
            raise InputError(self.problems)

    def identify(self, field: str, value: object, index: int, seen: dict[str, int]) -> str | None:
        """Feature ``index``'s identifier (required, unique in ``seen``): it names the record from now on."""
        identifier = self.text(field, value, required=True)
        if identifier is not None:
            self.record = f"feature {index} ({identifier})"
            if identifier in seen:
                self.add(field, f"duplicate identifier (also feature {seen[identifier]})")
            seen.setdefault(identifier, index)
        return identifier

    def items(
        self, field: str, value: object, read: Callable[[ZoneProblems, str, object], T | None]
    ) -> list[T]:
        """Each item of a list field as ``read`` reads it (as ``field[i]``); those not read left out."""
        found = [read(self, f"{field}[{i}]", v) for i, v in enumerate(list_field(self, field, value))]
        return [x for x in found if x is not None]

    def daily_periods(
        self,
        field: str,
        value: object,
        refused: Callable[[ZoneProblems, str, Mapping[str, Any]], bool] | None = None,
    ) -> list[DailyPeriod]:
        """A list of daily periods (``day``, ``startTime``, ``endTime``); those not read, or ``refused``
        (which adds its problem, as ``field[i]``), left out."""
        periods: list[DailyPeriod] = []
        for i, item in enumerate(list_field(self, field, value)):
            pfield = f"{field}[{i}]"
            period = object_field(self, pfield, item, "a daily period")
            if period is None or (refused is not None and refused(self, pfield, period)):
                continue
            found = self.daily_period(
                pfield, period.get("day"), period.get("startTime"), period.get("endTime")
            )
            if isinstance(found, DailyPeriod):
                periods.append(found)
        return periods

    def applicability(
        self, field: str, start_s: float | None, end_s: float | None, periods: list[DailyPeriod]
    ) -> Applicability | None:
        """The applicability from ``start_s`` to ``end_s`` in ``periods``; ``None`` (a problem) when
        it ends before it starts."""
        if start_s is not None and end_s is not None and not start_s < end_s:
            self.add(f"{field}.endDateTime", "is not after startDateTime")
            return None
        return Applicability(start_s, end_s, tuple(periods))

    def reasons(self, field: str, value: object, known: Mapping[str, str]) -> list[str]:
        """A list of the ``known`` reasons; each one not known is a problem."""
        found = [
            self.choice(f"{field}[{i}]", r, known, "reason")
            for i, r in enumerate(list_field(self, field, value))
        ]
        return [r for r in found if r is not None]


@dataclass(frozen=True)
class ZoneKeys:
    """Where one format keeps a zone's fields and how it reads those that differ.

    ED-269 keeps them at the top of a zone (``prefix`` ``""``), ED-318 in a feature's
    ``properties``; the keys named here are the ones whose names differ.
    """

    prefix: str
    restriction: str
    restrictions: Mapping[str, ZoneRestriction]
    restriction_what: str
    reasons: Mapping[str, str]
    applicability: str
    read_applicability: Callable[[ZoneProblems, str, object], Applicability | None]
    read_authority: Callable[[ZoneProblems, str, object], ZoneAuthority | None]
    read_text: Callable[[ZoneProblems, str, object], str | None]
    """How ``name``, ``message`` and ``otherReasonInfo`` are read."""


def read_zone(
    c: ZoneProblems,
    spec: Mapping[str, Any],
    identifier: str | None,
    keys: ZoneKeys,
    read_layers: Callable[[], list[PendingLayer] | None],
) -> tuple[Zone, list[PendingLayer]] | None:
    """A zone read but for its layers (``read_layers``, called between its schedules and its texts,
    reads them pending: :func:`finish_zones` builds them); ``None`` when any field has a problem,
    the identifier or restriction is missing, or ``read_layers`` gives ``None``.
    """
    before = len(c.problems)
    field = keys.prefix
    country = c.text(f"{field}country", spec.get("country")) or ""
    restriction = c.choice(
        f"{field}{keys.restriction}", spec.get(keys.restriction), keys.restrictions, keys.restriction_what
    )
    reasons = c.reasons(f"{field}reason", spec.get("reason"), keys.reasons)
    conditions = c.text(f"{field}restrictionConditions", spec.get("restrictionConditions"))
    authorities = c.items(f"{field}zoneAuthority", spec.get("zoneAuthority"), keys.read_authority)
    applicability = c.items(
        f"{field}{keys.applicability}", spec.get(keys.applicability), keys.read_applicability
    )
    layers = read_layers()
    name, message, other = (
        keys.read_text(c, f"{field}{key}", spec.get(key)) for key in ("name", "message", "otherReasonInfo")
    )
    if len(c.problems) > before or identifier is None or restriction is None or layers is None:
        return None
    zone = Zone(
        identifier=identifier,
        country=country,
        restriction=restriction,
        layers=(),
        applicability=tuple(applicability),
        name=name,
        reasons=tuple(reasons),
        other_reason=other,
        message=message,
        conditions=conditions,
        authorities=tuple(authorities),
    )
    return zone, layers


def object_field(c: Problems, field: str | None, value: object, what: str) -> Mapping[str, Any] | None:
    """``value`` when it is an object, else ``None`` with a problem saying it should be ``what``."""
    if not isinstance(value, Mapping):
        c.add(field, f"must be an object ({what}), got {describe_value(value)}")
        return None
    return value


def list_field(c: Problems, field: str, value: object, *, required: bool = False) -> list[Any]:
    """``value`` when it is a list (absent and not required: empty), else empty with a problem."""
    if value is None and not required:
        return []
    if not isinstance(value, list):
        c.add(field, f"must be a list, got {describe_value(value)}")
        return []
    return value


def _ring_array(points: list[tuple[float, float]]) -> np.ndarray:
    closed = points if points[0] == points[-1] else [*points, points[0]]
    return np.asarray(closed, dtype=np.float64)


def build_layers(c: Problems, pending: list[PendingLayer], limits: Limits) -> list[ZoneLayer | None]:
    """The layers' footprints, in the coordinate order the file shows (see the module's docstring).

    Problems go to the record and field each layer was read at.
    """

    def evidence(layer: PendingLayer) -> tuple[bool, bool]:
        points = [p for ring in layer.rings for p in ring]
        return any(abs(x) > 90.0 for x, _ in points), any(abs(y) > 90.0 for _, y in points)

    shows = [evidence(layer) for layer in pending]
    lon_first = sum(1 for a, _ in shows if a)
    lat_first = sum(1 for _, b in shows if b)
    swap = lat_first > lon_first
    built: list[ZoneLayer | None] = []
    for layer, (shows_lon_first, shows_lat_first) in zip(pending, shows, strict=True):
        c.record = layer.record
        if lon_first and lat_first and (shows_lat_first if not swap else shows_lon_first):
            order = "[lat, lon]" if not swap else "[lon, lat]"
            c.add(
                layer.field,
                f"positions are {order} here, the other order elsewhere in the file: refused, "
                "as the order of the rest cannot be trusted either",
            )
            built.append(None)
            continue
        rings = [[(y, x) if swap else (x, y) for x, y in ring] for ring in layer.rings]
        footprint = _footprint(c, layer, rings, limits)
        built.append(None if footprint is None else ZoneLayer(footprint, layer.lower, layer.upper))
    c.record = None
    return built


def _footprint(
    c: Problems, layer: PendingLayer, rings: list[list[tuple[float, float]]], limits: Limits
) -> Footprint | None:
    if layer.kind == "circle":
        lon, lat = rings[0][0]
        if abs(lat) > 90.0:
            c.add(layer.field, f"latitude {lat:g} out of range [-90, 90]")
            return None
        return circle_footprint(lon, lat, layer.radius_m)
    for ring in rings:
        if any(abs(lat) > 90.0 for _, lat in ring):
            c.add(layer.field, "a latitude is out of range [-90, 90]")
            return None
        if len(ring) > limits.max_vertices_per_ring:
            c.add(
                layer.field,
                f"has {len(ring)} positions, more than the limit of {limits.max_vertices_per_ring}",
            )
            return None
        if len(set(ring)) < 3:
            c.add(layer.field, f"a ring needs at least 3 distinct positions, got {len(set(ring))}")
            return None
    try:
        return polygon_footprint([[_ring_array(ring) for ring in rings]])
    except ValueError as exc:
        c.add(layer.field, str(exc))
        return None


def finish_zones(c: Problems, read: list[tuple[Zone, list[PendingLayer]]], limits: Limits) -> list[Zone]:
    """The zones read, each with its layers built (:func:`build_layers`).

    Raises
    ------
    InputError
        With every problem noted in ``c``, by the reader or the layers.
    """
    layers = build_layers(c, [layer for _, pending in read for layer in pending], limits)
    if c.problems:
        raise InputError(c.problems)
    zones = []
    at = 0
    for zone, pending in read:
        built = [layer for layer in layers[at : at + len(pending)] if layer is not None]
        at += len(pending)
        zones.append(replace(zone, layers=tuple(built)))
    return zones
