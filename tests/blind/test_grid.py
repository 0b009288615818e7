"""The public grid: cells wrap at the antimeridian and end at the poles; parameters describe themselves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import deconflict.blind
from deconflict.blind import GridParameters, cell_size_deg_for
from deconflict.blind.grid import cell_of_points
from deconflict.strategic.buffers import Buffers

PARAMS = GridParameters("s", cell_deg=0.5, slot_s=900.0, band_m=300.0, cap=16)


def test_longitude_180_is_column_0_and_latitude_90_the_top_row() -> None:
    cells = cell_of_points(
        PARAMS,
        np.array([-180.0, 180.0, 179.9999, 0.0, 0.0]),
        np.array([0.0, 0.0, 0.0, 90.0, -90.0]),
        np.zeros(5),
        np.zeros(5),
    )
    assert cells[:, 0].tolist() == [0, 0, PARAMS.lon_cells - 1, 360, 360]
    assert cells[3, 1] == PARAMS.lat_cells - 1 and cells[4, 1] == 0


def test_slots_and_bands_are_half_open_and_signed() -> None:
    cells = cell_of_points(
        PARAMS, np.zeros(3), np.zeros(3), np.array([0.0, 899.999, 900.0]), np.array([-1.0, 0.0, 300.0])
    )
    assert cells[:, 2].tolist() == [0, 0, 1]
    assert cells[:, 3].tolist() == [-1, 0, 1]


@pytest.mark.parametrize(
    "change",
    [
        {"session_id": "t"},
        {"cell_deg": 0.25},
        {"slot_s": 600.0},
        {"band_m": 100.0},
        {"cap": 17},
        {"buffers": Buffers(1.0)},
        {"buffers": Buffers(0.0, 1.0)},
        {"buffers": Buffers(0.0, 0.0, 1.0)},
    ],
)
def test_every_parameter_changes_the_description_both_parties_compare(change: dict[str, object]) -> None:
    assert dataclasses.replace(PARAMS, **change).describe() != PARAMS.describe()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell_m", "cell_deg"), [(100_000.0, 0.5), (11_132.0, 0.1), (5_000.0, 0.04), (50.0, 0.001)]
)
def test_a_cell_size_in_metres_becomes_a_round_divisor_of_180(cell_m: float, cell_deg: float) -> None:
    assert cell_size_deg_for(cell_m) == cell_deg
    assert GridParameters(
        "s", cell_size_deg_for(cell_m), 900.0, 300.0, cap=1
    ).lat_cells * cell_deg == pytest.approx(180.0)


def test_the_public_api_is_what_all_says() -> None:
    for name in deconflict.blind.__all__:
        assert hasattr(deconflict.blind, name)
    assert sorted(deconflict.blind.__all__) == deconflict.blind.__all__
