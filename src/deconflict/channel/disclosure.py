"""Minimal disclosure: what one party may learn about a conflict with another's plan.

A stored :class:`~deconflict.strategic.conflicts.Conflict` holds both sides'
identifiers. A party sees a conflict only through :func:`conflict_view`: its own
side in full, and of the other side only the other party's name and the facts
the two volumes share: where (the overlap region's bounding box and area), when
(the common time window) and how high (the common altitude band). The other
party's priority, volume id, operation id, geometry beyond the overlap and other
volumes never reach it. Each disclosure is recorded in the other party's ledger
(:mod:`deconflict.channel.ledger`).

A conflict with a geographical zone (the other side a zone's authority) also
carries the zone's public facts, as the zone published them (name,
restriction, reasons, message, conditions, contacts): both sides see them,
since zones are public. The authority learns of the filer's plan only what any
other side learns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from deconflict.errors import NotFoundError
from deconflict.strategic.conflicts import Conflict

__all__ = ["ConflictView", "conflict_view"]


@dataclass(frozen=True)
class ConflictView:
    """A conflict as one party (the viewer) may see it.

    Attributes
    ----------
    id, state
        The conflict's stable id and its state (``"open"``, ...).
    operation, volume
        The viewer's own operation and volume ids.
    other_party
        The name of the party on the other side (never its priority: how the
        other side ranks its plans is not needed to keep aircraft apart).
    time_start_s, time_end_s
        The overlap of the two (buffered) time windows, seconds since the epoch.
    altitude_lower_m, altitude_upper_m, altitude_reference
        The overlap of the two (buffered) altitude bands.
    overlap_area_m2, overlap_bbox
        Area and (min lon, min lat, max lon, max lat) of the common footprint
        region: inside the viewer's own footprint (grown by the horizontal
        buffer, when one is configured).
    zone
        For a conflict with a geographical zone, the zone's public facts
        (:meth:`~deconflict.strategic.zones.Zone.facts`); ``None`` between plans.
    resolution, resolved_by, resolved_s
        How a resolved conflict stopped existing (``released``, ...), by which
        party and when, when the view announces its resolution; ``None`` otherwise.
    """

    id: int
    state: str
    operation: str
    volume: str
    other_party: str
    time_start_s: float
    time_end_s: float
    altitude_lower_m: float
    altitude_upper_m: float
    altitude_reference: str
    overlap_area_m2: float
    overlap_bbox: tuple[float, float, float, float]
    zone: dict[str, Any] | None = None
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_s: float | None = None


def conflict_view(conflict: Conflict, viewer_party: str, *, conflict_id: int, state: str) -> ConflictView:
    """The view of ``conflict`` that ``viewer_party`` may see.

    Raises
    ------
    NotFoundError
        If the viewer is on neither side: to it, the conflict does not exist.

    Examples
    --------
    >>> c = Conflict("b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL",
    ...              1.0, (0.0, 0.0, 1.0, 1.0), priority_a=1, priority_b=2)
    >>> v = conflict_view(c, "red", conflict_id=7, state="open")
    >>> (v.operation, v.volume, v.other_party)
    ('op-r', 'r1', 'blue')
    """
    if viewer_party == conflict.party_a:
        operation, volume, other_party = conflict.operation_a, conflict.a, conflict.party_b
    elif viewer_party == conflict.party_b:
        operation, volume, other_party = conflict.operation_b, conflict.b, conflict.party_a
    else:
        raise NotFoundError(f"no conflict {conflict_id} for party {viewer_party!r}")
    return ConflictView(
        id=conflict_id,
        state=state,
        operation=operation,
        volume=volume,
        other_party=other_party,
        time_start_s=conflict.time_start_s,
        time_end_s=conflict.time_end_s,
        altitude_lower_m=conflict.altitude_lower_m,
        altitude_upper_m=conflict.altitude_upper_m,
        altitude_reference=conflict.altitude_reference,
        overlap_area_m2=conflict.overlap_area_m2,
        overlap_bbox=conflict.overlap_bbox,
        zone=None if conflict.zone is None else json.loads(conflict.zone),
    )
