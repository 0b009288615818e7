"""Conflict lifecycle records in the same SQLite file as the operations (own table).

The store has its own connection, or shares one (and its transactions) with the
operations store and the audit log through a
:class:`~deconflict.storage.sqlite.database.Database`.

One row per conflict something happened to (acknowledged, accepted, resolved),
keyed by the conflict's id in the operations store. The row keeps a copy of the
conflict's facts, so a resolved conflict, which the operations store no longer
lists, can still be shown to its parties.

The table is created by the versioned migrations
(:mod:`deconflict.storage.sqlite.migrations`, step 5), as every store's is.
"""

from __future__ import annotations

from collections.abc import Callable

from deconflict.channel.conflicts import ConflictLifecycle, stored_or_new
from deconflict.storage.rows import LIFECYCLE_COLUMNS, is_row_id, lifecycle_from_row, lifecycle_row
from deconflict.storage.sqlite.database import DatabaseStore
from deconflict.strategic.conflicts import Conflict

__all__ = ["SQLiteConflictStates"]


class SQLiteConflictStates(DatabaseStore):
    """The default :class:`~deconflict.channel.conflicts.ConflictStateStore`.

    Parameters
    ----------
    path
        Database file (created if missing), usually the one of
        :class:`~deconflict.storage.sqlite.operations.SQLiteStore`, or ``":memory:"``;
        or a :class:`~deconflict.storage.sqlite.database.Database` to share with the other stores.
    """

    def _select(self, conflict_id: int) -> ConflictLifecycle | None:
        if not is_row_id(conflict_id):
            return None
        row = self._db.execute(
            f"SELECT {LIFECYCLE_COLUMNS} FROM conflict_states WHERE conflict_id = ?", (conflict_id,)
        ).fetchone()
        return None if row is None else lifecycle_from_row(row)

    def get(self, conflict_id: int) -> ConflictLifecycle | None:
        """The record of a conflict, or ``None``."""
        with self._lock:
            return self._select(conflict_id)

    def list_for(self, party: str) -> dict[int, ConflictLifecycle]:
        """The records of every conflict ``party`` is on a side of, by id."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {LIFECYCLE_COLUMNS} FROM conflict_states WHERE party_a = ? OR party_b = ? "
                "ORDER BY conflict_id",
                (party, party),
            ).fetchall()
        return {int(r["conflict_id"]): lifecycle_from_row(r) for r in rows}

    def update(
        self,
        conflict_id: int,
        conflict: Conflict | None,
        change: Callable[[ConflictLifecycle], ConflictLifecycle],
    ) -> ConflictLifecycle:
        """Read, change and write one record in one ``BEGIN IMMEDIATE`` transaction.

        Inside a caller's transaction on a shared database, a savepoint of it.
        """
        with self.database.transaction():
            current = stored_or_new(self._select(conflict_id), conflict_id, conflict)
            changed = change(current)
            self._db.execute(
                f"INSERT OR REPLACE INTO conflict_states ({LIFECYCLE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                lifecycle_row(changed),
            )
        return changed
