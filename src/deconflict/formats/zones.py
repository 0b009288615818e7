"""Geographical zone files, EUROCAE ED-269 (:mod:`.ed269`) and ED-318 (:mod:`.ed318`): which, and read.

:func:`parse_zones` reads a decoded document in either format (told apart by
its shape, :func:`zone_format`) into :class:`~deconflict.strategic.zones.Zone`;
:func:`read_zones` reads a file. What the readers accept beyond the standards,
and what they refuse, is in :mod:`.zone_fields`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from deconflict.errors import InputError, Problem
from deconflict.formats.ed269 import parse_ed269
from deconflict.formats.ed318 import parse_ed318
from deconflict.strategic.limits import Limits
from deconflict.strategic.zones import Zone

__all__ = ["parse_zones", "zone_format"]


def zone_format(document: object) -> str | None:
    """``ed269`` or ``ed318`` when a decoded JSON document looks like one, else ``None``.

    ED-318 is a GeoJSON FeatureCollection whose features' properties carry a
    ``zoneAuthority`` or a zone ``type`` and ``identifier``; ED-269 is an object
    of ``features`` (or ``UASZoneList``, as some publish it) that are zones with
    ``geometry`` lists, or such a zone alone, or a list of them.
    """

    def ed269_zone(item: object) -> bool:
        return (
            isinstance(item, Mapping)
            and isinstance(item.get("geometry"), list)
            and ("restriction" in item or "identifier" in item)
        )

    if isinstance(document, list):
        return "ed269" if document and all(ed269_zone(z) for z in document) else None
    if not isinstance(document, Mapping):
        return None
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        if (
            isinstance(features, list)
            and features
            and all(
                isinstance(f, Mapping)
                and isinstance(f.get("properties"), Mapping)
                and (
                    "zoneAuthority" in f["properties"]
                    or ("identifier" in f["properties"] and "type" in f["properties"])
                )
                for f in features
            )
        ):
            return "ed318"
        return None
    for key in ("features", "UASZoneList"):
        items = document.get(key)
        if isinstance(items, list) and items and ed269_zone(items[0]):
            return "ed269"
    return "ed269" if ed269_zone(document) else None


def parse_zones(
    document: object, source: str, fmt: str | None = None, limits: Limits = Limits()
) -> list[Zone]:
    """The zones of a decoded ED-269 or ED-318 document (``fmt`` ``None``: told from its shape).

    Raises
    ------
    InputError
        If it is neither, or with every problem found, each naming ``source``, the feature and the field.
    """
    found = fmt or zone_format(document)
    readers: dict[str, Callable[[object, str, Limits], list[Zone]]] = {
        "ed269": parse_ed269,
        "ed318": parse_ed318,
    }
    if found not in readers:
        message = (
            "not a geographical zone file: expected ED-269 (an object of features that are zones "
            "with a geometry list) or ED-318 (a FeatureCollection of zones)"
        )
        raise InputError([Problem(source, message)])
    return readers[found](document, source, limits)
