"""The blind relay's sessions and opaque messages in the SQLite file (blind_sessions, blind_messages)."""

from __future__ import annotations

from deconflict.channel.blind_relay import RelaySession
from deconflict.errors import AlreadyExistsError
from deconflict.storage.rows import (
    check_relay_rate,
    pair_arguments,
    relay_session_from_rows,
    relay_window_arguments,
)
from deconflict.storage.sqlite.database import DatabaseStore

__all__ = ["SQLiteBlindRelayStore"]


class SQLiteBlindRelayStore(DatabaseStore):
    """The default :class:`~deconflict.channel.blind_relay.BlindRelayStore`.

    An ended session keeps its row (names, parameters, start: what bounds sessions
    per pair per hour, and keeps its id from being reused); its messages are deleted.
    """

    def create(self, session: RelaySession, per_pair_per_hour: int) -> None:
        with self.database.transaction():
            started = self._db.execute(
                "SELECT started_s FROM blind_sessions WHERE started_s > ? AND "
                "((initiator = ? AND peer = ?) OR (initiator = ? AND peer = ?))",
                relay_window_arguments(session),
            ).fetchall()
            check_relay_rate(session, started, per_pair_per_hour)
            cursor = self._db.execute(
                "INSERT INTO blind_sessions (id, initiator, peer, parameters, started_s, ended_s) "
                "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO NOTHING",
                (session.session_id, session.initiator, session.peer, session.parameters, session.started_s),
            )
        if cursor.rowcount == 0:
            raise AlreadyExistsError(f"blind session {session.session_id!r} already exists")

    def session(self, session_id: str) -> RelaySession | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, initiator, peer, parameters, started_s FROM blind_sessions "
                "WHERE id = ? AND ended_s IS NULL",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            posted = self._db.execute(
                "SELECT sender, phase FROM blind_messages WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        return relay_session_from_rows(row, posted)

    def started_since(self, party_a: str, party_b: str, since_s: float) -> list[float]:
        with self._lock:
            rows = self._db.execute(
                "SELECT started_s FROM blind_sessions WHERE started_s >= ? AND "
                "((initiator = ? AND peer = ?) OR (initiator = ? AND peer = ?))",
                pair_arguments(since_s, party_a, party_b),
            ).fetchall()
        return [float(r["started_s"]) for r in rows]

    def put(self, session_id: str, sender: str, phase: str, body: bytes, now_s: float) -> bool:
        with self.database.transaction():
            cursor = self._db.execute(
                "INSERT INTO blind_messages (session_id, sender, phase, body, posted_s) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id, sender, phase) DO NOTHING",
                (session_id, sender, phase, body, now_s),
            )
        return cursor.rowcount > 0

    def messages(self, session_id: str, sender: str) -> list[tuple[str, bytes]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT phase, body FROM blind_messages WHERE session_id = ? AND sender = ? ORDER BY seq",
                (session_id, sender),
            ).fetchall()
        return [(str(r["phase"]), bytes(r["body"])) for r in rows]

    def end(self, session_id: str, now_s: float) -> bool:
        with self.database.transaction():
            self._db.execute("DELETE FROM blind_messages WHERE session_id = ?", (session_id,))
            cursor = self._db.execute(
                "UPDATE blind_sessions SET ended_s = ? WHERE id = ? AND ended_s IS NULL", (now_s, session_id)
            )
        return cursor.rowcount > 0

    def expire(self, before_s: float, now_s: float) -> int:
        with self.database.transaction():
            self._db.execute(
                "DELETE FROM blind_messages WHERE session_id IN "
                "(SELECT id FROM blind_sessions WHERE started_s < ?)",
                (before_s,),
            )
            cursor = self._db.execute(
                "UPDATE blind_sessions SET ended_s = ? WHERE started_s < ? AND ended_s IS NULL",
                (now_s, before_s),
            )
        return cursor.rowcount
