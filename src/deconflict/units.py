"""Units people use (ft, FL, kt, NM, ft/min) to SI, and altitude references.

Altitudes given against different references can only be compared exactly
where the data allows it. Two values of the *same* reference at the *same*
place compare exactly (AGL against AGL: the terrain under a shared point is the
same for both). Across references we have no geoid, terrain or weather model,
so each value is widened to an interval of possible heights above mean sea
level by documented conservative margins (:class:`AltitudeMargins`): a mixed
comparison may over-report a conflict, never under-report one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FL_TO_M",
    "FT_PER_MIN_TO_MPS",
    "FT_TO_M",
    "KT_TO_MPS",
    "NM_TO_M",
    "REFERENCE_CODES",
    "Altitude",
    "AltitudeMargins",
    "AltitudeReference",
    "altitude_to_m",
    "msl_bounds_array",
    "msl_bounds_m",
]

FT_TO_M = 0.3048
"""International foot, exactly."""
NM_TO_M = 1852.0
"""International nautical mile, exactly."""
KT_TO_MPS = NM_TO_M / 3600.0
"""Knot to metres per second."""
FT_PER_MIN_TO_MPS = FT_TO_M / 60.0
"""Feet per minute to metres per second."""
FL_TO_M = 100.0 * FT_TO_M
"""One flight level (100 ft of pressure altitude) in metres."""

ALTITUDE_UNITS = ("m", "ft", "FL")


class AltitudeReference(StrEnum):
    """What an altitude is measured from."""

    W84 = "W84"
    """Height above the WGS 84 ellipsoid."""
    MSL = "MSL"
    """Height above mean sea level (the geoid)."""
    AGL = "AGL"
    """Height above ground level."""
    STD = "STD"
    """Pressure altitude on the standard setting 1013.25 hPa (flight levels)."""


def altitude_to_m(value: float, units: str) -> float:
    """Convert an altitude value in ``m``, ``ft`` or ``FL`` to metres.

    Feet and flight levels are rounded to the nanometre, so that whole feet come
    out as the decimal metres they are (3000 ft is 914.4 m, not 914.4000000000001).

    Examples
    --------
    >>> altitude_to_m(250, "FL")
    7620.0
    >>> altitude_to_m(3000, "ft")
    914.4
    """
    if units == "m":
        return float(value)
    if units == "ft":
        return round(float(value) * FT_TO_M, 9)
    if units == "FL":
        return round(float(value) * FL_TO_M, 9)
    raise ValueError(f"unknown altitude unit {units!r} (expected one of m, ft, FL)")


@dataclass(frozen=True)
class AltitudeMargins:
    """Conservative bounds used when altitudes of different references meet.

    Defaults cover the whole Earth; a deployment that knows its region narrows
    them in its settings (e.g. terrain -430 m .. 3000 m for the Levant).

    Attributes
    ----------
    geoid_min_m, geoid_max_m
        Range of the geoid undulation N (ellipsoid height = MSL height + N);
        EGM2008 spans about -106.2 m to +85.8 m.
    terrain_min_m, terrain_max_m
        Range of terrain elevation above MSL (Dead Sea shore to Everest).
    qnh_min_hpa, qnh_max_hpa
        Range of sea-level pressure for pressure altitudes (flight levels).
    pressure_m_per_hpa
        Height of one hPa near sea level (about 27-30 ft); taken on the high side.
    temperature_error_fraction
        Fraction of a pressure altitude by which non-standard temperature can
        move the true altitude (about 4 % per 10 K; 0.12 covers +-30 K).
    """

    geoid_min_m: float = -107.0
    geoid_max_m: float = 86.0
    terrain_min_m: float = -430.0
    terrain_max_m: float = 8849.0
    qnh_min_hpa: float = 940.0
    qnh_max_hpa: float = 1060.0
    pressure_m_per_hpa: float = 9.0
    temperature_error_fraction: float = 0.12


def msl_bounds_m(
    lower_m: float, upper_m: float, reference: AltitudeReference, margins: AltitudeMargins
) -> tuple[float, float]:
    """Widest possible MSL interval for a band given against ``reference``.

    Examples
    --------
    >>> msl_bounds_m(100.0, 200.0, AltitudeReference.MSL, AltitudeMargins())
    (100.0, 200.0)
    >>> msl_bounds_m(100.0, 200.0, AltitudeReference.W84, AltitudeMargins())
    (14.0, 307.0)
    """
    if not (math.isfinite(lower_m) and math.isfinite(upper_m)):
        raise ValueError("altitudes must be finite")
    if reference is AltitudeReference.MSL:
        return lower_m, upper_m
    if reference is AltitudeReference.W84:
        return lower_m - margins.geoid_max_m, upper_m - margins.geoid_min_m
    if reference is AltitudeReference.AGL:
        return lower_m + margins.terrain_min_m, upper_m + margins.terrain_max_m
    # Pressure altitude: sea-level pressure shifts the whole scale, temperature
    # stretches it; take the extremes of both.
    low_shift = (margins.qnh_min_hpa - 1013.25) * margins.pressure_m_per_hpa
    high_shift = (margins.qnh_max_hpa - 1013.25) * margins.pressure_m_per_hpa
    stretch = margins.temperature_error_fraction
    return (
        lower_m - stretch * abs(lower_m) + low_shift,
        upper_m + stretch * abs(upper_m) + high_shift,
    )


REFERENCE_CODES: dict[AltitudeReference, int] = {ref: code for code, ref in enumerate(AltitudeReference)}
"""A small integer per reference, for vectorised comparisons."""


def msl_bounds_array(
    value_m: NDArray[np.float64], reference_code: NDArray[np.int8], margins: AltitudeMargins
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`msl_bounds_m` of single values, element-wise, with the same arithmetic.

    Examples
    --------
    >>> codes = np.array([REFERENCE_CODES[AltitudeReference.W84]], dtype=np.int8)
    >>> lo, hi = msl_bounds_array(np.array([100.0]), codes, AltitudeMargins())
    >>> (float(lo[0]), float(hi[0])) == msl_bounds_m(100.0, 100.0, AltitudeReference.W84, AltitudeMargins())
    True
    """
    # Per reference: bounds = value -/+ stretch * |value| + shift, in msl_bounds_m's order of
    # operations (a zero stretch or shift leaves the value exact): a few gathers instead of
    # a masked assignment per reference, which cost more than the arithmetic on a filing's pairs.
    stretch, low_shift, high_shift = _msl_tables(margins)
    magnitude = np.abs(value_m)
    low_stretch = stretch[reference_code] * magnitude
    return (value_m - low_stretch) + low_shift[reference_code], (value_m + low_stretch) + high_shift[
        reference_code
    ]


@lru_cache(maxsize=8)
def _msl_tables(
    margins: AltitudeMargins,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """By reference code: the stretch of |value| and the lower and upper shifts of :func:`msl_bounds_m`.

    Read-only: one set of tables per margins (constants, whatever is filed).
    """
    stretch = np.zeros(len(REFERENCE_CODES))
    low_shift = np.zeros(len(REFERENCE_CODES))
    high_shift = np.zeros(len(REFERENCE_CODES))
    w84 = REFERENCE_CODES[AltitudeReference.W84]
    low_shift[w84], high_shift[w84] = -margins.geoid_max_m, -margins.geoid_min_m
    agl = REFERENCE_CODES[AltitudeReference.AGL]
    low_shift[agl], high_shift[agl] = margins.terrain_min_m, margins.terrain_max_m
    std = REFERENCE_CODES[AltitudeReference.STD]
    stretch[std] = margins.temperature_error_fraction
    low_shift[std] = (margins.qnh_min_hpa - 1013.25) * margins.pressure_m_per_hpa
    high_shift[std] = (margins.qnh_max_hpa - 1013.25) * margins.pressure_m_per_hpa
    for table in (stretch, low_shift, high_shift):
        table.setflags(write=False)
    return stretch, low_shift, high_shift


@dataclass(frozen=True)
class Altitude:
    """One altitude: metres above ``reference``.

    Examples
    --------
    >>> round(Altitude(3000 * FT_TO_M, AltitudeReference.MSL).value_m, 6)
    914.4
    """

    value_m: float
    reference: AltitudeReference

    def msl_range_m(self, margins: AltitudeMargins) -> tuple[float, float]:
        """Lowest and highest possible height above MSL."""
        return msl_bounds_m(self.value_m, self.value_m, self.reference, margins)
