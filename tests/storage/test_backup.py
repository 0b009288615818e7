"""Online backup and restore of the SQLite database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.errors import DeconflictError
from deconflict.storage import SQLiteStore
from deconflict.storage.sqlite.backup import backup_database, restore_database
from deconflict.strategic import file_operation
from tests.builders import box, volume


def _file(store: SQLiteStore, party: str, n: int) -> None:
    x = float(n % 50)
    file_operation(
        store,
        party,
        f"op-{n}",
        [volume(f"v{n}-a", party, box(x, 0, x + 0.5, 1)), volume(f"v{n}-b", party, box(x, 2, x + 0.5, 3))],
    )


def test_backup_taken_while_another_connection_files_is_consistent(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with SQLiteStore(db) as store:
        for n in range(20):
            _file(store, "blue", n)
    stop, writing = threading.Event(), threading.Event()
    filed: list[int] = []

    def writer() -> None:
        with SQLiteStore(db) as other:
            n = 1000
            while not stop.is_set() and n < 1400:
                _file(other, "red", n)
                filed.append(n)
                writing.set()
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(timeout=30), "the writer did not start"
        summaries = [backup_database(db, tmp_path / f"copy-{k}.db") for k in range(3)]
    finally:
        stop.set()
        thread.join(timeout=60)
    for summary in summaries:
        # Every operation in a copy has both of its volumes: no half-written filing.
        with SQLiteStore(summary.path, checkpoint_interval_s=None) as copy:
            for party in ("blue", "red"):
                for op in copy.list_operations(party):
                    assert len(op.volumes) == 2, (summary.path, op.id)
            assert len(copy.list_operations("blue")) == 20
        assert summary.rows["operations"] >= 20
        assert summary.rows["volumes"] == 2 * summary.rows["operations"]


def test_restore_brings_back_exactly_the_backed_up_state(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with SQLiteStore(db) as store:
        for n in range(5):
            _file(store, "blue", n)
    backup_database(db, tmp_path / "b.db")
    with SQLiteStore(db) as store:
        _file(store, "blue", 99)  # after the backup: gone after the restore
    with pytest.raises(DeconflictError, match="--force"):
        restore_database(tmp_path / "b.db", db)
    summary = restore_database(tmp_path / "b.db", db, overwrite=True)
    assert summary.rows["operations"] == 5
    with SQLiteStore(db) as store:
        assert sorted(op.id for op in store.list_operations("blue")) == [f"op-{n}" for n in range(5)]


def test_a_damaged_backup_is_refused_and_the_target_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with SQLiteStore(db) as store:
        for n in range(30):
            _file(store, "blue", n)
    backup = tmp_path / "b.db"
    backup_database(db, backup)
    data = bytearray(backup.read_bytes())
    for offset in range(4096, len(data), 997):  # scribble over every page after the header page
        data[offset] ^= 0xFF
    backup.write_bytes(bytes(data))
    with pytest.raises(DeconflictError, match=r"b\.db"):
        restore_database(backup, db, overwrite=True)
    with SQLiteStore(db) as store:
        assert len(store.list_operations("blue")) == 30


def test_backup_refuses_to_overwrite_and_names_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DeconflictError, match="no such database"):
        backup_database(tmp_path / "missing.db", tmp_path / "b.db")
    db = tmp_path / "live.db"
    SQLiteStore(db).close()
    (tmp_path / "b.db").write_text("keep me")
    with pytest.raises(DeconflictError, match="exists"):
        backup_database(db, tmp_path / "b.db")
    assert (tmp_path / "b.db").read_text() == "keep me"


def test_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "live.db"
    with SQLiteStore(db) as store:
        _file(store, "blue", 1)
    assert main(["db", "backup", str(tmp_path / "b.db"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "integrity ok" in out and "1 operations" in out
    assert main(["db", "backup", str(tmp_path / "b.db"), "--db", str(db)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["db", "restore", str(tmp_path / "b.db"), "--db", str(tmp_path / "new.db")]) == 0
    with SQLiteStore(tmp_path / "new.db") as store:
        assert [op.id for op in store.list_operations("blue")] == ["op-1"]


def test_the_audit_key_travels_with_the_backup(tmp_path: Path) -> None:
    from deconflict.storage.sqlite.audit import audit_key_path

    db = tmp_path / "live.db"
    SQLiteStore(db).close()
    audit_key_path(db).write_bytes(b"-----BEGIN PRIVATE KEY-----\nsecret\n")
    backup_database(db, tmp_path / "b.db")
    copied = audit_key_path(tmp_path / "b.db")
    assert copied.read_bytes() == audit_key_path(db).read_bytes()
    assert copied.stat().st_mode & 0o777 == 0o600
    restore_database(tmp_path / "b.db", tmp_path / "new.db")
    assert audit_key_path(tmp_path / "new.db").read_bytes() == copied.read_bytes()
