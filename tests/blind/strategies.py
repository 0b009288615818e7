"""Hypothesis strategies for blind covers: volumes anywhere (antimeridian, poles) and pairs
placed to touch, nearly touch or just overlap."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from deconflict.blind.grid import GridParameters
from deconflict.geometry.footprint import Footprint
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeReference
from tests.builders import T0_S, box, circle, point_at

MSL = AltitudeReference.MSL
CAP = 200_000
"""Enough for every volume here but the polar ones on the finest grids (those are skipped)."""

anchor_lat = st.one_of(
    st.sampled_from([0.0, 35.0, -45.0, 80.0, 89.0, 89.99, -89.995, 60.0]),
    st.floats(-89.9, 89.9, allow_nan=False),
)
anchor_lon = st.one_of(
    st.sampled_from([179.999, -179.999, 180.0, -180.0, 0.0, 36.0, 179.5]),
    st.floats(-180.0, 180.0, allow_nan=False),
)
radius_m = st.sampled_from([50.0, 999.0, 5_000.0, 10_000.0, 40_000.0])
cell_deg = st.sampled_from([0.01, 0.05, 0.1, 0.25, 1.0])
gap_m = st.sampled_from([-100.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 100.0])


@st.composite
def grids(draw: st.DrawFn) -> GridParameters:
    buffers = Buffers(
        buffer_m=draw(st.sampled_from([0.0, 0.0, 500.0, 2_000.0])),
        vertical_buffer_m=draw(st.sampled_from([0.0, 30.0])),
        time_buffer_s=draw(st.sampled_from([0.0, 300.0])),
    )
    return GridParameters(
        "s-1",
        cell_deg=draw(cell_deg),
        slot_s=draw(st.sampled_from([600.0, 900.0, 3600.0])),
        band_m=draw(st.sampled_from([100.0, 304.8, 1000.0])),
        cap=CAP,
        buffers=buffers,
    )


@st.composite
def footprints(draw: st.DrawFn) -> Footprint:
    lon, lat = draw(anchor_lon), draw(anchor_lat)
    if draw(st.booleans()) or abs(lat) > 89.0:
        return circle(lon, lat, draw(radius_m))
    size = draw(st.sampled_from([0.001, 0.02, 0.3]))
    # builders.box takes an east edge past 180 to cross the antimeridian.
    return box(lon, lat, lon + size, lat + size)


def volume_with(
    footprint: Footprint, name: str, party: str, t0_s: float, t1_s: float, a0_m: float, a1_m: float
) -> Volume:
    return Volume(name, party, f"op-{name}", footprint, Altitude(a0_m, MSL), Altitude(a1_m, MSL), t0_s, t1_s)


@st.composite
def volumes(draw: st.DrawFn) -> Volume:
    t0 = T0_S + draw(st.sampled_from([0.0, 450.0, 1e-3]))
    a0 = draw(st.sampled_from([0.0, 914.4, 1000.0]))
    return volume_with(
        draw(footprints()), "v", "blue", t0, t0 + draw(st.sampled_from([1.0, 7200.0])), a0, a0 + 1524.0
    )


@st.composite
def pairs(draw: st.DrawFn, buffer_m: float) -> tuple[Volume, Volume]:
    """A circle or box, and a circle whose edge lies ``gap`` away from it (touching when gap is 2 b)."""
    lon, lat = draw(anchor_lon), draw(anchor_lat)
    r_a = draw(radius_m)
    r_b = draw(radius_m)
    gap = draw(gap_m) + 2.0 * buffer_m
    azimuth = draw(st.floats(0.0, 360.0, allow_nan=False))
    fa = circle(lon, lat, r_a)
    lon_b, lat_b = point_at(lon, lat, azimuth, r_a + r_b + gap)
    if draw(st.booleans()) and abs(lat) < 80.0:
        # A box whose corner the circle just touches (or misses, or enters).
        half = 0.05
        fa = box(lon - half, lat - half, lon + half, lat + half)
        corner = (lon + half, lat + half)
        lon_b, lat_b = point_at(*corner, 45.0, r_b + gap)
    fb = circle(float(np.clip(lon_b, -180.0, 180.0)), lat_b, r_b)
    t_touch = draw(st.sampled_from([0.0, 1.0, -1.0, 1e-3, -1800.0]))
    a_touch = draw(st.sampled_from([0.0, 1.0, -1.0, 1e-3, -500.0]))
    a = volume_with(fa, "a", "blue", T0_S, T0_S + 3600.0, 1000.0, 2000.0)
    b = volume_with(fb, "b", "red", T0_S + 3600.0 + t_touch, T0_S + 7200.0, 2000.0 + a_touch, 3000.0)
    return a, b
