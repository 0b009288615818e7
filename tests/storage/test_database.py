"""One database shared by stores: nested transactions, a change committed with its audit entry."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from deconflict.channel.audit import AuditKind, AuditLog, AuditRecord
from deconflict.channel.catalogue import load_catalogue
from deconflict.channel.conflicts import ConflictStateStore
from deconflict.channel.messages import AckLevel, MessageContent, sign_content
from deconflict.channel.service.messages import deliver_pushed, send_batch
from deconflict.channel.service.operations import file_plan, withdraw_plan
from deconflict.channel.service.parties import add_party, revoke_party_token, rotate_party_token
from deconflict.storage.sqlite import SQLiteAuditLog, SQLiteMessageStore, SQLitePartyStore
from deconflict.storage.sqlite.database import Database, GroupCommitError
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.filing import FilingResult
from deconflict.strategic.limits import Limits
from deconflict.strategic.store import Store
from tests.builders import T0_S, box, volume
from tests.fakes import EventList
from tests.storage.backends import Backend, queue_writers

_PARTY_SQL = "INSERT INTO parties (name, public_key_pem, token_sha256, created_s) VALUES (?, 'pem', ?, 0.0)"


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


def test_a_message_and_its_entry_commit_together_or_not_at_all(storage_backend: Backend) -> None:
    database = storage_backend.database()
    with (
        storage_backend.store("messages", database) as messages,
        storage_backend.store("audit", database) as audit,
    ):
        with audit.transaction_with(messages):
            message = messages.add_message(_content("n1"), "sig", T0_S)
            audit.append([_record(message.id)], T0_S)
        assert (_rows(storage_backend, "messages"), _rows(storage_backend, "audit_log")) == (1, 1)

        with pytest.raises(RuntimeError), audit.transaction_with(messages):
            message = messages.add_message(_content("n2"), "sig", T0_S)
            audit.append([_record(message.id)], T0_S)
            raise RuntimeError("the process dies before the commit")
        assert (_rows(storage_backend, "messages"), _rows(storage_backend, "audit_log")) == (1, 1)
    database.close()


def test_pushed_messages_become_delivered_once_each_with_one_entry(storage_backend: Backend) -> None:
    database = storage_backend.database()
    with (
        storage_backend.store("messages", database) as messages,
        storage_backend.store("audit", database) as audit,
    ):
        pushed = messages.add_message(_content("n1"), "sig", T0_S)
        fetched = messages.add_message(_content("n2"), "sig", T0_S)
        to_blue = messages.add_message(
            MessageContent("red", "blue", "FREE", {}, "hi", None, "n3"), "sig", T0_S
        )
        messages.mark_delivered("red", T0_S, fetched.id)  # already delivered: left alone
        ids = [pushed.id, pushed.id, fetched.id, to_blue.id, 999_999]
        assert [m.id for m in deliver_pushed(messages, audit, "red", ids, T0_S + 1)] == [pushed.id]
        assert deliver_pushed(messages, audit, "red", ids, T0_S + 2) == []
        delivered = messages.get_message(pushed.id)
        assert delivered is not None and (delivered.level, delivered.delivered_s) == (
            AckLevel.DELIVERED,
            T0_S + 1,
        )
        assert [e.kind for e in audit.entries()] == [str(AuditKind.MESSAGE_DELIVERED)]
    database.close()


def test_a_failing_inner_block_rolls_back_to_its_savepoint_only(tmp_path: Path) -> None:
    database = Database(tmp_path / "nested.db")
    with database.transaction() as db:
        db.execute(_PARTY_SQL, ("blue", "a"))
        with pytest.raises(ValueError), database.transaction():
            db.execute(_PARTY_SQL, ("red", "b"))
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


def _file(store: Store, audit: AuditLog, states: ConflictStateStore, party: str) -> FilingResult:
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


def _rows(backend: Backend, table: str) -> int:
    [(count,)] = backend.query(f"SELECT count(*) FROM {table}")
    return int(count)


def _counts(backend: Backend) -> tuple[int, int, int]:
    return (_rows(backend, "operations"), _rows(backend, "conflicts"), _rows(backend, "audit_log"))


def _fail(*args: object, **kwargs: object) -> list[object]:
    raise RuntimeError("the process dies before the entries are written")


def test_a_filing_and_its_entries_commit_together_or_not_at_all(
    storage_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = storage_backend.database()
    with (
        storage_backend.store("operations", database) as store,
        storage_backend.store("conflict_states", database) as states,
        storage_backend.store("audit", database) as audit,
    ):
        assert store.database is states.database is audit.database is database
        _file(store, audit, states, "blue")
        result = _file(store, audit, states, "red")
        assert len(result.conflict_ids) == 1
        # Two operations, one conflict; entries: two filings and the conflict found.
        assert _counts(storage_backend) == (2, 1, 3)

        with monkeypatch.context() as patch:
            patch.setattr(audit, "append", _fail)
            with pytest.raises(RuntimeError):
                _file(store, audit, states, "green")
        assert not database.in_transaction
        assert _counts(storage_backend) == (2, 1, 3)  # neither green's operation nor its two conflicts
        assert store.get_operation("green", "op-1") is None
        assert [r.id for r in store.list_conflict_records("green")] == []

        _file(store, audit, states, "green")  # the chain goes on where it was
        assert _counts(storage_backend) == (3, 3, 6)
    database.close()


def test_a_withdrawal_and_its_entries_commit_together_or_not_at_all(
    storage_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = storage_backend.database()
    with (
        storage_backend.store("operations", database) as store,
        storage_backend.store("conflict_states", database) as states,
        storage_backend.store("audit", database) as audit,
    ):
        _file(store, audit, states, "blue")
        _file(store, audit, states, "red")
        before = _rows(storage_backend, "audit_log")

        with monkeypatch.context() as patch:
            patch.setattr(audit, "append", _fail)
            with pytest.raises(RuntimeError):
                withdraw_plan(store, audit, "red", "op-1", 1, T0_S, conflict_states=states)
        assert not database.in_transaction
        operation = store.get_operation("red", "op-1")
        assert operation is not None and (operation.version, str(operation.state)) == (1, "proposed")
        assert states.list_for("red") == {}  # the conflict's resolution rolled back too
        assert _rows(storage_backend, "audit_log") == before

        withdrawn = withdraw_plan(store, audit, "red", "op-1", 1, T0_S, conflict_states=states)
        assert (withdrawn.version, str(withdrawn.state)) == (2, "withdrawn")
        stored = store.get_operation("red", "op-1")
        assert stored is not None and stored.version == 2
        kinds = [entry.kind for entry in audit.entries(after_seq=before)]
        assert kinds == [str(AuditKind.OPERATION_WITHDRAWN), str(AuditKind.CONFLICT_RESOLVED)]
        assert [lc.resolution is not None for lc in states.list_for("red").values()] == [True]
    database.close()


# --- group commit ---------------------------------------------------------------------


def _insert_party(database: Database, name: str) -> None:
    with database.transaction() as db:
        db.execute(_PARTY_SQL, (name, name))


def _stored(path: Path, name: str) -> bool:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("SELECT 1 FROM parties WHERE name = ?", (name,)).fetchone() is not None
    finally:
        raw.close()


def test_queued_writers_share_one_commit_and_each_returns_durable(tmp_path: Path) -> None:
    path = tmp_path / "group.db"
    database = Database(path, group_max_s=60.0)
    commits: list[str] = []
    database.connection.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    durable_on_return: dict[str, bool] = {}

    def write(name: str) -> None:
        _insert_party(database, name)
        durable_on_return[name] = _stored(path, name)  # seen by another connection: committed

    names = [f"writer-{i}" for i in range(8)]
    with database.lock:  # everyone queues behind the holder
        threads = queue_writers(database.lock, names, write)
        _insert_party(database, "holder")  # joins (opens) the group; the release leaves it to the queue
    for thread in threads:
        thread.join(timeout=10.0)
    assert durable_on_return == dict.fromkeys(names, True)
    assert _stored(path, "holder")
    assert commits == ["COMMIT"]  # nine writers, one commit
    database.close()


def test_a_lone_writer_commits_at_once(tmp_path: Path) -> None:
    path = tmp_path / "lone.db"
    database = Database(path, group_max_s=60.0)
    _insert_party(database, "blue")
    assert _stored(path, "blue") and not database.connection.in_transaction
    database.close()


def test_a_writer_that_begins_the_group_takes_no_savepoint_and_a_raise_undoes_it_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "first.db"
    database = Database(path, group_max_s=60.0)
    statements: list[str] = []
    database.connection.set_trace_callback(statements.append)
    _insert_party(database, "blue")
    assert not [s for s in statements if "SAVEPOINT" in s or "RELEASE" in s]
    with pytest.raises(ValueError), database.transaction() as db:
        db.execute(_PARTY_SQL, ("red", "r"))
        raise ValueError("the block fails")
    assert not database.connection.in_transaction
    assert _stored(path, "blue") and not _stored(path, "red")
    _insert_party(database, "green")  # the database goes on
    assert _stored(path, "green")
    database.close()


def test_a_joining_writer_that_raises_undoes_its_own_changes_only(tmp_path: Path) -> None:
    path = tmp_path / "joined.db"
    database = Database(path, group_max_s=60.0)
    failed: list[str] = []

    def write(name: str) -> None:
        try:
            with database.transaction() as db:
                db.execute(_PARTY_SQL, (name, name))
                if name.startswith("fails"):
                    raise ValueError(name)
        except ValueError:
            failed.append(name)

    names = ["fails-0", "writer-0", "fails-1", "writer-1"]
    with database.lock:  # the holder begins the group (no savepoint); the queue joins it
        threads = queue_writers(database.lock, names, write)
        _insert_party(database, "holder")
    for thread in threads:
        thread.join(timeout=10.0)
    assert sorted(failed) == ["fails-0", "fails-1"]
    assert [n for n in ["holder", *names] if _stored(path, n)] == ["holder", "writer-0", "writer-1"]
    database.close()


class _FailingCommit:
    """A connection whose COMMIT fails, as a full disk would make it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._connection.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def test_a_failed_group_commit_fails_every_writer_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "failing.db"
    database = Database(path, group_max_s=60.0)
    real = database.connection
    database.connection = _FailingCommit(real)  # type: ignore[assignment]
    failures: dict[str, BaseException] = {}

    def write(name: str) -> None:
        try:
            _insert_party(database, name)
        except GroupCommitError as exc:
            failures[name] = exc

    names = [f"writer-{i}" for i in range(4)]
    with database.lock:
        threads = queue_writers(database.lock, names, write)
    for thread in threads:
        thread.join(timeout=10.0)
    assert set(failures) == set(names)
    assert "disk is full" in str(failures[names[0]])
    assert not any(_stored(path, n) for n in names)
    database.connection = real
    _insert_party(database, "after")  # the database goes on once the disk is back
    assert _stored(path, "after")
    database.close()


def test_party_changes_and_their_entries_commit_together_or_not_at_all(
    storage_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = storage_backend.database()
    with (
        storage_backend.store("parties", database) as parties,
        storage_backend.store("audit", database) as audit,
    ):
        add_party(parties, audit, "blue", None, T0_S)
        assert (_rows(storage_backend, "parties"), _rows(storage_backend, "audit_log")) == (1, 1)
        with monkeypatch.context() as patch:
            patch.setattr(audit, "append", _fail)
            with pytest.raises(RuntimeError):
                add_party(parties, audit, "red", None, T0_S)
            with pytest.raises(RuntimeError):
                revoke_party_token(parties, audit, "blue", T0_S + 1)
            with pytest.raises(RuntimeError):
                rotate_party_token(parties, audit, "blue", T0_S + 2)
        assert (_rows(storage_backend, "parties"), _rows(storage_backend, "audit_log")) == (
            1,
            1,
        )  # no red, blue unchanged
        blue = parties.get_party("blue")
        assert blue is not None and blue.is_active
        revoke_party_token(parties, audit, "blue", T0_S + 3)
        assert [e.kind for e in audit.entries()] == ["party_added", "party_revoked"]
    database.close()


def test_a_batch_of_messages_commits_once_and_each_message_stands_alone(tmp_path: Path) -> None:
    db = tmp_path / "batch.db"
    database = Database(db)
    commits: list[str] = []
    database.connection.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    with (
        SQLitePartyStore(database) as parties,
        SQLiteMessageStore(database) as messages,
        SQLiteAuditLog(database) as audit,
    ):
        blue = add_party(parties, audit, "blue", None, T0_S)
        add_party(parties, audit, "red", None, T0_S)
        assert blue.private_key_pem is not None
        contents = [_content(f"batch-nonce-{i:08d}") for i in range(3)]
        signed = [(c, sign_content(c, blue.private_key_pem)) for c in contents]
        signed[1] = (contents[1], signed[0][1])  # the first one's signature: refused
        sink = EventList()
        commits.clear()
        results = send_batch(messages, parties, load_catalogue(), audit, signed, T0_S, sink)
        assert commits == ["COMMIT"]
        assert [type(r).__name__ for r in results] == ["Message", "InputError", "Message"]
        assert "signature" in str(results[1])
        stored = [m.content.nonce for m in messages.list_messages("blue", "outbox")]
        assert stored == [contents[0].nonce, contents[2].nonce]
        assert [e.kind for e in audit.entries()][-2:] == ["message_sent", "message_sent"]
        assert [(e.party, e.subject) for e in sink.events] == [("red", results[0]), ("red", results[2])]
        # A nonce used again in a later batch is refused alone, too.
        again = send_batch(messages, parties, load_catalogue(), audit, [signed[0]], T0_S)
        assert [type(r).__name__ for r in again] == ["AlreadyExistsError"]
    database.close()


def _checkpointers() -> int:
    return sum(t.name == "deconflict-wal-checkpoint" for t in threading.enumerate())


def test_the_wal_checkpointer_runs_with_the_database_and_stops_with_its_last_user(tmp_path: Path) -> None:
    before = _checkpointers()
    database = Database(tmp_path / "served.db", checkpoint_interval_s=0.01)
    store = SQLiteStore(database)  # a store on a shared database runs no checkpointer of its own
    assert _checkpointers() == before + 1
    # The automatic checkpoint stays on, at the larger backstop size.
    assert database.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16384
    database.close()
    assert _checkpointers() == before + 1  # the store still uses it
    store.close()
    assert _checkpointers() == before
    Database(":memory:", checkpoint_interval_s=0.01).close()
    plain = Database(tmp_path / "plain.db")
    assert _checkpointers() == before
    assert plain.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    plain.close()
