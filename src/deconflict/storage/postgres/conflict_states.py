"""Conflict lifecycle records in the PostgreSQL database (one row per conflict something happened to).

Keyed by the conflict's id in the operations store; each row keeps a copy of
the conflict's facts, so a resolved conflict, which the operations store no
longer lists, can still be shown to its parties. Rows are encoded as the SQLite
store encodes them (:mod:`deconflict.storage.sqlite.conflict_states`).
"""

from __future__ import annotations

from collections.abc import Callable

from deconflict.channel.conflicts import ConflictLifecycle, stored_or_new
from deconflict.storage.postgres.database import Connection, DatabaseStore
from deconflict.storage.rows import LIFECYCLE_COLUMNS, is_row_id, lifecycle_from_row, lifecycle_row
from deconflict.strategic.conflicts import Conflict

__all__ = ["PostgresConflictStates"]

_ASSIGNMENTS = ", ".join(f"{c} = excluded.{c}" for c in LIFECYCLE_COLUMNS.split(", ") if c != "conflict_id")


class PostgresConflictStates(DatabaseStore):
    """A :class:`~deconflict.channel.conflicts.ConflictStateStore` in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the other stores.
    """

    def _select(self, db: Connection, conflict_id: int, lock: bool = False) -> ConflictLifecycle | None:
        if not is_row_id(conflict_id):
            return None
        row = db.execute(
            f"SELECT {LIFECYCLE_COLUMNS} FROM conflict_states WHERE conflict_id = %s"
            + (" FOR UPDATE" if lock else ""),
            (conflict_id,),
        ).fetchone()
        return None if row is None else lifecycle_from_row(row)

    def get(self, conflict_id: int) -> ConflictLifecycle | None:
        """The record of a conflict, or ``None``."""
        with self.database.connection() as db:
            return self._select(db, conflict_id)

    def list_for(self, party: str) -> dict[int, ConflictLifecycle]:
        """The records of every conflict ``party`` is on a side of, by id."""
        with self.database.connection() as db:
            rows = db.execute(
                f"SELECT {LIFECYCLE_COLUMNS} FROM conflict_states WHERE party_a = %s OR party_b = %s "
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
        """Read, change and write one record in one write transaction (a savepoint inside a caller's)."""
        with self.database.transaction() as db:
            current = stored_or_new(self._select(db, conflict_id, lock=True), conflict_id, conflict)
            changed = change(current)
            db.execute(
                f"INSERT INTO conflict_states ({LIFECYCLE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                f"ON CONFLICT (conflict_id) DO UPDATE SET {_ASSIGNMENTS}",
                lifecycle_row(changed),
            )
        return changed
