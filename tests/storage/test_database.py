"""One connection shared by stores: nested transactions, and a message committed with its audit entry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from deconflict.channel.audit import AuditKind, AuditRecord
from deconflict.channel.messages import MessageContent
from deconflict.channel.service import file_plan, withdraw_plan
from deconflict.config import Buffers, Limits
from deconflict.storage.sqlite import SQLiteAuditLog, SQLiteMessageStore
from deconflict.storage.sqlite.conflict_states import SQLiteConflictStates
from deconflict.storage.sqlite.database import Database, shared_database
from deconflict.storage.sqlite.store import SQLiteStore
from deconflict.strategic.filing import FilingResult
from tests.builders import T0_S, box, volume


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


def _file(
    store: SQLiteStore, audit: SQLiteAuditLog, states: SQLiteConflictStates, party: str
) -> FilingResult:
    # Every party files the same box: each filing conflicts with the others' operations.
    return file_plan(
        store,
        audit,
        party,
        "op-1",
        [volume("v1", party, box(8.0, 47.0, 8.1, 47.1))],
        document={"party": party},
        priority=0,
        replaces_version=None,
        buffers=Buffers(),
        limits=Limits(),
        now_s=T0_S,
        conflict_states=states,
    )


def _counts(path: Path) -> tuple[int, int, int]:
    return (_count(path, "operations"), _count(path, "conflicts"), _count(path, "audit_log"))


def _fail(*args: object, **kwargs: object) -> list[object]:
    raise RuntimeError("the process dies before the entries are written")


def test_a_filing_and_its_entries_commit_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "filing.db"
    database = Database(db)
    with (
        SQLiteStore(database, checkpoint_interval_s=None) as store,
        SQLiteConflictStates(database) as states,
        SQLiteAuditLog(database) as audit,
    ):
        assert store.database is states.database is audit.database is database
        _file(store, audit, states, "blue")
        result = _file(store, audit, states, "red")
        assert len(result.conflict_ids) == 1
        # Two operations, one conflict; entries: two filings and the conflict found.
        assert _counts(db) == (2, 1, 3)

        with monkeypatch.context() as patch:
            patch.setattr(audit, "append", _fail)
            with pytest.raises(RuntimeError):
                _file(store, audit, states, "green")
        assert not database.in_transaction
        assert _counts(db) == (2, 1, 3)  # neither green's operation nor its two conflicts
        assert store.get_operation("green", "op-1") is None
        assert [r.id for r in store.list_conflict_records("green")] == []

        _file(store, audit, states, "green")  # the chain goes on where it was
        assert _counts(db) == (3, 3, 6)
    database.close()


def test_a_withdrawal_and_its_entries_commit_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "withdrawal.db"
    database = Database(db)
    with (
        SQLiteStore(database, checkpoint_interval_s=None) as store,
        SQLiteConflictStates(database) as states,
        SQLiteAuditLog(database) as audit,
    ):
        _file(store, audit, states, "blue")
        _file(store, audit, states, "red")
        before = _count(db, "audit_log")

        with monkeypatch.context() as patch:
            patch.setattr(audit, "append", _fail)
            with pytest.raises(RuntimeError):
                withdraw_plan(store, audit, "red", "op-1", 1, T0_S, conflict_states=states)
        assert not database.in_transaction
        operation = store.get_operation("red", "op-1")
        assert operation is not None and (operation.version, str(operation.state)) == (1, "proposed")
        assert states.list_for("red") == {}  # the conflict's resolution rolled back too
        assert _count(db, "audit_log") == before

        withdrawn = withdraw_plan(store, audit, "red", "op-1", 1, T0_S, conflict_states=states)
        assert (withdrawn.version, str(withdrawn.state)) == (2, "withdrawn")
        stored = store.get_operation("red", "op-1")
        assert stored is not None and stored.version == 2
        kinds = [entry.kind for entry in audit.entries(after_seq=before)]
        assert kinds == [str(AuditKind.OPERATION_WITHDRAWN), str(AuditKind.CONFLICT_RESOLVED)]
        assert [lc.resolution is not None for lc in states.list_for("red").values()] == [True]
    database.close()
