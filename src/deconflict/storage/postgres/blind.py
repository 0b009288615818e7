"""The blind relay's sessions and opaque messages in the PostgreSQL database (as SQLite's
:mod:`deconflict.storage.sqlite.blind`)."""

from __future__ import annotations

from deconflict.channel.blind_relay import RelaySession
from deconflict.errors import AlreadyExistsError
from deconflict.storage.postgres.database import DatabaseStore
from deconflict.storage.rows import (
    check_relay_rate,
    pair_arguments,
    relay_session_from_rows,
    relay_window_arguments,
)

__all__ = ["PostgresBlindRelayStore"]


class PostgresBlindRelayStore(DatabaseStore):
    """A :class:`~deconflict.channel.blind_relay.BlindRelayStore` in PostgreSQL."""

    def create(self, session: RelaySession, per_pair_per_hour: int) -> None:
        with self.database.transaction() as db:
            started = db.execute(
                "SELECT started_s FROM blind_sessions WHERE started_s > %s AND "
                "((initiator = %s AND peer = %s) OR (initiator = %s AND peer = %s))",
                relay_window_arguments(session),
            ).fetchall()
            check_relay_rate(session, started, per_pair_per_hour)
            cursor = db.execute(
                "INSERT INTO blind_sessions (id, initiator, peer, parameters, started_s, ended_s) "
                "VALUES (%s, %s, %s, %s, %s, NULL) ON CONFLICT (id) DO NOTHING",
                (session.session_id, session.initiator, session.peer, session.parameters, session.started_s),
            )
        if cursor.rowcount == 0:
            raise AlreadyExistsError(f"blind session {session.session_id!r} already exists")

    def session(self, session_id: str) -> RelaySession | None:
        with self.database.connection() as db:
            row = db.execute(
                "SELECT id, initiator, peer, parameters, started_s FROM blind_sessions "
                "WHERE id = %s AND ended_s IS NULL",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            posted = db.execute(
                "SELECT sender, phase FROM blind_messages WHERE session_id = %s ORDER BY seq", (session_id,)
            ).fetchall()
        return relay_session_from_rows(row, posted)

    def started_since(self, party_a: str, party_b: str, since_s: float) -> list[float]:
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT started_s FROM blind_sessions WHERE started_s >= %s AND "
                "((initiator = %s AND peer = %s) OR (initiator = %s AND peer = %s))",
                pair_arguments(since_s, party_a, party_b),
            ).fetchall()
        return [float(r["started_s"]) for r in rows]

    def put(self, session_id: str, sender: str, phase: str, body: bytes, now_s: float) -> bool:
        with self.database.transaction() as db:
            cursor = db.execute(
                "INSERT INTO blind_messages (session_id, sender, phase, body, posted_s) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (session_id, sender, phase) DO NOTHING",
                (session_id, sender, phase, body, now_s),
            )
        return cursor.rowcount > 0

    def messages(self, session_id: str, sender: str) -> list[tuple[str, bytes]]:
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT phase, body FROM blind_messages WHERE session_id = %s AND sender = %s ORDER BY seq",
                (session_id, sender),
            ).fetchall()
        return [(str(r["phase"]), bytes(r["body"])) for r in rows]

    def end(self, session_id: str, now_s: float) -> bool:
        with self.database.transaction() as db:
            db.execute("DELETE FROM blind_messages WHERE session_id = %s", (session_id,))
            cursor = db.execute(
                "UPDATE blind_sessions SET ended_s = %s WHERE id = %s AND ended_s IS NULL",
                (now_s, session_id),
            )
        return cursor.rowcount > 0

    def expire(self, before_s: float, now_s: float) -> int:
        with self.database.transaction() as db:
            db.execute(
                "DELETE FROM blind_messages WHERE session_id IN "
                "(SELECT id FROM blind_sessions WHERE started_s < %s)",
                (before_s,),
            )
            cursor = db.execute(
                "UPDATE blind_sessions SET ended_s = %s WHERE started_s < %s AND ended_s IS NULL",
                (now_s, before_s),
            )
        return cursor.rowcount
