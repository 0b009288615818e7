"""Hypothesis strategies for small sets of volumes full of edge cases.

Coordinates, times and altitudes come from coarse grids, so volumes often share
edges, boundary altitudes and window ends exactly (touching: no conflict); a
jitter far below float32 resolution then turns some of them into tiny overlaps
or tiny gaps. Grid origins are not representable in float32, so an index that
rounded its boxes to nearest (or inward) would lose candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from hypothesis import strategies as st

from deconflict.geometry.footprint import circle_footprint, polygon_footprint
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeReference
from tests.builders import T0_S
from tests.strategic.reference import Shape, geodesic_m, point_to_polygon_m

LON0 = 10.123456789012
LAT0 = 45.987654321098
STEP_DEG = 0.01
T_ORIGIN_S = T0_S + 0.123456789
T_STEP_S = 600.0
ALT0_M = 1000.123456789
ALT_STEP_M = 100.0

PARTIES = ("blue", "red", "green")

tiny_deg = st.sampled_from([0.0, 0.0, 0.0, 1e-9, -1e-9])
tiny_s = st.sampled_from([0.0, 0.0, 0.0, 1e-3, -1e-3])
tiny_m = st.sampled_from([0.0, 0.0, 0.0, 1e-5, -1e-5])


@dataclass(frozen=True)
class Case:
    volumes: list[Volume]
    shapes: list[Shape]


@st.composite
def _footprint(draw: st.DrawFn, previous: list[Shape]) -> Shape:
    kind = draw(st.sampled_from(["box", "box", "triangle", "circle", "tangent", "near-polygon"]))
    if kind == "tangent" and not any(s.centre is not None for s in previous):
        kind = "circle"
    if kind == "near-polygon" and not any(s.polygon is not None for s in previous):
        kind = "box"
    grid = st.integers(0, 6)
    if kind in ("box", "triangle"):
        i0, i1 = sorted(draw(st.lists(grid, min_size=2, max_size=2, unique=True)))
        j0, j1 = sorted(draw(st.lists(grid, min_size=2, max_size=2, unique=True)))
        x0 = LON0 + i0 * STEP_DEG + draw(tiny_deg)
        x1 = LON0 + i1 * STEP_DEG + draw(tiny_deg)
        y0 = LAT0 + j0 * STEP_DEG + draw(tiny_deg)
        y1 = LAT0 + j1 * STEP_DEG + draw(tiny_deg)
        if kind == "box":
            corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        else:
            corners = draw(st.sampled_from([[(x0, y0), (x1, y0), (x0, y1)], [(x0, y0), (x1, y1), (x0, y1)]]))
        return Shape(polygon=shapely.Polygon(corners))
    if kind == "circle":
        centre = (
            LON0 + draw(grid) * STEP_DEG + draw(tiny_deg),
            LAT0 + draw(grid) * STEP_DEG + draw(tiny_deg),
        )
        radius_m = draw(st.sampled_from([50.0, 400.0, 555.0, 1111.95, 2000.0]))
        return Shape(centre=centre, radius_m=radius_m)
    if kind == "near-polygon":
        # Within a centimetre of an earlier polygon, inside or outside.
        poly = draw(st.sampled_from([s.polygon for s in previous if s.polygon is not None]))
        centre = (
            LON0 + draw(grid) * STEP_DEG + 0.005,
            LAT0 + draw(grid) * STEP_DEG + 0.0025,
        )
        d = point_to_polygon_m(*centre, poly)
        radius_m = d + draw(st.sampled_from([-0.01, -0.002, 0.002, 0.01]))
        if d == 0.0 or radius_m <= 1.0:
            radius_m = 100.0
        return Shape(centre=centre, radius_m=radius_m)
    # Tangent (or within a millimetre) to an earlier circle.
    other = draw(st.sampled_from([s for s in previous if s.centre is not None]))
    assert other.centre is not None and other.radius_m is not None
    centre = (
        LON0 + draw(grid) * STEP_DEG + 0.005,
        LAT0 + draw(grid) * STEP_DEG,
    )
    d = float(geodesic_m(*other.centre, *centre))
    radius_m = d - other.radius_m + draw(st.sampled_from([0.0, 1e-3, -1e-3]))
    if radius_m <= 1.0:
        radius_m = 100.0
    return Shape(centre=centre, radius_m=radius_m)


def to_footprint(shape: Shape):  # type: ignore[no-untyped-def]
    if shape.polygon is not None:
        xy = np.asarray(shape.polygon.exterior.coords)
        return polygon_footprint([[xy]])
    assert shape.centre is not None and shape.radius_m is not None
    return circle_footprint(shape.centre[0], shape.centre[1], shape.radius_m)


@st.composite
def cases(draw: st.DrawFn, min_size: int = 2, max_size: int = 7, reference: str = "MSL") -> Case:
    n = draw(st.integers(min_size, max_size))
    volumes: list[Volume] = []
    shapes: list[Shape] = []
    for k in range(n):
        shape = draw(_footprint(shapes))
        t0, t1 = sorted(draw(st.lists(st.integers(0, 5), min_size=2, max_size=2, unique=True)))
        a0, a1 = sorted(draw(st.lists(st.integers(0, 5), min_size=2, max_size=2, unique=True)))
        shapes.append(shape)
        volumes.append(
            Volume(
                id=f"v{k}",
                party=draw(st.sampled_from(PARTIES)),
                operation=f"op{k}",
                footprint=to_footprint(shape),
                lower=Altitude(ALT0_M + a0 * ALT_STEP_M + draw(tiny_m), AltitudeReference(reference)),
                upper=Altitude(ALT0_M + a1 * ALT_STEP_M + draw(tiny_m), AltitudeReference(reference)),
                time_start_s=T_ORIGIN_S + t0 * T_STEP_S + draw(tiny_s),
                time_end_s=T_ORIGIN_S + t1 * T_STEP_S + draw(tiny_s),
            )
        )
    return Case(volumes, shapes)
