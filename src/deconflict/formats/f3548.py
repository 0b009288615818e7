"""ASTM F3548-21 operational intents: their 4-D volumes in, an operation's details out.

The standard's JSON (the ``Volume4D`` of its OpenAPI, as the InterUSS DSS and
USSs exchange it) is modelled by the ``uas-standards`` package; its enums say
which references, units and time formats the standard allows, and the export is
built from its classes.

Shapes read (:func:`parse_f3548`), each giving one volume per ``Volume4D``:

- an ``OperationalIntent`` (``reference`` and ``details``), or the
  ``{"operational_intent": ...}`` response that wraps one: the nominal
  ``details.volumes`` and the ``details.off_nominal_volumes`` (both are airspace
  the aircraft may use), with ``details.priority``; the operation is named after
  ``reference.id``;
- ``OperationalIntentDetails`` on its own (``volumes``, ``off_nominal_volumes``,
  ``priority``), which is what :func:`operation_details` writes;
- a reference request's ``extents`` (``PutOperationalIntentReferenceParameters``);
- a single ``Volume4D``, or a list of them.

Altitudes are heights above the WGS 84 ellipsoid (``W84``), the only reference
the standard allows; metres (``M``, the standard's unit) or feet (``FT``, FIXM's)
are converted with :mod:`deconflict.units`. Times are RFC 3339. A polygon's
vertices are not closed in the standard (a closing copy of the first vertex is
accepted and dropped); its edges are read as straight lines in longitude and
latitude, as every footprint of deconflict is, where the standard means
great-circle arcs (they differ by metres over kilometres-long edges).

Every problem is reported with the file, the volume's path in the document
(e.g. ``details.volumes[2]``) and the field, e.g.
``intent.json: details.volumes[2]: volume.altitude_lower.reference: ...``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from uas_standards.astm.f3548.v21 import api as f3548

from deconflict.errors import InputError, Problems, describe_value
from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.geojson import parse_datetime_s
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins, AltitudeReference, altitude_to_m, msl_bounds_m

__all__ = ["is_f3548", "operation_details", "parse_f3548", "volume4d"]

_REFERENCES = tuple(r.value for r in f3548.AltitudeReference)
_UNITS = {"M": "m", "FT": "ft"}
"""Altitude units read: the standard's (``M``) and FIXM's feet, to our units' names."""
_RADIUS_UNITS = tuple(u.value for u in f3548.RadiusUnits)
_TIME_FORMATS = tuple(f.value for f in f3548.TimeFormat)
_VOLUME_LISTS = ("volumes", "off_nominal_volumes")


def _object(c: Problems, field: str | None, value: object, what: str) -> Mapping[str, Any] | None:
    if value is None:
        c.add(field, f"missing ({what})")
        return None
    if not isinstance(value, Mapping):
        c.add(field, f"must be an object ({what}), got {describe_value(value)}")
        return None
    return value


def _number(c: Problems, field: str, value: object) -> float | None:
    if value is None:
        c.add(field, "missing")
        return None
    return c.number(field, value)


def _point(c: Problems, field: str, value: object) -> tuple[float, float] | None:
    spec = _object(c, field, value, 'a point {"lat": ..., "lng": ...}')
    if spec is None:
        return None
    lat = _number(c, f"{field}.lat", spec.get("lat"))
    lng = _number(c, f"{field}.lng", spec.get("lng"))
    if lat is None or lng is None:
        return None
    ok = True
    if not -90.0 <= lat <= 90.0:
        c.add(f"{field}.lat", f"latitude {lat:g} out of range [-90, 90]")
        ok = False
    if not -180.0 <= lng <= 180.0:
        c.add(f"{field}.lng", f"longitude {lng:g} out of range [-180, 180]")
        ok = False
    return (lng, lat) if ok else None


def _polygon(c: Problems, field: str, value: object, limits: Limits) -> Footprint | None:
    spec = _object(c, field, value, 'a polygon {"vertices": [...]}')
    if spec is None:
        return None
    vertices = spec.get("vertices")
    if not isinstance(vertices, list):
        c.add(f"{field}.vertices", f"must be a list of points, got {describe_value(vertices)}")
        return None
    if len(vertices) > limits.max_vertices_per_ring:
        c.add(
            f"{field}.vertices",
            f"has {len(vertices)} vertices, more than the limit of {limits.max_vertices_per_ring}",
        )
        return None
    maybe = [_point(c, f"{field}.vertices[{i}]", v) for i, v in enumerate(vertices)]
    points = [p for p in maybe if p is not None]
    if len(points) < len(maybe):
        return None
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # a closed ring, as GeoJSON writes it: unambiguous
    if len(points) < 3:
        c.add(f"{field}.vertices", f"a polygon needs at least 3 distinct vertices, got {len(points)}")
        return None
    ring = np.asarray([*points, points[0]], dtype=np.float64)
    try:
        return polygon_footprint([[ring]])
    except ValueError as exc:
        c.add(f"{field}.vertices", str(exc))
        return None


def _circle(c: Problems, field: str, value: object, limits: Limits) -> Footprint | None:
    spec = _object(c, field, value, 'a circle {"center": ..., "radius": ...}')
    if spec is None:
        return None
    centre = _point(c, f"{field}.center", spec.get("center"))
    radius = _object(c, f"{field}.radius", spec.get("radius"), 'e.g. {"value": 300, "units": "M"}')
    if radius is None:
        return None
    radius_m = _number(c, f"{field}.radius.value", radius.get("value"))
    units = radius.get("units", f3548.RadiusUnits.M.value)
    if units not in _RADIUS_UNITS:
        c.add(f"{field}.radius.units", f"unknown unit {describe_value(units)} (the standard allows only M)")
        return None
    if radius_m is None or centre is None:
        return None
    if radius_m <= 0.0:
        c.add(f"{field}.radius.value", f"must be positive, got {radius_m:g}")
        return None
    if radius_m > limits.max_radius_m:
        c.add(
            f"{field}.radius.value", f"{radius_m:g} m is larger than the limit of {limits.max_radius_m:g} m"
        )
        return None
    return circle_footprint(centre[0], centre[1], radius_m)


def _altitude(c: Problems, field: str, value: object, limits: Limits) -> Altitude | None:
    spec = _object(c, field, value, 'e.g. {"value": 120, "reference": "W84", "units": "M"}')
    if spec is None:
        return None
    number = _number(c, f"{field}.value", spec.get("value"))
    reference = spec.get("reference")
    units = spec.get("units")
    ok = True
    if reference not in _REFERENCES:
        what = "missing" if reference is None else f"reference {describe_value(reference)} is not allowed"
        c.add(
            f"{field}.reference",
            f"{what}: F3548 altitudes are heights above the WGS 84 ellipsoid (W84)",
        )
        ok = False
    unit = _UNITS.get(units.upper()) if isinstance(units, str) else None
    if unit is None:
        what = "missing" if units is None else f"unknown unit {describe_value(units)}"
        c.add(f"{field}.units", f"{what} (expected M, or FT)")
        ok = False
    if not ok or number is None or unit is None:
        return None
    value_m = altitude_to_m(number, unit)
    if not limits.min_altitude_m <= value_m <= limits.max_altitude_m:
        c.add(
            f"{field}.value",
            f"{number:g} {units} is not a plausible altitude "
            f"(plausible: {limits.min_altitude_m:g} m to {limits.max_altitude_m:g} m)",
        )
        return None
    return Altitude(value_m, AltitudeReference.W84)


def _time(c: Problems, field: str, value: object) -> float | None:
    spec = _object(c, field, value, 'e.g. {"value": "2026-01-01T12:00:00Z", "format": "RFC3339"}')
    if spec is None:
        return None
    time_format = spec.get("format", f3548.TimeFormat.RFC3339.value)
    if time_format not in _TIME_FORMATS:
        c.add(f"{field}.format", f"unknown time format {describe_value(time_format)} (expected RFC3339)")
        return None
    text = spec.get("value")
    if not isinstance(text, str):
        c.add(f"{field}.value", f"must be an RFC 3339 string, got {describe_value(text)}")
        return None
    try:
        return parse_datetime_s(text)
    except ValueError as exc:
        c.add(f"{field}.value", f"not an RFC 3339 time {text!r}: {exc}")
        return None


def _volume(
    c: Problems, value: object, names: tuple[str, str, str], priority: int, limits: Limits
) -> Volume | None:
    """One ``Volume4D`` as a volume named ``names`` (id, party, operation)."""
    spec4d = _object(c, None, value, "a Volume4D")
    if spec4d is None:
        return None
    before = len(c.problems)
    spec = _object(c, "volume", spec4d.get("volume"), "a Volume3D with an outline and altitudes")
    footprint = lower = upper = None
    if spec is not None:
        outlines = [name for name in ("outline_polygon", "outline_circle") if spec.get(name) is not None]
        if len(outlines) != 1:
            given = " and ".join(outlines) if outlines else "neither"
            c.add("volume", f"needs exactly one of outline_polygon and outline_circle, got {given}")
        elif outlines[0] == "outline_polygon":
            footprint = _polygon(c, "volume.outline_polygon", spec["outline_polygon"], limits)
        else:
            footprint = _circle(c, "volume.outline_circle", spec["outline_circle"], limits)
        lower = _altitude(c, "volume.altitude_lower", spec.get("altitude_lower"), limits)
        upper = _altitude(c, "volume.altitude_upper", spec.get("altitude_upper"), limits)
        if lower is not None and upper is not None and not lower.value_m < upper.value_m:
            c.add(
                "volume.altitude_lower",
                f"lower {lower.value_m:g} m is not below upper {upper.value_m:g} m",
            )
    start = _time(c, "time_start", spec4d.get("time_start"))
    end = _time(c, "time_end", spec4d.get("time_end"))
    if start is not None and end is not None and not start < end:
        c.add("time_end", f"{format_time(end)} is not after time_start {format_time(start)}")
    if len(c.problems) > before:
        return None
    assert footprint is not None and lower is not None and upper is not None
    assert start is not None and end is not None
    volume_id, party, operation = names
    return Volume(volume_id, party, operation, footprint, lower, upper, start, end, priority)


def _priority(c: Problems, details: Mapping[str, Any]) -> int:
    priority = details.get("priority")
    if priority is None:
        return 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        c.add("priority", f"must be an integer, got {describe_value(priority)}")
        return 0
    return priority


def _lists(c: Problems, document: object) -> tuple[list[tuple[str, object]], int, str | None]:
    """The (path, Volume4D) pairs of a document, its priority and its operational intent's id."""
    if isinstance(document, list):
        return [(f"volume {i}", v) for i, v in enumerate(document)], 0, None
    if not isinstance(document, Mapping):
        c.add(None, f"must be an F3548 object or a list of Volume4D, got {describe_value(document)}")
        return [], 0, None
    top: Mapping[str, Any] = document
    prefix = ""
    if isinstance(top.get("operational_intent"), Mapping):
        top, prefix = top["operational_intent"], "operational_intent."
    if "volume" in top:
        return [("volume 0", top)], 0, None
    if "area_of_interest" in top:
        return [("area_of_interest", top["area_of_interest"])], 0, None
    if "extents" in top:
        return _items(c, [("extents", top["extents"])]), 0, None
    operation_id = None
    details: Mapping[str, Any] | None = top
    if "details" in top:
        reference = top.get("reference")
        if isinstance(reference, Mapping) and isinstance(reference.get("id"), str):
            operation_id = reference["id"]
        c.record = f"{prefix}details"
        details = _object(c, None, top["details"], "OperationalIntentDetails")
        c.record = None
        prefix = f"{prefix}details."
    if details is None:
        return [], 0, None
    lists = [(f"{prefix}{key}", details[key]) for key in _VOLUME_LISTS if details.get(key) is not None]
    if not lists:
        c.add(
            None,
            "no volumes: expected an OperationalIntent, its details (volumes, off_nominal_volumes), "
            "a reference request (extents), a Volume4D or a list of them",
        )
        return [], 0, None
    c.record = prefix.rstrip(".") or None
    priority = _priority(c, details)
    c.record = None
    return _items(c, lists), priority, operation_id


def _items(c: Problems, lists: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """(path[i], item) of each list, each non-list reported."""
    pairs: list[tuple[str, object]] = []
    for path, items in lists:
        if not isinstance(items, list):
            c.add(path, f"must be a list of Volume4D, got {describe_value(items)}")
            continue
        pairs.extend((f"{path}[{i}]", v) for i, v in enumerate(items))
    return pairs


def parse_f3548(
    document: object, source: str, default_party: str, operation: str | None = None, limits: Limits = Limits()
) -> list[Volume]:
    """Volumes of a decoded F3548 document (see the module's docstring for the shapes).

    Parameters
    ----------
    document
        The decoded JSON.
    source
        Where it came from, for messages (a file path).
    default_party
        The party of every volume (F3548 carries none: the file's stem, or the filer).
    operation
        The operation's id; default: the operational intent's ``reference.id``, else ``source``'s stem.
    limits
        Sanity limits (vertices, radius, altitudes, volumes per file).

    Raises
    ------
    InputError
        With every problem found, each naming ``source``, the volume's path and the field.

    Examples
    --------
    >>> doc = {"volume": {"outline_circle": {"center": {"lat": 35.0, "lng": 36.0},
    ...        "radius": {"value": 500, "units": "M"}},
    ...        "altitude_lower": {"value": 0, "reference": "W84", "units": "M"},
    ...        "altitude_upper": {"value": 400, "reference": "W84", "units": "FT"}},
    ...        "time_start": {"value": "2026-01-01T12:00:00Z", "format": "RFC3339"},
    ...        "time_end": {"value": "2026-01-01T13:00:00Z", "format": "RFC3339"}}
    >>> [v] = parse_f3548(doc, "intent.json", "blue")
    >>> v.id, v.upper.value_m, str(v.upper.reference), v.footprint.radius_m
    ('intent/0', 121.92, 'W84', 500.0)
    """
    c = Problems(source)
    pairs, priority, intent_id = _lists(c, document)
    if c.problems:
        raise InputError(c.problems)
    if len(pairs) > limits.max_volumes_per_file:
        c.add(None, f"{len(pairs)} volumes, more than the limit of {limits.max_volumes_per_file}")
        raise InputError(c.problems)
    if not pairs:
        c.add(None, "no volumes (an empty list)")
        raise InputError(c.problems)
    name = operation or intent_id or source.replace("\\", "/").rsplit("/", 1)[-1].split(".")[0] or "f3548"
    volumes: list[Volume] = []
    for index, (path, value) in enumerate(pairs):
        c.record = path
        volume_id = f"{name}/{'off-nominal/' if 'off_nominal' in path else ''}{index}"
        volume = _volume(c, value, (volume_id, default_party, name), priority, limits)
        if volume is not None:
            volumes.append(volume)
    if c.problems:
        raise InputError(c.problems)
    return volumes


def is_f3548(document: object) -> bool:
    """Whether a decoded JSON document looks like one of the F3548 shapes :func:`parse_f3548` reads."""
    if isinstance(document, list):
        return bool(document) and all(isinstance(v, Mapping) and "volume" in v for v in document)
    if not isinstance(document, Mapping):
        return False
    keys = {"operational_intent", "volume", "area_of_interest", "extents", "details", *_VOLUME_LISTS}
    return document.get("type") != "FeatureCollection" and bool(keys & document.keys())


def _w84_band_m(volume: Volume, margins: AltitudeMargins) -> tuple[float, float]:
    """The volume's band as heights above the ellipsoid, widened when given against another reference.

    W84 is exact. An MSL, AGL or flight-level bound becomes the widest interval
    it can mean (:func:`deconflict.units.msl_bounds_m`), then the geoid's range
    is added and the result rounded outwards to the centimetre: the exported
    volume contains the filed one wherever it is.
    """
    bounds = []
    for altitude, side in ((volume.lower, 0), (volume.upper, 1)):
        if altitude.reference is AltitudeReference.W84:
            bounds.append(altitude.value_m)
            continue
        msl = msl_bounds_m(altitude.value_m, altitude.value_m, altitude.reference, margins)[side]
        # Widened bounds are rounded outwards to the centimetre: no float noise, still containing.
        if side == 0:
            bounds.append(math.floor((msl + margins.geoid_min_m) * 100.0) / 100.0)
        else:
            bounds.append(math.ceil((msl + margins.geoid_max_m) * 100.0) / 100.0)
    return bounds[0], bounds[1]


def _altitude_model(value_m: float) -> f3548.Altitude:
    return f3548.Altitude(value=value_m, reference=f3548.AltitudeReference.W84, units=f3548.AltitudeUnits.M)


def _rfc3339(time_s: float) -> str:
    """UTC text to the millisecond, or to the microsecond (as read) when a time needs it."""
    value = datetime.fromtimestamp(time_s, tz=UTC)
    spec = (
        "seconds"
        if not value.microsecond
        else "milliseconds"
        if not value.microsecond % 1000
        else "microseconds"
    )
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def _time_model(time_s: float) -> f3548.Time:
    return f3548.Time(value=_rfc3339(time_s), format=f3548.TimeFormat.RFC3339)


def volume4d(volume: Volume, margins: AltitudeMargins = AltitudeMargins()) -> list[f3548.Volume4D]:
    """A volume as F3548 ``Volume4D`` (one per part of a footprint the antimeridian splits).

    A circle stays a circle; a polygon's holes are dropped (the standard's
    polygons have none: the exported volume covers them); altitudes become W84
    metres (:func:`_w84_band_m`); times RFC 3339 UTC, to the millisecond
    (the microsecond when a time has one).
    """
    lower_m, upper_m = _w84_band_m(volume, margins)
    fp = volume.footprint
    outlines: list[dict[str, Any]]
    if fp.is_circle:
        assert fp.centre_lon_deg is not None and fp.centre_lat_deg is not None and fp.radius_m is not None
        circle = f3548.Circle(
            center=f3548.LatLngPoint(lng=fp.centre_lon_deg, lat=fp.centre_lat_deg),
            radius=f3548.Radius(value=fp.radius_m, units=f3548.RadiusUnits.M),
        )
        outlines = [{"outline_circle": circle}]
    else:
        parts: Sequence[Any] = getattr(fp.shape, "geoms", [fp.shape])
        outlines = []
        for part in parts:
            coords = list(part.exterior.coords)[:-1]
            vertices = [f3548.LatLngPoint(lng=float(x), lat=float(y)) for x, y in coords]
            outlines.append({"outline_polygon": f3548.Polygon(vertices=vertices)})
    return [
        f3548.Volume4D(
            volume=f3548.Volume3D(
                **outline,
                altitude_lower=_altitude_model(lower_m),
                altitude_upper=_altitude_model(upper_m),
            ),
            time_start=_time_model(volume.time_start_s),
            time_end=_time_model(volume.time_end_s),
        )
        for outline in outlines
    ]


def operation_details(
    volumes: Sequence[Volume], priority: int | None = None, margins: AltitudeMargins = AltitudeMargins()
) -> dict[str, Any]:
    """An operation's volumes as the F3548 ``OperationalIntentDetails`` (plain JSON).

    The reference part of an operational intent (DSS id, OVN, USS URL,
    subscription) belongs to the DSS and the USS that manages it, so only the
    details are written: every volume nominal, ``off_nominal_volumes`` empty,
    ``priority`` the given one or the highest of the volumes'.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> v = Volume("v1", "blue", "op", circle_footprint(36.0, 35.0, 500.0),
    ...            Altitude(0.0, AltitudeReference.W84), Altitude(120.0, AltitudeReference.W84),
    ...            1767268800.0, 1767272400.0, priority=2)
    >>> details = operation_details([v])
    >>> details["priority"], details["volumes"][0]["volume"]["altitude_upper"]
    (2, {'value': 120.0, 'reference': 'W84', 'units': 'M'})
    """
    models = [model for volume in volumes for model in volume4d(volume, margins)]
    if priority is None:
        priority = max((v.priority for v in volumes), default=0)
    details = f3548.OperationalIntentDetails(volumes=models, off_nominal_volumes=[], priority=priority)
    # The models hold enums; their JSON is the standard's text.
    result: dict[str, Any] = json.loads(json.dumps(details))
    return result
