"""Reading operation volumes from GeoJSON FeatureCollections (PRODUCT.md format).

Every problem of a file is collected and reported together, each naming the
file, the feature (index and id) and the field, e.g.
``plans.geojson: feature 3 (id op-17/v1): altitude_lower.units: unknown unit 'km'``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely.geometry

from deconflict.errors import InputError, Problem, Problems, describe_value
from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.units import (
    ALTITUDE_UNITS,
    FL_TO_M,
    Altitude,
    AltitudeMargins,
    AltitudeReference,
    altitude_to_m,
)

__all__ = ["parse_datetime_s", "parse_features", "read_json_file", "read_volumes", "volume_feature"]

_GEOMETRY_TYPES = ("Polygon", "MultiPolygon", "Point")
_REFERENCES = ("W84", "MSL", "AGL")


def parse_datetime_s(text: str) -> float:
    """Seconds since the Unix epoch of an RFC 3339 time with an offset.

    Examples
    --------
    >>> parse_datetime_s("2026-01-01T12:00:00Z")
    1767268800.0
    >>> parse_datetime_s("2026-01-01T14:00:00+02:00")
    1767268800.0
    """
    if "T" not in text.upper() and " " not in text:
        raise ValueError("needs a date and a time, e.g. 2026-01-01T12:00:00Z")
    value = datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset such as 'Z' or '+02:00'")
    return value.timestamp()


def _time(c: Problems, props: Mapping[str, Any], field: str) -> float | None:
    if field not in props:
        c.add(field, "missing (an RFC 3339 time such as 2026-01-01T12:00:00Z)")
        return None
    value = props[field]
    if not isinstance(value, str):
        c.add(field, f"must be an RFC 3339 string, got {describe_value(value)}")
        return None
    try:
        return parse_datetime_s(value)
    except ValueError as exc:
        c.add(field, f"not an RFC 3339 time {value!r}: {exc}")
        return None


def _plausible_m(c: Problems, field: str, value: float, units: str, limits: Limits) -> float | None:
    """The altitude in metres, or ``None`` (reported) when no one can mean it."""
    if units == "FL":
        if not 0.0 <= value <= limits.max_flight_level:
            c.add(
                f"{field}.value",
                f"FL {value:g} is not a flight level in use "
                f"(plausible: FL 0 to FL {limits.max_flight_level:g})",
            )
            return None
        return altitude_to_m(value, units)
    value_m = altitude_to_m(value, units)
    if not limits.min_altitude_m <= value_m <= limits.max_altitude_m:
        given = f"{value:g} m" if units == "m" else f"{value:g} {units} ({value_m:.0f} m)"
        c.add(
            f"{field}.value",
            f"{given} is not a plausible altitude "
            f"(plausible: {limits.min_altitude_m:g} m to {limits.max_altitude_m:g} m)",
        )
        return None
    return value_m


def _altitude(c: Problems, props: Mapping[str, Any], field: str, limits: Limits) -> Altitude | None:
    if field not in props:
        c.add(field, 'missing (e.g. {"value": 3000, "units": "ft", "reference": "MSL"})')
        return None
    spec = props[field]
    if not isinstance(spec, Mapping):
        c.add(field, f"must be an object with value, units and reference, got {describe_value(spec)}")
        return None
    ok = True
    value = c.number(f"{field}.value", spec.get("value")) if "value" in spec else None
    if "value" not in spec:
        c.add(f"{field}.value", "missing")
        ok = False
    units = spec.get("units")
    if units not in ALTITUDE_UNITS:
        c.add(f"{field}.units", f"unknown unit {describe_value(units)} (expected one of m, ft, FL)")
        ok = False
    reference = spec.get("reference")
    if units == "FL":
        if reference not in (None, "STD"):
            c.add(
                f"{field}.reference",
                f"flight levels are pressure altitudes; got reference {describe_value(reference)}",
            )
            ok = False
        reference = "STD"
    elif reference not in _REFERENCES:
        what = "missing" if reference is None else f"unknown reference {describe_value(reference)}"
        c.add(f"{field}.reference", f"{what} (expected one of W84, MSL, AGL)")
        ok = False
    if not ok or value is None:
        return None
    value_m = _plausible_m(c, field, value, str(units), limits)
    if value_m is None:
        return None
    return Altitude(value_m, AltitudeReference(str(reference)))


def _position(c: Problems, field: str, value: object) -> tuple[float, float] | None:
    if not isinstance(value, list | tuple) or len(value) < 2:
        c.add(field, f"must be a position [lon, lat], got {describe_value(value)}")
        return None
    lon = c.number(f"{field}[0]", value[0])
    lat = c.number(f"{field}[1]", value[1])
    if lon is None or lat is None:
        return None
    ok = True
    if not -180.0 <= lon <= 180.0:
        c.add(f"{field}[0]", f"longitude {lon} out of range [-180, 180]")
        ok = False
    if not -90.0 <= lat <= 90.0:
        # Only a latitude beyond 90 proves the order wrong: (lat, lon) of most places is valid (lon, lat).
        swapped = -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0
        hint = "; GeoJSON is [lon, lat]: did you swap them?" if swapped else ""
        c.add(f"{field}[1]", f"latitude {lat} out of range [-90, 90]{hint}")
        ok = False
    return (lon, lat) if ok else None


def _ring(c: Problems, field: str, value: object, limits: Limits) -> np.ndarray | None:
    if not isinstance(value, list):
        c.add(field, f"must be a list of positions, got {describe_value(value)}")
        return None
    if len(value) > limits.max_vertices_per_ring:
        c.add(field, f"has {len(value)} positions, more than the limit of {limits.max_vertices_per_ring}")
        return None
    maybe = [_position(c, f"{field}[{i}]", p) for i, p in enumerate(value)]
    positions = [p for p in maybe if p is not None]
    if len(positions) < len(maybe):
        return None
    if len(positions) < 4:
        c.add(
            field, f"a ring needs at least 4 positions (3 corners and the first again), got {len(positions)}"
        )
        return None
    if positions[0] != positions[-1]:
        c.add(
            field,
            f"ring is not closed: first position {list(positions[0])} "
            f"differs from last {list(positions[-1])}",
        )
        return None
    return np.asarray(positions, dtype=np.float64)


def _polygon_rings(c: Problems, field: str, value: object, limits: Limits) -> list[np.ndarray] | None:
    if not isinstance(value, list) or not value:
        c.add(field, f"must be a non-empty list of rings, got {describe_value(value)}")
        return None
    rings = [_ring(c, f"{field}[{i}]", r, limits) for i, r in enumerate(value)]
    if any(r is None for r in rings):
        return None
    return rings  # type: ignore[return-value]


def _footprint(c: Problems, geometry: object, props: Mapping[str, Any], limits: Limits) -> Footprint | None:
    if not isinstance(geometry, Mapping):
        c.add("geometry", f"missing or not an object (one of {', '.join(_GEOMETRY_TYPES)})")
        return None
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in _GEOMETRY_TYPES:
        c.add(
            "geometry.type",
            f"unsupported geometry {describe_value(kind)} (expected one of {', '.join(_GEOMETRY_TYPES)})",
        )
        return None
    if kind == "Point":
        centre = _position(c, "geometry.coordinates", coords)
        if "radius_m" not in props:
            c.add("radius_m", "missing: a Point footprint is a circle and needs radius_m")
            return None
        radius = c.number("radius_m", props["radius_m"])
        if radius is None:
            return None
        if radius <= 0.0:
            c.add("radius_m", f"must be positive, got {radius}")
            return None
        if radius > limits.max_radius_m:
            c.add("radius_m", f"{radius} m is larger than the limit of {limits.max_radius_m} m")
            return None
        if centre is None:
            return None
        return circle_footprint(centre[0], centre[1], radius)
    if kind == "Polygon":
        rings = _polygon_rings(c, "geometry.coordinates", coords, limits)
        parts = None if rings is None else [rings]
    else:
        if not isinstance(coords, list) or not coords:
            c.add(
                "geometry.coordinates", f"must be a non-empty list of polygons, got {describe_value(coords)}"
            )
            return None
        polys = [_polygon_rings(c, f"geometry.coordinates[{i}]", p, limits) for i, p in enumerate(coords)]
        parts = None if any(p is None for p in polys) else [p for p in polys if p is not None]
    if parts is None:
        return None
    try:
        return polygon_footprint(parts)
    except ValueError as exc:
        c.add("geometry", str(exc))
        return None


def _band_possible(lower: Altitude, upper: Altitude) -> bool:
    if lower.reference == upper.reference:
        return lower.value_m < upper.value_m
    # Across references: refuse only a band that is empty under any conditions.
    return lower.msl_range_m(AltitudeMargins())[0] < upper.msl_range_m(AltitudeMargins())[1]


def _text(c: Problems, props: Mapping[str, Any], field: str, default: str | None) -> str | None:
    value = props.get(field, default)
    if value is None:
        c.add(field, "missing")
        return None
    if not isinstance(value, str) or not value.strip():
        c.add(field, f"must be a non-empty string, got {describe_value(value)}")
        return None
    if len(value) > 200:
        c.add(field, f"is {len(value)} characters long, more than 200")
        return None
    return value


def _feature(c: Problems, feature: object, default_party: str, limits: Limits) -> Volume | None:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        c.add(None, "must be a GeoJSON Feature object")
        return None
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        c.add("properties", "missing or not an object")
        return None
    before = len(c.problems)
    volume_id = _text(c, props, "id", None)
    party = _text(c, props, "party", default_party)
    operation = _text(c, props, "operation", volume_id)
    footprint = _footprint(c, feature.get("geometry"), props, limits)
    lower = _altitude(c, props, "altitude_lower", limits)
    upper = _altitude(c, props, "altitude_upper", limits)
    start = _time(c, props, "time_start")
    end = _time(c, props, "time_end")
    priority = props.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        c.add("priority", f"must be an integer, got {describe_value(priority)}")
    if lower is not None and upper is not None and not _band_possible(lower, upper):
        c.add(
            "altitude_lower",
            f"lower {lower.value_m:g} m {lower.reference} is not below "
            f"upper {upper.value_m:g} m {upper.reference}",
        )
    if start is not None and end is not None and end <= start:
        c.add("time_end", f"{props['time_end']} is not after time_start {props['time_start']}")
    if len(c.problems) > before:
        return None
    assert volume_id and party and operation and footprint and lower and upper
    assert start is not None and end is not None
    return Volume(
        id=volume_id,
        party=party,
        operation=operation,
        footprint=footprint,
        lower=lower,
        upper=upper,
        time_start_s=start,
        time_end_s=end,
        priority=int(priority),
    )


def parse_features(
    document: object, source: str, default_party: str, limits: Limits = Limits()
) -> list[Volume]:
    """Volumes of a decoded GeoJSON FeatureCollection.

    Raises
    ------
    InputError
        With every problem found, each naming ``source``, feature and field.
    """
    c = Problems(source)
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        c.add(None, 'must be a GeoJSON FeatureCollection ({"type": "FeatureCollection", "features": [...]})')
        raise InputError(c.problems)
    features = document.get("features")
    if not isinstance(features, list):
        c.add("features", "missing or not a list")
        raise InputError(c.problems)
    if len(features) > limits.max_volumes_per_file:
        c.add("features", f"{len(features)} features, more than the limit of {limits.max_volumes_per_file}")
        raise InputError(c.problems)
    volumes: list[Volume] = []
    seen: dict[tuple[str, str], int] = {}
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        fid = props.get("id") if isinstance(props, Mapping) else None
        c.record = f"feature {index}" + (f" (id {fid})" if isinstance(fid, str) else "")
        volume = _feature(c, feature, default_party, limits)
        if volume is None:
            continue
        key = (volume.party, volume.id)
        if key in seen:
            c.add("id", f"duplicate id {volume.id!r} of party {volume.party!r} (also feature {seen[key]})")
            continue
        seen[key] = index
        volumes.append(volume)
    if c.problems:
        raise InputError(c.problems)
    return volumes


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; keep them to report them where they are.
    return float(name.replace("Infinity", "inf"))


def read_json_file(path: Path, max_bytes: int, what: str = "file") -> Any:
    """The JSON document of a UTF-8 file of at most ``max_bytes`` (NaN and Infinity refused).

    Raises
    ------
    InputError
        Naming the file: it cannot be read (``cannot read {what}: ...``), is too large, is
        not UTF-8, or is not JSON (with line and column).
    """
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError([Problem(source, f"file is {size} bytes, more than the limit of {max_bytes}")])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(source, f"cannot read {what}: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise InputError([Problem(source, f"not UTF-8 text (byte {exc.start})")]) from exc
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(source, f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from exc
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        raise InputError([Problem(source, f"not valid JSON: {exc}")]) from exc


def read_volumes(path: Path | str, limits: Limits = Limits()) -> list[Volume]:
    """Volumes of a GeoJSON file; a missing ``party`` defaults to the file's stem.

    Raises
    ------
    InputError
        If the file cannot be read, is too large, is not JSON (with line and
        column), or any feature is invalid (all problems together).
    """
    path = Path(path)
    source = str(path)
    document = read_json_file(path, limits.max_file_bytes)
    return parse_features(document, source, path.stem.split(".")[0], limits)


def _altitude_json(altitude: Altitude) -> dict[str, Any]:
    if altitude.reference == AltitudeReference.STD:
        return {"value": round(altitude.value_m / FL_TO_M, 9), "units": "FL"}
    return {"value": altitude.value_m, "units": "m", "reference": str(altitude.reference)}


def volume_feature(volume: Volume) -> dict[str, Any]:
    """A volume as a PRODUCT.md GeoJSON Feature, the inverse of :func:`parse_features`.

    Altitudes are written in metres (flight levels as ``FL``); a circle as a
    ``Point`` with ``radius_m``; a polygon split at the antimeridian as a
    ``MultiPolygon``. Times are RFC 3339 UTC.
    """
    fp = volume.footprint
    props: dict[str, Any] = {
        "id": volume.id,
        "party": volume.party,
        "operation": volume.operation,
        "altitude_lower": _altitude_json(volume.lower),
        "altitude_upper": _altitude_json(volume.upper),
        "time_start": format_time(volume.time_start_s),
        "time_end": format_time(volume.time_end_s),
        "priority": volume.priority,
    }
    geometry: dict[str, Any]
    if fp.is_circle:
        geometry = {"type": "Point", "coordinates": [fp.centre_lon_deg, fp.centre_lat_deg]}
        props["radius_m"] = fp.radius_m
    else:
        # mapping() gives nested tuples; JSON arrays are lists.
        geometry = json.loads(json.dumps(shapely.geometry.mapping(fp.shape)))
    return {"type": "Feature", "geometry": geometry, "properties": props}
