"""The deployment's map overlays: lines and areas every party sees on the web map.

An overlay file is a GeoJSON FeatureCollection the operator configures (the
``map_overlays`` setting): deconfliction lines, airways, restricted areas, FIR
boundaries. They are the deployment's, not a party's: every party is shown the
same ones. A file is read and checked once, when the server starts; every
problem names the file, the feature (index and name) and the field, e.g.
``lines.geojson: feature 2 (R-1): properties.kind: must be one of line, airway,
restricted, fir; got "zone"``.

Each feature has ``properties.name`` (its label), ``properties.kind`` and an
optional ``properties.style`` (``colour`` as ``#rgb`` or ``#rrggbb``, ``weight_px``,
``dash`` as SVG dash lengths in pixels, ``fill_opacity`` 0 to 1), over the
defaults of its kind that the page applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deconflict.errors import InputError, Problem, Problems, describe_value

__all__ = [
    "KINDS",
    "MAX_OVERLAY_BYTES",
    "Overlay",
    "OverlayFeature",
    "OverlayStyle",
    "parse_overlay",
    "read_overlay",
    "read_overlays",
]

KINDS = ("line", "airway", "restricted", "fir")
"""What an overlay feature is: a line (e.g. a deconfliction line), airway, restricted area, FIR boundary."""

MAX_OVERLAY_BYTES = 20 * 1024 * 1024
"""Larger overlay files are refused: every page loads them whole."""

_NAME_MAX = 200
_GEOMETRY_TYPES = ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_DASH = re.compile(r"\d+(?:\.\d+)?(?:[ ,]+\d+(?:\.\d+)?)*")
_STYLE_KEYS = ("colour", "weight_px", "dash", "fill_opacity")


@dataclass(frozen=True)
class OverlayStyle:
    """How one feature is drawn, where its file says; ``None``: the default of its kind."""

    colour: str | None = None
    weight_px: float | None = None
    dash: str | None = None
    fill_opacity: float | None = None


@dataclass(frozen=True)
class OverlayFeature:
    """One line or area: its label, kind, style and GeoJSON geometry (positions as [lon, lat])."""

    name: str
    kind: str
    geometry: Mapping[str, Any]
    style: OverlayStyle = OverlayStyle()


@dataclass(frozen=True)
class Overlay:
    """One overlay file: its name (the collection's ``name``, else the file's stem), file, features."""

    name: str
    file: str
    features: tuple[OverlayFeature, ...]


def _position(c: Problems, field: str, value: object) -> list[float] | None:
    if not isinstance(value, list) or len(value) < 2:
        c.add(field, f"must be a position [lon, lat], got {describe_value(value)}")
        return None
    lon = c.number(f"{field}[0]", value[0])
    lat = c.number(f"{field}[1]", value[1])
    if lon is None or lat is None:
        return None
    if not -180.0 <= lon <= 180.0:
        c.add(f"{field}[0]", f"longitude {lon:g} out of range [-180, 180]")
        return None
    if not -90.0 <= lat <= 90.0:
        c.add(f"{field}[1]", f"latitude {lat:g} out of range [-90, 90]; GeoJSON is [lon, lat]")
        return None
    return [lon, lat]


def _positions(c: Problems, field: str, value: object, least: int) -> list[list[float]] | None:
    if not isinstance(value, list):
        c.add(field, f"must be a list of positions, got {describe_value(value)}")
        return None
    if len(value) < least:
        c.add(field, f"needs at least {least} positions, got {len(value)}")
        return None
    maybe = [_position(c, f"{field}[{i}]", p) for i, p in enumerate(value)]
    positions = [p for p in maybe if p is not None]
    return positions if len(positions) == len(maybe) else None


def _ring(c: Problems, field: str, value: object) -> list[list[float]] | None:
    ring = _positions(c, field, value, 4)
    if ring is not None and ring[0] != ring[-1]:
        c.add(field, f"ring is not closed: first position {ring[0]} differs from last {ring[-1]}")
        return None
    return ring


def _parts(c: Problems, field: str, value: object, part: Any) -> list[Any] | None:
    if not isinstance(value, list) or not value:
        c.add(field, f"must be a non-empty list, got {describe_value(value)}")
        return None
    parts = [part(f"{field}[{i}]", p) for i, p in enumerate(value)]
    return None if any(p is None for p in parts) else parts


def _geometry(c: Problems, geometry: object) -> dict[str, Any] | None:
    if not isinstance(geometry, dict):
        c.add("geometry", f"must be a GeoJSON geometry object, got {describe_value(geometry)}")
        return None
    kind = geometry.get("type")
    if kind not in _GEOMETRY_TYPES:
        c.add("geometry.type", f"must be one of {', '.join(_GEOMETRY_TYPES)}; got {describe_value(kind)}")
        return None
    value = geometry.get("coordinates")
    field = "geometry.coordinates"

    def line(f: str, v: object) -> list[list[float]] | None:
        return _positions(c, f, v, 2)

    def polygon(f: str, v: object) -> list[Any] | None:
        return _parts(c, f, v, lambda f2, v2: _ring(c, f2, v2))

    coordinates: Any
    if kind == "Point":
        coordinates = _position(c, field, value)
    elif kind == "LineString":
        coordinates = line(field, value)
    elif kind == "MultiLineString":
        coordinates = _parts(c, field, value, line)
    elif kind == "Polygon":
        coordinates = polygon(field, value)
    else:
        coordinates = _parts(c, field, value, polygon)
    return None if coordinates is None else {"type": kind, "coordinates": coordinates}


def _bounded(c: Problems, field: str, value: object, low: float, high: float) -> float | None:
    number = c.number(field, value)
    if number is not None and not low <= number <= high:
        c.add(field, f"must be from {low:g} to {high:g}, got {number:g}")
        return None
    return number


def _style(c: Problems, style: object) -> OverlayStyle:
    if style is None:
        return OverlayStyle()
    if not isinstance(style, dict):
        c.add("properties.style", f"must be an object, got {describe_value(style)}")
        return OverlayStyle()
    for key in style:
        if key not in _STYLE_KEYS:
            c.add(f"properties.style.{key}", f"not a style key (expected {', '.join(_STYLE_KEYS)})")
    colour = style.get("colour")
    if colour is not None and not (isinstance(colour, str) and _COLOUR.fullmatch(colour)):
        c.add("properties.style.colour", f"must be #rgb or #rrggbb, got {describe_value(colour)}")
        colour = None
    dash = style.get("dash")
    if dash is not None and not (isinstance(dash, str) and len(dash) <= 40 and _DASH.fullmatch(dash.strip())):
        c.add(
            "properties.style.dash",
            f'must be dash lengths in pixels such as "6 4", got {describe_value(dash)}',
        )
        dash = None
    weight = style.get("weight_px")
    opacity = style.get("fill_opacity")
    return OverlayStyle(
        colour=colour,
        weight_px=None if weight is None else _bounded(c, "properties.style.weight_px", weight, 0.5, 20.0),
        dash=None if dash is None else dash.strip(),
        fill_opacity=None
        if opacity is None
        else _bounded(c, "properties.style.fill_opacity", opacity, 0.0, 1.0),
    )


def _feature(c: Problems, index: int, feature: object) -> OverlayFeature | None:
    c.record = f"feature {index}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        c.add(None, f'must be a GeoJSON object of type "Feature", got {describe_value(feature)}')
        return None
    props = feature.get("properties")
    if not isinstance(props, dict):
        c.add("properties", f"must be an object with name and kind, got {describe_value(props)}")
        return None
    name = props.get("name")
    if isinstance(name, str) and name.strip():
        c.record = f"feature {index} ({name.strip()[:60]})"
    if not isinstance(name, str) or not name.strip() or len(name) > _NAME_MAX:
        c.add(
            "properties.name", f"must be a label of 1 to {_NAME_MAX} characters, got {describe_value(name)}"
        )
        name = None
    kind = props.get("kind")
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        c.add("properties.kind", f"must be one of {', '.join(KINDS)}; got {describe_value(kind)}")
        kind = None
    style = _style(c, props.get("style"))
    geometry = _geometry(c, feature.get("geometry"))
    if name is None or kind is None or geometry is None:
        return None
    return OverlayFeature(name.strip(), kind.lower(), geometry, style)


def parse_overlay(document: object, source: str, default_name: str) -> Overlay:
    """The overlay of a parsed GeoJSON document.

    Parameters
    ----------
    document
        The file's JSON.
    source
        Where it came from, for the messages (its path).
    default_name
        The overlay's name when the collection has no ``name`` member.

    Raises
    ------
    InputError
        Every problem of every feature, each naming ``source``, the feature and the field.

    Examples
    --------
    >>> line = {"type": "LineString", "coordinates": [[38.0, 36.8], [40.9, 34.4]]}
    >>> feature = {"type": "Feature", "geometry": line, "properties": {"name": "DL", "kind": "line"}}
    >>> overlay = parse_overlay({"type": "FeatureCollection", "features": [feature]}, "a.geojson", "a")
    >>> overlay.name, overlay.features[0].kind
    ('a', 'line')
    >>> feature["properties"]["kind"] = "zone"
    >>> parse_overlay({"type": "FeatureCollection", "features": [feature]}, "a.geojson", "a")
    Traceback (most recent call last):
    ...
    deconflict.errors.InputError: a.geojson: feature 0 (DL): properties.kind: must be one of line, airway, restricted, fir; got "zone"
    """  # noqa: E501
    c = Problems(source)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InputError([Problem(source, "must be a GeoJSON FeatureCollection")])
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise InputError([Problem(source, "has no features", None, "features")])
    parsed = [_feature(c, i, f) for i, f in enumerate(features)]
    if c.problems:
        raise InputError(c.problems)
    name = document.get("name")
    label = name.strip() if isinstance(name, str) and name.strip() else default_name
    return Overlay(label[:_NAME_MAX], Path(source).name, tuple(f for f in parsed if f is not None))


def read_overlay(path: Path | str) -> Overlay:
    """The overlay of a GeoJSON file (see :func:`parse_overlay`).

    Raises
    ------
    InputError
        If the file cannot be read, is too large, is not UTF-8 JSON (with line and column), or
        any feature is invalid.
    """
    from deconflict.strategic.geojson import read_json_file

    path = Path(path)
    document = read_json_file(path, MAX_OVERLAY_BYTES, "the overlay file")
    return parse_overlay(document, str(path), path.name.split(".")[0])


def read_overlays(paths: Iterable[Path | str]) -> tuple[Overlay, ...]:
    """The overlays of ``paths``, in order.

    Raises
    ------
    InputError
        The problems of every bad file together.
    """
    overlays: list[Overlay] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            overlays.append(read_overlay(path))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return tuple(overlays)
