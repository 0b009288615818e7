"""EUROCAE ED-269 UAS geographical zones (JSON) read into :class:`~deconflict.strategic.zones.Zone`.

The document is an object whose ``features`` are ``UASZoneVersion`` objects
(``UASZoneList`` as some authorities name it, a bare list of zones and a single
zone are read too), each with:

- ``identifier``, ``country``, ``name``, ``restriction`` (``PROHIBITED``,
  ``REQ_AUTHORISATION``, ``CONDITIONAL``, ``NO_RESTRICTION``),
  ``restrictionConditions``, ``reason`` (a list), ``otherReasonInfo``, ``message``;
- ``zoneAuthority``: a list of ``name``, ``service``, ``contactName``, ``email``,
  ``phone``, ``siteURL``, ``purpose``;
- ``applicability``: a list of ``permanent`` (``YES``/``NO``), ``startDateTime``,
  ``endDateTime`` and ``schedule`` (``dailyPeriod`` as some publish it), a list of
  ``day`` (``MON`` .. ``SUN``, ``ANY``), ``startTime`` and ``endTime``
  (``hh:mm`` or ``hh:mm:ss.ss``, UTC unless an offset follows). A permanent
  applicability has no dates (any given are ignored: the zone is permanent);
  a temporary one needs a start or an end;
- ``geometry``: a list of layers: ``uomDimensions`` (``M``, ``FT``),
  ``lowerLimit``/``upperLimit`` with ``lowerVerticalReference``/
  ``upperVerticalReference`` (``AGL``, ``AMSL``) and a ``horizontalProjection``,
  a GeoJSON-like ``Polygon`` (``coordinates``: rings of ``[lon, lat]``) or a
  ``Circle`` (``center`` ``[lon, lat]``, ``radius`` in ``uomDimensions``).

The standard's enumerations are those of the ``uas-standards`` model
(``uas_standards.eurocae_ed269``). What is accepted beyond the standard, and
what is refused, is in :mod:`.zone_fields`. Problems name the file, the zone
(``feature 3 (LX123)``) and the field (``geometry[0].upperLimit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uas_standards import eurocae_ed269 as ed269

from deconflict.errors import Problems, describe_value
from deconflict.formats.zone_fields import (
    PendingLayer,
    ZoneKeys,
    ZoneProblems,
    finish_zones,
    list_field,
    object_field,
    read_zone,
)
from deconflict.strategic.limits import Limits
from deconflict.strategic.zones import Applicability, Zone, ZoneAuthority, ZoneRestriction
from deconflict.units import altitude_to_m

__all__ = ["parse_ed269"]

RESTRICTIONS = {
    ed269.Restriction.PROHIBITED.value: ZoneRestriction.PROHIBITED,
    ed269.Restriction.REQ_AUTHORISATION.value: ZoneRestriction.REQ_AUTHORISATION,
    "REQ_AUTHORIZATION": ZoneRestriction.REQ_AUTHORISATION,  # ED-318's spelling, seen in ED-269 files
    ed269.Restriction.CONDITIONAL.value: ZoneRestriction.CONDITIONAL,
    ed269.Restriction.NO_RESTRICTION.value: ZoneRestriction.NO_RESTRICTION,
}
REASONS = {r.value: r.value for r in ed269.Reason}
_YES_NO = {v.value: v.value == "YES" for v in ed269.YESNO}
_PROJECTIONS = {t.value.upper(): t.value for t in ed269.HorizontalProjectionType}


def _authority(c: ZoneProblems, field: str, value: object) -> ZoneAuthority | None:
    spec = object_field(c, field, value, "a zone authority")
    if spec is None:
        return None
    names = ("name", "service", "contactName", "email", "phone", "siteURL", "purpose")
    name, service, contact, email, phone, site, purpose = (c.text(f"{field}.{n}", spec.get(n)) for n in names)
    return ZoneAuthority(name, service, contact, email, phone, site, purpose)


def _applicability(c: ZoneProblems, field: str, value: object) -> Applicability | None:
    spec = object_field(c, field, value, "an applicability")
    if spec is None:
        return None
    before = len(c.problems)
    permanent = c.choice(f"{field}.permanent", spec.get("permanent", "NO"), _YES_NO, "value")
    start_s = c.instant(f"{field}.startDateTime", spec.get("startDateTime"))
    end_s = c.instant(f"{field}.endDateTime", spec.get("endDateTime"))
    key = "schedule" if spec.get("schedule") is not None else "dailyPeriod"
    periods = c.daily_periods(f"{field}.{key}", spec.get(key))
    if len(c.problems) > before:
        return None
    if permanent:
        return Applicability(None, None, tuple(periods))
    if start_s is None and end_s is None:
        c.add(field, "a temporary applicability (permanent NO) needs a startDateTime or an endDateTime")
        return None
    return c.applicability(field, start_s, end_s, periods)


def _layer(c: ZoneProblems, field: str, value: object, limits: Limits) -> PendingLayer | None:
    spec = object_field(c, field, value, "an airspace volume")
    if spec is None:
        return None
    before = len(c.problems)
    units = c.units(f"{field}.uomDimensions", spec.get("uomDimensions"))
    lower = upper = None
    if units is not None:
        lower = c.altitude(
            f"{field}.lowerLimit",
            spec.get("lowerLimit"),
            spec.get("lowerVerticalReference"),
            units,
            limits,
            upper=False,
        )
        upper = c.altitude(
            f"{field}.upperLimit",
            spec.get("upperLimit"),
            spec.get("upperVerticalReference"),
            units,
            limits,
            upper=True,
        )
    projection = object_field(
        c, f"{field}.horizontalProjection", spec.get("horizontalProjection"), "a Polygon or a Circle"
    )
    rings: list[list[tuple[float, float]]] = []
    radius_m = 0.0
    kind = None
    if projection is not None:
        pfield = f"{field}.horizontalProjection"
        kind = c.choice(f"{pfield}.type", projection.get("type"), _PROJECTIONS, "projection")
        if kind == ed269.HorizontalProjectionType.Circle.value:
            centre = c.position(f"{pfield}.center", projection.get("center"))
            radius = c.limit(f"{pfield}.radius", projection.get("radius"))
            if radius is not None and units is not None:
                radius_m = altitude_to_m(radius, units)
                if not 0.0 < radius_m <= limits.max_radius_m:
                    c.add(
                        f"{pfield}.radius",
                        f"must be positive and at most {limits.max_radius_m:g} m, got {radius:g}",
                    )
            if centre is not None:
                rings = [[centre]]
        elif kind == ed269.HorizontalProjectionType.Polygon.value:
            coordinates = projection.get("coordinates")
            if isinstance(coordinates, list) and coordinates and _is_position(coordinates[0]):
                coordinates = [coordinates]  # one ring without the list of rings around it: unambiguous
            if not isinstance(coordinates, list) or not coordinates:
                c.add(f"{pfield}.coordinates", f"must be a list of rings, got {describe_value(coordinates)}")
            else:
                for i, ring in enumerate(coordinates):
                    points = c.positions(f"{pfield}.coordinates[{i}]", ring)
                    if points is not None and points:
                        rings.append(points)
                    elif points is not None:
                        c.add(f"{pfield}.coordinates[{i}]", "an empty ring")
    if len(c.problems) > before or lower is None or upper is None or kind is None:
        return None
    if not c.band(f"{field}.lowerLimit", lower, upper):
        return None
    shape = "circle" if kind == ed269.HorizontalProjectionType.Circle.value else "polygon"
    return PendingLayer(c.record, f"{field}.horizontalProjection", shape, rings, radius_m, lower, upper)


def _is_position(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, int | float | str) for x in value)


def _zones(c: Problems, document: object) -> list[object]:
    if isinstance(document, list):
        return document
    if not isinstance(document, Mapping):
        c.add(None, f"must be an ED-269 object of features, got {describe_value(document)}")
        return []
    for key in ("features", "UASZoneList"):
        if key in document:
            items = document[key]
            if not isinstance(items, list):
                c.add(key, f"must be a list of zones, got {describe_value(items)}")
                return []
            return items
    return [document]


def parse_ed269(document: object, source: str, limits: Limits = Limits()) -> list[Zone]:
    """The zones of a decoded ED-269 document (see the module's docstring).

    Raises
    ------
    InputError
        With every problem found, each naming ``source``, the zone and the field.

    Examples
    --------
    >>> zone = {"identifier": "LX1", "country": "CYP", "restriction": "PROHIBITED",
    ...         "applicability": [{"permanent": "YES"}], "zoneAuthority": [{"name": "DCA"}],
    ...         "geometry": [{"uomDimensions": "M", "lowerLimit": 0, "lowerVerticalReference": "AGL",
    ...                       "upperLimit": 120, "upperVerticalReference": "AGL",
    ...                       "horizontalProjection": {"type": "Circle", "center": [33.4, 35.1],
    ...                                                "radius": 500}}]}
    >>> [z] = parse_ed269({"features": [zone]}, "zones.json")
    >>> z.identifier, str(z.restriction), z.layers[0].upper.value_m, z.authorities[0].name
    ('LX1', 'prohibited', 120.0, 'DCA')
    """
    c = ZoneProblems(source)
    items = _zones(c, document)
    c.check_count(len(items), limits)
    read: list[tuple[Zone, list[PendingLayer]]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        c.record = f"feature {index}"
        spec = object_field(c, None, item, "a UASZoneVersion")
        if spec is None:
            continue
        identifier = c.identify("identifier", spec.get("identifier"), index, seen)
        zone = _zone(c, spec, identifier, limits)
        if zone is not None:
            read.append(zone)
    return finish_zones(c, read, limits)


_KEYS = ZoneKeys(
    prefix="",
    restriction="restriction",
    restrictions=RESTRICTIONS,
    restriction_what="restriction",
    reasons=REASONS,
    applicability="applicability",
    read_applicability=_applicability,
    read_authority=_authority,
    read_text=ZoneProblems.text,
)


def _zone(
    c: ZoneProblems, spec: Mapping[str, Any], identifier: str | None, limits: Limits
) -> tuple[Zone, list[PendingLayer]] | None:
    conditions = spec.get("restrictionConditions")
    if isinstance(conditions, list) and all(isinstance(v, str) for v in conditions):
        spec = {**spec, "restrictionConditions": "; ".join(conditions)}

    def layers() -> list[PendingLayer]:
        geometry = list_field(c, "geometry", spec.get("geometry"), required=True)
        if isinstance(spec.get("geometry"), list) and not geometry:
            c.add("geometry", "no airspace volume (an empty list)")
        pending = [_layer(c, f"geometry[{i}]", g, limits) for i, g in enumerate(geometry)]
        return [p for p in pending if p is not None]

    return read_zone(c, spec, identifier, _KEYS, layers)
