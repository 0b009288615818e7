"""Hotline messages and escalations in the PostgreSQL database.

The store shares its :class:`~deconflict.storage.postgres.database.Database`
(and so its transactions) with the audit log when opened in a bundle: a
message and the entry recording it commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

from deconflict.channel.deadlines import Escalation
from deconflict.channel.messages import AckLevel, Box, Message, MessageContent
from deconflict.errors import AlreadyExistsError
from deconflict.storage.postgres.database import DatabaseStore
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

__all__ = ["PostgresMessageStore"]


class PostgresMessageStore(DatabaseStore):
    """A :class:`~deconflict.channel.messages.MessageStore` and
    :class:`~deconflict.channel.deadlines.DeadlineStore` in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the audit log.
    """

    def add_message(self, content: MessageContent, signature: str, created_s: float) -> Message:
        # One statement and no savepoint (a refused nonce inserts nothing and spoils no batch): every
        # round trip inside a transaction holds the cluster's writer lock.
        with self.database.transaction(savepoint=False) as db:
            row = db.execute(
                f"INSERT INTO messages ({NEW_MESSAGE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (sender, nonce) DO NOTHING RETURNING id",
                new_message_row(content, signature, created_s),
            ).fetchone()
        if row is None:
            raise AlreadyExistsError(
                f"party {content.sender!r} already sent a message with nonce {content.nonce!r}"
            )
        return Message(id=int(row["id"]), content=content, signature=signature, created_s=created_s)

    def get_message(self, message_id: int) -> Message | None:
        if not is_row_id(message_id):
            return None
        with self.database.connection() as db:
            row = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = %s", (message_id,)
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
        where: list[LiteralString] = ["recipient = %s" if box == "inbox" else "sender = %s"]
        values: list[object] = [party]
        if level is not None:
            where.append("level = %s")
            values.append(level.value)
        if overdue is not None:
            where.append("overdue_s IS NOT NULL" if overdue else "overdue_s IS NULL")
        if before_id is not None:
            where.append("id < %s")
            values.append(below_bound(before_id))
        sql: LiteralString = (
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} ORDER BY id DESC"
        )
        if limit is not None:
            sql += " LIMIT %s"
            values.append(limit)
        with self.database.connection() as db:
            rows = db.execute(sql, values).fetchall()
        return [message_from_row(r) for r in reversed(rows)]

    def mark_delivered(self, recipient: str, delivered_s: float, message_id: int | None = None) -> None:
        sql: LiteralString = (
            "UPDATE messages SET level = 'delivered', delivered_s = %s "
            "WHERE recipient = %s AND level = 'sent'"
        )
        values: list[object] = [delivered_s, recipient]
        if message_id is not None:
            if not is_row_id(message_id):
                return
            sql += " AND id = %s"
            values.append(message_id)
        with self.database.connection() as db:
            db.execute(sql, values)

    def update_state(self, message: Message, expected: AckLevel) -> bool:
        with self.database.connection() as db:
            cursor = db.execute(
                "UPDATE messages SET level = %s, delivered_s = %s, read_s = %s, answered_s = %s, reason = %s "
                "WHERE id = %s AND level = %s",
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
        with self.database.connection() as db:
            rows = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_by_s IS NOT NULL AND reply_by_s <= %s "
                "AND (answered_s IS NULL OR answered_s > reply_by_s) AND escalation_steps < %s ORDER BY id",
                (now_s, steps),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def count_waiting_overdue(self, now_s: float) -> int:
        with self.database.connection() as db:
            row = db.execute(
                "SELECT count(*) AS n FROM messages WHERE reply_by_s IS NOT NULL AND reply_by_s <= %s "
                "AND answered_s IS NULL",
                (now_s,),
            ).fetchone()
        return 0 if row is None else int(row["n"])

    def record_escalations(self, overdue: Sequence[Message], escalations: Sequence[Escalation]) -> None:
        with self.database.transaction() as db, db.cursor() as cursor:
            if overdue:
                cursor.executemany(
                    "UPDATE messages SET overdue_s = reply_by_s WHERE id = %s AND overdue_s IS NULL",
                    [(m.id,) for m in overdue],
                )
            if escalations:
                cursor.executemany(
                    "INSERT INTO escalations (message_id, step, code, sender, recipient, due_s, recorded_s) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [escalation_row(e) for e in escalations],
                )
            if overdue:
                cursor.executemany(
                    "UPDATE messages SET escalation_steps = "
                    "(SELECT count(*) FROM escalations WHERE message_id = %s) WHERE id = %s",
                    [(m.id, m.id) for m in overdue],
                )

    def list_escalations(self, party: str) -> list[Escalation]:
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT message_id, step, code, sender, recipient, due_s, recorded_s FROM escalations "
                "WHERE sender = %s OR recipient = %s ORDER BY due_s, message_id, step",
                (party, party),
            ).fetchall()
        return [escalation_from_row(r) for r in rows]
