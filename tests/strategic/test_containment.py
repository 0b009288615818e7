"""within_volumes against a plain per-point reference: margins, circles, polygons, bands, window edges."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.strategic.buffers import Buffers
from deconflict.strategic.containment import active_volumes, within_volumes
from deconflict.strategic.volume import Volume
from deconflict.units import Altitude, AltitudeMargins, AltitudeReference
from tests.builders import T0_S, box, circle
from tests.strategic.reference import BAND_M, Shape, geodesic_m, point_to_polygon_m
from tests.strategic.strategies import (
    ALT0_M,
    ALT_STEP_M,
    LAT0,
    LON0,
    STEP_DEG,
    T_ORIGIN_S,
    T_STEP_S,
    Case,
    cases,
)

MSL = AltitudeReference.MSL


def reference(
    volumes: list[Volume],
    shapes: list[Shape],
    point: tuple[float, float, float],
    time_s: float,
    grow: Buffers,
) -> bool | None:
    """Whether the point is in one of the grown volumes; ``None`` within ``BAND_M`` of a horizontal edge."""
    lon, lat, alt = point
    margins = AltitudeMargins()
    unsure = False
    for volume, shape in zip(volumes, shapes, strict=True):
        if not (volume.time_start_s - grow.time_buffer_s <= time_s < volume.time_end_s + grow.time_buffer_s):
            continue
        low = volume.lower.msl_range_m(margins)[0] - grow.vertical_buffer_m
        high = volume.upper.msl_range_m(margins)[1] + grow.vertical_buffer_m
        if not low <= alt <= high:
            continue
        if shape.centre is not None:
            assert shape.radius_m is not None
            gap = float(geodesic_m(*shape.centre, lon, lat)) - shape.radius_m
        else:
            assert shape.polygon is not None
            gap = point_to_polygon_m(lon, lat, shape.polygon)
            if gap == 0.0:
                # On the edge up to rounding (the footprint's vertices may differ by an ulp): undecidable.
                if shapely.Point(lon, lat).distance(shape.polygon.boundary) < 1e-9:
                    unsure = True
                    continue
                return True
        if abs(gap - grow.buffer_m) <= BAND_M:
            unsure = True
        elif gap <= grow.buffer_m:
            return True
    return None if unsure else False


@st.composite
def points(draw: st.DrawFn, n: int) -> list[tuple[float, float, float]]:
    """Points on and around the strategies' grid: corners, edges, half-steps, just off them."""
    out = []
    for _ in range(n):
        i = draw(st.integers(-1, 7)) + draw(st.sampled_from([0.0, 0.5, 0.25, 1e-7, -1e-7, 0.02, -0.02]))
        j = draw(st.integers(-1, 7)) + draw(st.sampled_from([0.0, 0.5, 0.25, 1e-7, -1e-7, 0.02, -0.02]))
        a = draw(st.integers(-1, 6)) + draw(st.sampled_from([0.0, 0.5, 1e-6, -1e-6, 0.3, -0.3]))
        out.append((LON0 + i * STEP_DEG, LAT0 + j * STEP_DEG, ALT0_M + a * ALT_STEP_M))
    return out


@settings(max_examples=150, deadline=None)
@given(
    cases(min_size=1, max_size=5),
    points(12),
    st.integers(0, 6),
    st.sampled_from([0.0, 0.0, 1e-3, -1e-3, T_STEP_S / 2]),
    st.sampled_from(
        [Buffers(), Buffers(100.0, 30.0), Buffers(555.0, 152.4, 0.0), Buffers(1852.0, 0.0, 300.0)]
    ),
)
def test_agrees_with_the_reference(
    case: Case, pts: list[tuple[float, float, float]], k: int, dt_s: float, grow: Buffers
) -> None:
    time_s = T_ORIGIN_S + k * T_STEP_S + dt_s
    lon, lat, alt = (np.array(c) for c in zip(*pts, strict=True))
    found = within_volumes(case.volumes, lon, lat, alt, time_s, grow)
    for point, got in zip(pts, found.tolist(), strict=True):
        expected = reference(case.volumes, case.shapes, point, time_s, grow)
        if expected is not None:
            assert got == expected, (point, time_s, grow)


def _volume(
    footprint, lower_m: float = 0.0, upper_m: float = 3000.0, t0: float = T0_S, t1: float = T0_S + 3600
):  # type: ignore[no-untyped-def]
    return Volume("v", "blue", "op", footprint, Altitude(lower_m, MSL), Altitude(upper_m, MSL), t0, t1)


def test_window_start_counts_and_end_does_not() -> None:
    v = _volume(box(2.0, 48.0, 2.1, 48.1))
    at = ([2.05], [48.05], [1000.0])
    assert within_volumes([v], *at, T0_S).tolist() == [True]
    assert within_volumes([v], *at, T0_S - 1e-3).tolist() == [False]
    assert within_volumes([v], *at, T0_S + 3600).tolist() == [False]
    assert within_volumes([v], *at, T0_S + 3600, Buffers(0.0, 0.0, 60.0)).tolist() == [True]
    assert active_volumes([v], T0_S + 3600) == []


def test_band_edges_and_the_vertical_margin() -> None:
    v = _volume(box(2.0, 48.0, 2.1, 48.1), 1000.0, 2000.0)
    lon, lat = [2.05] * 4, [48.05] * 4
    assert within_volumes([v], lon, lat, [1000.0, 2000.0, 999.0, 2001.0], T0_S).tolist() == [
        True,
        True,
        False,
        False,
    ]
    grown = within_volumes([v], lon, lat, [850.0, 2150.0, 840.0, 2160.0], T0_S, Buffers(0.0, 152.4))
    assert grown.tolist() == [True, True, False, False]


def test_circle_margin_is_geodesic() -> None:
    v = _volume(circle(2.0, 48.0, 5000.0))
    # Due east 5.9 km and 6.1 km from the centre, found by the reference's geodesic.
    lons = np.linspace(2.0, 2.2, 20001)
    d = geodesic_m(2.0, 48.0, lons, 48.0)
    at_59, at_61 = lons[np.searchsorted(d, 5900.0)], lons[np.searchsorted(d, 6100.0)]
    found = within_volumes([v], [at_59, at_61], [48.0, 48.0], [100.0, 100.0], T0_S, Buffers(1000.0))
    assert found.tolist() == [True, False]


def test_polygon_margin_is_geodesic_at_high_latitude() -> None:
    # At 70° N a degree of longitude is 38 km: the margin in degrees differs east and north.
    v = _volume(box(20.0, 70.0, 20.5, 70.2))
    east = [20.5 + 1800.0 / 38_200.0, 20.5 + 1900.0 / 38_200.0]
    found = within_volumes([v], east, [70.1, 70.1], [100.0, 100.0], T0_S, Buffers(1852.0))
    expected = [point_to_polygon_m(x, 70.1, v.footprint.shape) <= 1852.0 for x in east]
    assert found.tolist() == expected == [True, False]


def test_many_points_vectorised_agree_with_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    volumes = [
        _volume(box(2.0, 48.0, 2.1, 48.1), 0.0, 1000.0),
        _volume(circle(2.3, 48.05, 3000.0), 500.0, 3000.0),
    ]
    lon = rng.uniform(1.9, 2.45, 400)
    lat = rng.uniform(47.95, 48.15, 400)
    alt = rng.uniform(0.0, 3500.0, 400)
    grow = Buffers(500.0, 100.0)
    together = within_volumes(volumes, lon, lat, alt, T0_S + 10, grow, undecided=False)
    alone = [
        within_volumes(volumes, [x], [y], [z], T0_S + 10, grow)[0]
        for x, y, z in zip(lon, lat, alt, strict=True)
    ]
    assert together.tolist() == [bool(a) for a in alone]
    assert 0 < together.sum() < 400


def test_polygons_at_many_latitudes_agree_with_the_reference_distance() -> None:
    # The local scaled frame decides most points near an edge; the reference measures every one.
    rng = np.random.default_rng(11)
    for lat0 in (-75.0, -40.0, -0.05, 12.0, 55.0, 79.0):
        v = _volume(box(20.0, lat0, 20.3, lat0 + 0.2))
        lon = rng.uniform(19.9, 20.4, 120)
        lat = rng.uniform(lat0 - 0.05, lat0 + 0.25, 120)
        found = within_volumes([v], lon, lat, np.full(120, 100.0), T0_S, Buffers(1852.0), undecided=False)
        for x, y, got in zip(lon, lat, found.tolist(), strict=True):
            gap = point_to_polygon_m(float(x), float(y), v.footprint.shape)
            if abs(gap - 1852.0) > BAND_M:
                assert got == (gap <= 1852.0), (lat0, x, y, gap)
