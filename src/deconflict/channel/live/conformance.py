"""Conformance monitoring: an aircraft outside all of its party's active plans raises an alert.

Who is monitored
----------------
A party is monitored while it has at least one *active* plan (below): each of
its airborne, fresh aircraft must then lie in one of its active plans, grown by
the margins (:class:`~deconflict.channel.live.settings.ConformanceSettings`).
A party with no active plan raises none: one that files nothing (a civil feed),
and one whose plans are all in the future or past (its aircraft fly under some
other arrangement then; a plan that runs late is for its owner to extend,
``deconflict ops extend``). So an aircraft that overruns the window of its party's only
plan is not alerted; with any other plan of its party active, it is.

Active plans
------------
A volume of a live operation whose time window holds now (start included, end
excluded), whatever the operation's state: ``proposed`` and ``accepted``
count as well as ``activated``, because an aircraft flying inside a plan it
filed does what it said it would, and an aircraft outside all of them does not
whether or not the plan was activated. ``withdrawn`` and ``ended`` (released
early) plans are not active. The containment test is
:func:`~deconflict.strategic.containment.within_volumes`: the footprint grown
by ``margin_m`` (geodesic), the altitude band grown by ``vertical_margin_m``.

The alert
---------
A :class:`NonConformance` is raised at the first cycle the aircraft is found
outside (no confirmation delay: a plan is a promise, and the first cycle off it
is the one the watch must see), numbered with the separation alerts (``a-<n>``,
one sequence) and cleared at the first cycle the aircraft is back inside, no
longer tracked (stale, landed) or its party no longer monitored. Its owner sees
it with its own aircraft's id and position (:meth:`NonConformance.view_for`).

Another party's space
---------------------
While the stray lies in another party's conflict-relevant space (an active
volume of that party grown by the conflict buffers,
:class:`~deconflict.strategic.buffers.Buffers`), that party is told as it is
told of an alert: the alert's id, the owner's party, and the aircraft's
position, altitude and velocity under the alert's reference, never the owner's
aircraft id, callsign, trail or plans. The owner is never told whose space its
aircraft entered (that would place the other party's plans).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.live.alerts import Alert, AlertKind, AlertLevel, AlertView, Position
from deconflict.channel.live.settings import ConformanceSettings
from deconflict.channel.live.tracks import Aircraft
from deconflict.errors import NotFoundError

if TYPE_CHECKING:
    from deconflict.strategic.volume import Volume

# The containment test (shapely, pyproj) is imported where it is used: importing the channel
# domain stays light.

__all__ = ["NonConformance", "PlanVolumes", "find_strays", "strays_by_code"]

Float = NDArray[np.float64]
Int = NDArray[np.int64]


class PlanVolumes(Protocol):
    """The parties' live plans, for conformance monitoring."""

    def live_volumes(self, party: str) -> Sequence[Volume]:
        """Every volume of ``party``'s live operations (any window)."""
        ...

    def planning_parties(self) -> Sequence[str]:
        """The parties with at least one live operation."""
        ...


@dataclass(frozen=True)
class NonConformance:
    """An aircraft outside all of its party's active plans (beyond the margins).

    Attributes
    ----------
    id
        ``a-<n>``, numbered with the separation alerts, never reused.
    aircraft
        The stray aircraft.
    since_s, last_s
        First and latest cycle it was found outside.
    position
        Where it was at ``last_s`` (``lon_deg, lat_deg, alt_m``).
    entered
        The other parties in whose conflict-relevant space it is at ``last_s``, sorted.
    """

    id: str
    aircraft: Aircraft
    since_s: float
    last_s: float
    position: Position
    entered: tuple[str, ...] = ()

    @property
    def parties(self) -> tuple[str, ...]:
        """The owner, then the parties whose space it entered."""
        return (self.aircraft.party, *self.entered)

    def involves(self, party: str) -> bool:
        """Whether ``party`` owns the aircraft or is told of it."""
        return party == self.aircraft.party or party in self.entered

    def view_for(self, party: str) -> AlertView:
        """The alert as ``party`` sees it: its own aircraft, or (another party) where the stray is.

        Raises
        ------
        NotFoundError
            If ``party`` neither owns the aircraft nor is told of it.

        Examples
        --------
        >>> n = NonConformance("a-3", Aircraft("blue", "B1"), 0.0, 1.0, (2.0, 48.0, 900.0), ("red",))
        >>> own, other = n.view_for("blue"), n.view_for("red")
        >>> (own.own_id, own.other_party, own.own), (other.own_id, other.other_party, other.other)
        (('B1', None, (2.0, 48.0, 900.0)), (None, 'blue', (2.0, 48.0, 900.0)))
        """
        if party == self.aircraft.party:
            return AlertView(
                self.id, AlertLevel.WARNING, self.aircraft.id, None, None, self.since_s,
                None, None, None, None, self.position, None, kind=AlertKind.NON_CONFORMANCE,
            )  # fmt: skip
        if party in self.entered:
            return AlertView(
                self.id, AlertLevel.WARNING, None, self.aircraft.party, self.id, self.since_s,
                None, None, None, None, None, self.position, kind=AlertKind.NON_CONFORMANCE,
            )  # fmt: skip
        raise NotFoundError(f"no alert {self.id} for party {party!r}")

    def as_logged(self) -> Alert:
        """The alert log's row of it: the aircraft paired with itself (what the statistics count)."""
        return Alert(
            self.id, AlertLevel.WARNING, self.aircraft, self.aircraft, self.since_s, self.last_s,
            0.0, 0.0, 0.0, 0.0, self.position, self.position,
        )  # fmt: skip


def find_strays(
    plans: PlanVolumes,
    settings: ConformanceSettings,
    owners: Sequence[str],
    lon_deg: Float,
    lat_deg: Float,
    alt_m: Float,
    now_s: float,
) -> tuple[Int, list[tuple[str, ...]]]:
    """The aircraft (rows) outside all of their party's active plans (if any), and whose space each entered.

    ``owners`` names each row's party. Returns the rows, ascending, and for
    each the other parties whose conflict-relevant space (an active plan) holds it.

    Examples
    --------
    >>> from deconflict.geometry.footprint import circle_footprint
    >>> from deconflict.strategic.volume import Volume
    >>> from deconflict.units import Altitude, AltitudeReference
    >>> msl = AltitudeReference.MSL
    >>> def plan(party, lon_deg):
    ...     return Volume("v", party, "op", circle_footprint(lon_deg, 48.0, 5000.0),
    ...                   Altitude(0.0, msl), Altitude(3000.0, msl), 0.0, 3600.0)
    >>> class Plans:
    ...     volumes = {"blue": [plan("blue", 2.0)], "red": [plan("red", 3.0)]}
    ...     def live_volumes(self, party): return self.volumes.get(party, [])
    ...     def planning_parties(self): return list(self.volumes)
    >>> rows, entered = find_strays(Plans(), ConformanceSettings(), ["blue", "blue", "civil"],
    ...                             np.array([2.0, 3.0, 9.0]), np.full(3, 48.0), np.full(3, 900.0), 60.0)
    >>> rows.tolist(), entered
    ([1], [('red',)])
    """
    names = np.asarray(owners, dtype=object)
    codes = np.unique(names, return_inverse=True)[1].astype(np.int64)
    parties = {int(codes[k]): str(names[k]) for k in np.unique(codes, return_index=True)[1].tolist()}
    return strays_by_code(plans, settings, codes, parties, lon_deg, lat_deg, alt_m, now_s)


def strays_by_code(
    plans: PlanVolumes,
    settings: ConformanceSettings,
    codes: Int,
    parties: dict[int, str],
    lon_deg: Float,
    lat_deg: Float,
    alt_m: Float,
    now_s: float,
) -> tuple[Int, list[tuple[str, ...]]]:
    """:func:`find_strays`, each row's party a code (``parties[code]`` its name), as the cycle has them.

    Vectorised over the aircraft of each monitored party; the other parties'
    spaces are tested only for the strays found.
    """
    from deconflict.strategic.containment import active_volumes, within_volumes

    monitored = set(plans.planning_parties())
    found: list[Int] = []
    for code in np.unique(codes).tolist():
        party = parties[int(code)]
        if party not in monitored:
            continue
        active = active_volumes(plans.live_volumes(party), now_s)
        if not active:  # no active plan: not monitored now
            continue
        mine = np.flatnonzero(codes == code)
        inside = within_volumes(
            active, lon_deg[mine], lat_deg[mine], alt_m[mine], now_s,
            settings.own_margins, settings.altitude_margins, undecided=True,
        )  # fmt: skip
        found.append(mine[~inside])
    rows = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    entered: list[list[str]] = [[] for _ in range(rows.size)]
    if rows.size:
        owner_codes = codes[rows]
        for other in sorted(monitored):
            grow = settings.other_buffers
            volumes = active_volumes(plans.live_volumes(other), now_s, grow)
            if not volumes:
                continue
            theirs = [c for c, name in parties.items() if name == other]
            candidates = np.flatnonzero(~np.isin(owner_codes, theirs))
            if candidates.size == 0:
                continue
            at = rows[candidates]
            # Undecided counts as outside: an edge case never discloses.
            inside = within_volumes(
                volumes, lon_deg[at], lat_deg[at], alt_m[at], now_s, grow,
                settings.altitude_margins, undecided=False,
            )  # fmt: skip
            for k in candidates[inside].tolist():
                entered[k].append(other)
    return rows.astype(np.int64), [tuple(e) for e in entered]
