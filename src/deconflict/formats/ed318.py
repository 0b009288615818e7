"""EUROCAE ED-318 UAS geographical zones (GeoJSON) read into :class:`~deconflict.strategic.zones.Zone`.

ED-318, the revision of ED-269, is a GeoJSON ``FeatureCollection``: each
feature's ``properties`` are a ``UASZone`` and its ``geometry`` is GeoJSON whose
geometries carry their vertical ``layer``. What differs from ED-269
(:mod:`.ed269`):

- the restriction is ``type`` (``PROHIBITED``, ``REQ_AUTHORIZATION``,
  ``CONDITIONAL``, ``NO_RESTRICTION``, and ``USPACE`` for U-space airspace);
- texts (``name``, ``message``, ``otherReasonInfo``, an authority's fields) are
  lists of ``{"text": ..., "lang": ...}``: the English one is shown, else the first;
- ``limitedApplicability`` (absent: at all times) is a list of ``startDateTime``,
  ``endDateTime`` and ``schedule``; a daily period by ``startEvent`` or
  ``endEvent`` (sunrise, sunset, civil twilight) is refused;
- ``zoneAuthority`` has a ``purpose`` (``AUTHORIZATION``, ``NOTIFICATION``,
  ``INFORMATION``), and ``siteURL``, ``email``, ``phone`` as single texts;
- the geometry is a ``Polygon``, a ``MultiPolygon``, a ``Point`` with an
  ``extent`` ``{"subType": "Circle", "radius": ...}`` (radius in the layer's
  ``uom``), or a ``GeometryCollection`` of them; each has a ``layer`` of
  ``lower``/``upper``, ``lowerReference``/``upperReference`` (``AGL``, ``AMSL``,
  ``WGS84``) and ``uom`` (``m``, ``ft``); a geometry without a layer is from the
  surface with no upper limit.

The enumerations are those of ``uas_standards.eurocae_ed318``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uas_standards import eurocae_ed318 as ed318

from deconflict.errors import describe_value
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
from deconflict.units import Altitude, AltitudeReference, altitude_to_m

__all__ = ["parse_ed318"]

RESTRICTIONS = {
    ed318.CodeZoneType.PROHIBITED.value: ZoneRestriction.PROHIBITED,
    ed318.CodeZoneType.REQ_AUTHORIZATION.value: ZoneRestriction.REQ_AUTHORISATION,
    "REQ_AUTHORISATION": ZoneRestriction.REQ_AUTHORISATION,  # ED-269's spelling
    ed318.CodeZoneType.CONDITIONAL.value: ZoneRestriction.CONDITIONAL,
    ed318.CodeZoneType.NO_RESTRICTION.value: ZoneRestriction.NO_RESTRICTION,
    ed318.CodeZoneType.USPACE.value: ZoneRestriction.USPACE,
}
REASONS = {r.value: r.value for r in ed318.CodeZoneReasonType}
PURPOSES = {p.value: p.value for p in ed318.CodeAuthorityRole}


def _text(c: ZoneProblems, field: str, value: object) -> str | None:
    """A text as ED-318 gives it (a list of ``{"text", "lang"}``, or one), or a plain string."""
    if value is None or isinstance(value, str):
        return c.text(field, value)
    items = value if isinstance(value, list) else [value]
    texts: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        spec = object_field(
            c, f"{field}[{i}]" if isinstance(value, list) else field, item, '{"text", "lang"}'
        )
        if spec is None:
            return None
        text = c.text(f"{field}[{i}].text" if isinstance(value, list) else f"{field}.text", spec.get("text"))
        lang = spec.get("lang")
        if text is not None:
            texts.append((lang.lower() if isinstance(lang, str) else "", text))
    english = [t for lang, t in texts if lang.startswith("en")]
    chosen = english or [t for _, t in texts]
    return chosen[0] if chosen else None


def _authority(c: ZoneProblems, field: str, value: object) -> ZoneAuthority | None:
    spec = object_field(c, field, value, "an authority")
    if spec is None:
        return None
    purpose = c.choice(f"{field}.purpose", spec.get("purpose"), PURPOSES, "purpose")
    names = ("name", "service", "contactName", "email", "phone", "siteURL")
    name, service, contact, email, phone, site = (_text(c, f"{field}.{n}", spec.get(n)) for n in names)
    return ZoneAuthority(name, service, contact, email, phone, site, purpose)


def _applicability(c: ZoneProblems, field: str, value: object) -> Applicability | None:
    spec = object_field(c, field, value, "a time period")
    if spec is None:
        return None
    before = len(c.problems)
    start_s = c.instant(f"{field}.startDateTime", spec.get("startDateTime"))
    end_s = c.instant(f"{field}.endDateTime", spec.get("endDateTime"))
    periods = c.daily_periods(f"{field}.schedule", spec.get("schedule"), _by_event)
    if len(c.problems) > before:
        return None
    return c.applicability(field, start_s, end_s, periods)


def _by_event(c: ZoneProblems, field: str, period: Mapping[str, Any]) -> bool:
    """Refuse a daily period by sunrise, sunset or twilight (``startEvent``, ``endEvent``)."""
    events = [key for key in ("startEvent", "endEvent") if period.get(key) is not None]
    if events:
        c.add(
            f"{field}.{events[0]}",
            f"schedules by sunrise, sunset or twilight ({describe_value(period[events[0]])}) are not read",
        )
    return bool(events)


def _band(
    c: ZoneProblems, field: str, layer: object, limits: Limits
) -> tuple[Altitude, Altitude, str] | None:
    if layer is None:
        return (
            Altitude(0.0, AltitudeReference.AGL),
            Altitude(limits.max_altitude_m, AltitudeReference.MSL),
            "m",
        )
    spec = object_field(c, field, layer, "a layer")
    if spec is None:
        return None
    units = c.units(f"{field}.uom", spec.get("uom"))
    if units is None:
        return None
    lower = c.altitude(
        f"{field}.lower", spec.get("lower"), spec.get("lowerReference"), units, limits, upper=False
    )
    upper = c.altitude(
        f"{field}.upper", spec.get("upper"), spec.get("upperReference"), units, limits, upper=True
    )
    if lower is None or upper is None or not c.band(f"{field}.lower", lower, upper):
        return None
    return lower, upper, units


def _layers(
    c: ZoneProblems, field: str, value: object, limits: Limits, layer: object = None
) -> list[PendingLayer] | None:
    """The layers of one GeoJSON geometry (a collection's members take its layer when they have none)."""
    geometry = object_field(c, field, value, "a GeoJSON geometry")
    if geometry is None:
        return None
    kind = geometry.get("type")
    own_layer = geometry.get("layer", layer)
    if kind == "GeometryCollection":
        members = list_field(c, f"{field}.geometries", geometry.get("geometries"), required=True)
        found: list[PendingLayer] = []
        for i, member in enumerate(members):
            layers = _layers(c, f"{field}.geometries[{i}]", member, limits, own_layer)
            if layers is None:
                return None
            found.extend(layers)
        return found
    if kind not in ("Polygon", "MultiPolygon", "Point"):
        c.add(
            f"{field}.type",
            f"{describe_value(kind)} is not read (a zone is a Polygon, MultiPolygon or circle)",
        )
        return None
    band = _band(c, f"{field}.layer", own_layer, limits)
    coordinates = geometry.get("coordinates")
    if kind == "Point":
        centre = c.position(f"{field}.coordinates", coordinates)
        extent = object_field(
            c, f"{field}.extent", geometry.get("extent"), 'a circle {"subType": "Circle", "radius": ...}'
        )
        if extent is None or band is None or centre is None:
            return None
        if extent.get("subType") != "Circle":
            c.add(f"{field}.extent.subType", f"must be Circle, got {describe_value(extent.get('subType'))}")
            return None
        radius = c.limit(f"{field}.extent.radius", extent.get("radius"))
        if radius is None:
            return None
        radius_m = altitude_to_m(radius, band[2])
        if not 0.0 < radius_m <= limits.max_radius_m:
            c.add(
                f"{field}.extent.radius",
                f"must be positive and at most {limits.max_radius_m:g} m, got {radius:g}",
            )
            return None
        return [PendingLayer(c.record, field, "circle", [[centre]], radius_m, band[0], band[1])]
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        c.add(f"{field}.coordinates", f"must be a non-empty list, got {describe_value(coordinates)}")
        return None
    found = []
    for p, polygon in enumerate(polygons):
        pfield = f"{field}.coordinates" if kind == "Polygon" else f"{field}.coordinates[{p}]"
        if not isinstance(polygon, list) or not polygon:
            c.add(pfield, f"must be a list of rings, got {describe_value(polygon)}")
            return None
        rings = [c.positions(f"{pfield}[{i}]", ring) for i, ring in enumerate(polygon)]
        if any(not ring for ring in rings) or band is None:
            if any(ring == [] for ring in rings):
                c.add(pfield, "an empty ring")
            return None
        found.append(
            PendingLayer(c.record, pfield, "polygon", [r for r in rings if r], 0.0, band[0], band[1])
        )
    return found


_KEYS = ZoneKeys(
    prefix="properties.",
    restriction="type",
    restrictions=RESTRICTIONS,
    restriction_what="zone type",
    reasons=REASONS,
    applicability="limitedApplicability",
    read_applicability=_applicability,
    read_authority=_authority,
    read_text=_text,
)


def _zone(
    c: ZoneProblems, props: Mapping[str, Any], geometry: object, identifier: str | None, limits: Limits
) -> tuple[Zone, list[PendingLayer]] | None:
    read = read_zone(c, props, identifier, _KEYS, lambda: _layers(c, "geometry", geometry, limits))
    if read is not None and not read[1]:
        c.add("geometry", "no airspace volume")
        return None
    return read


def parse_ed318(document: object, source: str, limits: Limits = Limits()) -> list[Zone]:
    """The zones of a decoded ED-318 FeatureCollection (see the module's docstring).

    Raises
    ------
    InputError
        With every problem found, each naming ``source``, the feature and the field.
    """
    c = ZoneProblems(source)
    spec = object_field(c, None, document, "an ED-318 FeatureCollection")
    features = [] if spec is None else list_field(c, "features", spec.get("features"), required=True)
    c.check_count(len(features), limits)
    read: list[tuple[Zone, list[PendingLayer]]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(features):
        c.record = f"feature {index}"
        feature = object_field(c, None, item, "a GeoJSON Feature")
        if feature is None:
            continue
        props = object_field(c, "properties", feature.get("properties"), "a UASZone")
        if props is None:
            continue
        identifier = c.identify("properties.identifier", props.get("identifier"), index, seen)
        zone = _zone(c, props, feature.get("geometry"), identifier, limits)
        if zone is not None:
            read.append(zone)
    return finish_zones(c, read, limits)
