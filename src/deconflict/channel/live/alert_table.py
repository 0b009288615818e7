"""The open alerts as columns: each cycle's pairs merged as arrays, objects only for what changed.

A dense sky holds hundreds of thousands of alerts that mostly go on from one
cycle to the next. :class:`AlertTable` keeps them in NumPy columns sorted by a
pair key, merges a cycle's pairs (:class:`SeenAlerts`) with
``searchsorted``, and builds :class:`~deconflict.channel.live.alerts.Alert`
objects only for the alerts that are new, changed or cleared, and for the
views asked for. It does what :func:`~deconflict.channel.live.alerts.merge_alerts`
does over a dictionary of objects (the tests hold the two to the same results).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from deconflict.channel.gating import Shown, Withheld
from deconflict.channel.live.alerts import Alert, AlertLevel
from deconflict.channel.live.tracks import Aircraft

__all__ = ["LEVELS", "NOT_WITHHELD", "WITHHELD", "AlertTable", "OpenAlerts", "SeenAlerts", "TableChanges"]

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Code = NDArray[np.int8]
Objects = NDArray[np.object_]

LEVELS = (AlertLevel.ADVISORY, AlertLevel.WARNING, AlertLevel.LOSS)
"""Each level code's level (codes grow with urgency)."""
WITHHELD = tuple(Withheld)
"""Each withheld code's reason; :data:`NOT_WITHHELD` for none."""
NOT_WITHHELD = -1
_WITHHELD_OF: dict[int, Withheld | None] = {NOT_WITHHELD: None, **dict(enumerate(WITHHELD))}

_FIGURES = ("time_to_loss_s", "time_to_cpa_s", "distance_cpa_m", "vertical_cpa_m")


def pair_key(slot_a: Int, slot_b: Int) -> Int:
    """One int64 per ordered pair of track-table slots."""
    return (slot_a.astype(np.int64) << 32) | slot_b.astype(np.int64)


@dataclass(frozen=True, eq=False)
class SeenAlerts:
    """One cycle's pairs in conflict, as columns, each pair's ``a`` before ``b`` (the :class:`Alert` order).

    ``slot_a``, ``slot_b`` are the aircraft's track-table slots; ``a``, ``b``
    their :class:`Aircraft` (object arrays; ``None`` may stand for those of a
    pair the table holds already, :meth:`AlertTable.holds`: only a new pair's
    are read); ``level`` codes into :data:`LEVELS`,
    ``withheld_a``, ``withheld_b`` into :data:`WITHHELD`; positions ``(n, 3)``
    ``lon_deg, lat_deg, alt_m``.
    """

    slot_a: Int
    slot_b: Int
    a: Objects
    b: Objects
    level: Code
    withheld_a: Code
    withheld_b: Code
    time_to_loss_s: Float
    time_to_cpa_s: Float
    distance_cpa_m: Float
    vertical_cpa_m: Float
    position_a: Float
    position_b: Float

    def __len__(self) -> int:
        return int(self.slot_a.size)


@dataclass(frozen=True)
class TableChanges:
    """What merging one cycle did (:meth:`AlertTable.merge`); the order of :func:`merge_alerts`'."""

    new: tuple[Alert, ...]
    changed: tuple[Alert, ...]
    cleared: tuple[Alert, ...]
    shown: tuple[Shown, ...]
    next_number: int


@dataclass(frozen=True, eq=False)
class _Rows:
    """The open alerts' columns, sorted by ``key``; never changed in place (a cycle makes new ones)."""

    key: Int
    number: Int
    a: Objects
    b: Objects
    since_s: Float
    last_s: Float
    level: Code
    withheld_a: Code
    withheld_b: Code
    time_to_loss_s: Float
    time_to_cpa_s: Float
    distance_cpa_m: Float
    vertical_cpa_m: Float
    position_a: Float
    position_b: Float

    @classmethod
    def empty(cls) -> _Rows:
        f, o, c = np.empty(0), np.empty(0, dtype=object), np.empty(0, dtype=np.int8)
        i = np.empty(0, dtype=np.int64)
        return cls(i, i, o, o, f, f, c, c, c, f, f, f, f, np.empty((0, 3)), np.empty((0, 3)))

    def take(self, rows: Int) -> _Rows:
        return _Rows(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})

    def alert(self, row: int) -> Alert:
        return self.alerts(np.array([row], dtype=np.int64))[0]

    def alerts(self, rows: Int) -> list[Alert]:
        """The alerts of ``rows`` in order, each column indexed once, not each value (80,000 a cycle)."""
        withheld_a = [_WITHHELD_OF[c] for c in self.withheld_a[rows].tolist()]
        withheld_b = [_WITHHELD_OF[c] for c in self.withheld_b[rows].tolist()]
        return [
            Alert(
                id=f"a-{number}",
                level=LEVELS[level],
                a=a,
                b=b,
                since_s=since_s,
                last_s=last_s,
                time_to_loss_s=time_to_loss_s,
                time_to_cpa_s=time_to_cpa_s,
                distance_cpa_m=distance_cpa_m,
                vertical_cpa_m=vertical_cpa_m,
                position_a=(pa[0], pa[1], pa[2]),
                position_b=(pb[0], pb[1], pb[2]),
                withheld_a=wa,
                withheld_b=wb,
            )
            for (
                number, level, a, b, since_s, last_s, time_to_loss_s, time_to_cpa_s, distance_cpa_m,
                vertical_cpa_m, pa, pb, wa, wb,
            ) in zip(
                self.number[rows].tolist(),
                self.level[rows].tolist(),
                self.a[rows].tolist(),
                self.b[rows].tolist(),
                self.since_s[rows].tolist(),
                self.last_s[rows].tolist(),
                self.time_to_loss_s[rows].tolist(),
                self.time_to_cpa_s[rows].tolist(),
                self.distance_cpa_m[rows].tolist(),
                self.vertical_cpa_m[rows].tolist(),
                self.position_a[rows].tolist(),
                self.position_b[rows].tolist(),
                withheld_a,
                withheld_b,
                strict=True,
            )
        ]  # fmt: skip

    def __len__(self) -> int:
        return int(self.key.size)


def _concatenate(first: _Rows, second: _Rows) -> _Rows:
    return _Rows(
        **{
            name: np.concatenate([getattr(first, name), getattr(second, name)])
            for name in first.__dataclass_fields__
        }
    )


class OpenAlerts(Sequence[Alert]):
    """The alerts open after a cycle, oldest (lowest number) first, made into objects only when read."""

    def __init__(self, rows: _Rows) -> None:
        self._rows = rows
        self._order = np.argsort(rows.number, kind="stable")

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Alert: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Alert, ...]: ...
    def __getitem__(self, index: int | slice) -> Alert | tuple[Alert, ...]:
        if isinstance(index, slice):
            return tuple(self._rows.alerts(self._order[index]))
        return self._rows.alert(int(self._order[index]))

    def __iter__(self) -> Iterator[Alert]:
        return (self._rows.alert(int(r)) for r in self._order)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"OpenAlerts({len(self)} alerts)"


class AlertTable:
    """The open alerts between parties' aircraft, in columns sorted by pair; not thread-safe."""

    def __init__(self) -> None:
        self._rows = _Rows.empty()

    def __len__(self) -> int:
        return len(self._rows)

    def holds(self, slot_a: Int, slot_b: Int) -> NDArray[np.bool_]:
        """Whether an alert is open for each pair of slots (``a`` then ``b``, as in :class:`SeenAlerts`)."""
        return _among(self._rows.key, pair_key(slot_a, slot_b))

    def open(self) -> OpenAlerts:
        """Every open alert, oldest first (a snapshot: later cycles do not change it)."""
        return OpenAlerts(self._rows)

    def involving(self, party: str) -> list[Alert]:
        """The open alerts with one of ``party``'s aircraft, oldest first."""
        rows = self._rows
        if not len(rows):
            return []
        mine = np.flatnonzero(
            np.fromiter((x.party == party for x in rows.a), bool, len(rows))
            | np.fromiter((x.party == party for x in rows.b), bool, len(rows))
        )
        mine = mine[np.argsort(rows.number[mine], kind="stable")]
        return rows.alerts(mine)

    def merge(self, seen: SeenAlerts, next_number: int, now_s: float, gap_s: float) -> TableChanges:
        """Merge a cycle's pairs ``seen`` at ``now_s``, as :func:`merge_alerts` does.

        A pair seen again keeps its number and ``since_s`` and takes the new
        figures; a new pair gets the next number (in the order of ``seen``);
        an alert is changed when its level changes or a side starts or stops
        being withheld or is withheld for another reason; one not seen for
        more than ``gap_s`` is cleared.
        """
        old = self._rows
        key = pair_key(seen.slot_a, seen.slot_b)
        n = len(old)
        at = np.searchsorted(old.key, key) if n else np.zeros(key.size, dtype=np.int64)
        at = np.minimum(at, max(n - 1, 0))
        found = old.key[at] == key if n else np.zeros(key.size, dtype=bool)
        again, fresh = np.flatnonzero(found), np.flatnonzero(~found)
        rows_again = at[again]

        level_changed = old.level[rows_again] != seen.level[again]
        before_a, before_b = old.withheld_a[rows_again], old.withheld_b[rows_again]
        withheld_changed = (before_a != seen.withheld_a[again]) | (before_b != seen.withheld_b[again])
        changed = again[level_changed | withheld_changed]

        numbers = next_number + np.arange(fresh.size, dtype=np.int64)
        figures: dict[str, Any] = {name: getattr(seen, name) for name in _FIGURES}
        updated = _Rows(
            key=old.key,
            number=old.number,
            a=old.a,
            b=old.b,
            since_s=old.since_s,
            last_s=old.last_s.copy(),
            level=old.level.copy(),
            withheld_a=old.withheld_a.copy(),
            withheld_b=old.withheld_b.copy(),
            **{name: getattr(old, name).copy() for name in _FIGURES},
            position_a=old.position_a.copy(),
            position_b=old.position_b.copy(),
        )
        updated.last_s[rows_again] = now_s
        for name in ("level", "withheld_a", "withheld_b", *_FIGURES, "position_a", "position_b"):
            getattr(updated, name)[rows_again] = getattr(seen, name)[again]
        added = _Rows(
            key=key[fresh],
            number=numbers,
            a=seen.a[fresh],
            b=seen.b[fresh],
            since_s=np.full(fresh.size, now_s),
            last_s=np.full(fresh.size, now_s),
            level=seen.level[fresh],
            withheld_a=seen.withheld_a[fresh],
            withheld_b=seen.withheld_b[fresh],
            **{name: values[fresh] for name, values in figures.items()},
            position_a=seen.position_a[fresh],
            position_b=seen.position_b[fresh],
        )
        touched = np.zeros(n, dtype=bool)
        touched[rows_again] = True
        gone = np.flatnonzero(~touched & (now_s - updated.last_s > gap_s))
        gone = gone[np.argsort(updated.number[gone], kind="stable")]
        cleared = tuple(updated.alerts(gone))
        keep = np.ones(n, dtype=bool)
        keep[gone] = False
        merged = _concatenate(updated.take(np.flatnonzero(keep)), added)
        self._rows = merged.take(np.argsort(merged.key, kind="stable"))

        new_alerts = tuple(added.alerts(np.arange(len(added))))
        # Disclosures, in the order of ``seen`` as merge_alerts gives them: a side newly shown.
        shown: list[tuple[int, Shown]] = []
        for k, alert in zip(fresh.tolist(), new_alerts, strict=True):
            shown += [(k, s) for s in _shown(alert, Withheld.PROBATION, Withheld.PROBATION, now_s)]
        # Only a side withheld before and not now is newly shown (not one withheld for another reason).
        after_a, after_b = seen.withheld_a[again], seen.withheld_b[again]
        unveiled = ((before_a != NOT_WITHHELD) & (after_a == NOT_WITHHELD)) | (
            (before_b != NOT_WITHHELD) & (after_b == NOT_WITHHELD)
        )
        for w in np.flatnonzero(withheld_changed & unveiled).tolist():
            was_a, was_b = _WITHHELD_OF[int(before_a[w])], _WITHHELD_OF[int(before_b[w])]
            shown += [
                (int(again[w]), s) for s in _shown(updated.alert(int(rows_again[w])), was_a, was_b, now_s)
            ]
        shown.sort(key=lambda item: item[0])
        return TableChanges(
            new=new_alerts,
            changed=tuple(updated.alerts(at[changed])),
            cleared=cleared,
            shown=tuple(s for _, s in shown),
            next_number=next_number + int(fresh.size),
        )


def _among(sorted_keys: Int, keys: Int) -> NDArray[np.bool_]:
    """Whether each of ``keys`` is in ``sorted_keys`` (ascending)."""
    if not sorted_keys.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[at] == keys)


def _shown(alert: Alert, before_a: Withheld | None, before_b: Withheld | None, now_s: float) -> list[Shown]:
    """The sides of ``alert`` shown the other aircraft now that were not before."""
    out = []
    for viewer, subject, before, now in (
        (alert.a, alert.b, before_a, alert.withheld_a),
        (alert.b, alert.a, before_b, alert.withheld_b),
    ):
        if now is None and before is not None:
            out.append(Shown(viewer.party, viewer.id, subject.party, subject.id, alert.id, now_s))
    return out


def aircraft_array(values: Sequence[Aircraft | None]) -> Objects:
    """An object array of aircraft (NumPy would otherwise unpack the dataclasses)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
