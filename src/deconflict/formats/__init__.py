"""Plan formats: reading volumes from, and writing operations to, the files the field uses.

One registry (:data:`FORMATS`) names each format; :func:`read_plan` reads a file
in any readable format (detected from its content when not named) and
:func:`write_plan` writes volumes in any writable one.

========  =====  =====  =========================================================
format    read   write  what
========  =====  =====  =========================================================
geojson   yes    yes    deconflict's FeatureCollection (:mod:`deconflict.strategic.geojson`)
f3548     yes    yes    ASTM F3548-21 volumes (:mod:`.f3548`)
kml       no     yes    3-D volumes for Google Earth (:mod:`.kml`)
ed269     yes    no     EUROCAE ED-269 geographical zones (:mod:`.ed269`)
ed318     yes    no     EUROCAE ED-318 geographical zones (:mod:`.ed318`)
notam     yes    yes    ICAO NOTAM text (:mod:`.notam`)
========  =====  =====  =========================================================

This package sits above the domain (it uses ``uas-standards``, a third-party
model of the standard): the command line and the API use it, the domain never does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deconflict.errors import InputError, Problem
from deconflict.formats.f3548 import is_f3548, operation_details, parse_f3548
from deconflict.formats.kml import plan_kml
from deconflict.formats.notam import (
    DEFAULT_FIR,
    DEFAULT_HORIZON_S,
    NotamText,
    is_notam,
    notam_volumes,
    plan_notams,
)
from deconflict.formats.zones import parse_zones, zone_format
from deconflict.strategic.geojson import parse_features, volume_feature
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.strategic.zones import Zone, zone_volumes
from deconflict.units import AltitudeMargins

__all__ = [
    "FORMATS",
    "Format",
    "decode_document",
    "detect_format",
    "format_named",
    "load_document",
    "parse_plan",
    "read_plan",
    "read_plan_document",
    "read_plan_or_zones",
    "write_plan",
    "zones_horizon_start_s",
]


@dataclass(frozen=True)
class Format:
    """A plan format: its name, what it is, whether deconflict reads and writes it."""

    name: str
    title: str
    readable: bool
    writable: bool
    suffix: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("geojson", "deconflict GeoJSON FeatureCollection", True, True, ".geojson"),
        Format("f3548", "ASTM F3548-21 operational intent volumes (JSON)", True, True, ".json"),
        Format("kml", "KML 3-D volumes (Google Earth)", False, True, ".kml"),
        Format("ed269", "EUROCAE ED-269 geographical zones", True, False, ".json"),
        Format("ed318", "EUROCAE ED-318 geographical zones", True, False, ".json"),
        Format("notam", "ICAO NOTAM", True, True, ".txt"),
    )
}
"""Every format deconflict names, by name; some are named only to say they are not supported yet."""


def format_named(name: str, source: str, *, reading: bool, field: str = "format") -> Format:
    """The format called ``name``, usable for reading (or writing); problems name ``source`` and ``field``.

    Raises
    ------
    InputError
        If no format has that name, or it cannot be read (written) yet.
    """
    fmt = FORMATS.get(name)
    role = "input" if reading else "output"
    usable = [f.name for f in FORMATS.values() if (f.readable if reading else f.writable)]
    if fmt is None:
        message = f"unknown format {name!r} (formats: {', '.join(FORMATS)})"
        raise InputError([Problem(source, message, None, field)])
    if not (fmt.readable if reading else fmt.writable):
        message = f"{fmt.title} ({name}) is not supported yet as an {role} ({role}s: {', '.join(usable)})"
        raise InputError([Problem(source, message, None, field)])
    return fmt


def detect_format(document: object, source: str) -> Format:
    """The readable format of a loaded document (decoded JSON, or :class:`NotamText`), from its content.

    Raises
    ------
    InputError
        If the document is in none of the readable formats.
    """
    if isinstance(document, NotamText):
        return FORMATS["notam"]
    zones = zone_format(document)
    if zones is not None:
        return FORMATS[zones]
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        return FORMATS["geojson"]
    if is_f3548(document):
        return FORMATS["f3548"]
    raise InputError(
        [
            Problem(
                source,
                "not a plan format deconflict reads: expected a GeoJSON FeatureCollection, "
                "F3548 volumes (an OperationalIntent, its details, a reference request's extents, "
                "a Volume4D or a list of them), ED-269 or ED-318 geographical zones or ICAO NOTAM text",
            )
        ]
    )


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; keep them to report them where they are.
    return float(name.replace("Infinity", "inf"))


def load_document(path: Path | str, limits: Limits = Limits(), fmt: str | None = None) -> object:
    """The decoded JSON of a plan file, or its :class:`NotamText`; refused (with the reason) when too large,
    not UTF-8, or neither JSON nor NOTAM text.

    The text is NOTAM text when ``fmt`` is ``notam``, or when ``fmt`` is not given and
    the text looks like NOTAMs (:func:`~deconflict.formats.notam.is_notam`) rather than JSON.
    """
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise InputError(
                [Problem(source, f"file is {size} bytes, more than the limit of {limits.max_file_bytes}")]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(source, f"cannot read file: {exc.strerror or exc}")]) from exc
    return decode_document(raw, source, limits, fmt)


def decode_document(raw: bytes, source: str, limits: Limits = Limits(), fmt: str | None = None) -> object:
    """:func:`load_document` of a file's bytes already read (an upload); problems name ``source``.

    Raises
    ------
    InputError
        If the bytes are more than ``limits.max_file_bytes``, not UTF-8, or neither JSON nor NOTAM text.
    """
    if len(raw) > limits.max_file_bytes:
        message = f"file is {len(raw)} bytes, more than the limit of {limits.max_file_bytes}"
        raise InputError([Problem(source, message)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = "; UTF-16 or UTF-32? save it as UTF-8" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise InputError([Problem(source, f"not UTF-8 text (byte {exc.start}){hint}")]) from exc
    text = text.removeprefix("\ufeff")
    if fmt == "notam" or (fmt is None and text.lstrip()[:1] not in ("{", "[") and is_notam(text)):
        return NotamText(text)
    if text.lstrip().startswith("<"):
        inputs = ", ".join(f.name for f in FORMATS.values() if f.readable)
        message = f"is XML (KML?), not JSON: KML is not supported yet as an input (inputs: {inputs})"
        raise InputError([Problem(source, message)])
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise InputError([Problem(source, message)]) from exc
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        raise InputError([Problem(source, f"not valid JSON: {exc}")]) from exc


def parse_plan(
    document: object,
    source: str,
    party: str,
    fmt: str | None = None,
    operation: str | None = None,
    limits: Limits = Limits(),
    zones_start_s: float | None = None,
) -> tuple[Format, list[Volume]]:
    """The format and volumes of a decoded document; ``fmt`` ``None``: detected from the content.

    ``party`` is the party of volumes that name none (every F3548 and NOTAM volume, and
    every zone's); ``operation`` names an F3548 document's operation (default: its intent's id,
    else the source's stem) or a NOTAM's (default: the NOTAM's id). Geographical zones that
    restrict (not ``NO_RESTRICTION``) become the volumes of their applicable windows over 90
    days from ``zones_start_s`` (default: :func:`zones_horizon_start_s`), one per layer and
    window, their operation the zone's identifier.

    Raises
    ------
    InputError
        Naming ``source``, the feature or volume, and the field of every problem.
    """
    found = detect_format(document, source) if fmt is None else format_named(fmt, source, reading=True)
    if found.name in ("ed269", "ed318"):
        if isinstance(document, NotamText):
            raise InputError([Problem(source, f"is NOTAM text, not {found.title}")])
        zones = parse_zones(document, source, found.name, limits)
        start_s = zones_horizon_start_s(zones) if zones_start_s is None else zones_start_s
        end_s = start_s + DEFAULT_HORIZON_S
        restrictions = [zone for zone in zones if zone.restriction.restricts]
        volumes = [v for zone in restrictions for v in zone_volumes(zone, party, start_s, end_s)]
        if len(volumes) > limits.max_volumes_per_file:
            message = (
                f"the zones make {len(volumes)} volumes over 90 days, more than the limit of "
                f"{limits.max_volumes_per_file}"
            )
            raise InputError([Problem(source, message)])
        return found, volumes
    if found.name == "geojson":
        return found, parse_features(document, source, party, limits)
    if found.name == "notam":
        if not isinstance(document, NotamText):
            raise InputError([Problem(source, "is JSON, not NOTAM text")])
        return found, notam_volumes(document.text, source, party, operation, limits)
    if isinstance(document, NotamText):
        raise InputError([Problem(source, f"is NOTAM text, not {found.title}")])
    return found, parse_f3548(document, source, party, operation, limits)


def read_plan(
    path: Path | str,
    fmt: str | None = None,
    limits: Limits = Limits(),
    *,
    party: str | None = None,
    operation: str | None = None,
) -> list[Volume]:
    """Volumes of a plan file in a readable format (``fmt`` ``None``: detected from the content).

    ``party`` is the party of volumes that name none (default: the file's stem);
    ``operation`` names an F3548 file's operation (default: its intent's id, else the file's stem).

    Raises
    ------
    InputError
        If the file cannot be read, is too large, is not UTF-8 JSON, is in no
        readable format, or any volume is invalid (every problem together).
    """
    return read_plan_document(path, fmt, limits, party=party, operation=operation)[2]


def read_plan_document(
    path: Path | str,
    fmt: str | None = None,
    limits: Limits = Limits(),
    *,
    party: str | None = None,
    operation: str | None = None,
    zones_start_s: float | None = None,
) -> tuple[Format, object, list[Volume]]:
    """:func:`read_plan`, with the format found and the decoded document."""
    path = Path(path)
    if fmt is not None:
        format_named(fmt, str(path), reading=True)
    document = load_document(path, limits, fmt)
    default_party = party or path.stem.split(".")[0]
    found, volumes = parse_plan(document, str(path), default_party, fmt, operation, limits, zones_start_s)
    return found, document, volumes


def read_plan_or_zones(
    path: Path | str, limits: Limits = Limits(), *, zones_only: bool = False
) -> tuple[Format, list[Volume], list[Zone]]:
    """The volumes of a plan file, or the zones of a geographical zone file (format told by content).

    Zones keep what volumes cannot say (their restriction, name, message and
    authorities) and are expanded only against the plans they are checked with.

    Raises
    ------
    InputError
        As :func:`read_plan`; when ``zones_only``, also if the file is not ED-269 or ED-318.
    """
    path = Path(path)
    document = load_document(path, limits, None)
    zones = zone_format(document)
    if zones is not None or zones_only:
        return FORMATS[zones or "ed269"], [], parse_zones(document, str(path), zones, limits)
    found, volumes = parse_plan(document, str(path), path.stem.split(".")[0], None, None, limits)
    return found, volumes, []


def zones_horizon_start_s(zones: Sequence[Zone]) -> float:
    """Where zones are expanded from when no plan says: the earliest start date they give, else today.

    Today is the current UTC day from midnight; a zone of fixed dates starts its own horizon,
    so that converting it gives the same volumes any day.
    """
    starts = [a.start_s for zone in zones for a in zone.applicability if a.start_s is not None]
    if starts:
        return min(starts)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today.timestamp()


def write_plan(
    volumes: Sequence[Volume],
    fmt: str,
    priority: int | None = None,
    margins: AltitudeMargins = AltitudeMargins(),
    *,
    fir: str = DEFAULT_FIR,
) -> str:
    """Volumes as text in a writable format (F3548: details; KML: a document; NOTAM: one per operation).

    ``margins`` widen the bands F3548, KML and NOTAM cannot state as given (the deployment's
    :class:`~deconflict.units.AltitudeMargins`); ``fir`` is a NOTAM's FIR.

    Raises
    ------
    InputError
        If ``fmt`` cannot be written.
    """
    found = format_named(fmt, "output", reading=False)
    if found.name == "geojson":
        collection = {"type": "FeatureCollection", "features": [volume_feature(v) for v in volumes]}
        return json.dumps(collection, indent=2, ensure_ascii=False) + "\n"
    if found.name == "f3548":
        return json.dumps(operation_details(volumes, priority, margins), indent=2) + "\n"
    if found.name == "notam":
        return plan_notams(volumes, fir, margins)
    return plan_kml(volumes, margins=margins)
