"""Hotline messages and escalations in the same SQLite file as the operations.

The store has its own connection, or shares one (and its transactions) with the
audit log through a :class:`~deconflict.storage.sqlite.database.Database`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from deconflict.channel.deadlines import Escalation
from deconflict.channel.messages import AckLevel, Box, Message, MessageContent
from deconflict.errors import AlreadyExistsError
from deconflict.storage.rows import (
    MESSAGE_COLUMNS,
    NEW_MESSAGE_COLUMNS,
    below_bound,
    escalation_from_row,
    escalation_row,
    is_row_id,
    message_from_row,
    new_message_row,
)
from deconflict.storage.sqlite.database import DatabaseStore

__all__ = ["SQLiteMessageStore"]


class SQLiteMessageStore(DatabaseStore):
    """The default :class:`~deconflict.channel.messages.MessageStore` and
    :class:`~deconflict.channel.deadlines.DeadlineStore`.

    Parameters
    ----------
    path
        Database file (created if missing), usually the one of the other stores, or ``":memory:"``;
        or a :class:`~deconflict.storage.sqlite.database.Database` to share with the audit log.

    Notes
    -----
    WAL with ``synchronous=FULL``: a message the server has acknowledged with a
    2xx survives a crash of the server.
    """

    def add_message(self, content: MessageContent, signature: str, created_s: float) -> Message:
        with self._lock:
            try:
                cursor = self._db.execute(
                    f"INSERT INTO messages ({NEW_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    new_message_row(content, signature, created_s),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExistsError(
                    f"party {content.sender!r} already sent a message with nonce {content.nonce!r}"
                ) from exc
        message_id = cursor.lastrowid
        assert message_id is not None
        return Message(id=message_id, content=content, signature=signature, created_s=created_s)

    def get_message(self, message_id: int) -> Message | None:
        if not is_row_id(message_id):
            return None
        with self._lock:
            row = self._db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        return None if row is None else message_from_row(row)

    def list_messages(
        self,
        party: str,
        box: Box,
        level: AckLevel | None = None,
        overdue: bool | None = None,
        limit: int | None = None,
        before_id: int | None = None,
    ) -> list[Message]:
        where = ["recipient = ?" if box == "inbox" else "sender = ?"]
        values: list[object] = [party]
        if level is not None:
            where.append("level = ?")
            values.append(level.value)
        if overdue is not None:
            where.append("overdue_s IS NOT NULL" if overdue else "overdue_s IS NULL")
        if before_id is not None:
            where.append("id < ?")
            values.append(below_bound(before_id))
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            values.append(limit)
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [message_from_row(r) for r in reversed(rows)]

    def mark_delivered(self, recipient: str, delivered_s: float, message_id: int | None = None) -> None:
        sql = (
            "UPDATE messages SET level = 'delivered', delivered_s = ? WHERE recipient = ? AND level = 'sent'"
        )
        values: list[object] = [delivered_s, recipient]
        if message_id is not None:
            sql += " AND id = ?"
            values.append(message_id)
        with self._lock:
            self._db.execute(sql, values)

    def update_state(self, message: Message, expected: AckLevel) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE messages SET level = ?, delivered_s = ?, read_s = ?, answered_s = ?, reason = ? "
                "WHERE id = ? AND level = ?",
                (
                    message.level.value,
                    message.delivered_s,
                    message.read_s,
                    message.answered_s,
                    message.reason,
                    message.id,
                    expected.value,
                ),
            )
        return cursor.rowcount == 1

    def messages_past_deadline(self, now_s: float, steps: int) -> list[Message]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_by_s IS NOT NULL AND reply_by_s <= ? "
                "AND (answered_s IS NULL OR answered_s > reply_by_s) AND escalation_steps < ? ORDER BY id",
                (now_s, steps),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def count_waiting_overdue(self, now_s: float) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM messages WHERE reply_by_s IS NOT NULL AND reply_by_s <= ? "
                "AND answered_s IS NULL",
                (now_s,),
            ).fetchone()
        return int(row[0])

    def record_escalations(self, overdue: Sequence[Message], escalations: Sequence[Escalation]) -> None:
        with self.database.transaction():  # a savepoint inside a caller's transaction
            self._db.executemany(
                "UPDATE messages SET overdue_s = reply_by_s WHERE id = ? AND overdue_s IS NULL",
                [(m.id,) for m in overdue],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO escalations (message_id, step, code, sender, recipient, "
                "due_s, recorded_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [escalation_row(e) for e in escalations],
            )
            self._db.executemany(
                "UPDATE messages SET escalation_steps = "
                "(SELECT COUNT(*) FROM escalations WHERE message_id = ?) WHERE id = ?",
                [(m.id, m.id) for m in overdue],
            )

    def list_escalations(self, party: str) -> list[Escalation]:
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, step, code, sender, recipient, due_s, recorded_s FROM escalations "
                "WHERE sender = ? OR recipient = ? ORDER BY due_s, message_id, step",
                (party, party),
            ).fetchall()
        return [escalation_from_row(r) for r in rows]
