"""Strategic conflicts: which pairs of volumes of different parties overlap in 4-D.

Two volumes conflict when, after growing each by the buffers, their footprints
share a region of positive area, their altitude bands overlap and their time
windows overlap (strict inequalities: touching does not conflict). Altitude
bounds of the same reference compare exactly; bounds of different references
compare through conservative MSL ranges (:mod:`deconflict.units`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from deconflict.geometry.overlap import conflicting_overlaps
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins

__all__ = ["Conflict", "candidate_pairs", "evaluate_pairs", "find_conflicts", "format_time"]


@dataclass(frozen=True)
class Conflict:
    """The minimal facts of a conflict between volume ``a`` and volume ``b``.

    ``time_*`` and ``altitude_*`` are the overlap of the (buffered) windows and
    bands; ``altitude_reference`` is the shared reference, or ``MSL`` when the
    two were given against different references (then the band is the
    conservative MSL overlap). ``overlap_bbox`` is (min lon, min lat, max lon,
    max lat) of the footprints' common region. ``priority_a`` and ``priority_b``
    are the priorities of the two volumes (their operations' priorities once filed).
    ``zone``, for a plan that enters a geographical zone's restriction (``b`` the
    zone's volume), is the zone's public facts
    (:meth:`~deconflict.strategic.zones.Zone.facts`) as JSON text, kept as they were
    when the conflict was found; ``None`` between plans.
    """

    a: str
    b: str
    party_a: str
    party_b: str
    operation_a: str
    operation_b: str
    time_start_s: float
    time_end_s: float
    altitude_lower_m: float
    altitude_upper_m: float
    altitude_reference: str
    overlap_area_m2: float
    overlap_bbox: tuple[float, float, float, float]
    priority_a: int = 0
    priority_b: int = 0
    zone: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The conflict as PRODUCT.md's JSON object (with ``zone``'s facts for a conflict with a zone)."""
        found = {
            "a": self.a,
            "b": self.b,
            "party_a": self.party_a,
            "party_b": self.party_b,
            "time_start": format_time(self.time_start_s),
            "time_end": format_time(self.time_end_s),
            "altitude_lower_m": round(self.altitude_lower_m, 3),
            "altitude_upper_m": round(self.altitude_upper_m, 3),
            "altitude_reference": self.altitude_reference,
            "overlap_area_m2": round(self.overlap_area_m2, 3),
            "overlap_bbox": [round(v, 7) for v in self.overlap_bbox],
        }
        if self.zone is not None:
            found["zone"] = json.loads(self.zone)
        return found


def format_time(time_s: float) -> str:
    """RFC 3339 UTC text of seconds since the epoch.

    Examples
    --------
    >>> format_time(1767268800.0)
    '2026-01-01T12:00:00Z'
    """
    value = datetime.fromtimestamp(time_s, tz=UTC)
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _below(low: Altitude, high: Altitude, gap_m: float, margins: AltitudeMargins) -> bool:
    """Can a bound ``low`` be below ``high + gap_m``? Same references compare exactly; different
    ones through their MSL ranges (:func:`~deconflict.units.msl_bounds_array`'s arithmetic)."""
    if low.reference is high.reference:
        return low.value_m < high.value_m + gap_m
    return low.msl_range_m(margins)[0] < high.msl_range_m(margins)[1] + gap_m


def _band(a: Volume, b: Volume, vertical_m: float, margins: AltitudeMargins) -> tuple[float, float, str]:
    reference = a.lower.reference
    if b.lower.reference is reference and a.upper.reference is reference and b.upper.reference is reference:
        return (
            max(a.lower.value_m, b.lower.value_m) - vertical_m,
            min(a.upper.value_m, b.upper.value_m) + vertical_m,
            str(reference),
        )
    lower = max(a.lower.msl_range_m(margins)[0], b.lower.msl_range_m(margins)[0])
    upper = min(a.upper.msl_range_m(margins)[1], b.upper.msl_range_m(margins)[1])
    return lower - vertical_m, upper + vertical_m, "MSL"


def evaluate_pairs(
    a: Sequence[Volume],
    b: Sequence[Volume],
    buffers: Buffers = Buffers(),
    margins: AltitudeMargins = AltitudeMargins(),
) -> list[Conflict]:
    """The conflicts among candidate pairs ``(a[i], b[i])``, in pair order.

    Pairs of the same party never conflict. Cheap tests (party, time, altitude) run
    first, pair by pair; footprints are tested only on the survivors, all at once.
    """
    if len(b) != len(a):
        raise ValueError("evaluate_pairs needs sequences of equal length")
    tb = 2.0 * buffers.time_buffer_s
    vb = 2.0 * buffers.vertical_buffer_m
    # Plain float comparisons, pair by pair: the same IEEE arithmetic as NumPy's, without
    # building arrays for a filing's few pairs (and no slower for many).
    pairs = [
        (x, y)
        for x, y in zip(a, b, strict=True)
        if x.party != y.party
        and x.time_start_s < y.time_end_s + tb
        and y.time_start_s < x.time_end_s + tb
        and _below(x.lower, y.upper, vb, margins)
        and _below(y.lower, x.upper, vb, margins)
    ]
    if not pairs:
        return []
    # The exact footprint test, then the overlap facts of the pairs in conflict only.
    hit, areas, boxes = conflicting_overlaps(
        [x.footprint for x, _ in pairs], [y.footprint for _, y in pairs], buffers.buffer_m
    )
    conflicts = []
    for (x, y), area_m2, bbox in zip(
        itertools.compress(pairs, hit.tolist()), areas.tolist(), boxes.tolist(), strict=True
    ):
        lower, upper, reference = _band(x, y, buffers.vertical_buffer_m, margins)
        conflicts.append(
            Conflict(
                a=x.id,
                b=y.id,
                party_a=x.party,
                party_b=y.party,
                operation_a=x.operation,
                operation_b=y.operation,
                time_start_s=max(x.time_start_s, y.time_start_s) - buffers.time_buffer_s,
                time_end_s=min(x.time_end_s, y.time_end_s) + buffers.time_buffer_s,
                altitude_lower_m=lower,
                altitude_upper_m=upper,
                altitude_reference=reference,
                overlap_area_m2=area_m2,
                overlap_bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
                priority_a=x.priority,
                priority_b=y.priority,
            )
        )
    return conflicts


def candidate_pairs(
    volumes: Sequence[Volume], buffers: Buffers = Buffers(), margins: AltitudeMargins = AltitudeMargins()
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Index pairs ``i < j`` whose search boxes intersect (an in-memory STRtree).

    Boxes are 2-D footprint boxes grown by the buffer; time and altitude are
    checked exactly afterwards, vectorised.
    """
    owners: list[int] = []
    boxes = []
    for i, volume in enumerate(volumes):
        for box in volume.search_boxes(margins, buffers):
            owners.append(i)
            boxes.append(shapely.box(box.lon_min_deg, box.lat_min_deg, box.lon_max_deg, box.lat_max_deg))
    if not boxes:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    tree = shapely.STRtree(boxes)
    left, right = tree.query(boxes)
    owner = np.asarray(owners, dtype=np.intp)
    i, j = owner[left], owner[right]
    keep = i < j
    pairs = np.unique(np.column_stack([i[keep], j[keep]]), axis=0)
    return pairs[:, 0], pairs[:, 1]


def find_conflicts(
    volumes: Sequence[Volume], buffers: Buffers = Buffers(), margins: AltitudeMargins = AltitudeMargins()
) -> list[Conflict]:
    """Every conflict among ``volumes`` (between different parties), sorted by time.

    Examples
    --------
    >>> find_conflicts([])
    []
    """
    i, j = candidate_pairs(volumes, buffers, margins)
    conflicts = evaluate_pairs(
        [volumes[k] for k in i.tolist()], [volumes[k] for k in j.tolist()], buffers, margins
    )
    return sorted(conflicts, key=lambda c: (c.time_start_s, c.party_a, c.a, c.party_b, c.b))
