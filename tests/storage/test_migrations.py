"""Versioned migrations of the SQLite file: fresh, upgrade, concurrent open, newer refused."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from deconflict.channel.parties import Party
from deconflict.errors import DeconflictError
from deconflict.storage import SQLiteStore
from deconflict.storage.rows import box_array, volume_row
from deconflict.storage.sqlite import SQLiteAuditLog, SQLiteMessageStore, SQLitePartyStore
from deconflict.storage.sqlite.connection import connect
from deconflict.storage.sqlite.migrations import LATEST_VERSION, MIGRATIONS, migrate, schema_version
from deconflict.strategic import file_operation
from deconflict.units import AltitudeMargins
from tests.builders import box, volume

_TABLES = {
    "operations",
    "volumes",
    "volume_index",
    "conflicts",
    "parties",
    "messages",
    "escalations",
    "audit_log",
    "audit_meta",
    "conflict_states",
}


def _tables(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def test_registry_versions_are_consecutive() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len(MIGRATIONS) == LATEST_VERSION


@pytest.mark.parametrize("opener", [SQLiteStore, SQLitePartyStore, SQLiteMessageStore, SQLiteAuditLog])
def test_any_store_brings_a_fresh_file_to_the_latest_version(tmp_path: Path, opener: type) -> None:
    db = tmp_path / "fresh.db"
    opener(db).close()
    assert _version(db) == LATEST_VERSION
    assert _tables(db) >= _TABLES
    assert "meta" not in _tables(db)  # user_version is the one schema version


def test_an_older_file_is_upgraded_with_its_data_kept(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    raw = connect(db)
    assert migrate(raw, str(db), target=1) == 1
    raw.close()
    assert "parties" not in _tables(db)
    # Version 1 knows operations only: file one with the store's own SQL path.
    raw = connect(db)
    raw.execute(
        "INSERT INTO operations (party, id, version, state, priority, updated_s) "
        "VALUES ('blue', 'op-1', 1, 'accepted', 0, 0.0)"
    )
    raw.close()
    with SQLiteStore(db) as store:
        assert _version(db) == LATEST_VERSION
        assert store._db.execute("SELECT id FROM operations WHERE party = 'blue'").fetchone()[0] == "op-1"
        file_operation(store, "red", "op-2", [volume("v", "red", box(0, 0, 1, 1))])
    with SQLitePartyStore(db) as parties:
        parties.add_party(Party(name="blue", public_key_pem="pem", created_s=0.0), "0" * 64)
    assert _tables(db) >= _TABLES


def test_a_file_from_before_migrations_is_adopted(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    raw = connect(db)
    migrate(raw, str(db))
    raw.execute(
        "INSERT INTO parties (name, public_key_pem, token_sha256, created_s, revoked_s) "
        "VALUES ('blue', 'pem', 'abc', 0.0, NULL)"
    )
    raw.execute("PRAGMA user_version = 0")  # what the stores left before versioning
    raw.close()
    with SQLitePartyStore(db) as parties:
        assert parties.get_party("blue") is not None
    assert _version(db) == LATEST_VERSION


def test_a_file_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    SQLiteStore(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    raw.close()
    for opener in (SQLiteStore, SQLitePartyStore, SQLiteMessageStore, SQLiteAuditLog):
        with pytest.raises(DeconflictError, match="newer than this deconflict"):
            opener(db)


def test_threads_opening_a_new_file_at_once_do_not_fail(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_one(n: int) -> None:
        opener = (SQLiteStore, SQLitePartyStore, SQLiteMessageStore, SQLiteAuditLog)[n % 4]
        start.wait()
        try:
            opener(db).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _version(db) == LATEST_VERSION


def _open_in_process(path: str, n: int) -> None:
    opener = (SQLiteStore, SQLitePartyStore, SQLiteMessageStore, SQLiteAuditLog)[n % 4]
    opener(path).close()


def test_processes_opening_a_new_file_at_once_do_not_fail(tmp_path: Path) -> None:
    db = tmp_path / "race-processes.db"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_open_in_process, args=(str(db), n)) for n in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    assert _version(db) == LATEST_VERSION


def test_migrate_is_a_no_op_at_the_latest_version(tmp_path: Path) -> None:
    db = connect(tmp_path / "x.db")
    assert migrate(db) == LATEST_VERSION
    assert migrate(db) == LATEST_VERSION
    assert schema_version(db) == LATEST_VERSION
    db.close()


def test_conflict_disclosures_are_in_no_index_but_the_primary_key(tmp_path: Path) -> None:
    # The filing path writes two per conflict: each index over them would cost every filing pages.
    db = connect(tmp_path / "x.db")
    migrate(db)
    indexes = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'disclosures'")
    defined = [str(row[0]) for row in indexes if row[0] is not None]
    assert defined and all("WHERE kind <> 'conflict'" in sql for sql in defined)
    db.close()


def test_the_second_schema_version_is_dropped_with_its_data_kept(tmp_path: Path) -> None:
    db = tmp_path / "v10.db"
    raw = connect(db)
    assert migrate(raw, str(db), target=10) == 10
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    raw.execute(
        "INSERT INTO operations (party, id, version, state, priority, updated_s) "
        "VALUES ('blue', 'op-1', 1, 'accepted', 0, 0.0)"
    )
    raw.close()
    with SQLiteStore(db) as store:
        assert store.get_operation("blue", "op-1") is not None
    assert _version(db) == LATEST_VERSION
    assert "meta" not in _tables(db)


def test_a_file_from_before_migrations_at_another_meta_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "legacy-v3.db"
    raw = connect(db)
    migrate(raw, str(db), target=10)
    raw.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    raw.execute("PRAGMA user_version = 0")
    raw.close()
    with pytest.raises(
        DeconflictError, match=r"legacy-v3\.db: database schema version 3, .* reads version 2"
    ):
        SQLiteStore(db)
    assert _version(db) == 0  # the refused migration left the file as it was
    assert "meta" in _tables(db)


def test_the_r_tree_boxes_move_to_the_plain_table_and_still_find_conflicts(tmp_path: Path) -> None:
    db = tmp_path / "v15.db"
    raw = connect(db)
    assert migrate(raw, str(db), target=15) == 15
    stored = volume("b1", "blue", box(36.0, 35.0, 36.5, 35.5), operation="op-b")
    raw.execute(
        "INSERT INTO operations (party, id, version, state, priority, updated_s) "
        "VALUES ('blue', 'op-b', 1, 'proposed', 0, 0.0)"
    )
    raw.execute(
        "INSERT INTO volumes (rowid, party, operation_id, volume_id, priority, lower_m, lower_ref, upper_m, "
        "upper_ref, time_start_s, time_end_s, centre_lon_deg, centre_lat_deg, radius_m, shape_wkb, "
        "outer_wkb, inner_wkb, live, index_parts) "
        "VALUES (3, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)",
        volume_row(stored),
    )
    (row,) = box_array(stored.search_boxes(AltitudeMargins())).tolist()
    raw.execute("INSERT INTO volume_index VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (3 * 64, *row))
    raw.close()
    with SQLiteStore(db) as store:
        assert _version(db) == LATEST_VERSION
        (sql,) = store._db.execute("SELECT sql FROM sqlite_master WHERE name = 'volume_index'").fetchone()
        assert "rtree" not in sql.lower()
        result = file_operation(store, "red", "op-r", [volume("r1", "red", box(36.4, 35.4, 37.0, 36.0))])
        assert [(c.a, c.b) for c in result.conflicts] == [("r1", "b1")]
