"""Covers contain their volumes: points inside (vertices, antimeridian, poles) fall in covered
cells, and every pair the exact engine finds in conflict shares a cell."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconflict.blind.cover import cover_footprint, cover_volume, cover_volumes, volume_intervals
from deconflict.blind.grid import GridParameters, cell_of_points
from deconflict.errors import BlindSessionError
from deconflict.geometry.geodesy import destination
from deconflict.geometry.overlap import gap_m
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import find_conflicts
from deconflict.strategic.volume import Volume
from tests.blind.strategies import CAP, grids, pairs, volume_with, volumes
from tests.builders import T0_S, box, circle
from tests.strategic.strategies import cases

SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_set(cells: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(row) for row in cells.tolist()}


def covered(v: Volume, params: GridParameters) -> set[tuple[int, ...]]:
    """The cover as a set; examples whose cover exceeds the cap (polar, fine grids) are skipped."""
    try:
        return as_set(cover_volume(v, params))
    except BlindSessionError:
        assume(False)
        raise


def footprint_points(v: Volume, rng: np.random.Generator, n: int, reach_m: float) -> np.ndarray:
    """(n, 2) lon/lat points inside the footprint grown by ``reach_m``: on and near its vertices,
    on its boundary, inside it, and ``reach_m`` (just under) away from it."""
    fp = v.footprint
    if fp.is_circle:
        assert fp.centre_lon_deg is not None and fp.centre_lat_deg is not None and fp.radius_m is not None
        az = rng.uniform(0.0, 360.0, n)
        dist = fp.radius_m * np.sqrt(rng.uniform(0.0, 1.0, n))
        dist[: n // 4] = fp.radius_m * (1.0 - 1e-12)  # on the circle
        dist[n // 4 : n // 2] = fp.radius_m + reach_m * (1.0 - 1e-9)  # as far as the buffer reaches
        lon, lat = destination(np.full(n, fp.centre_lon_deg), np.full(n, fp.centre_lat_deg), az, dist)
        return np.column_stack([lon, lat])
    parts = list(getattr(fp.shape, "geoms", [fp.shape]))
    vertices = np.concatenate([np.asarray(p.exterior.coords) for p in parts])
    pick = vertices[rng.integers(0, len(vertices), n)]
    if reach_m > 0.0:
        away_lon, away_lat = destination(
            pick[:, 0], pick[:, 1], rng.uniform(0.0, 360.0, n), reach_m * (1.0 - 1e-9) * rng.uniform(0, 1, n)
        )
        pick = np.column_stack([away_lon, away_lat])
    return pick


@SLOW
@given(grids(), volumes(), st.integers(0, 2**32 - 1))
def test_points_of_a_buffered_volume_fall_in_covered_cells(
    params: GridParameters, v: Volume, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    cover = covered(v, params)
    lonlat = footprint_points(v, rng, n, params.buffers.buffer_m)
    t0, t1, a0, a1 = volume_intervals(v, params)
    times = rng.uniform(t0, t1, n)
    times[:2] = (t0, t1)
    alts = rng.uniform(a0, a1, n)
    alts[:2] = (a0, a1)
    cells = cell_of_points(params, lonlat[:, 0], lonlat[:, 1], times, alts)
    missing = [row for row in cells.tolist() if tuple(row) not in cover]
    assert not missing, f"{len(missing)} points outside the cover, e.g. {missing[0]}"


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(180.0, 0.0), (-180.0, 0.0), (179.9999, 10.0), (-179.9999, -10.0), (0.0, 90.0), (12.0, -90.0)],
)
def test_seams_and_poles_are_covered_on_both_sides(lon: float, lat: float) -> None:
    params = GridParameters("s", cell_deg=0.5, slot_s=900.0, band_m=300.0, cap=10**6)
    v = volume_with(circle(lon, lat, 3_000.0), "v", "blue", T0_S, T0_S + 60.0, 0.0, 100.0)
    cover = as_set(cover_volume(v, params))
    columns = {c[0] for c in cover}
    if abs(lat) == 90.0:
        assert len(columns) == params.lon_cells  # a circle around a pole touches every column
    else:
        assert {0, params.lon_cells - 1} <= columns  # both sides of the antimeridian
    points = [(lon, lat), (-lon, lat)] if abs(lon) == 180.0 else [(lon, lat)]
    for x, y in points:
        (cell,) = cell_of_points(
            params, np.array([x]), np.array([y]), np.array([T0_S]), np.array([50.0])
        ).tolist()
        assert tuple(cell) in cover


def shares_a_cell(a: Volume, b: Volume, params: GridParameters) -> bool:
    """Whether the covers meet: per axis, as the product of the axes is what cover_volume builds
    (the points test checks that product)."""
    ta0, ta1, aa0, aa1 = volume_intervals(a, params)
    tb0, tb1, ab0, ab1 = volume_intervals(b, params)
    slots = (math.floor(ta0 / params.slot_s), math.floor(ta1 / params.slot_s))
    slots_b = (math.floor(tb0 / params.slot_s), math.floor(tb1 / params.slot_s))
    bands = (math.floor(aa0 / params.band_m), math.floor(aa1 / params.band_m))
    bands_b = (math.floor(ab0 / params.band_m), math.floor(ab1 / params.band_m))
    if max(slots[0], slots_b[0]) > min(slots[1], slots_b[1]) or max(bands[0], bands_b[0]) > min(
        bands[1], bands_b[1]
    ):
        return False
    horizontal_a = cover_footprint(a.footprint, params)
    assume(horizontal_a.shape[0] <= CAP)
    horizontal_b = cover_footprint(b.footprint, params)
    keys_a = horizontal_a[:, 0] * params.lat_cells + horizontal_a[:, 1]
    keys_b = horizontal_b[:, 0] * params.lat_cells + horizontal_b[:, 1]
    return bool(np.isin(keys_b, keys_a, kind="sort").any())


def check_pair(a: Volume, b: Volume, params: GridParameters) -> None:
    """No false negative; and a false positive is within a cell, a slot and a band."""
    with warnings.catch_warnings():
        # The engine's overlap area of two polar caps can come out NaN (geodesy.area_m2); its
        # decision, all this test reads, does not depend on that figure.
        warnings.filterwarnings("ignore", "invalid value encountered in area", RuntimeWarning)
        conflict = bool(find_conflicts([a, b], params.buffers, params.margins))
    shared = shares_a_cell(a, b, params)
    if conflict:
        assert shared, "a conflict the covers missed"
        return
    if not shared:
        return
    ta0, ta1, aa0, aa1 = volume_intervals(a, params)
    tb0, tb1, ab0, ab1 = volume_intervals(b, params)
    assert max(ta0, tb0) - min(ta1, tb1) <= params.slot_s
    assert max(aa0, ab0) - min(aa1, ab1) <= params.band_m
    cell_diagonal_m = params.cell_deg * 111_700.0 * math.sqrt(2.0)
    lat = max(abs(a.footprint.outer.bounds[1]), abs(a.footprint.outer.bounds[3]))
    if lat < 80.0:  # near the poles a column is narrow and a cell's width says little
        margin_m = 2.0 * params.buffers.buffer_m * 1.42 + 1.0
        assert (
            gap_m(a.footprint, b.footprint)
            <= cell_diagonal_m / max(math.cos(math.radians(lat + 1.0)), 0.1) + margin_m
        )


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_false_negatives_on_touching_and_near_touching_pairs(data: st.DataObject) -> None:
    params = data.draw(grids())
    a, b = data.draw(pairs(params.buffers.buffer_m))
    if max(abs(a.footprint.outer.bounds[1]), abs(a.footprint.outer.bounds[3])) > 80.0:
        # Near a pole a volume spans hundreds of thousands of fine cells: test there on coarser ones.
        params = dataclasses.replace(params, cell_deg=max(params.cell_deg, 0.25))
    check_pair(a, b, params)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([0.01, 0.02, 0.05]), st.sampled_from([0.0, 100.0]))
def test_no_false_negatives_on_the_engines_edge_cases(
    data: st.DataObject, cell: float, buffer_m: float
) -> None:
    # The strategic engine's own edge cases: shared edges and ends, float jitter, tangent circles;
    # every altitude reference, whose bounds (flight levels: stretched) the cover widens to MSL.
    reference = data.draw(st.sampled_from(["MSL", "STD", "AGL", "W84"]))
    case = data.draw(cases(min_size=2, max_size=6, reference=reference))
    params = GridParameters(
        "s", cell_deg=cell, slot_s=600.0, band_m=100.0, cap=10**7, buffers=Buffers(buffer_m, 40.0, 60.0)
    )
    vs = case.volumes
    for x in range(len(vs)):
        for y in range(x + 1, len(vs)):
            if vs[x].party != vs[y].party:
                check_pair(vs[x], vs[y], params)


def test_a_cover_larger_than_the_cap_is_refused_without_saying_where() -> None:
    v = volume_with(box(36.0, 35.0, 37.0, 36.0), "secret-id", "blue", T0_S, T0_S + 3600.0, 0.0, 100.0)
    params = GridParameters("s", cell_deg=0.1, slot_s=3600.0, band_m=1000.0, cap=10)
    with pytest.raises(BlindSessionError, match="cap of 10") as info:
        cover_volumes([v], params)
    assert "secret-id" not in str(info.value) and "36" not in str(info.value)


def test_cover_volumes_maps_cells_back_to_their_volumes() -> None:
    params = GridParameters("s", cell_deg=0.1, slot_s=3600.0, band_m=1000.0, cap=10**5)
    a = volume_with(box(36.0, 35.0, 36.05, 35.05), "a", "blue", T0_S + 10, T0_S + 20, 10.0, 20.0)
    b = volume_with(box(36.02, 35.02, 36.3, 35.3), "b", "blue", T0_S + 10, T0_S + 20, 10.0, 20.0)
    cover = cover_volumes([a, b], params)
    assert len(as_set(cover.cells)) == cover.cells.shape[0]
    for row, cell in enumerate(cover.cells.tolist()):
        owners = set(cover.volumes_of(np.array([row])).tolist())
        expected = {k for k, v in enumerate([a, b]) if tuple(cell) in as_set(cover_volume(v, params))}
        assert owners == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell_deg": 0.07}, "divide 180"),
        ({"cell_deg": 0.0}, "cell_deg"),
        ({"slot_s": 0.5}, "slot_s"),
        ({"band_m": float("nan")}, "band_m"),
        ({"cap": 0}, "cap"),
        ({"session_id": ""}, "session_id"),
        ({"session_id": "é"}, "session_id"),
        ({"buffers": Buffers(-1.0)}, "buffer_m"),
    ],
)
def test_grid_parameters_are_checked(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "session_id": "s",
        "cell_deg": 0.1,
        "slot_s": 900.0,
        "band_m": 300.0,
        "cap": 16,
    }
    with pytest.raises(ValueError, match=message):
        GridParameters(**{**base, **kwargs})  # type: ignore[arg-type]
