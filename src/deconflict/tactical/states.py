"""Aircraft states as arrays: the detector's input, ground filtering, dead reckoning."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deconflict.geometry.geodesy import destination

__all__ = ["GroundFilter", "States", "airborne", "dead_reckon"]

Float = NDArray[np.float64]
Bool = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class States:
    """One state per aircraft, as equal-length float arrays (SI units).

    Attributes
    ----------
    lat_deg, lon_deg
        WGS 84 position, degrees; any longitude is accepted (no wrapping needed).
    alt_m
        Altitude, metres; all aircraft must share one reference (e.g. all pressure altitude).
    gs_mps, trk_deg
        Ground speed (m/s, >= 0) and track angle (degrees true, clockwise from north).
    vs_mps
        Vertical speed, m/s, positive up.

    Raises
    ------
    ValueError
        Arrays of different lengths, not one-dimensional, or not finite.

    Examples
    --------
    >>> s = States([48.0, 48.1], [2.0, 2.0], [3000.0, 3000.0], [120.0, 0.0], [0.0, 0.0], [0.0, 0.0])
    >>> len(s), s.alt_m.dtype.name
    (2, 'float64')
    """

    lat_deg: Float
    lon_deg: Float
    alt_m: Float
    gs_mps: Float
    trk_deg: Float
    vs_mps: Float

    def __init__(
        self,
        lat_deg: ArrayLike,
        lon_deg: ArrayLike,
        alt_m: ArrayLike,
        gs_mps: ArrayLike,
        trk_deg: ArrayLike,
        vs_mps: ArrayLike,
    ) -> None:
        values = {
            "lat_deg": lat_deg,
            "lon_deg": lon_deg,
            "alt_m": alt_m,
            "gs_mps": gs_mps,
            "trk_deg": trk_deg,
            "vs_mps": vs_mps,
        }
        size: int | None = None
        for name, value in values.items():
            array = np.ascontiguousarray(value, dtype=np.float64)
            if array.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
            if size is None:
                size = array.size
            elif array.size != size:
                raise ValueError(f"{name} has {array.size} values, lat_deg has {size}")
            if not np.isfinite(array).all():
                bad = int(np.flatnonzero(~np.isfinite(array))[0])
                raise ValueError(f"{name}[{bad}] is {array[bad]}, not a finite number")
            object.__setattr__(self, name, array)
        if (self.lat_deg < -90.0).any() or (self.lat_deg > 90.0).any():
            raise ValueError("lat_deg must be within [-90, 90]")
        if (self.gs_mps < 0.0).any():
            raise ValueError("gs_mps must be >= 0")

    def __len__(self) -> int:
        return int(self.lat_deg.size)

    def take(self, index: ArrayLike) -> States:
        """The states at ``index`` (integer positions or a boolean mask)."""
        selector = np.asarray(index)
        return States(*(getattr(self, f.name)[selector] for f in fields(self)))


@dataclass(frozen=True)
class GroundFilter:
    """Which states are treated as on the ground (or in aerodrome traffic) and ignored.

    Attributes
    ----------
    min_alt_m
        States at or below this altitude are ignored. The default, 1000 ft, leaves
        out aircraft on the ground (pressure altitude can read negative there) and
        aerodrome traffic, which towers separate visually, not by 5 NM/1000 ft.
    min_gs_mps
        States slower than this are ignored; 0 by default, because a hovering
        helicopter or an aircraft at 0 kt is still airborne.
    """

    min_alt_m: float = 304.8
    min_gs_mps: float = 0.0


def airborne(states: States, ground: GroundFilter) -> Bool:
    """Mask of the states the detector should consider.

    Examples
    --------
    >>> alt_m = [-30.0, 304.8, 3000.0]
    >>> s = States([0.0] * 3, [0.0, 0.1, 0.2], alt_m, [10.0, 80.0, 0.0], [0.0] * 3, [0.0] * 3)
    >>> airborne(s, GroundFilter()).tolist()
    [False, False, True]
    """
    return (states.alt_m > ground.min_alt_m) & (states.gs_mps >= ground.min_gs_mps)


def dead_reckon(states: States, dt_s: ArrayLike) -> States:
    """Each state moved ``dt_s`` seconds along its track (geodesic) and vertical speed.

    Ground speed, track and vertical speed are kept; ``dt_s`` is a scalar or one
    value per aircraft and may be negative.

    Examples
    --------
    >>> s = States([0.0], [0.0], [1000.0], [100.0], [90.0], [5.0])
    >>> moved = dead_reckon(s, 10.0)
    >>> round(float(moved.lon_deg[0]), 6), float(moved.alt_m[0])
    (0.008983, 1050.0)
    """
    dt = np.broadcast_to(np.asarray(dt_s, dtype=np.float64), states.lat_deg.shape)
    lon, lat = destination(states.lon_deg, states.lat_deg, states.trk_deg, states.gs_mps * dt)
    return States(lat, lon, states.alt_m + states.vs_mps * dt, states.gs_mps, states.trk_deg, states.vs_mps)
