"""Online backup and restore of the SQLite database."""

from __future__ import annotations

import sqlite3
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


def test_a_sqlite_file_that_is_no_deconflict_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE notes (text TEXT)")
    raw.close()
    db = tmp_path / "live.db"
    SQLiteStore(db).close()
    with pytest.raises(DeconflictError, match=r"other\.db: not a deconflict database"):
        restore_database(other, db, overwrite=True)


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


def test_db_commands_on_an_unreachable_postgresql_database_say_so_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://app@127.0.0.1:1/channel"
    assert main(["db", "backup", str(tmp_path / "b.dump"), "--db", url]) == 2
    assert "127.0.0.1:1/channel" in capsys.readouterr().err
    monkeypatch.setenv("DECONFLICT_DB_URL", url)
    assert main(["db", "backup", str(tmp_path / "b.dump")]) == 2
    assert "127.0.0.1:1/channel" in capsys.readouterr().err
    assert main(["db", "restore", str(tmp_path / "b.dump")]) == 2  # no such dump: checked first
    assert f"{tmp_path / 'b.dump'}: no such dump file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


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


def _live_with_key(tmp_path: Path) -> Path:
    from deconflict.storage.sqlite.audit import audit_key_path

    db = tmp_path / "live.db"
    SQLiteStore(db).close()
    audit_key_path(db).write_bytes(b"-----BEGIN PRIVATE KEY-----\nsecret\n")
    audit_key_path(db).chmod(0o600)
    return db


def test_a_new_database_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "new.db").close()
    assert (tmp_path / "new.db").stat().st_mode & 0o777 == 0o600
    db = _live_with_key(tmp_path)
    backup_database(db, tmp_path / "b.db")
    assert (tmp_path / "b.db").stat().st_mode & 0o777 == 0o600
    restore_database(tmp_path / "b.db", tmp_path / "restored.db")
    assert (tmp_path / "restored.db").stat().st_mode & 0o777 == 0o600


def test_a_planted_symlink_at_the_partial_key_file_is_refused_never_followed(tmp_path: Path) -> None:
    db = _live_with_key(tmp_path)
    elsewhere = tmp_path / "attacker-readable.pem"
    elsewhere.write_text("")
    elsewhere.chmod(0o666)
    (tmp_path / "b.db.audit-key.pem.partial").symlink_to(elsewhere)
    with pytest.raises(DeconflictError, match=r"b\.db\.audit-key\.pem\.partial: exists"):
        backup_database(db, tmp_path / "b.db")
    assert elsewhere.read_text() == ""  # the key never went through the link
    assert not (tmp_path / "b.db").exists()  # and no backup without its key


def test_a_leftover_partial_database_is_refused_not_reused(tmp_path: Path) -> None:
    db = _live_with_key(tmp_path)
    (tmp_path / "b.db.partial").write_text("someone else's")
    with pytest.raises(DeconflictError, match=r"b\.db\.partial: exists"):
        backup_database(db, tmp_path / "b.db")
    assert (tmp_path / "b.db.partial").read_text() == "someone else's"


def test_an_existing_key_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    from deconflict.storage.sqlite.audit import audit_key_path

    db = _live_with_key(tmp_path)
    audit_key_path(tmp_path / "b.db").write_text("another chain's key")
    with pytest.raises(DeconflictError, match=r"b\.db\.audit-key\.pem: exists; pass --force"):
        backup_database(db, tmp_path / "b.db")
    assert audit_key_path(tmp_path / "b.db").read_text() == "another chain's key"
    backup_database(db, tmp_path / "b.db", overwrite=True)
    assert audit_key_path(tmp_path / "b.db").read_bytes() == audit_key_path(db).read_bytes()


def test_backup_to_a_missing_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _live_with_key(tmp_path)
    target = tmp_path / "nosuch" / "b.db"
    assert main(["db", "backup", str(target), "--db", str(db)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: {target.parent}: no such folder (for b.db); create it first"
    )


def test_restore_and_backup_onto_a_served_database_are_refused(tmp_path: Path) -> None:
    from deconflict.storage.sqlite.lock import ServerLock

    db = _live_with_key(tmp_path)
    backup_database(db, tmp_path / "b.db")
    before = db.read_bytes()
    with ServerLock(db):  # what `deconflict serve` holds while it runs
        with pytest.raises(DeconflictError, match="a running server holds this database"):
            restore_database(tmp_path / "b.db", db, overwrite=True)
        with pytest.raises(DeconflictError, match="a running server holds this database"):
            backup_database(tmp_path / "b.db", db, overwrite=True)
    assert db.read_bytes() == before
    restore_database(tmp_path / "b.db", db, overwrite=True)  # once the server is gone
