"""Hypothesis strategies for F3548 documents: Volume4D lists of polygons and circles, poles aside."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from tests.builders import T0_S


def _time(time_s: float) -> dict[str, str]:
    from datetime import UTC, datetime

    return {
        "value": datetime.fromtimestamp(time_s, tz=UTC).isoformat().replace("+00:00", "Z"),
        "format": "RFC3339",
    }


@st.composite
def outlines(draw: st.DrawFn) -> dict[str, Any]:
    """A circle, or a convex polygon of 3 to 12 vertices (points on a circle at sorted angles)."""
    lng = draw(st.floats(-170.0, 170.0))
    lat = draw(st.floats(-70.0, 70.0))
    if draw(st.booleans()):
        radius_m = draw(st.floats(1.0, 50_000.0))
        return {
            "outline_circle": {
                "center": {"lat": lat, "lng": lng},
                "radius": {"value": radius_m, "units": "M"},
            }
        }
    size_deg = draw(st.floats(1e-3, 0.5))
    angles = sorted(draw(st.lists(st.integers(0, 359), min_size=3, max_size=12, unique=True)))
    vertices = [
        {"lng": lng + size_deg * math.cos(math.radians(a)), "lat": lat + size_deg * math.sin(math.radians(a))}
        for a in angles
    ]
    return {"outline_polygon": {"vertices": vertices}}


@st.composite
def volume4ds(draw: st.DrawFn) -> dict[str, Any]:
    """One Volume4D: an outline, a W84 band in metres or feet, a window to the millisecond or microsecond."""
    units = draw(st.sampled_from(["M", "FT"]))
    lower = draw(st.floats(-500.0, 20_000.0))
    thickness = draw(st.floats(0.5, 5_000.0))
    fraction_us = draw(st.sampled_from([0, 0, 1000, 1])) * draw(st.integers(0, 999))
    start_s = T0_S + draw(st.integers(-(10**8), 10**8)) + fraction_us / 1e6
    length_us = draw(st.integers(1, 72 * 3600 * 10**6))
    return {
        "volume": {
            **draw(outlines()),
            "altitude_lower": {"value": lower, "reference": "W84", "units": units},
            "altitude_upper": {"value": lower + thickness, "reference": "W84", "units": units},
        },
        "time_start": _time(start_s),
        "time_end": _time(start_s + length_us / 1e6),
    }


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A list of Volume4D, an OperationalIntentDetails or a reference request's extents."""
    items = draw(st.lists(volume4ds(), min_size=1, max_size=4))
    shape = draw(st.sampled_from(["list", "details", "extents"]))
    if shape == "list":
        return items
    if shape == "extents":
        return {"extents": items, "state": "Accepted", "uss_base_url": "https://uss.example"}
    return {"volumes": items, "off_nominal_volumes": [], "priority": draw(st.integers(0, 100))}
