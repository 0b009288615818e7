"""Volumes (footprint x altitude band x time window) and operations made of them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon

from deconflict.geometry.footprint import Footprint
from deconflict.strategic.buffers import Buffers
from deconflict.units import REFERENCE_CODES, Altitude, AltitudeMargins, msl_bounds_array, msl_bounds_m

__all__ = ["Operation", "OperationState", "SearchBox", "Volume", "search_box_array", "search_boxes_of"]

# Degrees of latitude per metre, upper bound (meridian radius at the equator).
_DEG_LAT_PER_M = 1.0 / 110_574.0


@dataclass(frozen=True)
class SearchBox:
    """An axis-aligned 4-D box: lon/lat bounds, MSL altitude bounds, time bounds.

    Every box a volume is indexed under contains the volume entirely, so a
    query with a box never misses a candidate; the exact test then decides.
    """

    lon_min_deg: float
    lat_min_deg: float
    lon_max_deg: float
    lat_max_deg: float
    alt_min_m: float
    alt_max_m: float
    time_min_s: float
    time_max_s: float


@dataclass(frozen=True, eq=False)
class Volume:
    """One 4-D volume of a party's operation.

    Attributes
    ----------
    id, party, operation
        Identifiers; ``id`` is unique within the party.
    footprint
        The horizontal extent.
    lower, upper
        The altitude band; each bound carries its own reference.
    time_start_s, time_end_s
        The time window, seconds since the Unix epoch (UTC), start < end.
    priority
        Higher wins when plans must give way; informational for conflicts.
    """

    id: str
    party: str
    operation: str
    footprint: Footprint
    lower: Altitude
    upper: Altitude
    time_start_s: float
    time_end_s: float
    priority: int = 0

    def search_boxes(self, margins: AltitudeMargins, grow: Buffers = Buffers()) -> list[SearchBox]:
        """Boxes that contain this volume grown by ``grow`` (one box per footprint part).

        Two volumes grown by a buffer ``b`` each meet when their gap is below
        ``2 b``: grow both boxes by ``b``, or a query box by ``2 b`` against
        boxes stored ungrown.
        """
        return _boxes(self, self.footprint.part_bounds(), margins, grow)


def search_boxes_of(
    volumes: Sequence[Volume], margins: AltitudeMargins, grow: Buffers = Buffers()
) -> list[list[SearchBox]]:
    """:meth:`Volume.search_boxes` of each volume, the footprints' part bounds read in one shapely call.

    Examples
    --------
    >>> search_boxes_of([], AltitudeMargins())
    []
    """
    if not volumes:
        return []
    outers = [v.footprint.outer for v in volumes]
    if not any(isinstance(outer, MultiPolygon) for outer in outers):
        # One part each: splitting parts out costs more than all the rest.
        whole = shapely.bounds(outers).tolist()
        return [
            _boxes(v, [(b[0], b[1], b[2], b[3])], margins, grow) for v, b in zip(volumes, whole, strict=True)
        ]
    parts, owner = shapely.get_parts(outers, return_index=True)
    bounds: list[list[tuple[float, float, float, float]]] = [[] for _ in volumes]
    for k, (lon_lo, lat_lo, lon_hi, lat_hi) in zip(
        owner.tolist(), shapely.bounds(parts).tolist(), strict=True
    ):
        bounds[k].append((lon_lo, lat_lo, lon_hi, lat_hi))
    return [_boxes(v, b, margins, grow) for v, b in zip(volumes, bounds, strict=True)]


def search_box_array(
    volumes: Sequence[Volume], margins: AltitudeMargins
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """:func:`search_boxes_of` (no buffers) as arrays: each box's volume (its position), and the boxes.

    The boxes are rows of :class:`SearchBox`'s fields in order, each volume's
    consecutive in the order of its parts: the same values as
    :func:`search_boxes_of`, computed over all volumes at once (for the many
    volumes of a bulk import). A part past the antimeridian is left to
    :func:`search_boxes_of`, which splits it.

    Examples
    --------
    >>> from deconflict.geometry.footprint import polygon_footprint
    >>> from deconflict.units import AltitudeReference
    >>> ring = np.array([(36.0, 35.0), (36.5, 35.0), (36.5, 35.5), (36.0, 35.0)])
    >>> v = Volume("v", "red", "op", polygon_footprint([[ring]]), Altitude(0.0, AltitudeReference.MSL),
    ...            Altitude(100.0, AltitudeReference.MSL), 0.0, 60.0)
    >>> owners, boxes = search_box_array([v], AltitudeMargins())
    >>> owners.tolist(), boxes.tolist()
    ([0], [[36.0, 35.0, 36.5, 35.5, 0.0, 100.0, 0.0, 60.0]])
    """
    if not volumes:
        return np.empty(0, np.int64), np.empty((0, 8))
    outers = np.array([v.footprint.outer for v in volumes], dtype=object)
    if bool(np.any(shapely.get_type_id(outers) == shapely.GeometryType.MULTIPOLYGON)):
        parts, owners = shapely.get_parts(outers, return_index=True)
    else:  # one part each: get_parts would copy every shape
        parts, owners = outers, np.arange(len(volumes))
    bounds = shapely.bounds(parts)
    if bool(np.any((bounds[:, 0] < -180.0) | (bounds[:, 2] > 180.0))):
        listed = search_boxes_of(volumes, margins)
        counts = [len(boxes) for boxes in listed]
        rows = [[getattr(b, name) for name in _BOX_FIELDS] for boxes in listed for b in boxes]
        return np.repeat(np.arange(len(volumes), dtype=np.int64), counts), np.array(rows).reshape(-1, 8)
    lower_m = np.array([v.lower.value_m for v in volumes])
    upper_m = np.array([v.upper.value_m for v in volumes])
    if not (np.isfinite(lower_m).all() and np.isfinite(upper_m).all()):
        raise ValueError("altitudes must be finite")
    lower_code = np.array([REFERENCE_CODES[v.lower.reference] for v in volumes], np.int8)
    upper_code = np.array([REFERENCE_CODES[v.upper.reference] for v in volumes], np.int8)
    out = np.empty((owners.size, 8))
    out[:, 0] = bounds[:, 0]
    out[:, 1] = np.maximum(-90.0, bounds[:, 1])
    out[:, 2] = bounds[:, 2]
    out[:, 3] = np.minimum(90.0, bounds[:, 3])
    out[:, 4] = msl_bounds_array(lower_m, lower_code, margins)[0][owners]
    out[:, 5] = msl_bounds_array(upper_m, upper_code, margins)[1][owners]
    out[:, 6] = np.array([v.time_start_s for v in volumes])[owners]
    out[:, 7] = np.array([v.time_end_s for v in volumes])[owners]
    return owners.astype(np.int64), out


_BOX_FIELDS = tuple(SearchBox.__dataclass_fields__)


def _boxes(
    volume: Volume,
    part_bounds: list[tuple[float, float, float, float]],
    margins: AltitudeMargins,
    buffers: Buffers,
) -> list[SearchBox]:
    """The search boxes of ``volume`` whose footprint's parts have ``part_bounds``."""
    lower, upper = volume.lower, volume.upper
    if lower.reference is upper.reference:
        # One call for both bounds: the same arithmetic as each bound's own msl_range_m.
        alt_min, alt_max = msl_bounds_m(lower.value_m, upper.value_m, lower.reference, margins)
    else:
        alt_min, alt_max = lower.msl_range_m(margins)[0], upper.msl_range_m(margins)[1]
    alt_min -= buffers.vertical_buffer_m
    alt_max += buffers.vertical_buffer_m
    t_min = volume.time_start_s - buffers.time_buffer_s
    t_max = volume.time_end_s + buffers.time_buffer_s
    boxes = []
    dlat = buffers.buffer_m * _DEG_LAT_PER_M * 1.001
    for lon_lo, lat_lo, lon_hi, lat_hi in part_bounds:
        lat_lo, lat_hi = max(-90.0, lat_lo - dlat), min(90.0, lat_hi + dlat)
        if buffers.buffer_m > 0.0:
            cos_lat = math.cos(math.radians(max(abs(lat_lo), abs(lat_hi))))
            dlon = 360.0 if cos_lat < 1e-6 else min(360.0, dlat / cos_lat)
            lon_lo, lon_hi = lon_lo - dlon, lon_hi + dlon
        if lon_lo >= -180.0 and lon_hi <= 180.0:  # the usual part: no wrapping to work out
            boxes.append(SearchBox(lon_lo, lat_lo, lon_hi, lat_hi, alt_min, alt_max, t_min, t_max))
        else:
            boxes.extend(_wrapped(lon_lo, lat_lo, lon_hi, lat_hi, alt_min, alt_max, t_min, t_max))
    return boxes


def _wrapped(
    lon_lo: float,
    lat_lo: float,
    lon_hi: float,
    lat_hi: float,
    alt_min: float,
    alt_max: float,
    t_min: float,
    t_max: float,
) -> list[SearchBox]:
    """Boxes inside [-180, 180] covering a longitude range that a buffer pushed past it."""
    if lon_hi - lon_lo >= 360.0:
        ranges = [(-180.0, 180.0)]
    else:
        ranges = [(max(lon_lo, -180.0), min(lon_hi, 180.0))]
        if lon_lo < -180.0:
            ranges.append((lon_lo + 360.0, 180.0))
        if lon_hi > 180.0:
            ranges.append((-180.0, lon_hi - 360.0))
    return [SearchBox(lo, lat_lo, hi, lat_hi, alt_min, alt_max, t_min, t_max) for lo, hi in ranges]


class OperationState(StrEnum):
    """Lifecycle of an operation; only live states take part in conflicts."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ACTIVATED = "activated"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"

    @property
    def is_live(self) -> bool:
        """Whether volumes in this state can conflict."""
        return self not in (OperationState.ENDED, OperationState.WITHDRAWN)


@dataclass(frozen=True, eq=False)
class Operation:
    """A party's planned activity: one or more volumes, a priority, a state, a version."""

    id: str
    party: str
    volumes: tuple[Volume, ...]
    priority: int = 0
    state: OperationState = OperationState.PROPOSED
    version: int = 1
