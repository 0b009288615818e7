"""Units and altitude references: exact conversions, conservative MSL bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.units import (
    FT_PER_MIN_TO_MPS,
    FT_TO_M,
    KT_TO_MPS,
    NM_TO_M,
    REFERENCE_CODES,
    Altitude,
    AltitudeMargins,
    AltitudeReference,
    altitude_to_m,
    msl_bounds_array,
    msl_bounds_m,
)

MARGINS = AltitudeMargins()


def test_constants_are_the_exact_definitions() -> None:
    assert FT_TO_M == 0.3048
    assert NM_TO_M == 1852.0
    assert KT_TO_MPS == 1852.0 / 3600.0
    assert FT_PER_MIN_TO_MPS == 0.3048 / 60.0
    assert round(100 * KT_TO_MPS, 9) == 51.444444444


@pytest.mark.parametrize(
    ("value", "units", "expected_m"),
    [
        (0, "m", 0.0),
        (1234.5, "m", 1234.5),
        (-430, "m", -430.0),
        (1000, "ft", 304.8),
        (3000, "ft", 914.4),
        (250, "FL", 7620.0),
        (1, "FL", 30.48),
        (195, "FL", 5943.6),
        (0, "FL", 0.0),
    ],
)
def test_altitude_to_m(value: float, units: str, expected_m: float) -> None:
    assert altitude_to_m(value, units) == pytest.approx(expected_m, abs=1e-9)


def test_flight_levels_are_exact_to_the_nanometre() -> None:
    # FL 250 is 25 000 ft = 7620 m exactly; no float noise in the reported band.
    assert altitude_to_m(250, "FL") == 7620.0
    assert altitude_to_m(330, "FL") == 10058.4


def test_feet_are_exact_to_the_nanometre() -> None:
    # 3000 * 0.3048 is 914.4000000000001 in floating point; it echoed so in every answer.
    assert altitude_to_m(3000, "ft") == 914.4
    assert altitude_to_m(5000, "ft") == 1524.0
    assert str(altitude_to_m(3000, "ft")) == "914.4"


@pytest.mark.parametrize("units", ["km", "M", "feet", "fl", "", "hPa"])
def test_unknown_altitude_unit_is_refused_with_its_name(units: str) -> None:
    with pytest.raises(ValueError, match=f"unknown altitude unit '{units}'"):
        altitude_to_m(100, units)


def test_same_reference_msl_is_exact() -> None:
    assert msl_bounds_m(100.0, 200.0, AltitudeReference.MSL, MARGINS) == (100.0, 200.0)


def test_w84_is_widened_by_the_geoid_range() -> None:
    # MSL height = ellipsoid height - N, N in [-107, 86].
    assert msl_bounds_m(100.0, 200.0, AltitudeReference.W84, MARGINS) == (100.0 - 86.0, 200.0 + 107.0)


def test_agl_is_widened_by_the_terrain_range() -> None:
    assert msl_bounds_m(0.0, 150.0, AltitudeReference.AGL, MARGINS) == (-430.0, 150.0 + 8849.0)


def test_flight_levels_are_widened_by_pressure_and_temperature() -> None:
    # FL100 = 3048 m pressure altitude. QNH 940..1060 hPa at 9 m/hPa, +-12 % temperature.
    lower, upper = msl_bounds_m(3048.0, 3048.0, AltitudeReference.STD, MARGINS)
    assert lower == pytest.approx(3048.0 - 0.12 * 3048.0 + (940.0 - 1013.25) * 9.0, abs=1e-9)
    assert upper == pytest.approx(3048.0 + 0.12 * 3048.0 + (1060.0 - 1013.25) * 9.0, abs=1e-9)
    assert (round(lower, 2), round(upper, 2)) == (2022.99, 3834.51)


def test_negative_pressure_altitude_still_widens_outward() -> None:
    lower, upper = msl_bounds_m(-100.0, -50.0, AltitudeReference.STD, MARGINS)
    assert lower < -100.0 - 0.12 * 100.0
    assert upper > -50.0


def test_narrower_regional_margins_narrow_the_bounds() -> None:
    levant = AltitudeMargins(geoid_min_m=10.0, geoid_max_m=30.0, terrain_min_m=-430.0, terrain_max_m=3000.0)
    assert msl_bounds_m(100.0, 200.0, AltitudeReference.W84, levant) == (70.0, 190.0)
    assert msl_bounds_m(0.0, 100.0, AltitudeReference.AGL, levant) == (-430.0, 3100.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_msl_bounds_refuse_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        msl_bounds_m(bad, 100.0, AltitudeReference.MSL, MARGINS)
    with pytest.raises(ValueError, match="finite"):
        msl_bounds_m(0.0, bad, AltitudeReference.W84, MARGINS)


def test_altitude_msl_range_is_the_band_of_one_value() -> None:
    assert Altitude(500.0, AltitudeReference.MSL).msl_range_m(MARGINS) == (500.0, 500.0)
    assert Altitude(500.0, AltitudeReference.W84).msl_range_m(MARGINS) == (414.0, 607.0)


def test_reference_names_are_the_product_contract() -> None:
    assert [str(r) for r in AltitudeReference] == ["W84", "MSL", "AGL", "STD"]


heights = st.floats(min_value=-500.0, max_value=20_000.0, allow_nan=False)
fractions = st.floats(min_value=0.0, max_value=1.0)


@settings(max_examples=200, deadline=None)
@given(value_m=heights, where=fractions)
def test_w84_bounds_contain_every_possible_msl_height(value_m: float, where: float) -> None:
    undulation_m = MARGINS.geoid_min_m + where * (MARGINS.geoid_max_m - MARGINS.geoid_min_m)
    lower, upper = msl_bounds_m(value_m, value_m, AltitudeReference.W84, MARGINS)
    assert lower <= value_m - undulation_m <= upper


@settings(max_examples=200, deadline=None)
@given(value_m=heights, where=fractions)
def test_agl_bounds_contain_every_possible_msl_height(value_m: float, where: float) -> None:
    terrain_m = MARGINS.terrain_min_m + where * (MARGINS.terrain_max_m - MARGINS.terrain_min_m)
    lower, upper = msl_bounds_m(value_m, value_m, AltitudeReference.AGL, MARGINS)
    assert lower <= value_m + terrain_m <= upper


@settings(max_examples=200, deadline=None)
@given(
    pressure_alt_m=heights,
    qnh_where=fractions,
    temperature=st.floats(min_value=-0.12, max_value=0.12),
    m_per_hpa=st.floats(min_value=7.5, max_value=9.0),
)
def test_flight_level_bounds_contain_every_modelled_true_altitude(
    pressure_alt_m: float, qnh_where: float, temperature: float, m_per_hpa: float
) -> None:
    qnh_hpa = MARGINS.qnh_min_hpa + qnh_where * (MARGINS.qnh_max_hpa - MARGINS.qnh_min_hpa)
    true_m = pressure_alt_m * (1.0 + temperature) + (qnh_hpa - 1013.25) * m_per_hpa
    lower, upper = msl_bounds_m(pressure_alt_m, pressure_alt_m, AltitudeReference.STD, MARGINS)
    assert lower - 1e-9 <= true_m <= upper + 1e-9


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
            st.sampled_from(list(AltitudeReference)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_msl_bounds_array_matches_the_scalar_bounds_exactly(
    values: list[tuple[float, AltitudeReference]],
) -> None:
    margins = AltitudeMargins()
    value_m = np.array([v for v, _ in values])
    codes = np.array([REFERENCE_CODES[r] for _, r in values], dtype=np.int8)
    lo, hi = msl_bounds_array(value_m, codes, margins)
    for k, (v, ref) in enumerate(values):
        assert (lo[k], hi[k]) == msl_bounds_m(v, v, ref, margins)
