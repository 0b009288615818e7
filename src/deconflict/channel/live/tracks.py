"""The live picture's aircraft: posted states, the track table that holds them, what a party sees."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.gating import NOT_REFUSED, REFUSALS, Kinematics, Refusal, check_cap, implausible_many
from deconflict.channel.live.settings import LiveSettings
from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.tactical.states import States

__all__ = [
    "COLUMNS",
    "TRAIL_STEP_S",
    "Aircraft",
    "AircraftSlots",
    "ForeignTrack",
    "FreshStates",
    "Intake",
    "OwnColumns",
    "OwnTrack",
    "Pair",
    "PartyColumns",
    "PartyPicture",
    "StateColumns",
    "TrackState",
    "TrackTable",
    "TrailPoint",
]

TRAIL_STEP_S = 5.0
"""A trail keeps at most one point per this many seconds (a 1 Hz feed would make trails heavy)."""

COLUMNS = ("time_s", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")
"""The track table's state columns: the time, then :class:`~deconflict.tactical.states.States`' order."""
_GATE_COLUMNS = ("since_s", "on_ground", "trail_s")
_TRAIL_COLUMNS = ("time_s", "lon_deg", "lat_deg", "alt_m")
"""A trail point's columns, in :class:`TrailPoint`'s order."""

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


@dataclass(frozen=True, eq=False)
class StateColumns:
    """A batch of posted states as columns (the :class:`TrackState` fields, in its order).

    ``ids`` and ``callsigns`` are lists (``""`` for no callsign); the rest are
    NumPy arrays of one value per state.
    """

    ids: list[str]
    callsigns: list[str]
    time_s: Float
    lat_deg: Float
    lon_deg: Float
    alt_m: Float
    gs_mps: Float
    trk_deg: Float
    vs_mps: Float
    on_ground: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, states: Sequence[TrackState]) -> StateColumns:
        """The columns of ``states``."""

        def column(name: str) -> Float:
            return np.fromiter((getattr(s, name) for s in states), np.float64, len(states))

        return cls(
            ids=[s.id for s in states],
            callsigns=[s.callsign for s in states],
            time_s=column("time_s"),
            lat_deg=column("lat_deg"),
            lon_deg=column("lon_deg"),
            alt_m=column("alt_m"),
            gs_mps=column("gs_mps"),
            trk_deg=column("trk_deg"),
            vs_mps=column("vs_mps"),
            on_ground=np.fromiter((s.on_ground for s in states), bool, len(states)),
        )

    def kinematics(self, rows: Int) -> list[Float]:
        """The ``Kinematics`` columns of ``rows`` (``on_ground`` 0.0 or 1.0)."""
        return [getattr(self, name)[rows] for name in COLUMNS] + [self.on_ground[rows].astype(np.float64)]


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


@dataclass(frozen=True, eq=False)
class OwnColumns:
    """A party's aircraft with a state, by id, as columns and without trails: the bulk view of a large fleet.

    Attributes
    ----------
    ids, callsigns
        Each aircraft's id and latest callsign (``""`` when none was posted).
    columns
        The latest states' :data:`COLUMNS` (``time_s``, ``lat_deg``, ...), one row per aircraft.
    """

    ids: tuple[str, ...]
    callsigns: tuple[str, ...]
    columns: dict[str, Float]

    def __len__(self) -> int:
        return len(self.ids)


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


@dataclass(frozen=True, eq=False)
class PartyColumns:
    """:class:`PartyPicture` without trails, the own aircraft as columns (:class:`OwnColumns`)."""

    time_s: float
    own: OwnColumns
    foreign: tuple[ForeignTrack, ...]


@dataclass(frozen=True, order=True)
class Aircraft:
    """An aircraft: its party and the party's own id for it."""

    party: str
    id: str


Pair = tuple[Aircraft, Aircraft]
"""Two aircraft of two parties, in order (``a < b``)."""


class AircraftSlots:
    """Each slot's aircraft (``None`` when free), read by slot as :class:`Aircraft`.

    Held as plain ``(party, id)`` tuples and made into an :class:`Aircraft`
    when read: the garbage collector stops tracking a tuple of strings, so
    the table's aircraft add nothing to its full collections (an object
    each, 100,000 aircraft added 100,000 objects to every one, walked with
    the interpreter held).

    Examples
    --------
    >>> slots = AircraftSlots()
    >>> slots.append("blue", "A1"), slots[0], len(slots)
    (0, Aircraft(party='blue', id='A1'), 1)
    >>> slots.free(0); list(slots)
    [None]
    """

    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: list[tuple[str, str] | None] = []

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, slot: int) -> Aircraft | None:
        name = self._names[slot]
        return None if name is None else Aircraft(*name)

    def __iter__(self) -> Iterator[Aircraft | None]:
        return (None if name is None else Aircraft(*name) for name in self._names)

    def names(self, slots: Sequence[int]) -> list[tuple[str, str]]:
        """The ``(party, id)`` of the aircraft in each of ``slots``, no object made (a cycle reads 100,000).

        Raises
        ------
        LookupError
            If one of ``slots`` holds no aircraft.

        >>> slots = AircraftSlots()
        >>> slots.append("blue", "A1"), slots.append("red", "R1")
        (0, 1)
        >>> slots.names([1, 0])
        [('red', 'R1'), ('blue', 'A1')]
        """
        held = self._names
        found = [held[slot] for slot in slots]
        if None in found:
            raise LookupError(f"slot {slots[found.index(None)]} holds no aircraft")
        return cast("list[tuple[str, str]]", found)

    def append(self, party: str, aircraft_id: str) -> int:
        """A new slot for the aircraft; its number."""
        self._names.append((party, aircraft_id))
        return len(self._names) - 1

    def put(self, slot: int, party: str, aircraft_id: str) -> None:
        """The aircraft in the free ``slot``."""
        self._names[slot] = (party, aircraft_id)

    def free(self, slot: int) -> None:
        """``slot`` holds no aircraft any more."""
        self._names[slot] = None


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


def _distinct_runs(ids: Sequence[str]) -> list[Int]:
    """``range(len(ids))`` cut into consecutive runs in which no id comes twice (one run, as a rule)."""
    runs: list[Int] = []
    seen: set[str] = set()
    start = 0
    for k, aircraft_id in enumerate(ids):
        if aircraft_id in seen:
            runs.append(np.arange(start, k))
            seen, start = set(), k
        seen.add(aircraft_id)
    runs.append(np.arange(start, len(ids)))
    return runs


class TrackTable:
    """Every party's aircraft: the latest accepted state of each in columns, its trail, and the refused ones.

    One row (a *slot*) per aircraft, reused once the aircraft is forgotten; the
    columns are NumPy arrays so that a cycle takes the fresh states at once. Not
    thread-safe: the live picture holds its lock around every use.

    Attributes
    ----------
    columns
        The states' columns (:data:`COLUMNS`: the latest accepted state, the
        plausibility check's reference), plus ``since_s`` (when each
        aircraft's plausible track began), ``on_ground`` (1.0 on the ground)
        and ``trail_s`` (the time of its latest trail point, NaN for none).
    party_code, used
        Per slot: the party's code (:attr:`codes`), and whether it holds a state.
    aircraft, callsigns
        Per slot: the aircraft (``None`` when free; :class:`AircraftSlots`) and its latest callsign.
    restarting
        The slots whose track restarts at their next good state (after a refused one).
    slots, codes
        Each party's slot per aircraft id, and each party's code.
    trails
        Each slot's recent positions as columns (:data:`_TRAIL_COLUMNS`): one row per
        trail point of a ring of :attr:`trail_points`, one column per slot;
        ``trail_count`` per slot counts the points written (read with :meth:`trail`).
    refused
        Each party's latest refused (implausible) state per aircraft id: the sweep's ghosts.
    """

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.columns: dict[str, Float] = {name: np.zeros(0) for name in (*COLUMNS, *_GATE_COLUMNS)}
        self.party_code: Int = np.zeros(0, dtype=np.int64)
        self.used = np.zeros(0, dtype=bool)
        self.aircraft = AircraftSlots()
        self.callsigns: list[str] = []
        self.restarting: set[int] = set()
        self._free: list[int] = []
        self.slots: dict[str, dict[str, int]] = {}
        self.codes: dict[str, int] = {}
        # Trails as arrays, never an object per point: at 100,000 aircraft and a 10-minute
        # trail, 12 million point objects took 3.4 GiB, and every full collection of the
        # garbage collector walked them all (3.8 s with the interpreter held).
        self.trail_points = math.floor(settings.trail_s / TRAIL_STEP_S) + 2
        self.trails: dict[str, Float] = {name: np.zeros((self.trail_points, 0)) for name in _TRAIL_COLUMNS}
        self.trail_count: Int = np.zeros(0, dtype=np.int64)
        self._trail_rows = 0  # ring rows ever written: only those are copied when the table grows
        self.refused: dict[str, dict[str, Kinematics]] = {}

    def _slot(self, party: str, aircraft_id: str) -> int:
        """The slot of an aircraft, made when new."""
        slots = self.slots.setdefault(party, {})
        found = slots.get(aircraft_id)
        if found is not None:
            return found
        if self._free:
            slot = self._free.pop()
            self.aircraft.put(slot, party, aircraft_id)
            self.callsigns[slot] = ""
        else:
            slot = len(self.aircraft)
            if slot >= self.used.size:
                capacity = max(64, 2 * self.used.size)
                for name, column in self.columns.items():
                    self.columns[name] = np.resize(column, capacity)
                self.party_code = np.resize(self.party_code, capacity)
                self.trail_count = np.resize(self.trail_count, capacity)
                rows = self._trail_rows
                for name, ring in self.trails.items():
                    # Zeros not yet written are not yet memory: copy only the rows in use.
                    grown_ring = np.zeros((self.trail_points, capacity))
                    grown_ring[:rows, : ring.shape[1]] = ring[:rows]
                    self.trails[name] = grown_ring
                grown = np.zeros(capacity, dtype=bool)
                grown[: self.used.size] = self.used
                self.used = grown
            self.aircraft.append(party, aircraft_id)
            self.callsigns.append("")
        code = self.codes.setdefault(party, len(self.codes))
        self.columns["trail_s"][slot] = np.nan  # no trail point yet
        self.trail_count[slot] = 0
        self.party_code[slot] = code
        self.used[slot] = False  # no state yet
        slots[aircraft_id] = slot
        return slot

    def take(self, party: str, states: Sequence[TrackState], now_s: float) -> Intake:
        """Take ``party``'s aircraft states (see :meth:`take_columns`)."""
        return self.take_columns(party, StateColumns.of(states), now_s)

    def take_columns(self, party: str, states: StateColumns, now_s: float) -> Intake:
        """Take ``party``'s aircraft states; what was accepted, and why the rest was not.

        A state is not accepted (and not an error) when it is no newer than the
        aircraft's latest, already stale, above ``max_alt_m``, its altitude
        jumps from the latest faster than ``max_vs_mps`` allows, or its
        kinematics are implausible (:func:`~deconflict.channel.gating.implausible`;
        the aircraft's track then restarts, and with it its probation).

        The states are judged as columns, in order: a batch naming an aircraft
        twice is taken in runs of distinct aircraft, each judged against what
        the runs before it took.

        Raises
        ------
        InputError
            A state more than ``stale_s`` in the future (a clock off, or a wrong
            time zone), naming ``states[i].time``; or a batch that would take
            the party over its aircraft cap, naming the setting. Nothing is taken then.
        """
        tracking = self.settings.tracking
        ahead = np.flatnonzero(states.time_s > now_s + tracking.stale_s)
        if ahead.size:
            raise InputError(
                [
                    Problem(
                        "request",
                        f"{states.time_s[i] - now_s:.1f} s in the future "
                        f"(at most {tracking.stale_s:g} s allowed)",
                        f"states[{i}] (id {states.ids[i]})",
                        f"states[{i}].time",
                    )
                    for i in ahead.tolist()
                ]
            )
        held = self.slots.get(party, {})
        new = len({i for i in states.ids if i not in held})
        if new:
            check_cap(party, len(held), new, self.settings.gating.max_aircraft_per_party)
        refused: dict[str, int] = {}
        accepted = 0
        for run in _distinct_runs(states.ids):
            accepted += self._take_run(party, states, run, now_s, refused)
        return Intake(accepted, refused)

    def _take_run(
        self, party: str, states: StateColumns, rows: Int, now_s: float, refused: dict[str, int]
    ) -> int:
        """Take the states ``rows`` (of distinct aircraft); count the refused ones into ``refused``."""
        from deconflict.tactical.tracks import ALT_JUMP_TOLERANCE_M  # the one rule of altitude_jumps

        tracking = self.settings.tracking
        gating = self.settings.gating
        held = self.slots.get(party, {})
        ids = [states.ids[k] for k in rows.tolist()]
        slot = np.fromiter((held.get(i, -1) for i in ids), np.int64, len(ids))
        now = states.kinematics(rows)
        time_s, alt_m = now[0], now[3]
        has_previous = slot >= 0
        known = slot[has_previous]
        previous = []
        for name in (*COLUMNS, "on_ground"):
            column = np.full(len(ids), np.nan)
            column[has_previous] = self.columns[name][known]
            previous.append(column)
        reason = np.full(len(ids), NOT_REFUSED, dtype=np.int8)

        def refuse(where: NDArray[np.bool_], why: Refusal) -> None:
            reason[where & (reason == NOT_REFUSED)] = REFUSALS.index(why)

        refuse(now_s - time_s > tracking.stale_s, Refusal.STALE)
        refuse(alt_m > tracking.max_alt_m, Refusal.ALTITUDE)
        dt_s = time_s - previous[0]
        refuse(has_previous & (dt_s <= 0.0), Refusal.OLDER)
        going_on = has_previous & (dt_s <= tracking.stale_s)  # else the track starts anew
        expected_m = previous[3] + previous[6] * dt_s
        jumps = np.abs(alt_m - expected_m) > tracking.max_vs_mps * dt_s + ALT_JUMP_TOLERANCE_M
        refuse(going_on & (dt_s > 0.0) & jumps, Refusal.ALTITUDE_JUMP)
        if self.restarting:
            going_on &= ~np.isin(slot, np.fromiter(self.restarting, np.int64, len(self.restarting)))
        judged = reason == NOT_REFUSED
        reason[judged] = implausible_many(
            gating, [c[judged] for c in now], [c[judged] for c in previous], going_on[judged]
        )

        stale, older = REFUSALS.index(Refusal.STALE), REFUSALS.index(Refusal.OLDER)
        ghosts = self.refused.get(party)
        for k in np.flatnonzero(reason != NOT_REFUSED).tolist():
            why = REFUSALS[int(reason[k])]
            refused[why.value] = refused.get(why.value, 0) + 1
            if reason[k] in (stale, older):
                continue
            if slot[k] >= 0:
                self.restarting.add(int(slot[k]))  # the track restarts at the next good state
            if ghosts is None:
                ghosts = self.refused.setdefault(party, {})
            if ids[k] in ghosts or len(ghosts) < gating.max_aircraft_per_party:
                ghosts[ids[k]] = tuple(float(c[k]) for c in now)  # type: ignore[assignment]

        taken = np.flatnonzero(reason == NOT_REFUSED)
        if not taken.size:
            return 0
        if ghosts:
            for k in taken.tolist():
                ghosts.pop(ids[k], None)
        for k in np.flatnonzero(slot[taken] < 0).tolist():
            slot[taken[k]] = self._slot(party, ids[taken[k]])
        columns = self.columns  # its arrays are replaced when they grow
        at = slot[taken]
        starting = at[~going_on[taken]]
        columns["since_s"][starting] = time_s[taken][~going_on[taken]]
        if self.restarting:
            self.restarting.difference_update(starting.tolist())
        for name, values in zip((*COLUMNS, "on_ground"), now, strict=True):
            columns[name][at] = values[taken]
        self.used[at] = True
        if any(states.callsigns):
            for k in taken.tolist():
                callsign = states.callsigns[int(rows[k])]
                if callsign:
                    self.callsigns[int(slot[k])] = callsign
        self._add_trails(at, time_s[taken], now[2][taken], now[1][taken], alt_m[taken])
        return int(taken.size)

    def _add_trails(self, slots: Int, time_s: Float, lon_deg: Float, lat_deg: Float, alt_m: Float) -> None:
        """A trail point for each of ``slots`` whose latest is :data:`TRAIL_STEP_S` old (or that has none)."""
        last_s = self.columns["trail_s"][slots]
        due = np.flatnonzero(np.isnan(last_s) | (time_s - last_s >= TRAIL_STEP_S))
        self.columns["trail_s"][slots[due]] = time_s[due]
        if not due.size:
            return
        at = slots[due]
        count = self.trail_count[at]
        row = count % self.trail_points
        for name, values in zip(_TRAIL_COLUMNS, (time_s, lon_deg, lat_deg, alt_m), strict=True):
            self.trails[name][row, at] = values[due]
        self.trail_count[at] = count + 1
        self._trail_rows = max(self._trail_rows, int(row.max()) + 1)

    def trail(self, slot: int) -> tuple[TrailPoint, ...]:
        """The trail of ``slot``, oldest first: its points at most ``trail_s`` older than its latest.

        A ring keeps more points than a trail can hold (one each :data:`TRAIL_STEP_S`
        at the most), so the oldest point overwritten is always one past that.
        """
        count = int(self.trail_count[slot])
        if not count:
            return ()
        held = min(count, self.trail_points)
        rows = np.arange(count - held, count) % self.trail_points
        time_s, lon_deg, lat_deg, alt_m = (self.trails[name][rows, slot].tolist() for name in _TRAIL_COLUMNS)
        start_s = time_s[-1] - self.settings.trail_s
        return tuple(
            TrailPoint(*point)
            for point in zip(time_s, lon_deg, lat_deg, alt_m, strict=True)
            if point[0] >= start_s
        )

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
            self.aircraft.free(slot)
            self.used[slot] = False
            self.restarting.discard(slot)
            self.trail_count[slot] = 0
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
            OwnTrack(self.state(slot), tuple(p for p in self.trail(slot) if p.time_s >= start_s))
            for _, slot in sorted(self.slots.get(party, {}).items())
            if self.used[slot]
        )

    def own_columns(self, party: str) -> OwnColumns:
        """``party``'s aircraft with a state, by id, as columns (no trails, no object per aircraft)."""
        held = sorted((i, s) for i, s in self.slots.get(party, {}).items() if self.used[s])
        slots = np.fromiter((s for _, s in held), dtype=np.int64, count=len(held))
        return OwnColumns(
            tuple(i for i, _ in held),
            tuple(self.callsigns[s] for _, s in held),
            {name: self.columns[name][slots] for name in COLUMNS},
        )

    def own_track(self, party: str, aircraft_id: str, now_s: float) -> OwnTrack | None:
        """One of ``party``'s aircraft with its trail; ``None`` when it has none with a state."""
        slot = self.slots.get(party, {}).get(aircraft_id)
        if slot is None or not self.used[slot]:
            return None
        start_s = now_s - self.settings.trail_s
        return OwnTrack(self.state(slot), tuple(p for p in self.trail(slot) if p.time_s >= start_s))

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
