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

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import astuple, fields
from typing import Any

from deconflict.channel.conflicts import ConflictLifecycle, Resolution, Side, new_lifecycle
from deconflict.errors import NotFoundError
from deconflict.storage.sqlite.database import DatabaseStore, is_row_id
from deconflict.strategic.conflicts import Conflict

__all__ = ["SQLiteConflictStates"]

_COLUMNS = (
    "conflict_id, party_a, party_b, acknowledged_a_s, acknowledged_b_s, accepted_a_s, accept_a_reason, "
    "accepted_b_s, accept_b_reason, resolution, resolved_by, resolved_s, facts"
)
_CONFLICT_FIELDS = tuple(f.name for f in fields(Conflict))


def _facts_json(conflict: Conflict) -> str:
    return json.dumps(list(astuple(conflict)))


def _facts(text: str) -> Conflict:
    data = dict(zip(_CONFLICT_FIELDS, json.loads(text), strict=False))
    data["overlap_bbox"] = tuple(data["overlap_bbox"])
    return Conflict(**data)


def _lifecycle(row: sqlite3.Row | Mapping[str, Any]) -> ConflictLifecycle:
    return ConflictLifecycle(
        conflict_id=int(row["conflict_id"]),
        conflict=_facts(row["facts"]),
        side_a=Side(row["party_a"], row["acknowledged_a_s"], row["accepted_a_s"], row["accept_a_reason"]),
        side_b=Side(row["party_b"], row["acknowledged_b_s"], row["accepted_b_s"], row["accept_b_reason"]),
        resolution=None if row["resolution"] is None else Resolution(row["resolution"]),
        resolved_by=row["resolved_by"],
        resolved_s=row["resolved_s"],
    )


def _row(lifecycle: ConflictLifecycle) -> tuple[object, ...]:
    a, b = lifecycle.side_a, lifecycle.side_b
    return (
        lifecycle.conflict_id,
        a.party,
        b.party,
        a.acknowledged_s,
        b.acknowledged_s,
        a.accepted_s,
        a.accept_reason,
        b.accepted_s,
        b.accept_reason,
        None if lifecycle.resolution is None else str(lifecycle.resolution),
        lifecycle.resolved_by,
        lifecycle.resolved_s,
        _facts_json(lifecycle.conflict),
    )


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
            f"SELECT {_COLUMNS} FROM conflict_states WHERE conflict_id = ?", (conflict_id,)
        ).fetchone()
        return None if row is None else _lifecycle(row)

    def get(self, conflict_id: int) -> ConflictLifecycle | None:
        """The record of a conflict, or ``None``."""
        with self._lock:
            return self._select(conflict_id)

    def list_for(self, party: str) -> dict[int, ConflictLifecycle]:
        """The records of every conflict ``party`` is on a side of, by id."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM conflict_states WHERE party_a = ? OR party_b = ? "
                "ORDER BY conflict_id",
                (party, party),
            ).fetchall()
        return {int(r["conflict_id"]): _lifecycle(r) for r in rows}

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
            current = self._select(conflict_id)
            if current is None:
                if conflict is None:
                    raise NotFoundError(f"no conflict {conflict_id}")
                current = new_lifecycle(conflict_id, conflict)
            changed = change(current)
            self._db.execute(
                f"INSERT OR REPLACE INTO conflict_states ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _row(changed),
            )
        return changed
