"""Gates on the live picture: what a party's aircraft may make the channel disclose about others.

Parties are rivals and any of them may lie. Without gates, a party that posts
invented aircraft is shown every foreign aircraft its inventions come near: 560
made-up aircraft sweeping north at 1000 m/s mapped every other party's traffic
in 2.5 s. The gates below stop that while keeping the rule that matters most:
**the fact that an alert exists always reaches both sides**.

Who learns what
---------------
An alert (or incident) pairs aircraft ``X`` of party P with ``Y`` of party Q.
What P learns about ``Y`` (position, velocity, closest approach) is decided by
``X`` alone, because ``X`` is the only thing P controls: P is shown ``Y`` only
while ``X`` *vouches* for the disclosure (below). The same rule holds the other
way round, so a victim whose own aircraft is genuine (vouches) sees the whole
alert, including where the aircraft that threatens it is, whatever that
aircraft looks like: a lie only ever blinds the liar.

While ``X`` does not vouch, P still gets the alert (its id, its level, its own
aircraft's id and the other party's name: safety first), but every figure that
would place ``Y`` is withheld (``other`` position, distance, vertical distance and
time of closest approach, time to loss), together with the reason
(``withheld``). When ``X`` starts to vouch, the alert is sent again as an update
with the figures, and the cycle reports which party was shown which aircraft
because of which alert (:class:`Shown`: the hook for the disclosure ledger).

An aircraft vouches when all of these hold:

1. **Plausible kinematics.** Every state is checked against the aircraft's
   previous one (:func:`implausible`): ground speed at most ``max_gs_mps``
   (700 m/s admits Mach 2.3 at altitude; no crewed aircraft in service flies
   faster in controlled airspace), vertical speed at most ``max_climb_mps``
   (150 m/s: the steepest zoom climbs of fighters), a change of ground speed
   of at most ``max_accel_mps2`` per second (20 m/s², 2 g along track: more
   than afterburner or speed brakes give), a turn whose lateral acceleration
   ``gs * turn rate`` stays under ``max_lateral_accel_mps2`` (90 m/s², about
   9 g; at 250 m/s that is 20°/s, at 50 m/s 100°/s, a hover turns freely), and
   no position jump: the distance flown between two states is at most the
   faster of the two ground speeds times the interval, plus
   ``position_tolerance_m`` (500 m: the position noise of ADS-B/radar
   fixes). A state that fails is refused (counted with its reason in the
   answer of ``POST /v1/tracks``); the aircraft keeps its last good state and
   starts its probation again. A first state is checked on its own (speeds).
2. **Probation.** The aircraft has flown a plausible track for at least
   ``probation_s`` (30 s: a sweep has to be flown for half a minute per
   position before it shows anything, and then only where the policy allows;
   a genuine aircraft entering coverage is vouched for after 30 s, well inside
   the 120 s of a ``warning``). A track restarts (and with it the probation)
   after a refused state or a gap of more than ``stale_s``.
3. **Where its party may cause disclosure** (the policy): within
   ``plan_margin_m`` of one of the party's own live operations whose time
   window holds now (horizontally; 30 NM by default, which keeps an aircraft
   that strayed out of its plan, as the demo's strays do, able to see who it
   is about to meet, and keeps a party's sweep within reach of plans it filed
   where the other side sees them as conflicts). Parties named in
   ``disclose_anywhere`` (an air navigation service whose traffic files no
   plans, say) skip this condition. A picture without a plan source (a unit
   test, a tool) applies no policy.

**A sweep raises a probe alarm.** Withholding blinds the liar but does not
tell its victims they are being probed. When, within ``sweep_window_s``,
``sweep_aircraft`` distinct aircraft of party P that do not vouch (on
probation, outside P's plans) have been in alerts with aircraft of party Q,
or states of that many P aircraft refused as implausible would have been (the
detector runs them as *ghosts*: they find who they threaten, and make no
alert), the cycle reports a :class:`Sweep` of Q by P: the hook of the probe
alarm (``probe_alarm``, reason ``sweep``) that Q gets, at most once per
(P, Q) and window; P is not told. 5 by default: the detector pairs an abreast
sweep with only the few columns that cross each victim at its level, so the
sweep of issue 21 meets 10 red and 6 civil aircraft of the demo at once at
1000 m/s (at 250 m/s, 5 after about 2 minutes), while genuine traffic stays
under it (at most 2 per pair of parties in any 10 minutes of the demo's 30,
on probation or out of plans), and an ADS-B feed's glitch is one aircraft at a
time. A party joining with many aircraft at once, right among another's, can
still raise one: a warning, never a disclosure.

The cost stays off the hot path: states are checked with a few float
operations as they are posted, and the probation and the policy are evaluated
in the cycle only for the aircraft that are in alerts or incidents.

An aircraft cap per party (``max_aircraft_per_party``, 5,000 by default: more
than the busiest air force or ANSP sector feeds at once) bounds what one party
can make the cycle and the API work on; a batch that would take a party over it
is refused whole, naming the setting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.geometry.footprint import Footprint
    from deconflict.strategic.store import Store
    from deconflict.strategic.volume import Volume

__all__ = [
    "MAX_EXACT",
    "NOT_REFUSED",
    "REFUSALS",
    "GatingSettings",
    "Kinematics",
    "PlanAreas",
    "Refusal",
    "Shown",
    "StorePlanAreas",
    "Sweep",
    "Withheld",
    "check_cap",
    "implausible",
    "implausible_many",
    "near_footprints",
]

Float = NDArray[np.float64]
Bool = NDArray[np.bool_]

_M_PER_DEG = 111_195.0  # on the mean sphere
_RAD_PER_DEG = math.pi / 180.0
_DEG_PER_RAD = 180.0 / math.pi
MAX_EXACT = 64
"""Points a call of :func:`near_footprints` measures exactly at most; the others count as not near."""
_TURN_TOLERANCE_DEG = 5.0  # reported track angles are noisy by a few degrees
_SPEED_TOLERANCE_MPS = 5.0  # and ground speeds by a few m/s


@dataclass(frozen=True)
class GatingSettings:
    """Limits on posted aircraft and on what they may disclose (see the module's docstring for why).

    Attributes
    ----------
    max_aircraft_per_party
        Aircraft one party may hold in the picture at once.
    max_gs_mps, max_climb_mps
        Largest plausible ground speed and vertical speed (magnitude), m/s.
    max_accel_mps2, max_lateral_accel_mps2
        Largest plausible change of ground speed per second, and lateral
        acceleration in a turn (ground speed times turn rate), m/s².
    position_tolerance_m
        Position noise allowed on top of the distance the speeds allow.
    probation_s
        How long an aircraft must fly a plausible track before it vouches.
    plan_margin_m
        How far outside its party's live plans an aircraft still vouches.
    disclose_anywhere
        Parties whose aircraft vouch wherever they are (no plan policy).
    sweep_aircraft, sweep_window_s
        How many distinct aircraft of one party that do not vouch (or whose
        states were refused) may come into alerts with another party's
        aircraft within ``sweep_window_s`` before that party is warned of a
        sweep (:class:`Sweep`).
    """

    max_aircraft_per_party: int = 5000
    max_gs_mps: float = 700.0
    max_climb_mps: float = 150.0
    max_accel_mps2: float = 20.0
    max_lateral_accel_mps2: float = 90.0
    position_tolerance_m: float = 500.0
    probation_s: float = 30.0
    plan_margin_m: float = 55_560.0
    disclose_anywhere: frozenset[str] = frozenset()
    sweep_aircraft: int = 5
    sweep_window_s: float = 600.0

    def __post_init__(self) -> None:
        if self.max_aircraft_per_party < 1:
            raise ValueError(f"max_aircraft_per_party must be >= 1, got {self.max_aircraft_per_party}")
        if self.sweep_aircraft < 2:
            raise ValueError(f"sweep_aircraft must be >= 2, got {self.sweep_aircraft}")
        for name in (
            "max_gs_mps",
            "max_climb_mps",
            "max_accel_mps2",
            "max_lateral_accel_mps2",
            "position_tolerance_m",
            "probation_s",
            "plan_margin_m",
            "sweep_window_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


class Refusal(StrEnum):
    """Why a posted state was not taken (the keys of ``refused`` in the answer of ``POST /v1/tracks``)."""

    STALE = "stale"
    OLDER = "older"
    ALTITUDE = "altitude"
    ALTITUDE_JUMP = "altitude_jump"
    GROUND_SPEED = "ground_speed"
    VERTICAL_SPEED = "vertical_speed"
    ACCELERATION = "acceleration"
    TURN = "turn"
    POSITION_JUMP = "position_jump"


class Withheld(StrEnum):
    """Why a party is not shown the other aircraft of an alert (its own aircraft does not vouch)."""

    PROBATION = "probation"
    OUTSIDE_PLANS = "outside_plans"


@dataclass(frozen=True)
class Shown:
    """A disclosure made by a cycle: ``party`` was shown ``subject_party``'s aircraft under ``ref``.

    ``subject_id`` is that party's own id of the aircraft (never shown to
    ``party``); ``because`` is the id of the viewer's own aircraft that vouched.
    """

    party: str
    because: str
    subject_party: str
    subject_id: str
    ref: str
    time_s: float


@dataclass(frozen=True)
class Sweep:
    """``prober`` looks like sweeping for ``subject``'s aircraft: the hook of a probe alarm to ``subject``.

    ``aircraft`` distinct aircraft of ``prober`` that did not vouch (or whose
    states were refused) came into alerts with ``subject``'s aircraft within
    the sweep window; ``subject_ids`` are the subject's own ids of the
    aircraft they met (never the prober's ids: the subject learns nothing of
    the prober's aircraft from its alarm).
    """

    prober: str
    subject: str
    aircraft: int
    subject_ids: tuple[str, ...]
    time_s: float


Kinematics = tuple[float, float, float, float, float, float, float, float]
"""A state as ``(time_s, lat_deg, lon_deg, alt_m, gs_mps, trk_deg, vs_mps, on_ground)``.

A plain tuple of floats (``on_ground`` 0.0 or 1.0), which the garbage collector
stops tracking: keeping every aircraft's latest one costs the collector nothing
(dataclass objects kept alive made ingestion 2.5 times slower).
"""


def implausible(settings: GatingSettings, state: Kinematics, previous: Kinematics | None) -> Refusal | None:
    """Why a state cannot be an aircraft's, given its previous one; ``None`` when plausible.

    ``previous`` is the aircraft's latest accepted state (older than ``state``),
    or ``None`` for the first state of a track. Distances are measured on a
    local flat approximation (consecutive states are at most a few tens of
    kilometres apart: well under 0.1 % of error, inside the position tolerance).

    Examples
    --------
    >>> g = GatingSettings()
    >>> implausible(g, (0.0, 35.0, 38.0, 9000.0, 1000.0, 0.0, 0.0, 0.0), None).value
    'ground_speed'
    >>> first = (0.0, 35.0, 38.0, 9000.0, 250.0, 0.0, 0.0, 0.0)
    >>> implausible(g, (1.0, 35.00225, 38.0, 9000.0, 250.0, 0.0, 0.0, 0.0), first) is None
    True
    >>> implausible(g, (1.0, 35.1, 38.0, 9000.0, 250.0, 0.0, 0.0, 0.0), first).value
    'position_jump'
    """
    time_s, lat_deg, lon_deg, _, gs_mps, trk_deg, vs_mps, _ = state
    if gs_mps > settings.max_gs_mps:
        return Refusal.GROUND_SPEED
    if abs(vs_mps) > settings.max_climb_mps:
        return Refusal.VERTICAL_SPEED
    if previous is None:
        return None
    time0_s, lat0_deg, lon0_deg, _, gs0_mps, trk0_deg, _, _ = previous
    dt_s = time_s - time0_s
    if abs(gs_mps - gs0_mps) > settings.max_accel_mps2 * dt_s + _SPEED_TOLERANCE_MPS:
        return Refusal.ACCELERATION
    slowest_mps = min(gs_mps, gs0_mps)
    if slowest_mps > 0.0 and trk_deg != trk0_deg:
        turn_deg = abs((trk_deg - trk0_deg + 180.0) % 360.0 - 180.0)
        max_turn_deg = _DEG_PER_RAD * settings.max_lateral_accel_mps2 / slowest_mps * dt_s
        if turn_deg > max_turn_deg + _TURN_TOLERANCE_DEG:
            return Refusal.TURN
    reach_m = max(gs_mps, gs0_mps) * dt_s + settings.position_tolerance_m
    north_m = (lat_deg - lat0_deg) * _M_PER_DEG
    east_deg = (lon_deg - lon0_deg + 180.0) % 360.0 - 180.0
    if abs(north_m) + abs(east_deg) * _M_PER_DEG <= reach_m:  # an upper bound of the distance
        return None
    east_m = east_deg * _M_PER_DEG * math.cos(lat0_deg * _RAD_PER_DEG)
    if north_m * north_m + east_m * east_m > reach_m * reach_m:
        return Refusal.POSITION_JUMP
    return None


REFUSALS = tuple(Refusal)
"""Each refusal code's reason (:func:`implausible_many`); -1 for none."""
NOT_REFUSED = -1


def implausible_many(
    settings: GatingSettings,
    state: Sequence[NDArray[np.float64]],
    previous: Sequence[NDArray[np.float64]],
    has_previous: NDArray[np.bool_],
) -> NDArray[np.int8]:
    """:func:`implausible` over columns: each row's refusal code (:data:`REFUSALS`) or :data:`NOT_REFUSED`.

    ``state`` and ``previous`` are the :data:`Kinematics` columns (``previous``
    read only where ``has_previous``).
    """
    time_s, lat_deg, lon_deg, _, gs_mps, trk_deg, vs_mps = state[:7]
    time0_s, lat0_deg, lon0_deg, _, gs0_mps, trk0_deg = previous[:6]
    out = np.full(time_s.size, NOT_REFUSED, dtype=np.int8)

    def refuse(where: NDArray[np.bool_], reason: Refusal) -> None:
        out[where & (out == NOT_REFUSED)] = REFUSALS.index(reason)

    refuse(gs_mps > settings.max_gs_mps, Refusal.GROUND_SPEED)
    refuse(np.abs(vs_mps) > settings.max_climb_mps, Refusal.VERTICAL_SPEED)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dt_s = time_s - time0_s
        refuse(
            has_previous & (np.abs(gs_mps - gs0_mps) > settings.max_accel_mps2 * dt_s + _SPEED_TOLERANCE_MPS),
            Refusal.ACCELERATION,
        )
        slowest_mps = np.minimum(gs_mps, gs0_mps)
        turn_deg = np.abs((trk_deg - trk0_deg + 180.0) % 360.0 - 180.0)
        max_turn_deg = _DEG_PER_RAD * settings.max_lateral_accel_mps2 / slowest_mps * dt_s
        turning = has_previous & (slowest_mps > 0.0) & (trk_deg != trk0_deg)
        refuse(turning & (turn_deg > max_turn_deg + _TURN_TOLERANCE_DEG), Refusal.TURN)
        reach_m = np.maximum(gs_mps, gs0_mps) * dt_s + settings.position_tolerance_m
        north_m = (lat_deg - lat0_deg) * _M_PER_DEG
        east_deg = (lon_deg - lon0_deg + 180.0) % 360.0 - 180.0
        near = np.abs(north_m) + np.abs(east_deg) * _M_PER_DEG <= reach_m  # an upper bound of the distance
        east_m = east_deg * _M_PER_DEG * np.cos(lat0_deg * _RAD_PER_DEG)
        jump = north_m * north_m + east_m * east_m > reach_m * reach_m
    refuse(has_previous & ~near & jump, Refusal.POSITION_JUMP)
    return out


def check_cap(party: str, held: int, new: int, cap: int) -> None:
    """Refuse a batch that would take ``party`` over its aircraft cap.

    Raises
    ------
    InputError
        ``held + new > cap``, naming ``tracks_max_aircraft_per_party``.

    Examples
    --------
    >>> check_cap("blue", 4990, 10, 5000)
    >>> check_cap("blue", 4990, 11, 5000)
    Traceback (most recent call last):
    ...
    deconflict.errors.InputError: request: states: party 'blue' would hold 5001 aircraft, ...
    """
    if held + new > cap:
        message = (
            f"party {party!r} would hold {held + new} aircraft, at most {cap} "
            f"(tracks_max_aircraft_per_party); {new} new in this batch, {held} held"
        )
        raise InputError([Problem("request", message, None, "states")])


class PlanAreas(Protocol):
    """Where each party has live plans: the policy's source."""

    def near_plans(self, party: str, lon_deg: Float, lat_deg: Float, now_s: float, margin_m: float) -> Bool:
        """Which points lie within ``margin_m`` of a live plan of ``party`` whose window holds ``now_s``."""
        ...


class StorePlanAreas:
    """:class:`PlanAreas` from the plan store, each party's plans read at most every ``refresh_s``.

    Also the live picture's :class:`~deconflict.channel.live.conformance.PlanVolumes`
    (:meth:`live_volumes`, :meth:`planning_parties`).

    Parameters
    ----------
    store
        The strategic store (live operations, by party).
    refresh_s
        How long a party's plans are kept before they are read again (a new
        filing takes effect within that time).
    monotonic
        The clock of the cache.
    parties
        The names of every party (read at most every ``refresh_s``); none: no
        party is monitored for conformance.
    """

    def __init__(
        self,
        store: Store,
        refresh_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        parties: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, tuple[Volume, ...]]] = {}
        self._parties = parties
        self._planning: tuple[float, tuple[str, ...]] | None = None

    def live_volumes(self, party: str) -> Sequence[Volume]:
        """Every volume of ``party``'s live operations, whatever their window."""
        return self._volumes(party)

    def planning_parties(self) -> Sequence[str]:
        """The parties with at least one live operation."""
        if self._parties is None:
            return ()
        now = self._monotonic()
        if self._planning is not None and now - self._planning[0] < self._refresh_s:
            return self._planning[1]
        found = tuple(p for p in self._parties() if self._volumes(p))
        self._planning = (now, found)
        return found

    def _volumes(self, party: str) -> tuple[Volume, ...]:
        now = self._monotonic()
        cached = self._cache.get(party)
        if cached is not None and now - cached[0] < self._refresh_s:
            return cached[1]
        volumes = tuple(
            v for op in self._store.list_operations(party) if op.state.is_live for v in op.volumes
        )
        self._cache[party] = (now, volumes)
        return volumes

    def near_plans(self, party: str, lon_deg: Float, lat_deg: Float, now_s: float, margin_m: float) -> Bool:
        """Which points lie within ``margin_m`` of a live plan of ``party`` whose window holds ``now_s``."""
        active = [v for v in self._volumes(party) if v.time_start_s <= now_s < v.time_end_s]
        return near_footprints([v.footprint for v in active], lon_deg, lat_deg, margin_m)


def near_footprints(footprints: Sequence[Footprint], lon_deg: Float, lat_deg: Float, margin_m: float) -> Bool:
    """Which points lie within ``margin_m`` (geodesic) of one of ``footprints``.

    Measured by :func:`~deconflict.geometry.margin.within_margin`: circles exactly from their
    centre, polygons by cheap bounds where those decide and by the exact geodesic distance
    otherwise, for at most :data:`MAX_EXACT` points a call (a few milliseconds each): points
    beyond that count as not near, so aircraft parked in the undecided band cannot slow the
    cycle down, and the error only ever withholds.
    """
    from deconflict.geometry.margin import within_margin

    exact_left = MAX_EXACT
    lon = np.asarray(lon_deg, dtype=np.float64)
    lat = np.asarray(lat_deg, dtype=np.float64)
    near = np.zeros(lon.shape, dtype=bool)
    for footprint in footprints:
        todo = np.flatnonzero(~near)
        if todo.size == 0:
            break
        found, exact_left = within_margin(
            footprint, lon[todo], lat[todo], margin_m, exact_left=exact_left, undecided=False
        )
        near[todo[found]] = True
    return near
