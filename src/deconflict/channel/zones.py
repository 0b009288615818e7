"""Geographical zones published through the channel: who publishes them, where they are kept.

Any party may publish zones (:class:`~deconflict.strategic.zones.Zone`, read
from an ED-269 or ED-318 document): the publisher is the zones' authority, and
a zone is its own, replaced or withdrawn by its identifier (two parties may use
the same identifier for different zones). Zones are public: every party lists
every published zone with all it publishes.

A filing that enters an applicable restriction of a zone is a conflict between
the filer and the zone's authority (:mod:`deconflict.channel.service.operations`).
A zone is the standing plan of its authority, so it is bounded in area as a
filed operation is (:func:`check_zone_extent`): no zone lets its authority
learn of filings over a wider area than an operation could. Its altitude span
is not bounded: zones commonly reach from the surface to no upper limit, and
what a conflict tells of a plan's band lies within the plan's own band.

Publishing, replacing or withdrawing a zone does not re-check operations
already filed: a plan's conflicts are found when its party files it, at the
time it chooses, never on another party's initiative. Operations filed before
meet the zones as published when they are next amended; conflicts found with a
zone stand until the filer amends or withdraws its operation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from deconflict.channel.plans import check_extent
from deconflict.errors import InputError, Problem
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume
from deconflict.strategic.zones import Zone, zone_operation

__all__ = [
    "PublishedZone",
    "ZoneStore",
    "check_zone_extent",
]


@dataclass(frozen=True)
class PublishedZone:
    """A zone as the channel keeps it: its authority (the party that published it) and when."""

    party: str
    zone: Zone
    published_s: float


def check_zone_extent(zones: Sequence[Zone], limits: Limits, source: str = "request") -> None:
    """Refuse a zone that covers a larger area than an operation may.

    The area is that of the union of the zone's layers. Neither its altitude
    span (see the module) nor its time span (it applies whenever its schedule
    says) is bounded.

    Raises
    ------
    InputError
        One problem per zone and limit exceeded, naming ``source`` and the zone.
    """
    problems: list[Problem] = []
    area_only = replace(limits, max_operation_band_m=math.inf)
    for zone in zones:
        volumes = [
            Volume(str(i), "", zone.identifier, layer.footprint, layer.lower, layer.upper, 0.0, 1.0)
            for i, layer in enumerate(zone.layers)
        ]
        try:
            check_extent(zone_operation(zone.identifier), volumes, area_only)
        except InputError as exc:
            problems.extend(
                Problem(source, p.message, f"zone {zone.identifier}", p.field) for p in exc.problems
            )
    if problems:
        raise InputError(problems)


class ZoneStore(Protocol):
    """Where published zones are kept (storage implements it)."""

    def publish(self, party: str, zones: Sequence[Zone], now_s: float) -> None:
        """Store ``zones`` as ``party``'s, each replacing its zone of that identifier (one transaction)."""
        ...

    def withdraw(self, party: str, identifier: str) -> bool:
        """Remove ``party``'s zone ``identifier``; whether there was one."""
        ...

    def list_zones(self) -> list[PublishedZone]:
        """Every published zone, by party then identifier."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
