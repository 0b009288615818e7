"""One connection shared by stores: nested transactions, and a message committed with its audit entry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from deconflict.channel.audit import AuditKind, AuditRecord
from deconflict.channel.messages import MessageContent
from deconflict.storage.sqlite import SQLiteAuditLog, SQLiteMessageStore
from deconflict.storage.sqlite.database import Database, shared_database
from tests.builders import T0_S


def _content(nonce: str) -> MessageContent:
    return MessageContent("blue", "red", "FREE", {}, "hello", None, nonce)


def _count(path: Path, table: str) -> int:
    raw = sqlite3.connect(path)
    try:
        return int(raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        raw.close()


def _record(message_id: int) -> AuditRecord:
    subject = (f"message:{message_id}",)
    return AuditRecord("blue", AuditKind.MESSAGE_SENT, subject, ("blue", "red"), {"message_id": message_id})


def test_a_message_and_its_entry_commit_together_or_not_at_all(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    database = Database(db)
    with SQLiteMessageStore(database) as messages, SQLiteAuditLog(database) as audit:
        with audit.transaction_with(messages):
            message = messages.add_message(_content("n1"), "sig", T0_S)
            audit.append([_record(message.id)], T0_S)
        assert (_count(db, "messages"), _count(db, "audit_log")) == (1, 1)

        with pytest.raises(RuntimeError), audit.transaction_with(messages):
            message = messages.add_message(_content("n2"), "sig", T0_S)
            audit.append([_record(message.id)], T0_S)
            raise RuntimeError("the process dies before the commit")
        assert (_count(db, "messages"), _count(db, "audit_log")) == (1, 1)
    database.close()


def test_a_failing_inner_block_rolls_back_to_its_savepoint_only(tmp_path: Path) -> None:
    database = Database(tmp_path / "nested.db")
    with database.transaction() as db:
        db.execute("INSERT INTO parties VALUES ('blue', 'pem', 'a', 0.0, NULL)")
        with pytest.raises(ValueError), database.transaction():
            db.execute("INSERT INTO parties VALUES ('red', 'pem', 'b', 0.0, NULL)")
            raise ValueError("inner")
        assert database.in_transaction
    names = [r[0] for r in database.connection.execute("SELECT name FROM parties")]
    assert names == ["blue"]
    assert not database.in_transaction
    database.close()


def test_stores_on_separate_connections_get_no_shared_transaction(tmp_path: Path) -> None:
    db = tmp_path / "separate.db"
    with SQLiteMessageStore(db) as messages, SQLiteAuditLog(db) as audit:
        with audit.transaction_with(messages):  # a no-op: separate connections would wait on each other
            message = messages.add_message(_content("n1"), "sig", T0_S)
            audit.append([_record(message.id)], T0_S)
        assert _count(db, "audit_log") == 1


def test_shared_database_is_one_per_file_and_closes_with_its_last_user(tmp_path: Path) -> None:
    first = shared_database(tmp_path / "one.db")
    second = shared_database(tmp_path / "one.db")
    assert first is second
    memory_a, memory_b = shared_database(":memory:"), shared_database(":memory:")
    assert memory_a is not memory_b
    memory_a.close()
    memory_b.close()
    first.close()
    first.connection.execute("SELECT 1")  # still open: one user left
    second.close()
    with pytest.raises(sqlite3.ProgrammingError):
        first.connection.execute("SELECT 1")
    third = shared_database(tmp_path / "one.db")
    assert third is not first
    third.close()
