"""KML of plans: each volume a 3-D solid for Google Earth, with its time span and its party's style.

A volume is drawn as what it is, not extruded to the ground: a floor at its
lower altitude, a roof at its upper altitude and one wall per edge of its
footprint (holes too), all ``Polygon`` in one ``MultiGeometry``. A circle is
drawn as the polygon that surely contains it (the footprint's outer polygon).
Each placemark has a ``TimeSpan`` so Google Earth's time slider shows the plan
as it unfolds, and a style per party (conflicts: one red style).

KML's ``absolute`` altitude is metres above mean sea level. An MSL band is
drawn as given; a band of heights above ground (AGL at both ends) is drawn
``relativeToGround``; any other band (W84 ellipsoid heights, flight levels,
mixed references) is drawn as the widest MSL band it can mean
(:func:`deconflict.units.msl_bounds_m` with the given margins, rounded outwards
to the centimetre): the drawn solid contains the planned one.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from deconflict.strategic.conflicts import Conflict, format_time
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins, AltitudeReference, msl_bounds_m

__all__ = ["KML_NAMESPACE", "plan_kml"]

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"

# Colours of the parties' styles (RGB), picked by a stable hash of the party's name.
_PALETTE = ("1f77b4", "2ca02c", "9467bd", "8c564b", "e377c2", "17becf", "bcbd22", "ff7f0e", "7f7f7f")
_CONFLICT_RGB = "d62728"


def _kml_colour(rgb: str, alpha: str) -> str:
    """KML's ``aabbggrr`` of an ``rrggbb`` colour."""
    return alpha + rgb[4:6] + rgb[2:4] + rgb[0:2]


def _party_rgb(party: str) -> str:
    digest = hashlib.sha256(party.encode("utf-8")).digest()
    return _PALETTE[digest[0] % len(_PALETTE)]


def _style_id(party: str) -> str:
    return "party-" + hashlib.sha256(party.encode("utf-8")).hexdigest()[:12]


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _style(document: ET.Element, style_id: str, rgb: str) -> None:
    style = _sub(document, "Style")
    style.set("id", style_id)
    line = _sub(style, "LineStyle")
    _sub(line, "color", _kml_colour(rgb, "ff"))
    _sub(line, "width", "1.5")
    poly = _sub(style, "PolyStyle")
    _sub(poly, "color", _kml_colour(rgb, "66"))


def _band(lower: Altitude, upper: Altitude, margins: AltitudeMargins) -> tuple[float, float, str]:
    """(floor m, roof m, altitudeMode) of a band (see the module's docstring)."""
    if lower.reference == upper.reference == AltitudeReference.MSL:
        return lower.value_m, upper.value_m, "absolute"
    if lower.reference == upper.reference == AltitudeReference.AGL:
        return lower.value_m, upper.value_m, "relativeToGround"
    floor = msl_bounds_m(lower.value_m, lower.value_m, lower.reference, margins)[0]
    roof = msl_bounds_m(upper.value_m, upper.value_m, upper.reference, margins)[1]
    # Rounded outwards to the centimetre: no float noise, still containing.
    return math.floor(floor * 100.0) / 100.0, math.ceil(roof * 100.0) / 100.0, "absolute"


def _coordinates(points: Sequence[tuple[float, float]], alt_m: Sequence[float]) -> str:
    return " ".join(f"{lon!r},{lat!r},{alt!r}" for (lon, lat), alt in zip(points, alt_m, strict=True))


def _polygon(
    geometry: ET.Element,
    rings: Sequence[Sequence[tuple[float, float]]],
    alt_m: Sequence[float] | float,
    mode: str,
) -> None:
    polygon = _sub(geometry, "Polygon")
    _sub(polygon, "altitudeMode", mode)
    for index, ring in enumerate(rings):
        boundary = _sub(polygon, "outerBoundaryIs" if index == 0 else "innerBoundaryIs")
        heights = [alt_m] * len(ring) if isinstance(alt_m, float) else alt_m
        _sub(_sub(boundary, "LinearRing"), "coordinates", _coordinates(ring, heights))


def _solid(parent: ET.Element, shape: Any, floor_m: float, roof_m: float, mode: str) -> None:
    """Floor, roof and walls of a (multi)polygon between two altitudes."""
    geometry = _sub(parent, "MultiGeometry")
    for part in getattr(shape, "geoms", [shape]):
        rings = [[(float(x), float(y)) for x, y in part.exterior.coords]]
        rings += [[(float(x), float(y)) for x, y in hole.coords] for hole in part.interiors]
        _polygon(geometry, rings, floor_m, mode)
        _polygon(geometry, rings, roof_m, mode)
        for ring in rings:
            for a, b in itertools.pairwise(ring):
                _polygon(geometry, [[a, b, b, a, a]], [floor_m, floor_m, roof_m, roof_m, floor_m], mode)


def _data(placemark: ET.Element, values: dict[str, str]) -> None:
    extended = _sub(placemark, "ExtendedData")
    for name, value in values.items():
        data = _sub(extended, "Data")
        data.set("name", name)
        _sub(data, "value", value)


def _time_span(placemark: ET.Element, start_s: float, end_s: float) -> None:
    span = _sub(placemark, "TimeSpan")
    _sub(span, "begin", format_time(start_s))
    _sub(span, "end", format_time(end_s))


def _describe(altitude: Altitude) -> str:
    return f"{altitude.value_m:g} m {altitude.reference}"


def plan_kml(
    volumes: Sequence[Volume],
    conflicts: Sequence[Conflict] = (),
    name: str = "deconflict plan",
    margins: AltitudeMargins = AltitudeMargins(),
) -> str:
    """A KML document of volumes (and conflicts), as text.

    Each volume is a placemark named by its id, styled by its party, with a
    ``TimeSpan`` and ``ExtendedData`` (party, operation, priority, the altitudes as
    given). Each conflict is a red solid over the box of its overlap region, between
    its band's altitudes, during its time window.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> v = Volume("v1", "blue", "op", circle_footprint(36.0, 35.0, 500.0),
    ...            Altitude(0.0, AltitudeReference.MSL), Altitude(120.0, AltitudeReference.MSL),
    ...            1767268800.0, 1767272400.0)
    >>> text = plan_kml([v])
    >>> "<begin>2026-01-01T12:00:00Z</begin>" in text, text.count("<Polygon>")  # a floor, a roof, 64 walls
    (True, 66)
    """
    root = ET.Element("kml", xmlns=KML_NAMESPACE)
    document = _sub(root, "Document")
    _sub(document, "name", name)
    for party in sorted({v.party for v in volumes}):
        _style(document, _style_id(party), _party_rgb(party))
    if conflicts:
        _style(document, "conflict", _CONFLICT_RGB)
    for party in sorted({v.party for v in volumes}):
        folder = _sub(document, "Folder")
        _sub(folder, "name", party)
        for volume in (v for v in volumes if v.party == party):
            placemark = _sub(folder, "Placemark")
            _sub(placemark, "name", volume.id)
            _sub(placemark, "styleUrl", "#" + _style_id(party))
            _time_span(placemark, volume.time_start_s, volume.time_end_s)
            _data(
                placemark,
                {
                    "party": volume.party,
                    "operation": volume.operation,
                    "priority": str(volume.priority),
                    "altitude_lower": _describe(volume.lower),
                    "altitude_upper": _describe(volume.upper),
                },
            )
            floor_m, roof_m, mode = _band(volume.lower, volume.upper, margins)
            _solid(placemark, volume.footprint.outer, floor_m, roof_m, mode)
    if conflicts:
        folder = _sub(document, "Folder")
        _sub(folder, "name", "conflicts")
        for conflict in conflicts:
            _conflict(folder, conflict, margins)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _conflict(folder: ET.Element, conflict: Conflict, margins: AltitudeMargins) -> None:
    import shapely

    placemark = _sub(folder, "Placemark")
    _sub(placemark, "name", f"{conflict.a} x {conflict.b}")
    _sub(placemark, "styleUrl", "#conflict")
    _time_span(placemark, conflict.time_start_s, conflict.time_end_s)
    _data(
        placemark,
        {
            "volume_a": f"{conflict.party_a} {conflict.a}",
            "volume_b": f"{conflict.party_b} {conflict.b}",
            "overlap_area_m2": f"{conflict.overlap_area_m2:.0f}",
        },
    )
    reference = AltitudeReference(conflict.altitude_reference)
    floor_m, roof_m, mode = _band(
        Altitude(conflict.altitude_lower_m, reference),
        Altitude(conflict.altitude_upper_m, reference),
        margins,
    )
    west, south, east, north = conflict.overlap_bbox
    # A region across the antimeridian has west > east: two boxes.
    boxes = (
        [(west, south, east, north)]
        if west <= east
        else [(west, south, 180.0, north), (-180.0, south, east, north)]
    )
    shape = (
        shapely.MultiPolygon([shapely.box(*b) for b in boxes]) if len(boxes) > 1 else shapely.box(*boxes[0])
    )
    _solid(placemark, shape, floor_m, roof_m, mode)
