"""The volumes' 4-D boxes in memory, searched by a compiled kernel; kept in step with the SQLite file.

The ``volume_index`` table is the source of truth: a plain table of boxes
(``id = volume rowid * 64 + part``; lon, lat, MSL altitude, time relative to
2020), appended to and deleted from in the filing's transaction. This module
keeps a copy of it in memory, built from the table when the store first
searches (so it survives ``kill -9``: a restarted process rebuilds it), and
in step with the store's own commits:

- a change (boxes added, volumes removed) is *pending* until its transaction
  commits: searches inside that transaction (and inside a group commit, see
  :class:`~deconflict.storage.sqlite.database.Database`) see it, its commit
  applies it to the copy, and a rollback (of its savepoint, or of a failed
  commit) drops it, so a rolled-back volume is never served;
- a commit by another connection (another process, or a store on its own
  :class:`~deconflict.storage.sqlite.database.Database`) changes SQLite's
  ``data_version``: the copy is then rebuilt from the table.

:class:`BoxIndex` is the copy itself: boxes sorted by start time within
classes of duration (so a search reads only the boxes whose start is within
the class's longest duration of the query window), plus an unsorted tail of
boxes added since, merged in before a search once it is long. Dead boxes
(removed volumes) stay, marked, until the next merge.

Within a duration class, boxes are also grouped by their width in longitude and,
in each such class, by the longitude cell (:data:`_CELL_DEG` wide) of their west
edge: a search reads, per class, only the cells from its west edge less the
class's widest box to its east edge, and in each cell only the boxes whose start
is in the window. On a region a few degrees wide that is a small part of what
the time window alone would read.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deconflict.storage.rows import PARTS_PER_VOLUME
from deconflict.storage.sqlite.database import Database

__all__ = ["BoxIndex", "Change", "Floats", "Ints", "StoredBoxIndex"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

_DURATION_EDGES_S = np.array([3_600.0, 4 * 3_600.0, 16 * 3_600.0, 64 * 3_600.0, 256 * 3_600.0])
"""Upper bounds of the duration classes (the last class takes any longer box)."""

_WIDTH_EDGES_DEG = np.array([0.1, 0.3, 1.0, 4.0])
"""Upper bounds of the longitude-width classes (the last class takes any wider box)."""

_CELL_DEG = 0.1
"""Width of the longitude cells boxes are grouped by (by their west edge) within a class."""

_CELLS = int(np.ceil(360.0 / _CELL_DEG))

_WIDTH_SLACK_DEG = 1e-9
"""Added to a class's widest box: a search never skips a cell for a rounding of ``lon1 - lon0``."""

_TAIL_BOXES = 2_048
"""Boxes added since the last merge that a search scans one by one before it merges them in."""


def _grow_py(values: Ints, size: int) -> Ints:
    bigger = np.empty(2 * values.size, np.int64)
    bigger[:size] = values[:size]
    return bigger


def _cell_py(lon_deg: float) -> int:
    """The longitude cell of ``lon_deg`` (clipped to the cells there are)."""
    return min(max(int(np.floor((lon_deg + 180.0) / _CELL_DEG)), 0), _CELLS - 1)


def _search_py(
    start_s: Floats,
    boxes: Floats,
    alive: NDArray[np.bool_],
    parties: Ints,
    exclude_party: int,
    group_start: Ints,
    class_span_s: Floats,
    class_width_deg: Floats,
    tail_start: int,
    count: int,
    queries: Floats,
) -> tuple[Ints, Ints]:
    """(query, box position) pairs that meet; the plain reference of the compiled kernel.

    Positions below ``tail_start`` are grouped by class, then by longitude cell:
    group ``k * _CELLS + c`` is ``group_start[k * _CELLS + c]`` up to the next
    group's start, sorted by start time; the boxes of class ``k`` last at most
    ``class_span_s[k]`` and are at most ``class_width_deg[k]`` wide. Positions from
    ``tail_start`` to ``count`` are scanned one by one. Dead boxes and those of
    ``exclude_party`` are skipped.
    """
    out_q = np.empty(64, np.int64)
    out_p = np.empty(64, np.int64)
    found = 0
    classes = class_span_s.size
    for q in range(queries.shape[0]):
        lon0, lon1, lat0, lat1 = queries[q, 0], queries[q, 1], queries[q, 2], queries[q, 3]
        alt0, alt1, t0, t1 = queries[q, 4], queries[q, 5], queries[q, 6], queries[q, 7]
        for k in range(classes + 1):
            first_cell, last_cell = 0, 0
            if k < classes:
                if group_start[k * _CELLS] == group_start[(k + 1) * _CELLS]:
                    continue
                first_cell, last_cell = _cell(lon0 - class_width_deg[k]), _cell(lon1)
            for c in range(first_cell, last_cell + 1):
                if k < classes:  # the boxes of class k and cell c that start late enough and early enough
                    first, end = group_start[k * _CELLS + c], group_start[k * _CELLS + c + 1]
                    if first == end:
                        continue
                    # One binary search: the scan stops at the first box that starts after t1
                    # (a second search would cost as many cache misses as the boxes it skips).
                    lo = first + np.searchsorted(start_s[first:end], t0 - class_span_s[k], "left")
                    hi, sorted_by_start = end, True
                else:  # the tail, one by one
                    lo, hi, sorted_by_start = tail_start, count, False
                for p in range(lo, hi):
                    if sorted_by_start and start_s[p] > t1:
                        break
                    if (
                        alive[p]
                        and parties[p] != exclude_party
                        and boxes[p, 0] <= lon1
                        and boxes[p, 1] >= lon0
                        and boxes[p, 2] <= lat1
                        and boxes[p, 3] >= lat0
                        and boxes[p, 4] <= alt1
                        and boxes[p, 5] >= alt0
                        and boxes[p, 6] <= t1
                        and boxes[p, 7] >= t0
                    ):
                        if found == out_q.size:
                            out_q = _grow(out_q, found)
                            out_p = _grow(out_p, found)
                        out_q[found] = q
                        out_p[found] = p
                        found += 1
    return out_q[:found], out_p[:found]


# The plain versions run uncompiled until _compiled() swaps in numba's (imported
# on first search only: opening a store for anything else never loads numba).
_cell: Any = _cell_py
_grow: Any = _grow_py
_search_kernel: Any = None


def _compiled() -> Any:
    global _cell, _grow, _search_kernel
    if _search_kernel is None:
        import numba

        _cell = numba.njit(cache=True)(_cell_py)
        _grow = numba.njit(cache=True)(_grow_py)
        _search_kernel = numba.njit(cache=True)(_search_py)
    return _search_kernel


class BoxIndex:
    """Boxes in memory with the volume rowid and party code of each; searched all queries at once.

    Parameters
    ----------
    rowids, parties, boxes
        One entry per box: its volume's rowid, its party's code, its
        :func:`~deconflict.storage.rows.box_array` row.
    compiled
        Search with the numba kernel (``False``: the plain Python reference).
    """

    def __init__(self, rowids: Ints, parties: Ints, boxes: Floats, compiled: bool = True) -> None:
        self._kernel = _compiled() if compiled else _search_py
        self._rowids = np.asarray(rowids, np.int64)
        self._parties = np.asarray(parties, np.int64)
        self._boxes = np.asarray(boxes, np.float64).reshape(-1, 8)
        self._alive = np.ones(self._rowids.size, bool)
        self._count = self._rowids.size
        self._merge()

    def __len__(self) -> int:
        """Live boxes."""
        return int(np.count_nonzero(self._alive[: self._count]))

    def _merge(self) -> None:
        """Sort every live box into its class and cell by start time; empty the tail."""
        live = np.flatnonzero(self._alive[: self._count])
        boxes = self._boxes[live]
        duration_s = boxes[:, 7] - boxes[:, 6]
        width_deg = boxes[:, 1] - boxes[:, 0]
        widths = _WIDTH_EDGES_DEG.size + 1
        klass = np.searchsorted(_DURATION_EDGES_S, duration_s) * widths + np.searchsorted(
            _WIDTH_EDGES_DEG, width_deg
        )
        cell = np.clip(np.floor((boxes[:, 0] + 180.0) / _CELL_DEG), 0, _CELLS - 1).astype(np.int64)
        group = klass * _CELLS + cell
        order = np.lexsort((boxes[:, 6], group))
        live = live[order]
        self._boxes = np.ascontiguousarray(boxes[order])
        self._rowids = self._rowids[live]
        self._parties = self._parties[live]
        self._count = self._main = live.size
        self._alive = np.ones(live.size, bool)
        self._start_s = np.ascontiguousarray(self._boxes[:, 6])
        classes = (_DURATION_EDGES_S.size + 1) * widths
        self._group_start = np.searchsorted(group[order], np.arange(classes * _CELLS + 1)).astype(np.int64)
        span = np.zeros(classes)
        np.maximum.at(span, klass, duration_s)
        self._class_span_s = span
        widest = np.zeros(classes)
        np.maximum.at(widest, klass, width_deg)
        self._class_width_deg = widest + _WIDTH_SLACK_DEG
        self._by_rowid = np.argsort(self._rowids, kind="stable")
        self._sorted_rowids = self._rowids[self._by_rowid]

    def add(self, rowids: Ints, parties: Ints, boxes: Floats) -> None:
        """Append boxes (to the tail: sorted in at a later search)."""
        n = len(rowids)
        end = self._count + n
        if end > self._rowids.size:
            capacity = max(end, 2 * self._rowids.size, 64)
            self._rowids = np.resize(self._rowids, capacity)
            self._parties = np.resize(self._parties, capacity)
            self._alive = np.resize(self._alive, capacity)
            grown = np.empty((capacity, 8))
            grown[: self._count] = self._boxes[: self._count]
            self._boxes = grown
        self._rowids[self._count : end] = rowids
        self._parties[self._count : end] = parties
        self._boxes[self._count : end] = boxes
        self._alive[self._count : end] = True
        self._count = end

    def remove(self, rowids: Ints) -> None:
        """Mark the boxes of volumes ``rowids`` dead."""
        if len(rowids) == 0:
            return
        rowids = np.asarray(rowids, np.int64)
        lo = np.searchsorted(self._sorted_rowids, rowids, "left")
        hi = np.searchsorted(self._sorted_rowids, rowids, "right")
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            self._alive[self._by_rowid[a:b]] = False
        tail = slice(self._main, self._count)
        self._alive[tail] &= ~np.isin(self._rowids[tail], rowids)

    def search(self, queries: Floats, exclude_party: int) -> tuple[Ints, Ints]:
        """(query index, volume rowid) pairs whose boxes meet, of volumes not of ``exclude_party``.

        A volume may come once per box of it that meets the query.
        """
        if self._count - self._main > _TAIL_BOXES:
            self._merge()
        q, p = self._kernel(
            self._start_s,
            self._boxes,
            self._alive,
            self._parties,
            exclude_party,
            self._group_start,
            self._class_span_s,
            self._class_width_deg,
            self._main,
            self._count,
            np.ascontiguousarray(queries, np.float64),
        )
        return q, self._rowids[p]


def _brute_force(
    rowids: Ints, parties: Ints, boxes: Floats, queries: Floats, exclude: int
) -> tuple[Ints, Ints]:
    """The pairs of :meth:`BoxIndex.search` for a few boxes, by NumPy broadcasting."""
    meets = (parties != exclude)[None, :]
    for axis in range(4):
        meets = meets & (boxes[None, :, 2 * axis] <= queries[:, None, 2 * axis + 1])
        meets = meets & (boxes[None, :, 2 * axis + 1] >= queries[:, None, 2 * axis])
    q, p = np.nonzero(meets)
    return q.astype(np.int64), rowids[p]


_PARTIES = (
    "WITH RECURSIVE parties(party) AS (SELECT MIN(party) FROM volumes UNION ALL "
    "SELECT (SELECT MIN(party) FROM volumes WHERE party > parties.party) FROM parties "
    "WHERE parties.party IS NOT NULL) SELECT party FROM parties WHERE party IS NOT NULL"
)
"""The distinct parties of ``volumes``, one index seek each (a scan of the index would read every entry)."""

_ROWIDS_OF_PARTY = "SELECT rowid FROM volumes INDEXED BY volumes_by_operation WHERE party = ?"


def _column(db: sqlite3.Connection, sql: str, dtype: type, parameters: tuple[Any, ...] = ()) -> Any:
    """The values of every row ``sql`` returns, flattened row by row into one array of ``dtype``."""
    cursor = db.cursor()
    cursor.row_factory = None
    return np.fromiter(itertools.chain.from_iterable(cursor.execute(sql, parameters)), dtype)


@dataclass(eq=False)
class Change:
    """What one save did to the boxes: volumes removed (rowids), then boxes added."""

    removed: Ints
    rowids: Ints
    parties: Ints
    boxes: Floats
    committed: bool = False
    in_copy: bool = False  # the copy was rebuilt from the table while this was pending
    on_commit: Callable[[], None] = field(default=lambda: None)


class StoredBoxIndex:
    """The ``volume_index`` table's copy in memory, for one connection; see the module notes.

    Parameters
    ----------
    database
        The store's :class:`~deconflict.storage.sqlite.database.Database` (its
        ``connection``, ``after_commit`` and ``awaits_commit``).
    compiled
        Search with the numba kernel (``False``: the plain Python reference).
    """

    def __init__(self, database: Database, compiled: bool = True) -> None:
        self._database = database
        self._compiled = compiled
        self._copy: BoxIndex | None = None
        self._data_version = -1
        self._pending: list[Change] = []
        self._prune_at = 64
        self._party_codes: dict[str, int] = {}

    def party_code(self, party: str) -> int:
        """A small integer for ``party`` (stable while this process runs)."""
        return self._party_codes.setdefault(party, len(self._party_codes))

    def _db(self) -> sqlite3.Connection:
        return self._database.connection

    def _rebuild(self) -> None:
        """Read the copy from the file: the box table, and the parties from an index (not the volumes).

        Neither read touches the volumes' rows (their shapes are most of the file).
        Both read through SQLite's page cache, not the memory map: a mapped read
        brings the pages around each page it touches into this process too, and
        the boxes' pages lie between the volumes' (each filing writes both), so a
        mapped read would make most of the file resident. Values come out of the
        cursor flattened straight into arrays, never a tuple per row kept.
        """
        db = self._db()
        snapshot = not db.in_transaction  # the reads below must see one state of the file
        mapped = db.execute("PRAGMA mmap_size").fetchone()  # no row: an in-memory database
        if mapped is not None:
            db.execute("PRAGMA mmap_size = 0")
        if snapshot:
            db.execute("BEGIN")
        try:
            ids = _column(db, "SELECT id FROM volume_index", np.int64)
            boxes = _column(
                db, "SELECT lon0, lon1, lat0, lat1, alt0, alt1, t0, t1 FROM volume_index", np.float64
            ).reshape(-1, 8)
            # The (party, operation_id) index: each party's volumes' rowids without reading their rows.
            owners: list[Ints] = []
            owner_party: list[Ints] = []
            for (party,) in db.execute(_PARTIES).fetchall():
                of_party = _column(db, _ROWIDS_OF_PARTY, np.int64, (party,))
                owners.append(of_party)
                owner_party.append(np.full(of_party.size, self.party_code(party), np.int64))
        finally:
            if snapshot:
                db.execute("COMMIT")
            if mapped is not None:
                db.execute(f"PRAGMA mmap_size = {int(mapped[0])}")
        by_owner = np.concatenate(owners) if owners else np.empty(0, np.int64)
        party_of = np.concatenate(owner_party) if owner_party else np.empty(0, np.int64)
        order = np.argsort(by_owner)
        rowids = ids // PARTS_PER_VOLUME
        parties = party_of[order[np.searchsorted(by_owner[order], rowids)]] if rowids.size else rowids
        self._copy = BoxIndex(rowids, parties, boxes, self._compiled)
        # The table read holds every change still pending in this transaction.
        for change in self._pending:
            change.in_copy = True

    def record(self, change: Change) -> None:
        """Note a save's change, pending until the open transaction commits.

        Noted even before the copy is first built: a search inside the same
        transaction reads the table with it, and must know if it rolls back.
        """
        if len(self._pending) >= self._prune_at:
            self._pending = [c for c in self._pending if not c.committed]
            self._prune_at = max(64, 2 * len(self._pending))

        def commit() -> None:
            change.committed = True
            if self._copy is not None and not change.in_copy:
                self._copy.remove(change.removed)
                self._copy.add(change.rowids, change.parties, change.boxes)

        change.on_commit = commit
        self._pending.append(change)
        self._database.after_commit(commit)

    def _sync(self) -> None:
        """Drop committed and rolled-back changes; rebuild after another connection's commit."""
        stale = False
        kept = []
        for change in self._pending:
            if change.committed:
                continue
            if self._database.awaits_commit(change.on_commit):
                kept.append(change)
            elif change.in_copy:
                stale = True  # rolled back after the copy was read with it
        self._pending = kept
        version = int(self._db().execute("PRAGMA data_version").fetchone()[0])
        if stale or version != self._data_version or self._copy is None:
            self._data_version = version
            self._rebuild()

    def search(self, boxes: Floats, exclude_party: str) -> tuple[Ints, Ints]:
        """(query index, volume rowid) pairs whose boxes meet (a rowid may repeat), as the table says now."""
        self._sync()
        assert self._copy is not None
        exclude = self.party_code(exclude_party)
        q, rowids = self._copy.search(boxes, exclude)
        for change in self._pending:
            if change.in_copy:
                continue
            if change.removed.size:
                keep = ~np.isin(rowids, change.removed)
                q, rowids = q[keep], rowids[keep]
            if change.rowids.size:
                more_q, more = _brute_force(change.rowids, change.parties, change.boxes, boxes, exclude)
                q, rowids = np.concatenate([q, more_q]), np.concatenate([rowids, more])
        return q, rowids
