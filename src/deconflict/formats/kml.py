"""KML of plans: each volume a 3-D solid for Google Earth, with its time span and its party's style.

A volume is drawn as what it is, not extruded to the ground: a floor at its
lower altitude, a roof at its upper altitude and one wall per edge of its
footprint (holes too), all ``Polygon`` in one ``MultiGeometry``. A circle is
drawn as the polygon that surely contains it (the footprint's outer polygon).
Each placemark has a ``TimeSpan`` so Google Earth's time slider shows the plan
as it unfolds, and a style per party (conflicts: one red style).

A party's own view of its conflicts and incidents (:func:`conflicts_kml`,
:func:`incidents_kml`) is drawn from the very records the API answers in JSON
(:class:`ConflictFacts`, :class:`IncidentFacts`), so the KML holds nothing the
JSON view does not: a conflict is the box of its overlap region between its
band's altitudes, an incident a point at its closest approach.

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
from typing import Any, Protocol

from deconflict.strategic.conflicts import Conflict, format_time
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins, AltitudeReference, msl_bounds_m

__all__ = [
    "KML_NAMESPACE",
    "ClosestFacts",
    "ConflictFacts",
    "IncidentFacts",
    "conflicts_kml",
    "incidents_kml",
    "plan_kml",
]

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"

# Colours of the parties' styles (RGB), picked by a stable hash of the party's name.
_PALETTE = ("1f77b4", "2ca02c", "9467bd", "8c564b", "e377c2", "17becf", "bcbd22", "ff7f0e", "7f7f7f")
_CONFLICT_RGB = "d62728"
# Fill colours (RGB) of a conflict's lifecycle states and an incident's: the worse, the redder.
_STATE_RGB = {
    "open": "d62728",
    "acknowledged": "ff7f0e",
    "accepted": "bcbd22",
    "resolved": "7f7f7f",
    "ongoing": "d62728",
    "ended": "ff7f0e",
}


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


def _style(document: ET.Element, style_id: str, rgb: str, fill_rgb: str | None = None) -> None:
    """A style: lines in ``rgb``, faces (and icons) in ``fill_rgb`` (default ``rgb``), translucent."""
    style = _sub(document, "Style")
    style.set("id", style_id)
    icon = _sub(style, "IconStyle")
    _sub(icon, "color", _kml_colour(fill_rgb or rgb, "ff"))
    line = _sub(style, "LineStyle")
    _sub(line, "color", _kml_colour(rgb, "ff"))
    _sub(line, "width", "1.5")
    poly = _sub(style, "PolyStyle")
    _sub(poly, "color", _kml_colour(fill_rgb or rgb, "66"))


def _state_style_id(state: str, party: str) -> str:
    return f"{state}-{_style_id(party)}"


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
    _overlap_solid(placemark, conflict, margins)


class _Overlap(Protocol):
    """A conflict's overlap: a band in metres in ``altitude_reference`` over ``overlap_bbox`` (degrees)."""

    @property
    def altitude_lower_m(self) -> float: ...
    @property
    def altitude_upper_m(self) -> float: ...
    @property
    def altitude_reference(self) -> str: ...
    @property
    def overlap_bbox(self) -> tuple[float, float, float, float]: ...


class ConflictFacts(_Overlap, Protocol):
    """What a party is shown of one of its conflicts (the API's ``ConflictOut`` is one).

    Times are RFC 3339 UTC texts, altitudes metres in ``altitude_reference``,
    ``overlap_bbox`` (min lon, min lat, max lon, max lat) in degrees.
    """

    @property
    def id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def volume(self) -> str: ...
    @property
    def other_party(self) -> str: ...
    @property
    def time_start(self) -> str: ...
    @property
    def time_end(self) -> str: ...
    @property
    def overlap_area_m2(self) -> float: ...


class ClosestFacts(Protocol):
    """An incident's closest approach as its party is shown it (the API's ``ClosestOut`` is one)."""

    @property
    def time(self) -> str: ...
    @property
    def distance_m(self) -> float: ...
    @property
    def vertical_m(self) -> float: ...
    @property
    def lon_deg(self) -> float: ...
    @property
    def lat_deg(self) -> float: ...
    @property
    def alt_m(self) -> float: ...


class IncidentFacts(Protocol):
    """What a party is shown of one of its incidents (the API's ``IncidentOut`` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def own_id(self) -> str: ...
    @property
    def other_party(self) -> str: ...
    @property
    def started(self) -> str: ...
    @property
    def ended(self) -> str | None: ...
    @property
    def closest(self) -> ClosestFacts | None: ...


def _document(name: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("kml", xmlns=KML_NAMESPACE)
    document = _sub(root, "Document")
    _sub(document, "name", name)
    return root, document


def _text(root: ET.Element) -> str:
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _state_styles(document: ET.Element, pairs: Sequence[tuple[str, str]]) -> None:
    """One style per (state, other party): lines in the party's colour, faces in the state's."""
    for state, party in sorted(set(pairs)):
        _style(
            document, _state_style_id(state, party), _party_rgb(party), _STATE_RGB.get(state, _CONFLICT_RGB)
        )


def _overlap_solid(placemark: ET.Element, overlap: _Overlap, margins: AltitudeMargins) -> None:
    """The overlap's box as a solid (a plan's conflicts and a party's conflicts draw it alike)."""
    import shapely

    reference = AltitudeReference(overlap.altitude_reference)
    floor_m, roof_m, mode = _band(
        Altitude(overlap.altitude_lower_m, reference), Altitude(overlap.altitude_upper_m, reference), margins
    )
    west, south, east, north = overlap.overlap_bbox
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


def conflicts_kml(
    conflicts: Sequence[ConflictFacts],
    name: str = "deconflict conflicts",
    margins: AltitudeMargins = AltitudeMargins(),
) -> str:
    """A KML document of a party's conflicts as it is shown them, as text.

    Each conflict is a placemark named ``conflict <id>``, in a folder per
    lifecycle state, with the ``TimeSpan`` of its common time window, a solid
    over the box of its overlap region between its band's altitudes (drawn as
    :func:`plan_kml` draws a band), a style per state and other party, and
    ``ExtendedData`` holding only fields of the record.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> c = SimpleNamespace(id=7, state="open", operation="op", volume="v1", other_party="red",
    ...     time_start="2026-01-01T12:00:00Z", time_end="2026-01-01T13:00:00Z",
    ...     altitude_lower_m=0.0, altitude_upper_m=120.0, altitude_reference="MSL",
    ...     overlap_area_m2=1.0e4, overlap_bbox=(36.0, 35.0, 36.001, 35.001))
    >>> text = conflicts_kml([c])
    >>> "<name>conflict 7</name>" in text, text.count("<Polygon>")  # a floor, a roof, 4 walls
    (True, 6)
    """
    root, document = _document(name)
    _state_styles(document, [(c.state, c.other_party) for c in conflicts])
    order = list(_STATE_RGB)  # the lifecycle's order; a state this module does not know last
    for state in sorted(
        {c.state for c in conflicts}, key=lambda s: (order.index(s) if s in order else 99, s)
    ):
        folder = _sub(document, "Folder")
        _sub(folder, "name", state)
        for conflict in (c for c in conflicts if c.state == state):
            placemark = _sub(folder, "Placemark")
            _sub(placemark, "name", f"conflict {conflict.id}")
            _sub(placemark, "styleUrl", "#" + _state_style_id(state, conflict.other_party))
            span = _sub(placemark, "TimeSpan")
            _sub(span, "begin", conflict.time_start)
            _sub(span, "end", conflict.time_end)
            _data(
                placemark,
                {
                    "state": conflict.state,
                    "operation": conflict.operation,
                    "volume": conflict.volume,
                    "other_party": conflict.other_party,
                    "altitude_lower": f"{conflict.altitude_lower_m:g} m {conflict.altitude_reference}",
                    "altitude_upper": f"{conflict.altitude_upper_m:g} m {conflict.altitude_reference}",
                    "overlap_area_m2": f"{conflict.overlap_area_m2:.0f}",
                },
            )
            _overlap_solid(placemark, conflict, margins)
    return _text(root)


def incidents_kml(incidents: Sequence[IncidentFacts], name: str = "deconflict incidents") -> str:
    """A KML document of a party's incidents as it is shown them, as text.

    Each incident is a placemark named ``incident <id>`` with a ``TimeSpan``
    from its start to its end (open-ended while it goes on), a style per state
    (``ongoing``, ``ended``) and other party, and, when its closest approach is
    disclosed, a point there (``absolute``: the tracks' altitude, metres) with
    how close they came in ``ExtendedData``. A withheld closest approach gives
    a placemark without geometry: when, with whom, never where.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> closest = SimpleNamespace(time="2026-01-01T12:00:30Z", distance_m=120.0, vertical_m=10.0,
    ...     lon_deg=36.0, lat_deg=35.0, alt_m=300.0)
    >>> i = SimpleNamespace(id=3, own_id="BLU101", other_party="red", started="2026-01-01T12:00:00Z",
    ...     ended=None, closest=closest)
    >>> text = incidents_kml([i])
    >>> "<coordinates>36.0,35.0,300.0</coordinates>" in text, "<end>" in text
    (True, False)
    """
    root, document = _document(name)
    states = [("ongoing" if i.ended is None else "ended", i) for i in incidents]
    _state_styles(document, [(state, i.other_party) for state, i in states])
    for state, incident in states:
        placemark = _sub(document, "Placemark")
        _sub(placemark, "name", f"incident {incident.id}")
        _sub(placemark, "styleUrl", "#" + _state_style_id(state, incident.other_party))
        span = _sub(placemark, "TimeSpan")
        _sub(span, "begin", incident.started)
        if incident.ended is not None:
            _sub(span, "end", incident.ended)
        values = {"state": state, "own_id": incident.own_id, "other_party": incident.other_party}
        closest = incident.closest
        if closest is not None:
            values |= {
                "closest_time": closest.time,
                "distance_m": f"{closest.distance_m:g}",
                "vertical_m": f"{closest.vertical_m:g}",
            }
        _data(placemark, values)
        if closest is not None:
            point = _sub(placemark, "Point")
            _sub(point, "altitudeMode", "absolute")
            _sub(point, "coordinates", _coordinates([(closest.lon_deg, closest.lat_deg)], [closest.alt_m]))
    return _text(root)
