"""Aircraft states as arrays: the detector's input, ground filtering, dead reckoning."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deconflict.geometry.geodesy import destination

__all__ = ["LEFT_OUT_REASONS", "GroundFilter", "States", "airborne", "dead_reckon", "left_out"]

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
    """Which states the detector leaves out, besides those the data says are on the ground.

    Ground status comes from the data (a track's ``on_ground`` flag), never from
    altitude alone: a hovering helicopter, a drone at 300 ft or a low-level route
    is airborne. A deployment or a replay may still choose the filters below.

    Attributes
    ----------
    min_alt_m
        Altitude floor: states at or below it are left out. ``None`` (the default):
        no floor. A floor suits recordings without a ground flag, where pressure
        altitude reads near zero (or negative) for aircraft on the ground.
    min_gs_mps
        States slower than this are left out; 0 by default, because a hovering
        helicopter or an aircraft at 0 kt is still airborne.
    """

    min_alt_m: float | None = None
    min_gs_mps: float = 0.0


LEFT_OUT_REASONS = ("on_ground", "below_min_alt", "too_slow")
"""Why :func:`left_out` leaves a state out, in the order the reasons are tested."""


def left_out(states: States, ground: GroundFilter, on_ground: ArrayLike | None = None) -> dict[str, Bool]:
    """Per reason of :data:`LEFT_OUT_REASONS`, the mask of the states left out for it.

    Each state counts under its first reason only, so the masks are disjoint.
    ``on_ground`` is one flag per state (``None``: the data has none).

    Examples
    --------
    >>> alt_m, gs_mps = [-30.0, 300.0, 3000.0], [10.0, 80.0, 0.0]
    >>> s = States([0.0] * 3, [0.0, 0.1, 0.2], alt_m, gs_mps, [0.0] * 3, [0.0] * 3)
    >>> masks = left_out(s, GroundFilter(304.8), [True, False, False])
    >>> {k: v.nonzero()[0].tolist() for k, v in masks.items()}
    {'on_ground': [0], 'below_min_alt': [1], 'too_slow': []}
    """
    remaining = np.ones(len(states), dtype=bool)
    masks: dict[str, Bool] = {}
    tests = {
        "on_ground": None if on_ground is None else np.asarray(on_ground, dtype=bool),
        "below_min_alt": None if ground.min_alt_m is None else states.alt_m <= ground.min_alt_m,
        "too_slow": states.gs_mps < ground.min_gs_mps,
    }
    for reason in LEFT_OUT_REASONS:
        test = tests[reason]
        masks[reason] = np.zeros(len(states), dtype=bool) if test is None else test & remaining
        remaining &= ~masks[reason]
    return masks


def airborne(states: States, ground: GroundFilter, on_ground: ArrayLike | None = None) -> Bool:
    """Mask of the states the detector should consider (none of :func:`left_out`'s reasons).

    Examples
    --------
    >>> alt_m = [-30.0, 304.8, 3000.0]
    >>> s = States([0.0] * 3, [0.0, 0.1, 0.2], alt_m, [10.0, 80.0, 0.0], [0.0] * 3, [0.0] * 3)
    >>> airborne(s, GroundFilter()).tolist()
    [True, True, True]
    >>> airborne(s, GroundFilter(min_alt_m=304.8)).tolist()
    [False, False, True]
    >>> airborne(s, GroundFilter(), on_ground=[False, True, False]).tolist()
    [True, False, True]
    """
    flying = np.ones(len(states), dtype=bool)
    for mask in left_out(states, ground, on_ground).values():
        flying &= ~mask
    return flying


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
