"""The open incidents as columns: each cycle's pairs in loss merged as arrays, objects only for changes.

Dense traffic keeps thousands of pairs in loss from one cycle to the next.
:class:`IncidentTable` keeps the open incidents sorted by a pair key with
their closest distance and whom their closest approach is withheld from as
columns, merges a cycle's pairs in loss (:class:`SeenIncidents`) with
``searchsorted``, and builds :class:`~deconflict.channel.live.incidents.Incident`
objects only for the incidents opened, closer or closed. It does what
:func:`~deconflict.channel.live.incidents.merge_incidents` does over a
dictionary of objects (the tests hold the two to the same results).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.live.alert_table import pair_key
from deconflict.channel.live.incidents import ClosestApproach, Incident, IncidentChanges
from deconflict.channel.live.tracks import Aircraft, Pair

__all__ = ["IncidentTable", "SeenIncidents"]

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Code = NDArray[np.int8]
Objects = NDArray[np.object_]

HIDDEN_A, HIDDEN_B = 1, 2
"""Bits of a withheld mask: the closest approach is withheld from ``a``'s party, from ``b``'s."""


@dataclass(frozen=True, eq=False)
class SeenIncidents:
    """One cycle's pairs in loss as columns, each pair's ``a`` before ``b`` (the :class:`Incident` order).

    ``slot_a``, ``slot_b`` are the aircraft's track-table slots, ``a``, ``b``
    their :class:`Aircraft` (object arrays; ``None`` may stand for those of a
    pair the table holds already, :meth:`IncidentTable.holds`: only a new
    pair's are read); ``distance_m``, ``vertical_m``
    the separations now, ``lon_deg``, ``lat_deg``, ``alt_m`` the midpoint;
    ``hidden`` a mask of :data:`HIDDEN_A` and :data:`HIDDEN_B` (the sides
    whose own aircraft do not vouch now).
    """

    slot_a: Int
    slot_b: Int
    a: Objects
    b: Objects
    distance_m: Float
    vertical_m: Float
    lon_deg: Float
    lat_deg: Float
    alt_m: Float
    hidden: Code

    def __len__(self) -> int:
        return int(self.slot_a.size)

    def moment(self, k: int, now_s: float) -> ClosestApproach:
        """Row ``k`` as a closest approach at ``now_s``."""
        return ClosestApproach(
            now_s,
            float(self.distance_m[k]),
            float(self.vertical_m[k]),
            float(self.lon_deg[k]),
            float(self.lat_deg[k]),
            float(self.alt_m[k]),
        )


def _withheld(a: Aircraft, b: Aircraft, mask: int) -> tuple[str, ...]:
    return tuple(side.party for side, bit in ((a, HIDDEN_A), (b, HIDDEN_B)) if mask & bit)


def _mask(incident: Incident) -> int:
    return (HIDDEN_A if incident.a.party in incident.withheld else 0) | (
        HIDDEN_B if incident.b.party in incident.withheld else 0
    )


def _key(slot_a: Int, slot_b: Int) -> Int:
    """One int64 per unordered pair of slots."""
    return pair_key(np.minimum(slot_a, slot_b), np.maximum(slot_a, slot_b))


class IncidentTable:
    """The open incidents, in columns sorted by pair key; not thread-safe.

    Parameters
    ----------
    open_incidents
        Incidents left open (the service stopped during them): each takes its
        place at the first merge that finds both its aircraft in the track table
        (``slot_of``), and closes at that merge otherwise.
    """

    def __init__(self, open_incidents: Iterable[Incident] = ()) -> None:
        self._key: Int = np.empty(0, dtype=np.int64)
        self._incident: Objects = np.empty(0, dtype=object)
        self._distance_m: Float = np.empty(0)
        self._hidden: Code = np.empty(0, dtype=np.int8)
        self._resumed: dict[Pair, Incident] = {(i.a, i.b): i for i in open_incidents}

    def __len__(self) -> int:
        return int(self._key.size) + len(self._resumed)

    def holds(self, slot_a: Int, slot_b: Int) -> NDArray[np.bool_]:
        """Whether an incident is open for each pair of slots, in either order (resumed, unplaced: no)."""
        keys = _key(slot_a, slot_b)
        if not self._key.size:
            return np.zeros(keys.size, dtype=bool)
        at = np.minimum(np.searchsorted(self._key, keys), self._key.size - 1)
        return np.asarray(self._key[at] == keys)

    def open(self) -> list[Incident]:
        """The open incidents, oldest (lowest id) first."""
        found: list[Incident] = [*self._incident.tolist(), *self._resumed.values()]
        return sorted(found, key=lambda i: i.id)

    def merge(
        self, seen: SeenIncidents, next_id: int, now_s: float, slot_of: Callable[[Aircraft], int | None]
    ) -> IncidentChanges:
        """Merge a cycle's pairs in loss ``seen`` at ``now_s``, as :func:`merge_incidents` does.

        A new pair opens an incident with the id ``next_id`` (counting on, in the
        order of ``seen``); an open one keeps the smaller horizontal distance as
        its closest approach and takes the new withheld sides (either change
        makes it *closer*, in the order of ``seen``); an open incident whose
        pair is not in loss closes with ``ended_s`` now (closed ones by id).
        ``slot_of`` gives an aircraft's track-table slot (``None`` if it has
        none): for the incidents resumed from the store.
        """
        unplaced = self._place_resumed(slot_of) if self._resumed else []
        n = int(self._key.size)
        key = _key(seen.slot_a, seen.slot_b)
        at = np.minimum(np.searchsorted(self._key, key), max(n - 1, 0)) if n else np.zeros(key.size, np.int64)
        found = self._key[at] == key if n else np.zeros(key.size, dtype=bool)
        again, fresh = np.flatnonzero(found), np.flatnonzero(~found)
        rows = at[again]

        incident = self._incident.copy()
        distance_m, hidden = self._distance_m.copy(), self._hidden.copy()
        nearer = seen.distance_m[again] < distance_m[rows]
        moved = nearer | (seen.hidden[again] != hidden[rows])
        closer: list[Incident] = []
        for k, row, is_nearer in zip(
            again[moved].tolist(), rows[moved].tolist(), nearer[moved].tolist(), strict=True
        ):
            old: Incident = incident[row]
            mask = int(seen.hidden[k])
            changed = dataclasses.replace(
                old,
                closest=seen.moment(k, now_s) if is_nearer else old.closest,
                withheld=_withheld(old.a, old.b, mask),
            )
            incident[row] = changed
            closer.append(changed)
        moved_rows = rows[moved]
        distance_m[moved_rows] = np.minimum(distance_m[moved_rows], seen.distance_m[again][moved])
        hidden[moved_rows] = seen.hidden[again][moved]

        opened = [
            Incident(
                next_id + j,
                seen.a[k],
                seen.b[k],
                now_s,
                None,
                seen.moment(k, now_s),
                withheld=_withheld(seen.a[k], seen.b[k], int(seen.hidden[k])),
            )
            for j, k in enumerate(fresh.tolist())
        ]

        touched = np.zeros(n, dtype=bool)
        touched[rows] = True
        gone = np.flatnonzero(~touched)
        closed = [dataclasses.replace(i, ended_s=now_s) for i in [*incident[gone].tolist(), *unplaced]]
        closed.sort(key=lambda i: i.id)

        keep = np.flatnonzero(touched)
        added = np.empty(len(opened), dtype=object)
        added[:] = opened
        merged_key = np.concatenate([self._key[keep], key[fresh]])
        order = np.argsort(merged_key, kind="stable")
        self._key = merged_key[order]
        self._incident = np.concatenate([incident[keep], added])[order]
        self._distance_m = np.concatenate([distance_m[keep], seen.distance_m[fresh]])[order]
        self._hidden = np.concatenate([hidden[keep], seen.hidden[fresh]])[order]
        return IncidentChanges(tuple(opened), tuple(closer), tuple(closed), next_id + len(opened))

    def _place_resumed(self, slot_of: Callable[[Aircraft], int | None]) -> list[Incident]:
        """Put the resumed incidents whose aircraft have slots into the columns; the others, to close."""
        placed: list[tuple[int, int, Incident]] = []
        unplaced: list[Incident] = []
        for incident in self._resumed.values():
            slot_a, slot_b = slot_of(incident.a), slot_of(incident.b)
            if slot_a is None or slot_b is None:
                unplaced.append(incident)
            else:
                placed.append((slot_a, slot_b, incident))
        self._resumed = {}
        if placed:
            objects = np.empty(len(placed), dtype=object)
            objects[:] = [i for _, _, i in placed]
            key = np.concatenate(
                [self._key, _key(np.array([p[0] for p in placed]), np.array([p[1] for p in placed]))]
            )
            order = np.argsort(key, kind="stable")
            self._key = key[order]
            self._incident = np.concatenate([self._incident, objects])[order]
            self._distance_m = np.concatenate(
                [self._distance_m, np.array([i.closest.distance_m for _, _, i in placed])]
            )[order]
            self._hidden = np.concatenate(
                [self._hidden, np.array([_mask(i) for _, _, i in placed], dtype=np.int8)]
            )[order]
        return unplaced
