"""Plans a party files through the channel: always its own, and of a bounded extent.

A filing's conflicts tell the filer where, when and how high another party's
plans overlap its own volumes. An operation as large as a country, two years
long and 30 km high would map every other plan in it (a probe), so an operation
filed through the channel is bounded in footprint area, time span and altitude
span (:class:`~deconflict.strategic.limits.Limits`, settings ``max_operation_area_km2``,
``max_operation_window_h``, ``max_operation_band_m``). ``deconflict check`` of
local files has no such limit: it discloses nothing to anyone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely

from deconflict.errors import InputError, Problem
from deconflict.geometry.geodesy import area_m2
from deconflict.strategic.geojson import parse_features
from deconflict.strategic.limits import Limits
from deconflict.strategic.volume import Volume

__all__ = ["check_extent", "plan_volumes"]


def plan_volumes(
    document: object, party: str, source: str = "request", limits: Limits = Limits()
) -> list[Volume]:
    """The volumes of a GeoJSON FeatureCollection that ``party`` files as its own.

    A feature without ``party`` belongs to the filing party; a feature naming
    another party is refused (a party never files for another).

    Raises
    ------
    InputError
        With every problem, each naming the feature and the field.
    """
    volumes = parse_features(document, source, party, limits)
    problems = [
        Problem(
            source,
            f"names party {v.party!r}, but the plan is filed by {party!r}: a party files only its own plans",
            f"feature {index} (id {v.id})",
            "party",
        )
        for index, v in enumerate(volumes)
        if v.party != party
    ]
    if problems:
        raise InputError(problems)
    return volumes


_AUTHALIC_RADIUS_M = 6_371_007.2
"""Radius of the sphere of the WGS 84 ellipsoid's area."""


def _box_area_m2(lon0_deg: float, lat0_deg: float, lon1_deg: float, lat1_deg: float) -> float:
    """Area of a lon/lat box on the authalic sphere (within 0.5 % of the ellipsoid's)."""
    band = math.sin(math.radians(lat1_deg)) - math.sin(math.radians(lat0_deg))
    return _AUTHALIC_RADIUS_M**2 * math.radians(lon1_deg - lon0_deg) * band


def _covered_area_m2(volumes: Sequence[Volume], limit_m2: float) -> float:
    """Area of the union of the footprints; a bound, not the area, when the bound is within ``limit_m2``.

    Almost every operation lies in a box far below the limit: its box's area,
    widened by 1 % for the sphere's error, settles it without projecting anything.
    """
    shapes = [v.footprint.shape for v in volumes]
    bounds = shapely.bounds(shapes)
    box_m2 = 1.01 * _box_area_m2(
        float(bounds[:, 0].min()),
        float(bounds[:, 1].min()),
        float(bounds[:, 2].max()),
        float(bounds[:, 3].max()),
    )
    if box_m2 <= limit_m2:
        return box_m2
    covered = shapes[0] if len(shapes) == 1 else shapely.union_all(shapes)
    return float(area_m2([covered])[0])


def check_extent(operation_id: str, volumes: Sequence[Volume], limits: Limits) -> None:
    """Refuse an operation larger than the channel allows in area, time span or altitude span.

    The area is that of the union of the volumes' footprints (on the WGS 84
    ellipsoid), so volumes stacked over one area count it once. The time span
    runs from the earliest start to the latest end; the altitude span from the
    lowest lower bound to the highest upper bound, each as stated (feet and
    flight levels in metres, references not converted).

    Raises
    ------
    InputError
        One problem per limit exceeded, naming the limit and its setting.
    """
    if not volumes:
        return
    source = f"operation {operation_id}"
    problems = []
    window_s = max(v.time_end_s for v in volumes) - min(v.time_start_s for v in volumes)
    if window_s > limits.max_operation_window_s:
        problems.append(
            Problem(
                source,
                f"spans {window_s / 3600.0:,.1f} h, more than the limit of "
                f"{limits.max_operation_window_s / 3600.0:,.1f} h (setting max_operation_window_h); "
                "file longer activity as several operations",
                None,
                "time_end",
            )
        )
    band_m = max(v.upper.value_m for v in volumes) - min(v.lower.value_m for v in volumes)
    if band_m > limits.max_operation_band_m:
        problems.append(
            Problem(
                source,
                f"spans {band_m:,.0f} m of altitude, more than the limit of "
                f"{limits.max_operation_band_m:,.0f} m (setting max_operation_band_m)",
                None,
                "altitude_upper",
            )
        )
    area = _covered_area_m2(volumes, limits.max_operation_area_m2)
    if area > limits.max_operation_area_m2:
        problems.append(
            Problem(
                source,
                f"covers {area / 1e6:,.0f} km^2, more than the limit of "
                f"{limits.max_operation_area_m2 / 1e6:,.0f} km^2 (setting max_operation_area_km2); "
                "file a larger activity as several operations",
                None,
                "geometry",
            )
        )
    if problems:
        raise InputError(problems)
