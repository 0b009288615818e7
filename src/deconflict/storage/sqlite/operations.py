"""Operations, volumes and conflicts in the SQLite file (WAL, durable commits), with a 4-D box index.

Each volume is indexed by one box per footprint part (lon, lat, MSL altitude
range and time, times relative to 2020) in the plain table ``volume_index``:
a box's id is ``volume rowid * 64 + part``, so a hit names its volume without a
second lookup. Filings append their boxes there; searches run on the table's
copy in memory (:mod:`~deconflict.storage.sqlite.box_index`), built when the
store first searches and kept in step with every commit. The index may return
a few extra candidates, never lose one: the exact test in the domain decides.

Commits are durable (WAL, ``synchronous = FULL``). WAL checkpoints run on a
background connection of the database
(:class:`~deconflict.storage.sqlite.connection.WalCheckpointer`), so that no
filing pays for copying the log into the database.

Opened on a :class:`~deconflict.storage.sqlite.database.Database` shared with
the audit log, the store writes on its connection: a filing inside a caller's
transaction becomes a savepoint, and commits with the caller's audit entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import numpy as np

from deconflict.storage.rows import (
    PARTS_PER_VOLUME,
    box_array,
    conflict_from_json,
    conflict_to_json,
    index_box_rows,
    volume_rows,
    volumes_from_rows,
)
from deconflict.storage.sqlite.box_index import Change, Floats, Ints, StoredBoxIndex
from deconflict.storage.sqlite.database import Database
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.store import ConflictRecord
from deconflict.strategic.volume import (
    Operation,
    OperationState,
    SearchBox,
    Volume,
)
from deconflict.units import AltitudeMargins

__all__ = ["SQLiteStore"]

P = ParamSpec("P")
R = TypeVar("R")

# The tables are created by deconflict.storage.sqlite.migrations (migration 1).

_VOLUME_COLUMNS = (
    "rowid, party, operation_id, volume_id, priority, lower_m, lower_ref, upper_m, upper_ref, "
    "time_start_s, time_end_s, centre_lon_deg, centre_lat_deg, radius_m, shape_wkb, outer_wkb, inner_wkb"
)


_KEYS_PER_STATEMENT = 400
"""(party, operation id) pairs bound in one statement (two parameters each, well below SQLite's limit)."""


def _locked(method: Callable[Concatenate[SQLiteStore, P], R]) -> Callable[Concatenate[SQLiteStore, P], R]:
    """Run a store method under the store's lock (never inside another thread's transaction)."""

    def wrapper(store: SQLiteStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with store._lock:
            return method(store, *args, **kwargs)

    wrapper.__doc__ = method.__doc__
    return wrapper


class _Transaction:
    """A write transaction on one connection (``BEGIN IMMEDIATE``: writers queue)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._db = store._db
        self._decoded: dict[int, Volume] = {}

    def current_version(self, party: str, operation_id: str) -> int | None:
        row = self._db.execute(
            "SELECT version FROM operations WHERE party = ? AND id = ?", (party, operation_id)
        ).fetchone()
        return None if row is None else int(row[0])

    def candidates(self, boxes: Sequence[SearchBox], exclude_party: str) -> list[list[Volume]]:
        query, rowids = self._store._boxes.search(box_array(boxes), exclude_party)
        out: list[list[Volume]] = [[] for _ in boxes]
        if rowids.size == 0:
            return out
        # Each volume once per query box, in rowid order.
        keys = np.unique(rowids * len(boxes) + query)
        rowids, query = np.divmod(keys, len(boxes))
        missing = [i for i in np.unique(rowids).tolist() if i not in self._decoded]
        for chunk_start in range(0, len(missing), 500):
            chunk = missing[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            fetched = self._db.execute(
                f"SELECT {_VOLUME_COLUMNS} FROM volumes WHERE rowid IN ({marks})", chunk
            ).fetchall()
            for row, volume in zip(fetched, volumes_from_rows(fetched), strict=True):
                self._decoded[row["rowid"]] = volume
        for q, rowid in zip(query.tolist(), rowids.tolist(), strict=True):
            out[q].append(self._decoded[rowid])
        return out

    def save_operation(self, operation: Operation, conflicts: Sequence[Conflict]) -> list[int]:
        return self._store._save(operation, conflicts)

    def set_state(self, party: str, operation_id: str, state: OperationState, version: int) -> None:
        self._db.execute(
            "UPDATE operations SET state = ?, version = ?, updated_s = ? WHERE party = ? AND id = ?",
            (str(state), version, time.time(), party, operation_id),
        )


class SQLiteStore:
    """The default :class:`~deconflict.strategic.store.Store`: one SQLite file.

    Parameters
    ----------
    path
        Database file (created if missing), or ``":memory:"``; or a
        :class:`~deconflict.storage.sqlite.database.Database` to share with the audit log.
    margins
        Altitude-reference margins used to index altitude bands.
    checkpoint_interval_s
        Given a path: how often a background connection checkpoints the WAL;
        ``None`` leaves it to SQLite's automatic checkpoint inside commits. A
        :class:`~deconflict.storage.sqlite.database.Database` given runs its own (or none).
    """

    def __init__(
        self,
        path: Path | str | Database,
        margins: AltitudeMargins = AltitudeMargins(),
        checkpoint_interval_s: float | None = 0.5,
    ) -> None:
        # Given a Database, this store shares its connection, lock, transactions and checkpointer.
        self.database = (
            path.acquire()
            if isinstance(path, Database)
            else Database(path, checkpoint_interval_s=checkpoint_interval_s)
        )
        self.path = self.database.path
        self.margins = margins
        self._db = self.database.connection
        self._lock = self.database.lock
        self._boxes = StoredBoxIndex(self.database)

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        # One connection serves every thread of this store: threads take turns
        # on its lock, other connections (processes) queue on BEGIN IMMEDIATE.
        # Inside a caller's transaction on a shared Database this is a savepoint.
        with self.database.transaction():
            yield _Transaction(self)

    def _delete_volumes(self, party: str, operation_id: str) -> list[int]:
        """Delete an operation's volumes and their boxes; return the volumes' rowids."""
        rowids = [
            int(r[0])
            for r in self._db.execute(
                "SELECT rowid FROM volumes WHERE party = ? AND operation_id = ?", (party, operation_id)
            )
        ]
        if rowids:
            self._db.executemany(
                "DELETE FROM volume_index WHERE id >= ? AND id < ?",
                [(r * PARTS_PER_VOLUME, (r + 1) * PARTS_PER_VOLUME) for r in rowids],
            )
            self._db.execute(
                "DELETE FROM volumes WHERE party = ? AND operation_id = ?", (party, operation_id)
            )
        return rowids

    def _insert_volumes(self, volumes: Sequence[Volume], live: bool) -> tuple[Ints, Floats]:
        """Insert volumes and (if ``live``) their boxes; return each box's volume rowid and the boxes."""
        _, rowids, boxes = self._write_volumes(volumes, [live] * len(volumes))
        return rowids, boxes

    def _write_volumes(self, volumes: Sequence[Volume], live: Sequence[bool]) -> tuple[Ints, Ints, Floats]:
        """Insert volumes and the boxes of those ``live``; return, per box, its volume's position in
        ``volumes`` and rowid, and the boxes.

        The volumes are one statement, then their boxes one: a bulk import's boxes
        lie together in the file, so that reading them on open reads little else.
        """
        # Rowids as SQLite would pick them (the largest plus one; the write lock is held),
        # so that the volumes and their boxes are one statement each.
        first = int(self._db.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM volumes").fetchone()[0])
        owners, boxes = index_box_rows(volumes, live, self.margins)
        # Owners are ascending, each volume's boxes together: a box's part is its rank among them.
        parts = [0] * len(volumes)
        ids = []
        for k in owners:
            ids.append((first + k) * PARTS_PER_VOLUME + parts[k])
            parts[k] += 1
        self._db.executemany(
            "INSERT INTO volumes (rowid, party, operation_id, volume_id, priority, lower_m, lower_ref, "
            "upper_m, upper_ref, time_start_s, time_end_s, centre_lon_deg, centre_lat_deg, radius_m, "
            "shape_wkb, outer_wkb, inner_wkb, live, index_parts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (first + k, *row, int(is_live), count)
                for k, (row, is_live, count) in enumerate(zip(volume_rows(volumes), live, parts, strict=True))
            ),
        )
        if ids:
            self._db.executemany(
                "INSERT INTO volume_index (id, lon0, lon1, lat0, lat1, alt0, alt1, t0, t1) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(i, *box) for i, box in zip(ids, boxes, strict=True)],
            )
        positions = np.array(owners, np.int64)
        return positions, positions + first, np.array(boxes, np.float64).reshape(-1, 8)

    def _save(self, operation: Operation, conflicts: Sequence[Conflict]) -> list[int]:
        now = time.time()
        self._db.execute(
            "INSERT INTO operations (party, id, version, state, priority, updated_s) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (party, id) DO UPDATE SET version = excluded.version, state = excluded.state, "
            "priority = excluded.priority, updated_s = excluded.updated_s",
            (operation.party, operation.id, operation.version, str(operation.state), operation.priority, now),
        )
        removed = self._delete_volumes(operation.party, operation.id)
        rowids, boxes = self._insert_volumes(operation.volumes, operation.state.is_live)
        party = self._boxes.party_code(operation.party)
        self._boxes.record(
            Change(np.array(removed, np.int64), rowids, np.full(rowids.size, party, np.int64), boxes)
        )
        # Conflicts of the replaced version are superseded by those found now (one statement:
        # SQLite reads each side's index, conflicts_a and conflicts_b, for its half of the OR).
        self._db.execute(
            "UPDATE conflicts SET state = 'superseded' WHERE state = 'open' "
            "AND ((party_a = ? AND operation_a = ?) OR (party_b = ? AND operation_b = ?))",
            (operation.party, operation.id, operation.party, operation.id),
        )
        if not conflicts:
            return []
        # Ids as SQLite would pick them, so that the rows are one statement.
        first = int(self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM conflicts").fetchone()[0])
        self._db.executemany(
            "INSERT INTO conflicts (id, party_a, operation_a, party_b, operation_b, state, facts, created_s) "
            "VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
            (
                (first + k, c.party_a, c.operation_a, c.party_b, c.operation_b, conflict_to_json(c), now)
                for k, c in enumerate(conflicts)
            ),
        )
        return list(range(first, first + len(conflicts)))

    @_locked
    def import_operations(self, operations: Iterable[Operation]) -> int:
        """Store operations as they are, without checking conflicts (restores, benchmarks).

        Each replaces the stored operation of its party and id, as filing it would
        (its volumes, and its open conflicts superseded); of two with the same
        party and id, the later is kept. Returns the number of volumes given.
        Commits once at the end; the rows of each kind are written in one statement.
        """
        given = list(operations)
        latest = list({(op.party, op.id): op for op in given}.values())
        if latest:
            with self.transaction():
                self._import(latest)
        return sum(len(op.volumes) for op in given)

    def _import(self, operations: Sequence[Operation]) -> None:
        """Write ``operations`` (one per party and id) in place of any stored with their party and id."""
        now = time.time()
        stored = self._stored_keys([(op.party, op.id) for op in operations])
        removed = self._replace(stored)
        self._db.executemany(
            "INSERT INTO operations (party, id, version, state, priority, updated_s) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (party, id) DO UPDATE SET version = excluded.version, state = excluded.state, "
            "priority = excluded.priority, updated_s = excluded.updated_s",
            ((op.party, op.id, op.version, str(op.state), op.priority, now) for op in operations),
        )
        volumes = [v for op in operations for v in op.volumes]
        live = [op.state.is_live for op in operations for _ in op.volumes]
        owners, rowids, boxes = self._write_volumes(volumes, live)
        codes = np.array([self._boxes.party_code(op.party) for op in operations], np.int64)
        op_of_volume = np.repeat(np.arange(len(operations)), [len(op.volumes) for op in operations])
        self._boxes.record(Change(removed, rowids, codes[op_of_volume[owners]], boxes))

    def _stored_keys(self, keys: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (party, operation id) pairs of ``keys`` that name a stored operation."""
        out: list[tuple[str, str]] = []
        for start in range(0, len(keys), _KEYS_PER_STATEMENT):
            chunk = keys[start : start + _KEYS_PER_STATEMENT]
            out += self._db.execute(
                f"SELECT k.column1, k.column2 FROM (VALUES {','.join(['(?, ?)'] * len(chunk))}) AS k "
                "JOIN operations o ON o.party = k.column1 AND o.id = k.column2",
                [text for key in chunk for text in key],
            ).fetchall()
        return [(str(party), str(operation_id)) for party, operation_id in out]

    def _replace(self, keys: Sequence[tuple[str, str]]) -> Ints:
        """Delete the volumes and boxes of the operations ``keys`` and supersede their open conflicts;
        return the volumes' rowids (as :meth:`_save` does for one)."""
        removed: list[int] = []
        for party, operation_id in keys:
            removed += self._delete_volumes(party, operation_id)
            self._db.execute(
                "UPDATE conflicts SET state = 'superseded' WHERE state = 'open' "
                "AND ((party_a = ? AND operation_a = ?) OR (party_b = ? AND operation_b = ?))",
                (party, operation_id, party, operation_id),
            )
        return np.array(removed, np.int64)

    @_locked
    def get_operation(self, party: str, operation_id: str) -> Operation | None:
        row = self._db.execute(
            "SELECT version, state, priority FROM operations WHERE party = ? AND id = ?",
            (party, operation_id),
        ).fetchone()
        if row is None:
            return None
        rows = self._db.execute(
            f"SELECT {_VOLUME_COLUMNS} FROM volumes WHERE party = ? AND operation_id = ? ORDER BY rowid",
            (party, operation_id),
        ).fetchall()
        return Operation(
            id=operation_id,
            party=party,
            volumes=tuple(volumes_from_rows(rows)),
            priority=row["priority"],
            state=OperationState(row["state"]),
            version=row["version"],
        )

    @_locked
    def list_operations(self, party: str) -> list[Operation]:
        ids = [
            r[0] for r in self._db.execute("SELECT id FROM operations WHERE party = ? ORDER BY id", (party,))
        ]
        return [op for i in ids if (op := self.get_operation(party, i)) is not None]

    @_locked
    def list_conflicts(self, party: str) -> list[Conflict]:
        return [record.conflict for record in self.list_conflict_records(party)]

    @_locked
    def list_conflict_records(self, party: str) -> list[ConflictRecord]:
        rows = self._db.execute(
            "SELECT id, state, facts FROM conflicts WHERE state = 'open' AND (party_a = ? OR party_b = ?) "
            "ORDER BY id",
            (party, party),
        ).fetchall()
        return [ConflictRecord(int(r[0]), str(r[1]), conflict_from_json(r[2])) for r in rows]

    @_locked
    def count_volumes(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM volumes WHERE live = 1").fetchone()[0])

    @_locked
    def conflict_detection_times(self, party: str) -> dict[int, float]:
        rows = self._db.execute(
            "SELECT id, created_s FROM conflicts WHERE party_a = ? OR party_b = ?", (party, party)
        ).fetchall()
        return {int(r[0]): float(r[1]) for r in rows}

    @_locked
    def count_open_conflicts(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM conflicts WHERE state = 'open'").fetchone()[0])
