"""The public grid of a blind session: cells in longitude/latitude, time slots, altitude bands.

Both parties agree these parameters before a session; they are public (the
server sees them too) and say nothing about either plan.

The horizontal grid is regular in degrees: cell ``i`` spans longitudes
``[-180 + i c, -180 + (i + 1) c)`` and cell ``j`` latitudes ``[-90 + j c, -90 +
(j + 1) c)``, with ``c`` dividing 180 so that the columns wrap exactly at the
antimeridian (longitude 180 is column 0 again) and the top row ends at the pole
(latitude 90 belongs to the last row). A cell is about ``111 km * c`` tall
everywhere and ``cos(lat)`` times as wide: near the poles a cell is narrow and
a volume there covers many (bounded by the cap). Time slots are ``[k s, (k + 1) s)``
seconds since the Unix epoch; altitude bands ``[l h, (l + 1) h)`` metres above
MSL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from deconflict.strategic.buffers import Buffers
from deconflict.units import AltitudeMargins

__all__ = ["CELL_FIELDS", "GridParameters", "cell_of_points", "cell_size_deg_for"]

CELL_FIELDS = ("lon_index", "lat_index", "slot_index", "band_index")
"""The four integers of a cell, in the order of a cell array's columns."""

_M_PER_DEG_LAT = 111_320.0  # for choosing a cell size from metres (not for any bound)
_MAX_SESSION_ID = 128
# Sizes that divide 180 and read well, largest first.
_ROUND_SIZES_DEG = (
    10.0,
    5.0,
    2.0,
    1.0,
    0.5,
    0.25,
    0.2,
    0.1,
    0.05,
    0.04,
    0.025,
    0.02,
    0.01,
    0.005,
    0.004,
    0.0025,
    0.002,
    0.001,
)


def _divides_180(cell_deg: float) -> bool:
    count = 180.0 / cell_deg
    return abs(count - round(count)) < 1e-9 * count


@dataclass(frozen=True)
class GridParameters:
    """The public parameters of one blind session.

    Attributes
    ----------
    session_id
        Names the session; mixed into every cell's hash, so that blinded values of
        one session are useless in another (1 to 128 printable ASCII characters).
    cell_deg
        Horizontal cell size in degrees of longitude and latitude; must divide 180
        exactly (180 / cell_deg an integer), between 0.001 and 10.
    slot_s
        Time slot length in seconds (at least 1).
    band_m
        Altitude band height in metres above MSL (at least 1).
    buffers
        Grown around every volume before it is covered, as the exact engine grows them.
    cap
        Elements per party: each party's blinded set is padded to exactly this many.
    margins
        How altitudes of different references are widened to MSL (both parties must
        use the same).

    Raises
    ------
    ValueError
        On any parameter out of its range, naming it and the value.

    Examples
    --------
    >>> p = GridParameters("s-1", cell_deg=0.05, slot_s=900.0, band_m=300.0, cap=4096)
    >>> p.lon_cells, p.lat_cells
    (7200, 3600)
    """

    session_id: str
    cell_deg: float
    slot_s: float
    band_m: float
    cap: int
    buffers: Buffers = field(default_factory=Buffers)
    margins: AltitudeMargins = field(default_factory=AltitudeMargins)

    def __post_init__(self) -> None:
        sid = self.session_id
        if not (1 <= len(sid) <= _MAX_SESSION_ID and sid.isascii() and sid.isprintable()):
            raise ValueError(
                f"session_id must be 1 to {_MAX_SESSION_ID} printable ASCII characters, got {sid!r}"
            )
        if not (math.isfinite(self.cell_deg) and 0.001 <= self.cell_deg <= 10.0):
            raise ValueError(f"cell_deg must be between 0.001 and 10, got {self.cell_deg!r}")
        if not _divides_180(self.cell_deg):
            raise ValueError(f"cell_deg must divide 180 exactly, got {self.cell_deg!r}")
        if not (math.isfinite(self.slot_s) and self.slot_s >= 1.0):
            raise ValueError(f"slot_s must be at least 1 second, got {self.slot_s!r}")
        if not (math.isfinite(self.band_m) and self.band_m >= 1.0):
            raise ValueError(f"band_m must be at least 1 metre, got {self.band_m!r}")
        if isinstance(self.cap, bool) or not isinstance(self.cap, int) or not 1 <= self.cap <= 10_000_000:
            raise ValueError(f"cap must be an integer from 1 to 10,000,000, got {self.cap!r}")
        for name in ("buffer_m", "vertical_buffer_m", "time_buffer_s"):
            value = getattr(self.buffers, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"buffers.{name} must be a finite number >= 0, got {value!r}")

    @property
    def lon_cells(self) -> int:
        """Columns around the globe."""
        return round(360.0 / self.cell_deg)

    @property
    def lat_cells(self) -> int:
        """Rows from pole to pole."""
        return round(180.0 / self.cell_deg)

    def describe(self) -> str:
        """One canonical line of every parameter: what both parties sign and compare.

        Examples
        --------
        >>> GridParameters("s-1", cell_deg=0.5, slot_s=900.0, band_m=300.0, cap=16).describe()[:60]
        'blind-grid-v1 session=s-1 cell_deg=0.5 slot_s=900.0 band_m=3'
        """
        b, m = self.buffers, self.margins
        return (
            f"blind-grid-v1 session={self.session_id} cell_deg={self.cell_deg!r} slot_s={self.slot_s!r} "
            f"band_m={self.band_m!r} cap={self.cap} buffer_m={b.buffer_m!r} "
            f"vertical_buffer_m={b.vertical_buffer_m!r} time_buffer_s={b.time_buffer_s!r} "
            f"geoid_m={m.geoid_min_m!r},{m.geoid_max_m!r} terrain_m={m.terrain_min_m!r},{m.terrain_max_m!r} "
            f"qnh_hpa={m.qnh_min_hpa!r},{m.qnh_max_hpa!r} pressure_m_per_hpa={m.pressure_m_per_hpa!r} "
            f"temperature_error_fraction={m.temperature_error_fraction!r}"
        )


def cell_size_deg_for(cell_m: float) -> float:
    """The largest grid size in degrees (dividing 180) whose cells are at most ``cell_m`` tall.

    Examples
    --------
    >>> cell_size_deg_for(5_000.0)
    0.04
    """
    if not (math.isfinite(cell_m) and cell_m > 0.0):
        raise ValueError(f"cell size must be a positive number of metres, got {cell_m!r}")
    fitting = [c for c in _ROUND_SIZES_DEG if c * _M_PER_DEG_LAT <= cell_m]
    return fitting[0] if fitting else _ROUND_SIZES_DEG[-1]


def cell_of_points(
    params: GridParameters,
    lon_deg: NDArray[np.float64],
    lat_deg: NDArray[np.float64],
    time_s: NDArray[np.float64],
    alt_msl_m: NDArray[np.float64],
) -> NDArray[np.int64]:
    """The one cell each 4-D point lies in, as rows of :data:`CELL_FIELDS`.

    Longitudes wrap (180 is column 0, like -180); latitude 90 falls in the top row.
    """
    c = params.cell_deg
    lon = np.asarray(lon_deg, dtype=np.float64)
    i = np.floor((lon + 180.0) / c).astype(np.int64) % params.lon_cells
    j = np.clip(np.floor((np.asarray(lat_deg) + 90.0) / c).astype(np.int64), 0, params.lat_cells - 1)
    k = np.floor(np.asarray(time_s) / params.slot_s).astype(np.int64)
    band = np.floor(np.asarray(alt_msl_m) / params.band_m).astype(np.int64)
    return np.column_stack([i, j, k, band])
