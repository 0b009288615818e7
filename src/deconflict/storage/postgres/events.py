"""The event outbox (:class:`~deconflict.channel.outbox.EventOutbox`) in the PostgreSQL database.

The tables are those of SQLite's store (:mod:`deconflict.storage.sqlite.events`),
created by :mod:`deconflict.storage.postgres.migrations` (step 15). Events are
numbered by an identity column inside the writer lock
(:class:`~deconflict.storage.postgres.database.Database`), so numbers grow in
commit order on every node; each transaction that stores events also notifies
:data:`CHANNEL`, which wakes the relay (:mod:`deconflict.storage.relay`) on
whichever node holds it. ``event_relay`` holds the relay's cursor: the latest
event it published.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import LiteralString

from deconflict.channel.events import Event
from deconflict.channel.outbox import decode_event, encode_subject
from deconflict.storage.postgres.database import Connection, DatabaseStore

__all__ = ["CHANNEL", "PostgresEventOutbox", "events_after", "rows_as_events"]

CHANNEL = "deconflict_events"
"""The ``NOTIFY`` channel told of every commit that stored events."""


def rows_as_events(rows: Sequence[dict[str, object]]) -> list[Event]:
    """Outbox rows (``id, kind, party, body``) as their events."""
    return [decode_event(int(str(r["id"])), str(r["kind"]), str(r["party"]), str(r["body"])) for r in rows]


class PostgresEventOutbox(DatabaseStore):
    """An :class:`~deconflict.channel.outbox.EventOutbox` in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the other stores.
    """

    def record(self, events: Sequence[Event], then: Callable[[list[Event]], None]) -> None:
        """Store ``events`` in the caller's transaction; ``then`` gets them numbered once it commits."""
        stored_s = time.time()  # when stored (what pruning counts from), whatever clock the service reads
        # One statement, no savepoint: every round trip inside the transaction holds the cluster's
        # writer lock. Identities are drawn in the order of the rows (ORDER BY n), so the ids,
        # sorted, are the events' in the order given.
        with self.database.transaction(savepoint=False) as db:
            rows = db.execute(
                "WITH new AS (INSERT INTO events (party, kind, time_s, body) "
                "SELECT party, kind, %s, body FROM unnest(%s::text[], %s::text[], %s::text[]) "
                "WITH ORDINALITY AS e(party, kind, body, n) ORDER BY n RETURNING id), "
                "told AS (SELECT pg_notify(%s, '')) "
                "SELECT new.id FROM new, told ORDER BY new.id",
                (
                    stored_s,
                    [event.party for event in events],
                    [str(event.kind) for event in events],
                    [encode_subject(event.subject) for event in events],
                    CHANNEL,
                ),
            ).fetchall()
            assert len(rows) == len(events)
            numbered = [
                Event(event.kind, event.party, event.subject, int(row["id"]))
                for event, row in zip(events, rows, strict=True)
            ]
            self.database.after_commit(lambda: then(numbered))

    def since(self, party: str, after_id: int, limit: int) -> list[Event]:
        """``party``'s events numbered above ``after_id``, oldest first, ``limit`` at most."""
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT id, kind, party, body FROM events WHERE party = %s AND id > %s ORDER BY id LIMIT %s",
                (party, after_id, limit),
            ).fetchall()
        return rows_as_events(rows)

    def after(self, after_id: int, limit: int) -> list[Event]:
        """Every party's events numbered above ``after_id``, oldest first, ``limit`` at most."""
        with self.database.connection() as db:
            return events_after(db, after_id, limit)

    def latest_id(self) -> int:
        """The number of the latest event stored (0 before any)."""
        with self.database.connection() as db:
            row = db.execute("SELECT coalesce(max(id), 0) AS id FROM events").fetchone()
        assert row is not None
        return int(row["id"])

    def pruned_id(self) -> int:
        """The number of the latest event pruned (0 before any)."""
        with self.database.connection() as db:
            row = db.execute("SELECT pruned_id FROM event_relay").fetchone()
        return 0 if row is None else int(row["pruned_id"])

    def prune(self, before_s: float, published_only: bool) -> int:
        """Delete the events stored before ``before_s`` (Unix time); return how many.

        ``published_only`` keeps those the relay has not published yet.
        """
        bound: LiteralString = "AND id <= (SELECT published_id FROM event_relay)" if published_only else ""
        with self.database.transaction() as db:
            row = db.execute(
                f"WITH gone AS (DELETE FROM events WHERE time_s < %s {bound} RETURNING id) "
                "SELECT count(*) AS count, max(id) AS latest FROM gone",
                (before_s,),
            ).fetchone()
            assert row is not None
            if not row["count"]:
                return 0
            db.execute("UPDATE event_relay SET pruned_id = greatest(pruned_id, %s)", (row["latest"],))
        return int(row["count"])


def events_after(db: Connection, after_id: int, limit: int) -> list[Event]:
    """Every party's events numbered above ``after_id`` on ``db``, oldest first, ``limit`` at most."""
    rows = db.execute(
        "SELECT id, kind, party, body FROM events WHERE id > %s ORDER BY id LIMIT %s", (after_id, limit)
    ).fetchall()
    return rows_as_events(rows)
