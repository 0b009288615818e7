"""One picture of the sky from a track file: the input of ``deconflict detect``.

A snapshot has one row per aircraft. When the file has report times, the
snapshot is taken at the latest one: older reports are dead-reckoned to it
(straight line along their track and vertical speed), and reports older than
the stale age are left out, as are aircraft the file flags ``on_ground`` and
those the :class:`~deconflict.tactical.states.GroundFilter` leaves out; each is
counted with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deconflict.errors import InputError, Problem
from deconflict.tactical.states import GroundFilter, States, dead_reckon, left_out
from deconflict.tactical.tracks import MAX_PROBLEMS, Tracks

__all__ = ["Snapshot", "take_snapshot"]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The aircraft a detection considers, and how many were left out.

    Attributes
    ----------
    ids, callsigns
        Per aircraft, aligned with ``states``.
    states
        Airborne, fresh states at ``time_s``.
    time_s
        The snapshot time (the latest report), ``None`` for a file without times.
    left_out
        How many aircraft were left out, per reason: ``stale`` (older than the
        stale age), then those of :data:`~deconflict.tactical.states.LEFT_OUT_REASONS`;
        each aircraft counts under its first reason only.
    """

    ids: NDArray[np.str_]
    callsigns: NDArray[np.str_]
    states: States
    time_s: float | None
    left_out: dict[str, int]


def take_snapshot(tracks: Tracks, stale_s: float, ground: GroundFilter) -> Snapshot:
    """The snapshot of a file that holds at most one row per aircraft.

    Raises
    ------
    InputError
        An aircraft appears in more than one row (use replay for tracks over time).
    """
    first_row: dict[str, int] = {}
    problems: list[Problem] = []
    for aircraft, row in zip(tracks.ids.tolist(), tracks.row.tolist(), strict=True):
        if aircraft in first_row and len(problems) < MAX_PROBLEMS:
            problems.append(
                Problem(
                    tracks.source,
                    f"aircraft {aircraft!r} already appears in row {first_row[aircraft]}; "
                    "a snapshot has one row per aircraft (replay reads tracks over time)",
                    f"row {row}",
                    "id",
                )
            )
        first_row.setdefault(aircraft, row)
    if problems:
        raise InputError(problems)

    states = tracks.states
    keep = np.ones(len(states), dtype=bool)
    time_s: float | None = None
    counts = {"stale": 0}
    if tracks.time_s is not None and len(states):
        time_s = float(tracks.time_s.max())
        age_s = time_s - tracks.time_s
        fresh = age_s <= stale_s
        counts["stale"] = int((~fresh).sum())
        keep &= fresh
        states = dead_reckon(states, age_s)
    for reason, mask in left_out(states, ground, tracks.on_ground).items():
        counts[reason] = int((keep & mask).sum())
        keep &= ~mask
    return Snapshot(
        ids=tracks.ids[keep],
        callsigns=tracks.callsigns[keep],
        states=states.take(keep),
        time_s=time_s,
        left_out=counts,
    )
