"""The live picture's engine: takes posted states, runs the detection cycle, merges alerts and incidents.

See :mod:`deconflict.channel.live` for what alerts and incidents are, the
cleaning and the disclosure.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.gating import PlanAreas, Shown, Sweep, Withheld
from deconflict.channel.live.alert_table import NOT_WITHHELD, WITHHELD, AlertTable, SeenAlerts, aircraft_array
from deconflict.channel.live.alerts import Alert, AlertView, Position, alert_number
from deconflict.channel.live.conformance import NonConformance, PlanVolumes, strays_by_code
from deconflict.channel.live.incident_table import HIDDEN_A, HIDDEN_B, IncidentTable, SeenIncidents
from deconflict.channel.live.incidents import Incident, IncidentStore
from deconflict.channel.live.settings import LiveSettings
from deconflict.channel.live.tracks import (
    COLUMNS,
    Aircraft,
    AircraftSlots,
    ForeignTrack,
    Intake,
    OwnTrack,
    Pair,
    PartyColumns,
    PartyPicture,
    StateColumns,
    TrackState,
    TrackTable,
)
from deconflict.channel.paging import Page, page_of

if TYPE_CHECKING:
    from deconflict.tactical.detect import Conflicts, Detection
    from deconflict.tactical.states import States

# The tactical package (the detector's compiled kernels) is imported where it is used, not here
# (see the package's __init__).

__all__ = ["CycleChanges", "LivePicture", "PictureState"]

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]
Objects = NDArray[np.object_]


@dataclass(frozen=True)
class CycleChanges:
    """What one detection cycle changed.

    Attributes
    ----------
    aircraft
        Aircraft taken into the detection (fresh and airborne).
    new_alerts, changed_alerts, cleared_alerts
        Alerts that appeared, changed level, or were cleared.
    alerts
        Every alert open after the cycle.
    opened, closer, closed
        Incidents that opened, got a closer approach (or a change of whom it
        is withheld from), or closed.
    detect_s
        Wall-clock seconds spent in the detector.
    shown
        Foreign aircraft this cycle began to show to a party, and why (the
        alert and the viewer's aircraft that vouched): for the disclosure ledger.
    sweeps
        Parties that look like sweeping for another party's aircraft, newly
        this cycle (:class:`~deconflict.channel.gating.Sweep`): for the probe alarm.
    new_strays, moved_strays, cleared_strays
        Non-conformance alerts (:mod:`~deconflict.channel.live.conformance`) raised,
        whose other parties told changed (each as before and after), and cleared.
    strays
        Every non-conformance alert open after the cycle.
    """

    time_s: float
    aircraft: int
    new_alerts: tuple[Alert, ...]
    changed_alerts: tuple[Alert, ...]
    cleared_alerts: tuple[Alert, ...]
    alerts: Sequence[Alert]
    opened: tuple[Incident, ...]
    closer: tuple[Incident, ...]
    closed: tuple[Incident, ...]
    detect_s: float
    shown: tuple[Shown, ...] = ()
    sweeps: tuple[Sweep, ...] = ()
    new_strays: tuple[NonConformance, ...] = ()
    moved_strays: tuple[tuple[NonConformance, NonConformance], ...] = ()
    cleared_strays: tuple[NonConformance, ...] = ()
    strays: tuple[NonConformance, ...] = ()


@dataclass(frozen=True)
class PictureState:
    """What the views of a live picture read besides tracks, as of a cycle at ``time_s``.

    The open alerts and incidents, and the aircraft of the latest cycle that did
    not vouch (why they are withheld): what a node that runs no cycle mirrors
    from the one that does (:meth:`LivePicture.mirror`).
    """

    time_s: float
    alerts: tuple[Alert, ...]
    incidents: tuple[Incident, ...]
    withheld: tuple[tuple[Aircraft, Withheld], ...]
    strays: tuple[NonConformance, ...] = ()


Meeting = tuple[int, int, str]
"""A possible probe: the prober's row, the subject's row, the prober's aircraft id."""


class LivePicture:
    """Every party's latest aircraft states, and the alerts and incidents between parties.

    Thread-safe: posts, reads and one cycle at a time may run from any threads.

    Parameters
    ----------
    settings
        Cleaning, minima, look-ahead, warning and trail.
    next_alert_number, next_incident_id
        Where numbering continues (from the store, so ids are never reused).
    open_incidents
        Incidents left open (the service stopped during them): they continue,
        or close at the first cycle that finds the pair separated.
    plans
        Where each party has live plans, for the disclosure policy
        (:mod:`deconflict.channel.gating`); ``None`` applies no policy.
    volumes
        The parties' live plans, for conformance monitoring
        (:mod:`deconflict.channel.live.conformance`); ``None`` monitors nothing.

    Examples
    --------
    >>> live = LivePicture()
    >>> state = TrackState("A1", "", 100.0, 48.0, 2.0, 3000.0, 120.0, 90.0, 0.0)
    >>> live.post("blue", [state], now_s=100.0)
    1
    >>> [t.state.id for t in live.picture_for("blue", 101.0).own], live.picture_for("red", 101.0).own
    (['A1'], ())
    """

    def __init__(
        self,
        settings: LiveSettings | None = None,
        *,
        next_alert_number: int = 1,
        next_incident_id: int = 1,
        open_incidents: Iterable[Incident] = (),
        plans: PlanAreas | None = None,
        volumes: PlanVolumes | None = None,
    ) -> None:
        self.settings = settings or LiveSettings()
        self._plans = plans
        self._volumes = volumes
        # The open non-conformance alerts, by aircraft (few: kept as objects).
        self._strays: dict[Aircraft, NonConformance] = {}
        self._mirrored_strays: tuple[NonConformance, ...] = ()
        self._lock = threading.RLock()
        self._cycle_lock = threading.Lock()
        self._tracks = TrackTable(self.settings)
        self._alerts = AlertTable()
        # Another node's alerts shown instead of this picture's own (it runs no cycle): see mirror.
        self._mirrored: tuple[Alert, ...] | None = None
        self._incidents = IncidentTable(open_incidents)
        self._next_alert = next_alert_number
        self._next_incident = next_incident_id
        # The aircraft in alerts or incidents at the last cycle that did not vouch, and why; by (party, id),
        # made into Aircraft only when read (a dense cycle has 50,000).
        self._withheld: dict[tuple[str, str], Withheld] = {}
        # By (prober, subject): each non-vouching prober aircraft's id met in an alert -> (when, the
        # subject's aircraft id); and when the latest sweep of the pair was reported.
        self._suspects: dict[tuple[str, str], dict[str, tuple[float, str]]] = {}
        self._swept_s: dict[tuple[str, str], float] = {}
        self._cycled_s: float | None = None

    @classmethod
    def resume(
        cls,
        settings: LiveSettings,
        store: IncidentStore,
        plans: PlanAreas | None = None,
        volumes: PlanVolumes | None = None,
    ) -> LivePicture:
        """A live picture continuing the numbering and the open incidents of ``store``."""
        next_alert, next_incident = store.next_ids()
        return cls(
            settings,
            next_alert_number=next_alert,
            next_incident_id=next_incident,
            open_incidents=store.open_incidents(),
            plans=plans,
            volumes=volumes,
        )

    def take_over(self, store: IncidentStore) -> None:
        """Continue from ``store`` after another node ran the cycle: its numbering and open incidents.

        For a node that takes the scheduler's lease (:mod:`deconflict.channel.cluster`):
        numbers go on after every alert and incident recorded, and the incidents
        the previous holder left open continue here (or close at the first cycle
        that finds the pair separated). Alerts are not stored: the first cycle
        here raises those still there afresh.
        """
        next_alert, next_incident = store.next_ids()
        still_open = store.open_incidents()
        with self._cycle_lock, self._lock:
            self._next_alert = max(self._next_alert, next_alert)
            self._next_incident = max(self._next_incident, next_incident)
            self._incidents = IncidentTable(still_open)
            self._mirrored = None  # the cycle here raises the alerts still there afresh

    def state(self) -> PictureState:
        """The open alerts and incidents and the aircraft withheld, as of the latest cycle."""
        with self._lock:
            return PictureState(
                self._cycled_s or 0.0,
                tuple(self._alerts.open()),
                tuple(self._incidents.open()),
                tuple((Aircraft(*name), why) for name, why in self._withheld.items()),
                tuple(self._strays.values()),
            )

    def mirror(self, state: PictureState) -> None:
        """Show ``state`` (another node's, which runs the cycle) in this picture's views.

        Alerts and incidents are then answered as that node would answer them;
        the foreign aircraft shown are this picture's own latest states of them.
        Until :meth:`take_over`, this picture's own cycle's alerts are not shown.
        """
        with self._cycle_lock, self._lock:
            self._cycled_s = state.time_s  # what follows cycles (the tracks frames) follows that node's
            self._mirrored = state.alerts
            self._mirrored_strays = state.strays
            self._incidents = IncidentTable(state.incidents)
            self._withheld = {(a.party, a.id): why for a, why in state.withheld}

    def step_down(self) -> None:
        """Forget the alerts and incidents: another node runs the cycle (it holds the scheduler's lease).

        What this picture found before is no longer kept up to date here, so it
        shows none of it (no alerts, no foreign aircraft), rather than stale
        alerts or an aircraft that the holder now withholds. The tracks stay.
        """
        with self._cycle_lock, self._lock:
            self._alerts = AlertTable()
            self._mirrored = ()
            self._strays = {}
            self._mirrored_strays = ()
            self._incidents = IncidentTable()
            self._withheld = {}
            self._suspects = {}

    # -- states ---------------------------------------------------------------------------------

    def post(self, party: str, states: Sequence[TrackState], now_s: float) -> int:
        """Take ``party``'s aircraft states; returns how many were accepted (see :meth:`take`)."""
        return self.take(party, states, now_s).accepted

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
        with self._lock:
            return self._tracks.take(party, states, now_s)

    def take_columns(self, party: str, states: StateColumns, now_s: float) -> Intake:
        """:meth:`take`, the states given as columns (as ``POST /v1/tracks`` decodes them)."""
        with self._lock:
            return self._tracks.take_columns(party, states, now_s)

    # -- detection ------------------------------------------------------------------------------

    def cycle(self, now_s: float) -> CycleChanges:
        """Run one detection at ``now_s`` and merge it into the alerts and incidents."""
        with self._cycle_lock:
            changes = self._cycle(now_s)
            self._cycled_s = now_s
            return changes

    @property
    def cycled_s(self) -> float | None:
        """The time of the latest finished detection cycle (its states' time), ``None`` before the first."""
        return self._cycled_s

    def _cycle(self, now_s: float) -> CycleChanges:
        settings = self.settings
        tracking = settings.tracking
        with self._lock:
            self._tracks.forget_old(now_s)
            fresh = self._tracks.fresh(now_s)
            ghosts = self._tracks.ghosts(now_s)
            parties = self._tracks.parties()
        slots, codes, age_s = fresh.slots, fresh.codes, fresh.age_s
        idle = not len(self._alerts) and not len(self._incidents) and not self._strays and ghosts is None
        if idle and (slots.size < 2 and not (slots.size and self._monitoring())):
            # Nothing to pair and nothing to end: an idle service never loads the detector.
            return CycleChanges(now_s, int(slots.size), (), (), (), (), (), (), (), 0.0)

        from deconflict.tactical.detect import detect
        from deconflict.tactical.states import States, airborne, dead_reckon

        states = dead_reckon(States(*fresh.columns), fresh.dt_s)
        flying = np.flatnonzero(airborne(states, tracking.ground, fresh.on_ground))
        states, slots, codes, age_s = states.take(flying), slots[flying], codes[flying], age_s[flying]
        real = len(states)
        stray_rows, entered = self._find_strays(states, codes, parties, now_s)
        ghost_ids: list[str] = []
        if ghosts is not None:  # rows after ``real``: they find whom they threaten, and make no alert
            ghost_states, ghost_codes, ghost_ids = ghosts
            states = States(
                *(np.concatenate([getattr(states, n), getattr(ghost_states, n)]) for n in COLUMNS[1:])
            )
            codes = np.concatenate([codes, ghost_codes])
        started = time.perf_counter()
        found = detect(states, settings.detection)
        detect_s = time.perf_counter() - started

        met = _ghost_meetings(found.conflicts, codes, real, ghost_ids) if ghost_ids else []
        pairs = _cross_party(found, codes, real, states)
        involved = np.concatenate([pairs.ca, pairs.cb, pairs.la, pairs.lb])
        withheld = self._not_vouching(states, codes, age_s, parties, involved, now_s)

        with self._lock:
            names = self._tracks.aircraft

            index: dict[Aircraft, int] = {}

            def slot_of(aircraft: Aircraft) -> int | None:  # only for incidents resumed from the store
                if not index:
                    index.update((x, s) for s, x in enumerate(names) if x is not None)
                return index.get(aircraft)

            seen = _alerts_seen(pairs, states, withheld, slots, names, settings.warning_s, self._alerts.holds)
            alerts = self._alerts.merge(seen, self._next_alert, now_s, tracking.alert_gap_s)
            self._next_alert = alerts.next_number
            open_alerts = self._alerts.open()
            in_loss = _incidents_seen(pairs, states, withheld, slots, names, self._incidents.holds)
            incidents = self._incidents.merge(in_loss, self._next_incident, now_s, slot_of)
            self._next_incident = incidents.next_id
            held = names.names(slots[np.fromiter(withheld, np.int64, len(withheld))].tolist())
            self._withheld = dict(zip(held, withheld.values(), strict=True))
            if withheld:
                met += _unvouched_meetings(withheld, pairs, codes, len(parties), slots, names)
            sweeps = self._sweeps(met, codes, slots, parties, now_s) if met or self._suspects else []
            new_strays, moved, cleared_strays, stray_shown = self._merge_strays(
                stray_rows, entered, states, slots, names, now_s
            )
        return CycleChanges(
            time_s=now_s,
            aircraft=real,  # the ghosts are no aircraft of the picture
            new_alerts=alerts.new,
            changed_alerts=alerts.changed,
            cleared_alerts=alerts.cleared,
            alerts=open_alerts,
            opened=incidents.opened,
            closer=incidents.closer,
            closed=incidents.closed,
            detect_s=detect_s,
            shown=alerts.shown + stray_shown,
            sweeps=tuple(sweeps),
            new_strays=new_strays,
            moved_strays=moved,
            cleared_strays=cleared_strays,
            strays=tuple(self._strays.values()),
        )

    # -- conformance ----------------------------------------------------------------------------

    def _monitoring(self) -> bool:
        """Whether any party is monitored for conformance (has a live plan)."""
        return self._volumes is not None and bool(self._volumes.planning_parties())

    def _find_strays(
        self, states: States, codes: Int, parties: dict[int, str], now_s: float
    ) -> tuple[Int, list[tuple[str, ...]]]:
        """The rows of ``states`` outside their monitored party's active plans; whose space each entered."""
        if self._volumes is None or not len(states):
            return np.empty(0, dtype=np.int64), []
        return strays_by_code(
            self._volumes, self.settings.conformance, codes, parties,
            states.lon_deg, states.lat_deg, states.alt_m, now_s,
        )  # fmt: skip

    def _merge_strays(
        self,
        rows: Int,
        entered: list[tuple[str, ...]],
        states: States,
        slots: Int,
        names: AircraftSlots,
        now_s: float,
    ) -> tuple[
        tuple[NonConformance, ...],
        tuple[tuple[NonConformance, NonConformance], ...],
        tuple[NonConformance, ...],
        tuple[Shown, ...],
    ]:
        """Merge the cycle's strays into the open non-conformance alerts (under the lock).

        A stray already open keeps its id and ``since_s``; a new one takes the
        next alert number; one not found again is cleared at once (back inside,
        no longer tracked or no longer monitored). A party newly told of a stray
        (it entered that party's space) is a disclosure (:class:`Shown`).
        """
        found: dict[Aircraft, NonConformance] = {}
        new: list[NonConformance] = []
        moved: list[tuple[NonConformance, NonConformance]] = []
        shown: list[Shown] = []
        for row, others in zip(rows.tolist(), entered, strict=True):
            aircraft = names[int(slots[row])]
            assert aircraft is not None
            before = self._strays.get(aircraft)
            if before is None:
                stray = NonConformance(
                    f"a-{self._next_alert}", aircraft, now_s, now_s, _where(states, row), others
                )
                self._next_alert += 1
                new.append(stray)
            else:
                stray = dataclasses.replace(
                    before, last_s=now_s, position=_where(states, row), entered=others
                )
                if before.entered != others:
                    moved.append((before, stray))
            told = set(before.entered) if before is not None else set()
            shown += [
                Shown(party, "", aircraft.party, aircraft.id, stray.id, now_s)
                for party in others
                if party not in told
            ]
            found[aircraft] = stray
        cleared = tuple(s for a, s in self._strays.items() if a not in found)
        self._strays = found
        return tuple(new), tuple(moved), cleared, tuple(shown)

    def _sweeps(
        self, met: list[Meeting], codes: Int, slots: Int, parties: dict[int, str], now_s: float
    ) -> list[Sweep]:
        """Count ``met`` (prober row, subject row, prober id) in the window; the pairs now at a sweep."""
        gating = self.settings.gating
        since_s = now_s - gating.sweep_window_s
        if met:
            # Column by column: unpacking 100,000 meetings into zip(*met) costs ten times as much.
            prober_ids = [m[2] for m in met]
            mine = np.fromiter((m[0] for m in met), np.int64, len(met))
            theirs = np.fromiter((m[1] for m in met), np.int64, len(met))
            their_ids = [n[1] for n in self._tracks.aircraft.names(slots[theirs].tolist())]
            # By pair of parties, in the order first met, one dict update each (the later meeting wins).
            base = max(parties) + 1
            pair = codes[mine] * base + codes[theirs]
            found, first = np.unique(pair, return_index=True)
            for code in found[np.argsort(first)].tolist():
                rows = np.flatnonzero(pair == code).tolist()
                key = (parties[code // base], parties[code % base])
                self._suspects.setdefault(key, {}).update(
                    zip([prober_ids[k] for k in rows], [(now_s, their_ids[k]) for k in rows], strict=True)
                )
        out = []
        for key, seen in list(self._suspects.items()):
            for prober_id in [i for i, (when_s, _) in seen.items() if when_s <= since_s]:
                del seen[prober_id]
            if not seen:
                del self._suspects[key]
                continue
            if len(seen) < gating.sweep_aircraft or self._swept_s.get(key, -math.inf) > since_s:
                continue
            self._swept_s[key] = now_s
            subject_ids = tuple(sorted({i for _, i in seen.values()}))
            out.append(Sweep(key[0], key[1], len(seen), subject_ids, now_s))
        return out

    def _not_vouching(
        self,
        states: States,
        codes: Int,
        age_s: Float,
        parties: dict[int, str],
        involved: Int,
        now_s: float,
    ) -> dict[int, Withheld]:
        """The aircraft among ``involved`` (indices into ``states``) that do not vouch, and why."""
        gating = self.settings.gating
        found = np.unique(involved)
        on_probation = ~(age_s[found] >= gating.probation_s)  # a restarting track (NaN) too
        out = dict.fromkeys(found[on_probation].tolist(), Withheld.PROBATION)
        if self._plans is None:
            return out
        rest = found[~on_probation]
        for code in np.unique(codes[rest]).tolist():
            party = parties[code]
            if party in gating.disclose_anywhere:
                continue
            mine = rest[codes[rest] == code]
            near = self._plans.near_plans(
                party, states.lon_deg[mine], states.lat_deg[mine], now_s, gating.plan_margin_m
            )
            out.update(dict.fromkeys(mine[~near].tolist(), Withheld.OUTSIDE_PLANS))
        return out

    # -- views ----------------------------------------------------------------------------------

    def alerts_for(self, party: str) -> list[AlertView]:
        """The open alerts involving ``party``'s aircraft, from its side, oldest first.

        Alerts are numbered as they appear, so oldest first is by number.
        """
        with self._lock:
            views = [a.view_for(party) for a in self._involving(party)]
            strays = self._strays.values() if self._mirrored is None else self._mirrored_strays
            views += [s.view_for(party) for s in strays if s.involves(party)]
        return sorted(views, key=alert_number)

    def _involving(self, party: str) -> list[Alert]:
        """The open alerts with one of ``party``'s aircraft, oldest first (the mirrored ones, if any)."""
        if self._mirrored is None:
            return self._alerts.involving(party)
        return sorted((a for a in self._mirrored if a.involves(party)), key=alert_number)

    def alerts_page(
        self, party: str, limit: int, after: int | None = None, before: int | None = None
    ) -> Page[AlertView]:
        """:meth:`alerts_for`, ``limit`` at a time: after (before) the alert numbered ``after`` (``before``).

        The alert of a cursor need not be open any more: paging goes on from its number.
        """
        return page_of(self.alerts_for(party), alert_number, limit, after, before)

    def alert_count(self) -> int:
        """Alerts open now (each once, whichever side looks)."""
        with self._lock:
            if self._mirrored is None:
                return len(self._alerts) + len(self._strays)
            return len(self._mirrored) + len(self._mirrored_strays)

    def open_incidents(self) -> list[Incident]:
        """The incidents open now."""
        with self._lock:
            return self._incidents.open()

    def picture_for(self, party: str, now_s: float) -> PartyPicture:
        """What ``party`` may see now: its own tracks, and the foreign aircraft in alerts with them."""
        with self._lock:
            return PartyPicture(now_s, self._tracks.own_tracks(party, now_s), self._foreign_for(party))

    def columns_for(self, party: str, now_s: float) -> PartyColumns:
        """:meth:`picture_for` without trails, ``party``'s own aircraft as columns (cheap for a fleet)."""
        with self._lock:
            return PartyColumns(now_s, self._tracks.own_columns(party), self._foreign_for(party))

    def own_track(self, party: str, aircraft_id: str, now_s: float) -> OwnTrack | None:
        """One of ``party``'s own aircraft with its trail; ``None`` for an id it has no state for."""
        with self._lock:
            return self._tracks.own_track(party, aircraft_id, now_s)

    def _foreign_for(self, party: str) -> tuple[ForeignTrack, ...]:
        """The foreign aircraft ``party`` may see (in its alerts and open incidents); under the lock."""
        foreign: list[ForeignTrack] = []
        with_alert: set[Pair] = set()
        for alert in self._involving(party):
            with_alert.add((alert.a, alert.b))
            if alert.withheld_from(party) is None:
                other = alert.b if alert.a.party == party else alert.a
                foreign += self._tracks.foreign(alert.id, other)
        strays = self._strays.values() if self._mirrored is None else self._mirrored_strays
        for stray in strays:
            if party in stray.entered:
                foreign += self._tracks.foreign(stray.id, stray.aircraft)
        for incident in self._incidents.open():
            if incident.involves(party) and (incident.a, incident.b) not in with_alert:
                mine = incident.a.party == party
                viewer, other = (incident.a, incident.b) if mine else (incident.b, incident.a)
                if (viewer.party, viewer.id) not in self._withheld:
                    foreign += self._tracks.foreign(incident.ref, other)
        return tuple(foreign)

    def aircraft_count(self) -> int:
        """Aircraft with a state held now (fresh or not)."""
        with self._lock:
            return self._tracks.count()


@dataclass(frozen=True, eq=False)
class _CrossParty:
    """A cycle's pairs of two parties' aircraft (rows into the cycle's states).

    ``ca``, ``cb`` and the figures: pairs in conflict (every pair in loss among
    them), with the time to loss, the closest approach (now, when diverging)
    and the vertical separation then. ``la``, ``lb`` and the separations: pairs
    in loss now.
    """

    ca: Int
    cb: Int
    tin_s: Float
    tcpa_s: Float
    dcpa_m: Float
    vcpa_m: Float
    la: Int
    lb: Int
    dist_m: Float
    dalt_m: Float

    @property
    def in_loss(self) -> set[tuple[int, int]]:
        return set(zip(self.la.tolist(), self.lb.tolist(), strict=True))


def _ghost_meetings(conflicts: Conflicts, codes: Int, real: int, ghost_ids: list[str]) -> list[Meeting]:
    """The ghosts (rows from ``real`` on) in conflict with another party's aircraft: who met whom."""
    cross = codes[conflicts.a] != codes[conflicts.b]
    ga, gb = conflicts.a[cross], conflicts.b[cross]
    haunted = (ga >= real) != (gb >= real)  # a ghost and a real aircraft
    met = []
    for a, b in zip(ga[haunted].tolist(), gb[haunted].tolist(), strict=True):
        ghost, other = (a, b) if a >= real else (b, a)
        met.append((ghost, other, ghost_ids[ghost - real]))
    return met


def _cross_party(found: Detection, codes: Int, real: int, states: States) -> _CrossParty:
    """The pairs of two parties' real aircraft: a party's own pairs are its own business."""
    from deconflict.geometry.geodesy import distance_m

    conflicts = found.conflicts
    cross = (codes[conflicts.a] != codes[conflicts.b]) & (conflicts.a < real) & (conflicts.b < real)
    ca, cb = conflicts.a[cross], conflicts.b[cross]
    tin_s, tcpa_s, dcpa_m = conflicts.tin_s[cross], conflicts.tcpa_s[cross], conflicts.dcpa_m[cross]
    los = found.los
    lcross = (codes[los.a] != codes[los.b]) & (los.a < real) & (los.b < real)
    la, lb, ldist, ldalt = los.a[lcross], los.b[lcross], los.dist_m[lcross], los.dalt_m[lcross]
    # A pair in loss is in conflict too; this also covers the (degenerate) case where it is not.
    in_conflict = set(zip(ca.tolist(), cb.tolist(), strict=True))
    extra = [
        k for k, pair in enumerate(zip(la.tolist(), lb.tolist(), strict=True)) if pair not in in_conflict
    ]
    if extra:
        ca = np.concatenate([ca, la[extra]])
        cb = np.concatenate([cb, lb[extra]])
        tin_s = np.concatenate([tin_s, np.zeros(len(extra))])
        tcpa_s = np.concatenate([tcpa_s, np.zeros(len(extra))])
        dcpa_m = np.concatenate([dcpa_m, ldist[extra]])
    # Diverging pairs are closest now.
    now_dist = distance_m(states.lon_deg[ca], states.lat_deg[ca], states.lon_deg[cb], states.lat_deg[cb])
    diverging = tcpa_s < 0.0
    tcpa_s = np.maximum(tcpa_s, 0.0)
    dcpa_m = np.where(diverging, now_dist, dcpa_m)
    vcpa_m = np.abs(states.alt_m[cb] - states.alt_m[ca] + (states.vs_mps[cb] - states.vs_mps[ca]) * tcpa_s)
    return _CrossParty(ca, cb, tin_s, tcpa_s, dcpa_m, vcpa_m, la, lb, ldist, ldalt)


def _where(states: States, k: int) -> Position:
    return (float(states.lon_deg[k]), float(states.lat_deg[k]), float(states.alt_m[k]))


def _alerts_seen(
    pairs: _CrossParty,
    states: States,
    withheld: dict[int, Withheld],
    slots: Int,
    names: AircraftSlots,
    warning_s: float,
    holds: Callable[[Int, Int], Bool],
) -> SeenAlerts:
    """The cycle's pairs in conflict as columns, each pair in the :class:`Alert` order (``a < b``).

    ``holds`` tells the pairs (by slots, in that order) the alert table holds: they get no aircraft objects.
    """
    ca, cb = pairs.ca, pairs.cb
    ka, kb, objects_a, objects_b = _in_order(ca, cb, slots, names, holds)

    size = len(states)
    loss = np.isin(ca * size + cb, pairs.la * size + pairs.lb)
    to_loss_s = np.where(loss, 0.0, np.maximum(pairs.tin_s, 0.0))
    level = np.where(loss, 2, np.where(to_loss_s <= warning_s, 1, 0)).astype(np.int8)
    code = np.full(size, NOT_WITHHELD, dtype=np.int8)
    for row, reason in withheld.items():
        code[row] = WITHHELD.index(reason)
    position = np.column_stack([states.lon_deg, states.lat_deg, states.alt_m])
    return SeenAlerts(
        slot_a=slots[ka],
        slot_b=slots[kb],
        a=objects_a,
        b=objects_b,
        level=level,
        withheld_a=code[ka],
        withheld_b=code[kb],
        time_to_loss_s=to_loss_s,
        time_to_cpa_s=pairs.tcpa_s,
        distance_cpa_m=pairs.dcpa_m,
        vertical_cpa_m=pairs.vcpa_m,
        position_a=position[ka],
        position_b=position[kb],
    )


def _in_order(
    ra: Int, rb: Int, slots: Int, names: AircraftSlots, holds: Callable[[Int, Int], Bool]
) -> tuple[Int, Int, Objects, Objects]:
    """Pairs of rows put in their aircraft's (party, id) order: the rows and the aircraft of each side.

    A pair that ``holds`` says a table holds (by its slots, in that order) gets ``None`` for its
    aircraft: only the pairs no table holds yet are read as objects, a few hundred of 80,000.
    """
    rows = np.unique(np.concatenate([ra, rb]))
    found = names.names(slots[rows].tolist())
    # Each involved aircraft's rank in the (party, id) order, so that every pair is put in order at once.
    rank = np.empty(rows.size, dtype=np.int64)
    rank[sorted(range(rows.size), key=found.__getitem__)] = np.arange(rows.size)
    at_a, at_b = np.searchsorted(rows, ra), np.searchsorted(rows, rb)
    swap = rank[at_a] > rank[at_b]
    first, second = np.where(swap, at_b, at_a), np.where(swap, at_a, at_b)
    new = ~holds(slots[rows[first]], slots[rows[second]])
    wanted = np.union1d(first[new], second[new])
    objects = np.full(rows.size, None, dtype=object)
    objects[wanted] = aircraft_array([Aircraft(*found[k]) for k in wanted.tolist()])
    return (
        np.where(swap, rb, ra),
        np.where(swap, ra, rb),
        objects[np.where(swap, at_b, at_a)],
        objects[np.where(swap, at_a, at_b)],
    )


def _incidents_seen(
    pairs: _CrossParty,
    states: States,
    withheld: dict[int, Withheld],
    slots: Int,
    names: AircraftSlots,
    holds: Callable[[Int, Int], Bool],
) -> SeenIncidents:
    """The cycle's pairs in loss as columns, each pair in the :class:`Incident` order (``a < b``).

    ``holds`` tells the pairs (by slots) the incident table holds: they get no aircraft objects.
    """
    from deconflict.geometry.geodesy import midpoints

    ka, kb, objects_a, objects_b = _in_order(pairs.la, pairs.lb, slots, names, holds)
    lon_deg, lat_deg = midpoints(
        states.lon_deg[ka], states.lat_deg[ka], states.lon_deg[kb], states.lat_deg[kb]
    )
    held = np.zeros(len(states), dtype=bool)
    held[list(withheld)] = True
    hidden = (np.where(held[ka], HIDDEN_A, 0) | np.where(held[kb], HIDDEN_B, 0)).astype(np.int8)
    return SeenIncidents(
        slot_a=slots[ka],
        slot_b=slots[kb],
        a=objects_a,
        b=objects_b,
        distance_m=pairs.dist_m.astype(np.float64),
        vertical_m=pairs.dalt_m.astype(np.float64),
        lon_deg=lon_deg,
        lat_deg=lat_deg,
        alt_m=(states.alt_m[ka] + states.alt_m[kb]) / 2.0,
        hidden=hidden,
    )


def _unvouched_meetings(
    withheld: dict[int, Withheld],
    pairs: _CrossParty,
    codes: Int,
    n_parties: int,
    slots: Int,
    names: AircraftSlots,
) -> list[Meeting]:
    """The alerts' aircraft that do not vouch, once per other party met: who met whom."""
    ca, cb = pairs.ca, pairs.cb
    rows = np.fromiter(withheld, np.int64, len(withheld))
    in_a, in_b = np.isin(ca, rows), np.isin(cb, rows)
    mine = np.concatenate([ca[in_a], cb[in_b]])
    theirs = np.concatenate([cb[in_a], ca[in_b]])
    _, first = np.unique(mine * n_parties + codes[theirs], return_index=True)
    mine, theirs = mine[first], theirs[first]
    held = names.names(slots[mine].tolist())
    return [(m, t, n[1]) for m, t, n in zip(mine.tolist(), theirs.tolist(), held, strict=True)]
