"""The event outbox (:class:`~deconflict.channel.outbox.EventOutbox`) in the SQLite file.

Table ``events`` (created by :mod:`deconflict.storage.sqlite.migrations`, step 15):
one row per event, numbered by ``AUTOINCREMENT`` (never reused), with its party,
kind, time and subject as JSON. Shared with the other stores through a
:class:`~deconflict.storage.sqlite.database.Database`, an event commits with the
fact it reports; the one writer numbers events in commit order, and the
database calls each transaction's ``then`` after its commit, under its lock, so
in that order too. ``event_relay`` (the relay's cursor) is PostgreSQL's: here it
only keeps the two schemas alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from deconflict.channel.events import Event
from deconflict.channel.outbox import decode_event, encode_subject
from deconflict.storage.sqlite.database import DatabaseStore

__all__ = ["SQLiteEventOutbox"]


class SQLiteEventOutbox(DatabaseStore):
    """The default :class:`~deconflict.channel.outbox.EventOutbox`.

    Parameters
    ----------
    path
        Database file (created if missing), or ``":memory:"``; or a
        :class:`~deconflict.storage.sqlite.database.Database` to share with the other stores.
    """

    def record(self, events: Sequence[Event], then: Callable[[list[Event]], None]) -> None:
        """Store ``events`` in the caller's transaction; ``then`` gets them numbered once it commits."""
        numbered: list[Event] = []
        stored_s = time.time()  # when stored (what pruning counts from), whatever clock the service reads
        with self.database.transaction():
            for event in events:
                cursor = self._db.execute(
                    "INSERT INTO events (party, kind, time_s, body) VALUES (?, ?, ?, ?)",
                    (event.party, str(event.kind), stored_s, encode_subject(event.subject)),
                )
                numbered.append(Event(event.kind, event.party, event.subject, cursor.lastrowid))
            self.database.after_commit(lambda: then(numbered))

    def since(self, party: str, after_id: int, limit: int) -> list[Event]:
        """``party``'s events numbered above ``after_id``, oldest first, ``limit`` at most."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, party, body FROM events WHERE party = ? AND id > ? ORDER BY id LIMIT ?",
                (party, after_id, limit),
            ).fetchall()
        return [decode_event(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def after(self, after_id: int, limit: int) -> list[Event]:
        """Every party's events numbered above ``after_id``, oldest first, ``limit`` at most."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, party, body FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
        return [decode_event(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def latest_id(self) -> int:
        """The number of the latest event stored (0 before any)."""
        with self._lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return 0 if row is None else int(row[0])

    def pruned_id(self) -> int:
        """The number of the latest event pruned (0 before any)."""
        with self._lock:
            row = self._db.execute("SELECT pruned_id FROM event_relay").fetchone()
        return 0 if row is None else int(row[0])

    def prune(self, before_s: float, published_only: bool) -> int:
        """Delete the events stored before ``before_s`` (Unix time); return how many.

        ``published_only`` keeps those the relay has not published (no relay here: nothing
        is pruned then).
        """
        with self.database.transaction() as db:
            bound = "AND id <= (SELECT published_id FROM event_relay)" if published_only else ""
            found = db.execute(f"SELECT count(*), max(id) FROM events WHERE time_s < ? {bound}", (before_s,))
            count, latest = found.fetchone()
            if not count:
                return 0
            db.execute(f"DELETE FROM events WHERE time_s < ? {bound}", (before_s,))
            db.execute("UPDATE event_relay SET pruned_id = max(pruned_id, ?)", (latest,))
        return int(count)
