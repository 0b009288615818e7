"""Geographical zones: restrictions an authority publishes, their schedules and who enters them.

A :class:`Zone` is what EUROCAE ED-269 and ED-318 call a UAS geographical zone:
an area (one or more :class:`ZoneLayer`, each a footprint and an altitude band)
where flying is prohibited, needs an authorisation, or is subject to
conditions, when its :class:`Applicability` says so. Zones are public: their
name, reason, message and the contacts of their authorities are shown, as
published, to whoever enters them.

:func:`applicable_windows` expands the applicability into time windows over a
horizon; :func:`zone_volumes` turns a zone into volumes (one per layer and
window) so the ordinary conflict test decides who enters it, and
:func:`zone_conflicts` does that for a plan against many zones.

Times of a schedule are clock times at a fixed offset from UTC (UTC when none
is given, as ED-269 says). Neither standard names a time zone with daylight
saving rules, so none is applied: a schedule published as ``08:00+01:00`` is
07:00 UTC in summer as in winter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import NDArray

from deconflict.geometry.footprint import Footprint
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import Conflict, evaluate_pairs
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins

__all__ = [
    "Applicability",
    "DailyPeriod",
    "Zone",
    "ZoneAuthority",
    "ZoneConflict",
    "ZoneLayer",
    "ZoneRestriction",
    "applicable_windows",
    "zone_conflicts",
    "zone_operation",
    "zone_volumes",
]

_DAY_S = 86_400.0


class ZoneRestriction(StrEnum):
    """What a zone asks of those who enter it (ED-269 ``restriction``, ED-318 ``type``)."""

    PROHIBITED = "prohibited"
    REQ_AUTHORISATION = "req_authorisation"
    CONDITIONAL = "conditional"
    USPACE = "uspace"
    """U-space airspace (ED-318): entering it needs the U-space services."""
    NO_RESTRICTION = "no_restriction"
    """Published for information: never a conflict."""

    @property
    def restricts(self) -> bool:
        """Whether entering the zone is a conflict with its authority."""
        return self is not ZoneRestriction.NO_RESTRICTION


@dataclass(frozen=True)
class DailyPeriod:
    """Clock times on some weekdays, at a fixed offset from UTC.

    Attributes
    ----------
    weekdays
        Monday 0 to Sunday 6, the days (at ``utc_offset_s``) the period starts on.
    start_s, end_s
        Seconds after midnight (at ``utc_offset_s``); ``end_s`` at or before
        ``start_s`` ends on the next day (``00:00`` to ``00:00`` is the whole day).
    utc_offset_s
        The offset of the clock from UTC, seconds (``+01:00`` is 3600).
    """

    weekdays: frozenset[int]
    start_s: float
    end_s: float
    utc_offset_s: float = 0.0


@dataclass(frozen=True)
class Applicability:
    """When a zone applies: between two instants (either open), during the daily periods if any.

    ``start_s`` and ``end_s`` are seconds since the epoch (UTC), ``None`` for
    open; no ``schedule`` is at all times between them.
    """

    start_s: float | None = None
    end_s: float | None = None
    schedule: tuple[DailyPeriod, ...] = ()


@dataclass(frozen=True)
class ZoneAuthority:
    """An authority of a zone as the zone publishes it (every field optional)."""

    name: str | None = None
    service: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    site_url: str | None = None
    purpose: str | None = None

    def contact(self) -> str:
        """The authority in one line: name, service, contact, e-mail, phone, site; ``""`` if none."""
        parts = (self.name, self.service, self.contact_name, self.email, self.phone, self.site_url)
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class ZoneLayer:
    """One airspace volume of a zone: a footprint between two altitudes."""

    footprint: Footprint
    lower: Altitude
    upper: Altitude


@dataclass(frozen=True, eq=False)
class Zone:
    """A geographical zone as published (ED-269 ``UASZoneVersion``, ED-318 ``UASZone``).

    ``applicability`` empty: the zone applies at all times.
    """

    identifier: str
    country: str
    restriction: ZoneRestriction
    layers: tuple[ZoneLayer, ...]
    applicability: tuple[Applicability, ...] = ()
    name: str | None = None
    reasons: tuple[str, ...] = ()
    other_reason: str | None = None
    message: str | None = None
    conditions: str | None = None
    authorities: tuple[ZoneAuthority, ...] = ()

    def facts(self) -> dict[str, object]:
        """The zone's public facts, as shown to whoever enters it (JSON-ready)."""
        return {
            "identifier": self.identifier,
            "country": self.country,
            "name": self.name,
            "restriction": str(self.restriction),
            "reasons": list(self.reasons),
            "other_reason": self.other_reason,
            "message": self.message,
            "conditions": self.conditions,
            "authorities": [
                {
                    "name": a.name,
                    "service": a.service,
                    "contact_name": a.contact_name,
                    "email": a.email,
                    "phone": a.phone,
                    "site_url": a.site_url,
                    "purpose": a.purpose,
                }
                for a in self.authorities
            ],
        }


def _period_windows(period: DailyPeriod, start_s: float, end_s: float) -> list[tuple[float, float]]:
    """The windows of one daily period that meet [start_s, end_s)."""
    offset = timedelta(seconds=period.utc_offset_s)
    first = (datetime.fromtimestamp(start_s, tz=UTC) + offset).date() - timedelta(days=1)
    last = (datetime.fromtimestamp(end_s, tz=UTC) + offset).date()
    windows = []
    day = first
    while day <= last:
        if day.weekday() in period.weekdays:
            midnight_s = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() - period.utc_offset_s
            t0 = midnight_s + period.start_s
            t1 = midnight_s + period.end_s
            while t1 <= t0:
                t1 += _DAY_S
            if t0 < end_s and t1 > start_s:
                windows.append((t0, t1))
        day += timedelta(days=1)
    return windows


def _merged(windows: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for t0, t1 in sorted(windows):
        if merged and t0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], t1))
        else:
            merged.append((t0, t1))
    return merged


def applicable_windows(
    applicability: Sequence[Applicability], start_s: float, end_s: float
) -> list[tuple[float, float]]:
    """The time windows, within the horizon [start_s, end_s), when a zone applies; sorted and merged.

    No applicability at all: the whole horizon. Each applicability gives its
    span (clipped to the horizon), or its daily periods within that span.

    Examples
    --------
    >>> monday = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    >>> office = Applicability(schedule=(DailyPeriod(frozenset(range(5)), 8 * 3600, 17 * 3600),))
    >>> windows = applicable_windows([office], monday, monday + 7 * 86_400)
    >>> len(windows), [(t0 - monday) / 3600 for t0, _ in windows[:2]]
    (5, [8.0, 32.0])
    >>> applicable_windows([], 0.0, 10.0)
    [(0.0, 10.0)]
    """
    if not start_s < end_s:
        return []
    if not applicability:
        return [(start_s, end_s)]
    windows: list[tuple[float, float]] = []
    for item in applicability:
        lo = start_s if item.start_s is None else max(start_s, item.start_s)
        hi = end_s if item.end_s is None else min(end_s, item.end_s)
        if not lo < hi:
            continue
        if not item.schedule:
            windows.append((lo, hi))
            continue
        for period in item.schedule:
            windows.extend((max(t0, lo), min(t1, hi)) for t0, t1 in _period_windows(period, lo, hi))
    return _merged([(t0, t1) for t0, t1 in windows if t0 < t1])


def zone_operation(identifier: str) -> str:
    """What a filed conflict with zone ``identifier`` names as its authority's operation.

    Operation ids cannot hold a ``/``, so a zone never shares a name with an
    operation of its authority (amending that operation leaves the zone's conflicts alone).

    >>> zone_operation("LX001")
    'zone/LX001'
    """
    return f"zone/{identifier}"


def zone_volumes(zone: Zone, party: str, start_s: float, end_s: float) -> list[Volume]:
    """The zone as volumes of ``party`` over the horizon [start_s, end_s): one per layer and window.

    Ids are ``IDENTIFIER/LAYER/WINDOW``; the operation is the zone's identifier.
    """
    windows = applicable_windows(zone.applicability, start_s, end_s)
    return [
        Volume(
            f"{zone.identifier}/{i}/{k}",
            party,
            zone.identifier,
            layer.footprint,
            layer.lower,
            layer.upper,
            t0,
            t1,
        )
        for i, layer in enumerate(zone.layers)
        for k, (t0, t1) in enumerate(windows)
    ]


@dataclass(frozen=True)
class ZoneConflict:
    """A plan's volume that enters an applicable restriction: the conflict's facts and the zone."""

    conflict: Conflict
    zone: Zone

    def to_json(self) -> dict[str, object]:
        """The conflict (``a`` the plan's volume, ``b`` the zone's) with the zone's public facts."""
        return {**self.conflict.to_json(), "zone": self.zone.facts()}

    def filed(self) -> Conflict:
        """The conflict as the channel files it: the zone's facts on it (as they are now), and
        :func:`zone_operation` as the authority's operation."""
        return replace(
            self.conflict,
            operation_b=zone_operation(self.zone.identifier),
            zone=json.dumps(self.zone.facts(), sort_keys=True),
        )


def zone_conflicts(
    volumes: Sequence[Volume],
    zones: Sequence[tuple[str, Zone]],
    buffers: Buffers = Buffers(),
    margins: AltitudeMargins = AltitudeMargins(),
) -> list[ZoneConflict]:
    """Every volume of ``volumes`` that enters an applicable restriction of ``zones``, sorted by time.

    ``zones`` pairs each zone with its authority party. Zones are expanded over
    the volumes' time span; zones that restrict nothing (``NO_RESTRICTION``) are
    skipped, and so is a zone of the volume's own party. The buffers grow the
    plan's volumes as they grow them against other plans.
    """
    if not volumes:
        return []
    start_s = min(v.time_start_s for v in volumes) - 2.0 * buffers.time_buffer_s
    end_s = max(v.time_end_s for v in volumes) + 2.0 * buffers.time_buffer_s
    zone_of: dict[tuple[str, str], Zone] = {}
    restricted: list[Volume] = []
    for party, zone in zones:
        if not zone.restriction.restricts:
            continue
        for volume in zone_volumes(zone, party, start_s, end_s):
            restricted.append(volume)
            zone_of.setdefault((party, volume.id), zone)
    if not restricted:
        return []
    zone_owner, zone_boxes = _boxes(restricted, buffers, margins)
    plan_owner, plan_boxes = _boxes(volumes, buffers, margins)
    left, right = shapely.STRtree(zone_boxes).query(plan_boxes)
    pairs = np.unique(np.column_stack([plan_owner[left], zone_owner[right]]), axis=0)
    a = [volumes[i] for i in pairs[:, 0].tolist()]
    b = [restricted[k] for k in pairs[:, 1].tolist()]
    found = [ZoneConflict(c, zone_of[(c.party_b, c.b)]) for c in evaluate_pairs(a, b, buffers, margins)]
    return sorted(
        found, key=lambda z: (z.conflict.time_start_s, z.conflict.party_a, z.conflict.a, z.conflict.b)
    )


def _boxes(
    volumes: Sequence[Volume], buffers: Buffers, margins: AltitudeMargins
) -> tuple[NDArray[np.intp], list[shapely.Polygon]]:
    """The 2-D search boxes of volumes and the index of the volume of each."""
    owners: list[int] = []
    boxes = []
    for i, volume in enumerate(volumes):
        for box in volume.search_boxes(margins, buffers):
            owners.append(i)
            boxes.append(shapely.box(box.lon_min_deg, box.lat_min_deg, box.lon_max_deg, box.lat_max_deg))
    return np.asarray(owners, dtype=np.intp), boxes
