"""The live picture's aircraft: posted states, the track table that holds them, what a party sees."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.gating import Kinematics, Refusal, check_cap, implausible
from deconflict.channel.live.settings import LiveSettings
from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.tactical.states import States

__all__ = [
    "COLUMNS",
    "TRAIL_STEP_S",
    "Aircraft",
    "ForeignTrack",
    "FreshStates",
    "Intake",
    "OwnTrack",
    "Pair",
    "PartyPicture",
    "TrackState",
    "TrackTable",
    "TrailPoint",
]

TRAIL_STEP_S = 5.0
"""A trail keeps at most one point per this many seconds (a 1 Hz feed would make trails heavy)."""

COLUMNS = ("time_s", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")
"""The track table's state columns: the time, then :class:`~deconflict.tactical.states.States`' order."""
_GATE_COLUMNS = ("since_s", "on_ground")

Float = NDArray[np.float64]
Int = NDArray[np.int64]


@dataclass(frozen=True)
class TrackState:
    """One posted state of one of a party's aircraft (SI units, time in seconds since the epoch).

    ``on_ground`` comes from the party's data (never from altitude alone): an
    aircraft on the ground is shown to its party but left out of detection.
    """

    id: str
    callsign: str
    time_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float
    on_ground: bool = False


@dataclass(frozen=True)
class Intake:
    """What became of a batch of posted states: how many were taken, and why the others were not."""

    accepted: int
    refused: dict[str, int]


@dataclass(frozen=True)
class TrailPoint:
    """A past position of an own aircraft."""

    time_s: float
    lon_deg: float
    lat_deg: float
    alt_m: float


@dataclass(frozen=True)
class OwnTrack:
    """One of the caller's aircraft: its latest accepted state and its recent trail (oldest first)."""

    state: TrackState
    trail: tuple[TrailPoint, ...]


@dataclass(frozen=True)
class ForeignTrack:
    """Another party's aircraft as the caller may see it: kinematics under a reference, no identity.

    ``ref`` is the id of the alert (``a-<n>``) or incident (``i-<id>``) that
    makes it visible; the state is its latest accepted one.
    """

    ref: str
    party: str
    time_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float


@dataclass(frozen=True)
class PartyPicture:
    """What one party sees at ``time_s``: its own tracks and the foreign ones it may see."""

    time_s: float
    own: tuple[OwnTrack, ...]
    foreign: tuple[ForeignTrack, ...]


@dataclass(frozen=True, order=True)
class Aircraft:
    """An aircraft: its party and the party's own id for it."""

    party: str
    id: str


Pair = tuple[Aircraft, Aircraft]
"""Two aircraft of two parties, in order (``a < b``)."""


@dataclass(frozen=True, eq=False)
class FreshStates:
    """The aircraft whose latest state is fresh at a cycle: their slots, columns and track ages.

    Attributes
    ----------
    slots
        Each row's slot in the :class:`TrackTable`.
    columns
        ``lat_deg``, ``lon_deg``, ``alt_m``, ``gs_mps``, ``trk_deg``, ``vs_mps`` of the latest states.
    dt_s
        How old each latest state is.
    codes
        Each row's party code (:attr:`TrackTable.codes`).
    age_s
        How long each plausible track has run (NaN while it restarts after a refused state).
    on_ground
        The posted ground flag.
    """

    slots: Int
    columns: list[Float]
    dt_s: Float
    codes: Int
    age_s: Float
    on_ground: NDArray[np.bool_]


class TrackTable:
    """Every party's aircraft: the latest accepted state of each in columns, its trail, and the refused ones.

    One row (a *slot*) per aircraft, reused once the aircraft is forgotten; the
    columns are NumPy arrays so that a cycle takes the fresh states at once. Not
    thread-safe: the live picture holds its lock around every use.

    Attributes
    ----------
    columns
        The states' columns (:data:`COLUMNS`), plus ``since_s`` (when each
        aircraft's plausible track began) and ``on_ground`` (1.0 on the ground).
    party_code, used
        Per slot: the party's code (:attr:`codes`), and whether it holds a state.
    aircraft, callsigns
        Per slot: the aircraft (``None`` when free) and its latest callsign.
    latest, restarting
        Each slot's latest accepted state (the plausibility check's reference:
        the :data:`COLUMNS` and on_ground, as a tuple of floats), and the slots
        whose track restarts at their next good state (after a refused one).
    slots, codes
        Each party's slot per aircraft id, and each party's code.
    trails
        Each slot's recent positions.
    refused
        Each party's latest refused (implausible) state per aircraft id: the sweep's ghosts.
    """

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.columns: dict[str, Float] = {name: np.zeros(0) for name in (*COLUMNS, *_GATE_COLUMNS)}
        self.party_code: Int = np.zeros(0, dtype=np.int64)
        self.used = np.zeros(0, dtype=bool)
        self.aircraft: list[Aircraft | None] = []
        self.callsigns: list[str] = []
        self.latest: list[Kinematics | None] = []
        self.restarting: set[int] = set()
        self._free: list[int] = []
        self.slots: dict[str, dict[str, int]] = {}
        self.codes: dict[str, int] = {}
        self.trails: dict[int, deque[TrailPoint]] = {}
        self.refused: dict[str, dict[str, Kinematics]] = {}

    def _slot(self, party: str, aircraft_id: str) -> int:
        """The slot of an aircraft, made when new."""
        slots = self.slots.setdefault(party, {})
        found = slots.get(aircraft_id)
        if found is not None:
            return found
        if self._free:
            slot = self._free.pop()
            self.aircraft[slot] = Aircraft(party, aircraft_id)
            self.callsigns[slot] = ""
            self.latest[slot] = None
        else:
            slot = len(self.aircraft)
            if slot >= self.used.size:
                capacity = max(64, 2 * self.used.size)
                for name, column in self.columns.items():
                    self.columns[name] = np.resize(column, capacity)
                self.party_code = np.resize(self.party_code, capacity)
                grown = np.zeros(capacity, dtype=bool)
                grown[: self.used.size] = self.used
                self.used = grown
            self.aircraft.append(Aircraft(party, aircraft_id))
            self.callsigns.append("")
            self.latest.append(None)
        code = self.codes.setdefault(party, len(self.codes))
        self.party_code[slot] = code
        self.used[slot] = False  # no state yet
        slots[aircraft_id] = slot
        return slot

    def take(self, party: str, states: Sequence[TrackState], now_s: float) -> Intake:
        """Take ``party``'s aircraft states; what was accepted, and why the rest was not.

        A state is not accepted (and not an error) when it is no newer than the
        aircraft's latest, already stale, above ``max_alt_m``, its altitude
        jumps from the latest faster than ``max_vs_mps`` allows, or its
        kinematics are implausible (:func:`~deconflict.channel.gating.implausible`;
        the aircraft's track then restarts, and with it its probation).

        Raises
        ------
        InputError
            A state more than ``stale_s`` in the future (a clock off, or a wrong
            time zone), naming ``states[i].time``; or a batch that would take
            the party over its aircraft cap, naming the setting. Nothing is taken then.
        """
        from deconflict.tactical.tracks import altitude_jumps

        tracking = self.settings.tracking
        gating = self.settings.gating
        problems = [
            Problem(
                "request",
                f"{s.time_s - now_s:.1f} s in the future (at most {tracking.stale_s:g} s allowed)",
                f"states[{i}] (id {s.id})",
                f"states[{i}].time",
            )
            for i, s in enumerate(states)
            if s.time_s > now_s + tracking.stale_s
        ]
        if problems:
            raise InputError(problems)
        accepted = 0
        refused: dict[str, int] = {}
        stale_s, max_alt_m, max_vs_mps = tracking.stale_s, tracking.max_alt_m, tracking.max_vs_mps
        columns = self.columns  # its arrays are replaced when they grow: index them through it
        held = self.slots.get(party, {})
        new = len({s.id for s in states if s.id not in held})
        if new:
            check_cap(party, len(held), new, gating.max_aircraft_per_party)
        latest, restarting = self.latest, self.restarting
        ghosts = self.refused.get(party)
        for state in states:
            reason: Refusal | None = None
            slot = held.get(state.id)
            # The aircraft's latest accepted state, while its track goes on (not stale).
            previous = None if slot is None else latest[slot]
            now: Kinematics = (
                state.time_s,
                state.lat_deg,
                state.lon_deg,
                state.alt_m,
                state.gs_mps,
                state.trk_deg,
                state.vs_mps,
                1.0 if state.on_ground else 0.0,
            )
            if now_s - now[0] > stale_s:
                reason = Refusal.STALE
            elif now[3] > max_alt_m:
                reason = Refusal.ALTITUDE
            elif previous is not None:
                dt = now[0] - previous[0]
                if dt <= 0.0:
                    reason = Refusal.OLDER
                elif dt > stale_s:
                    previous = None
                elif altitude_jumps(now[3], previous[3], previous[6], dt, max_vs_mps):
                    reason = Refusal.ALTITUDE_JUMP
            if reason is None:
                if slot in restarting:
                    previous = None
                reason = implausible(gating, now, previous)
            if reason is not None:
                refused[reason.value] = refused.get(reason.value, 0) + 1
                if reason not in (Refusal.STALE, Refusal.OLDER):
                    if slot is not None:
                        restarting.add(slot)  # the track restarts at the next good state
                    if ghosts is None:
                        ghosts = self.refused.setdefault(party, {})
                    if state.id in ghosts or len(ghosts) < gating.max_aircraft_per_party:
                        ghosts[state.id] = now
                continue
            if ghosts:
                ghosts.pop(state.id, None)
            if slot is None:
                slot = self._slot(party, state.id)
                held = self.slots[party]
            if previous is None:
                columns["since_s"][slot] = now[0]
                restarting.discard(slot)
            for name, value in zip(COLUMNS, now, strict=False):
                columns[name][slot] = value
            if previous is None or previous[7] != now[7]:
                columns["on_ground"][slot] = now[7]
            latest[slot] = now
            self.used[slot] = True
            if state.callsign:
                self.callsigns[slot] = state.callsign
            self._add_trail(slot, state)
            accepted += 1
        return Intake(accepted, refused)

    def _add_trail(self, slot: int, state: TrackState) -> None:
        trail = self.trails.setdefault(slot, deque())
        if not trail or state.time_s - trail[-1].time_s >= TRAIL_STEP_S:
            trail.append(TrailPoint(state.time_s, state.lon_deg, state.lat_deg, state.alt_m))
        while trail and trail[0].time_s < state.time_s - self.settings.trail_s:
            trail.popleft()

    def state(self, slot: int) -> TrackState:
        """The latest accepted state of the aircraft in ``slot``."""
        aircraft = self.aircraft[slot]
        assert aircraft is not None
        c = self.columns
        time_s, lat_deg, lon_deg, alt_m, gs_mps, trk_deg, vs_mps = (float(c[n][slot]) for n in COLUMNS)
        on_ground = bool(c["on_ground"][slot])
        callsign = self.callsigns[slot]
        return TrackState(
            aircraft.id, callsign, time_s, lat_deg, lon_deg, alt_m, gs_mps, trk_deg, vs_mps, on_ground
        )

    def forget_old(self, now_s: float) -> None:
        """Forget aircraft not heard of for longer than the trail and the staleness."""
        keep_s = max(self.settings.trail_s, self.settings.tracking.stale_s)
        n = len(self.aircraft)
        old = np.flatnonzero(self.used[:n] & (self.columns["time_s"][:n] < now_s - keep_s))
        for slot in old.tolist():
            aircraft = self.aircraft[slot]
            assert aircraft is not None
            del self.slots[aircraft.party][aircraft.id]
            self.aircraft[slot] = None
            self.used[slot] = False
            self.latest[slot] = None
            self.restarting.discard(slot)
            self.trails.pop(slot, None)
            self._free.append(slot)

    def fresh(self, now_s: float) -> FreshStates:
        """The aircraft whose latest state is at most ``stale_s`` old at ``now_s``."""
        n = len(self.aircraft)
        times = self.columns["time_s"][:n]
        slots = np.flatnonzero(self.used[:n] & (now_s - times <= self.settings.tracking.stale_s))
        age_s = times[slots] - self.columns["since_s"][slots]
        if self.restarting:  # its last state was refused: no track until the next good one
            age_s[np.isin(slots, np.fromiter(self.restarting, np.int64))] = np.nan
        return FreshStates(
            slots=slots,
            columns=[self.columns[name][slots] for name in COLUMNS[1:]],
            dt_s=now_s - times[slots],
            codes=self.party_code[slots],
            age_s=age_s,
            on_ground=self.columns["on_ground"][slots] > 0.0,
        )

    def ghosts(self, now_s: float) -> tuple[States, Int, list[str]] | None:
        """The latest refused states still fresh, dead-reckoned to ``now_s``, with party codes and ids.

        Forgets the stale ones. ``None`` when there is none.
        """
        if not self.refused:
            return None
        from deconflict.tactical.states import States, dead_reckon

        stale_s = self.settings.tracking.stale_s
        rows: list[Kinematics] = []
        codes: list[int] = []
        ids: list[str] = []
        for party, refused in list(self.refused.items()):
            for aircraft_id, state in list(refused.items()):
                if now_s - state[0] > stale_s:
                    del refused[aircraft_id]
                    continue
                rows.append(state)
                codes.append(self.codes.setdefault(party, len(self.codes)))
                ids.append(aircraft_id)
            if not refused:
                del self.refused[party]
        if not rows:
            return None
        table = np.array(rows, dtype=np.float64)
        # A lie's speed may be anything: bounded (100 km/s) so that reckoning stays finite.
        gs_mps = np.clip(table[:, 4], 0.0, 1e5)
        states = States(table[:, 1], table[:, 2], table[:, 3], gs_mps, table[:, 5], table[:, 6])
        return dead_reckon(states, now_s - table[:, 0]), np.array(codes, dtype=np.int64), ids

    def parties(self) -> dict[int, str]:
        """Each party code's party."""
        return {code: party for party, code in self.codes.items()}

    def own_tracks(self, party: str, now_s: float) -> tuple[OwnTrack, ...]:
        """``party``'s aircraft with a state, by id, with their trails."""
        start_s = now_s - self.settings.trail_s
        return tuple(
            OwnTrack(self.state(slot), tuple(p for p in self.trails.get(slot, ()) if p.time_s >= start_s))
            for _, slot in sorted(self.slots.get(party, {}).items())
            if self.used[slot]
        )

    def foreign(self, ref: str, other: Aircraft) -> list[ForeignTrack]:
        """``other`` as a foreign track under ``ref`` (none when it has no state)."""
        slot = self.slots.get(other.party, {}).get(other.id)
        if slot is None or not self.used[slot]:
            return []
        s = self.state(slot)
        return [
            ForeignTrack(
                ref, other.party, s.time_s, s.lat_deg, s.lon_deg, s.alt_m, s.gs_mps, s.trk_deg, s.vs_mps
            )
        ]

    def count(self) -> int:
        """Aircraft with a state held now (fresh or not)."""
        return int(self.used[: len(self.aircraft)].sum())
