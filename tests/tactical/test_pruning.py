"""The pruning grid (altitude bands, cells adapted to density) never misses a pair whose boxes overlap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deconflict.tactical.pruning import _overlap_py, candidate_pairs, grid_cell_m

Float = np.ndarray


def brute_force(lo: Float, hi: Float, alt_lo: Float, alt_hi: Float) -> set[tuple[int, int]]:
    n = lo.shape[0]
    return {(i, j) for i in range(n) for j in range(i + 1, n) if _overlap_py(i, j, lo, hi, alt_lo, alt_hi)}


coordinates = st.floats(-50_000.0, 50_000.0)
sizes = st.floats(0.0, 40_000.0)


@st.composite
def boxes(draw: st.DrawFn) -> tuple[Float, Float, Float, Float]:
    n = draw(st.integers(2, 60))
    lo = draw(arrays(np.float64, (n, 3), elements=coordinates))
    hi = lo + draw(arrays(np.float64, (n, 3), elements=sizes))
    alt_lo = draw(arrays(np.float64, n, elements=st.floats(-500.0, 15_000.0)))
    alt_hi = alt_lo + draw(arrays(np.float64, n, elements=st.floats(0.0, 6000.0)))
    return lo, hi, alt_lo, alt_hi


@settings(max_examples=300, deadline=None)
@given(boxes(), st.none() | st.floats(1000.0, 100_000.0), st.none() | st.floats(10.0, 5000.0))
def test_the_grid_finds_exactly_the_overlapping_pairs(
    found: tuple[Float, Float, Float, Float], cell_m: float | None, band_m: float | None
) -> None:
    i, j = candidate_pairs(*found, cell_m=cell_m, band_m=band_m)
    pairs = list(zip(i.tolist(), j.tolist(), strict=True))
    assert len(pairs) == len(set(pairs))  # each once
    assert set(pairs) == brute_force(*found)


def test_dense_traffic_over_many_levels_is_found_as_one_level_would_be() -> None:
    # 3,000 boxes over 200 x 200 km and 10 km of altitude: the same pairs with bands as without.
    rng = np.random.default_rng(5)
    lo = np.column_stack([rng.uniform(0, 200_000, 3000), rng.uniform(0, 200_000, 3000), np.zeros(3000)])
    hi = lo + rng.uniform(5_000, 60_000, (3000, 3))
    alt_lo = rng.uniform(1000.0, 11_000.0, 3000)
    alt_hi = alt_lo + 305.0
    banded = candidate_pairs(lo, hi, alt_lo, alt_hi)
    one_band = candidate_pairs(lo, hi, alt_lo, alt_hi, band_m=1e9)
    assert set(zip(*(a.tolist() for a in banded), strict=True)) == set(
        zip(*(a.tolist() for a in one_band), strict=True)
    )


def test_the_cell_size_never_exceeds_the_boxes_and_shrinks_in_dense_traffic() -> None:
    rng = np.random.default_rng(9)
    # Sparse: cubes far apart keep cells the size of the boxes.
    lo = rng.uniform(0, 1_000_000, (5000, 3))
    assert grid_cell_m(lo, lo + 50_000.0, np.ones(5000, dtype=np.int64), 1) == 50_000.0
    # Dense: long thin swept paths (40 km by 3 km) crowded over 200 x 200 km, a flat sky: smaller
    # cells register each box a few more times but compare far fewer pairs.
    n = 20_000
    lo = np.column_stack([rng.uniform(0, 200_000, n), rng.uniform(0, 200_000, n), rng.uniform(0, 2000, n)])
    extent = np.full((n, 3), 3000.0)
    extent[np.arange(n), rng.integers(0, 2, n)] += 40_000.0
    cell_m = grid_cell_m(lo, lo + extent, np.ones(n, dtype=np.int64), 1)
    assert cell_m < 43_000.0 / 2.0
    # and the pairs are the same.
    alt = np.zeros(n), np.ones(n)
    adapted = candidate_pairs(
        lo[:3000], lo[:3000] + extent[:3000], alt[0][:3000], alt[1][:3000], cell_m=cell_m
    )
    plain = candidate_pairs(
        lo[:3000], lo[:3000] + extent[:3000], alt[0][:3000], alt[1][:3000], cell_m=43_000.0
    )
    assert sorted(zip(*(a.tolist() for a in adapted), strict=True)) == sorted(
        zip(*(a.tolist() for a in plain), strict=True)
    )
