"""The storage bundle: every store over one database, one entry point, closed together."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from deconflict.channel.audit import AuditKind, AuditRecord
from deconflict.channel.messages import MessageContent
from deconflict.channel.parties import Party
from deconflict.channel.stores import Storage
from deconflict.config import Settings, load_settings
from deconflict.errors import InputError
from deconflict.storage import SQLiteStorage, open_storage
from deconflict.storage.sqlite.migrations import LATEST_VERSION
from deconflict.units import AltitudeMargins
from tests.builders import T0_S
from tests.storage.backends import Backend


def _count(path: Path, table: str) -> int:
    raw = sqlite3.connect(path)
    try:
        return int(raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        raw.close()


def test_every_store_shares_one_connection_and_closes_with_the_bundle(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "one.db")
    stores = (
        storage.operations,
        storage.parties,
        storage.messages,
        storage.audit,
        storage.conflict_states,
        storage.incidents,
        storage.ledger,
    )
    assert {id(store.database) for store in stores} == {id(storage.database)}
    storage.close()
    with pytest.raises(sqlite3.ProgrammingError):
        storage.database.connection.execute("SELECT 1")


def test_settings_choose_the_file_and_the_margins(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "chosen.db")
    with open_storage(settings) as storage:
        assert Path(storage.path) == (tmp_path / "chosen.db").resolve()
        assert storage.operations.margins == settings.altitude_margins()
        assert storage.readiness_problem() is None
    with open_storage(str(tmp_path / "chosen.db")) as storage:
        assert storage.operations.margins == AltitudeMargins()


def test_a_change_and_its_audit_entry_commit_together_or_not_at_all(tmp_path: Path) -> None:
    db = tmp_path / "together.db"
    content = MessageContent("blue", "red", "FREE", {}, "hello", None, "n1")
    record = AuditRecord("blue", AuditKind.MESSAGE_SENT, ("message:1",), ("blue", "red"), {})
    with open_storage(db) as storage:
        with pytest.raises(RuntimeError), storage.audit.transaction_with(storage.messages):
            storage.messages.add_message(content, "sig", T0_S)
            storage.audit.append([record], T0_S)
            raise RuntimeError("the process dies before the commit")
        assert (_count(db, "messages"), _count(db, "audit_log")) == (0, 0)


def test_a_file_at_another_schema_version_is_not_ready(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with open_storage(db) as storage:
        raw = sqlite3.connect(db)
        raw.execute(f"PRAGMA user_version = {LATEST_VERSION - 1}")
        raw.close()
        assert f"schema version {LATEST_VERSION - 1}" in (storage.readiness_problem() or "")


def test_an_in_memory_storage_is_one_database_and_ready() -> None:
    with open_storage(":memory:") as storage:
        storage.operations.count_volumes()
        assert storage.readiness_problem() is None
        assert storage.database.path == ":memory:"


def test_a_failed_open_leaves_nothing_open(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    open_storage(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    raw.close()
    with pytest.raises(Exception, match="newer than this deconflict"):
        open_storage(db)


def test_the_sqlite_bundle_is_the_domain_storage(tmp_path: Path) -> None:
    storage: Storage = SQLiteStorage.open(tmp_path / "typed.db", checkpoint_interval_s=None)
    with storage:
        assert storage.parties.list_parties() == []


# --- both backends --------------------------------------------------------------------------


def test_the_bundle_commits_a_change_with_its_entry_on_either_backend(storage_backend: Backend) -> None:
    content = MessageContent("blue", "red", "FREE", {}, "hello", None, "n1")
    record = AuditRecord("blue", AuditKind.MESSAGE_SENT, ("message:1",), ("blue", "red"), {})
    storage: Storage = storage_backend.open()
    with storage:
        with pytest.raises(RuntimeError), storage.audit.transaction_with(storage.messages):
            storage.messages.add_message(content, "sig", T0_S)
            storage.audit.append([record], T0_S)
            raise RuntimeError("the process dies before the commit")
        assert storage_backend.query("SELECT count(*) FROM messages") == [(0,)]
        with storage.audit.transaction_with(storage.messages):
            storage.messages.add_message(content, "sig", T0_S)
            storage.audit.append([record], T0_S)
        assert storage_backend.query("SELECT count(*) FROM audit_log") == [(1,)]
        assert storage.readiness_problem() is None


def test_a_failing_inner_block_rolls_back_to_its_savepoint_only(storage_backend: Backend) -> None:
    with storage_backend.open() as storage:
        blue = Party("blue", "key", T0_S, None)
        with storage.audit.transaction_with(storage.parties):
            storage.parties.add_party(blue, "hash-blue")
            with pytest.raises(ValueError), storage.audit.transaction_with(storage.parties):
                storage.parties.add_party(Party("red", "key", T0_S, None), "hash-red")
                raise ValueError("inner")
            assert storage.database.in_transaction
        assert not storage.database.in_transaction
        assert storage.parties.list_parties() == [blue]


# --- PostgreSQL -----------------------------------------------------------------------------


def test_a_postgresql_url_opens_the_postgis_storage(fresh_postgres_url: str, tmp_path: Path) -> None:
    from deconflict.storage.postgres import PostgresStorage

    key = tmp_path / "audit-key.pem"
    settings = Settings(db_url=fresh_postgres_url, audit_key_path=key)
    with open_storage(settings) as storage:
        assert isinstance(storage, PostgresStorage)
        assert storage.operations.margins == settings.altitude_margins()
        assert storage.readiness_problem() is None
        storage.audit.append([AuditRecord("blue", AuditKind.LOGIN_FAILED, (), (), {})], T0_S)
    assert key.is_file()
    with open_storage(fresh_postgres_url, audit_key_path=key) as storage:
        assert [e.seq for e in storage.audit.entries()] == [1]
    with pytest.raises(InputError, match="DECONFLICT_AUDIT_KEY_PATH"):
        open_storage(Settings(db_url=fresh_postgres_url))
    with pytest.raises(InputError, match="db_url"):
        load_settings(db_url="mysql://somewhere/else")


def test_a_postgresql_database_at_another_version_or_unreachable_is_not_ready(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    import psycopg

    from deconflict.storage.postgres.database import display_url
    from deconflict.storage.postgres.storage import readiness_problem

    with open_storage(fresh_postgres_url, audit_key_path=tmp_path / "key.pem") as storage:
        with psycopg.connect(fresh_postgres_url, autocommit=True) as raw:
            raw.execute("DELETE FROM schema_migrations WHERE version = %s", (LATEST_VERSION,))
        assert f"schema version {LATEST_VERSION - 1}, this deconflict needs" in (
            storage.readiness_problem() or ""
        )
    unreachable = "postgresql://nobody:secret@127.0.0.1:1/none"
    problem = readiness_problem(unreachable, display_url(unreachable))
    assert problem is not None and "does not answer" in problem and "secret" not in problem
