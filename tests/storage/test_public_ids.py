"""The secret of the ids parties are shown: created with the database, kept, carried by backups."""

from __future__ import annotations

from pathlib import Path

from deconflict.channel.audit import SERVER, AuditKind, AuditRecord
from deconflict.channel.public_ids import IdKind
from deconflict.storage.sqlite import SQLiteAuditLog
from deconflict.storage.sqlite.backup import backup_database, restore_database
from deconflict.storage.sqlite.connection import connect
from deconflict.storage.sqlite.migrations import migrate
from deconflict.storage.sqlite.public_ids import load_public_ids, public_ids_since_seq
from tests.cluster.servers import PostgresServer
from tests.conftest import new_database


def _ids(db: Path) -> list[int]:
    ids = load_public_ids(db)
    return [ids.public(IdKind.MESSAGE, row) for row in range(1, 20)]


def test_a_new_database_has_its_own_secret_that_never_changes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    SQLiteAuditLog(first).close()
    SQLiteAuditLog(second).close()
    assert _ids(first) != _ids(second)
    again = _ids(first)
    raw = connect(first)
    migrate(raw, str(first))  # opening or migrating again keeps it
    raw.close()
    assert _ids(first) == again
    assert public_ids_since_seq(first) == 1


def test_a_backup_and_a_restore_carry_the_secret(tmp_path: Path) -> None:
    db, copy, restored = tmp_path / "live.db", tmp_path / "backup.db", tmp_path / "restored.db"
    with SQLiteAuditLog(db) as log:
        log.append([AuditRecord(SERVER, AuditKind.PARTY_ADDED, ("party:blue",), ("blue",), {})], 1.0)
    backup_database(db, copy)
    SQLiteAuditLog(restored).close()
    restore_database(copy, restored, overwrite=True)
    assert _ids(copy) == _ids(db) == _ids(restored)


def test_a_chain_written_before_public_ids_is_marked_where_they_start(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with SQLiteAuditLog(db) as log:
        log.append([AuditRecord(SERVER, AuditKind.PARTY_ADDED, (f"party:{n}",), (n,), {}) for n in "ab"], 1.0)
    raw = connect(db)
    raw.execute("DROP TABLE public_id_secret")
    raw.execute("PRAGMA user_version = 11")  # as an older server left it: two entries, no secret
    raw.close()
    SQLiteAuditLog(db).close()  # migrated to the latest version
    assert public_ids_since_seq(db) == 3
    assert len(set(_ids(db))) == 19


def test_a_postgres_database_keeps_its_secret_and_marks_where_public_ids_start(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    import psycopg

    from deconflict.storage.postgres.audit import PostgresAuditLog
    from deconflict.storage.postgres.migrations import migrate as migrate_postgres
    from deconflict.storage.postgres.public_ids import public_ids_since_seq as since_in_postgres

    old, new = new_database(postgres), new_database(postgres)
    with psycopg.connect(old, autocommit=True) as raw:
        migrate_postgres(raw, target=11)  # as an older server left it: two entries, no secret
        for seq in (1, 2):
            raw.execute(
                "INSERT INTO audit_log VALUES "
                "(%s, 1.0, 'server', 'party_added', '[]', '[]', '{}', '', '', '')",
                (seq,),
            )

    def ids(log: PostgresAuditLog) -> list[int]:
        return [log.public_ids.public(IdKind.MESSAGE, row) for row in range(1, 20)]

    with PostgresAuditLog(old, tmp_path / "key.pem") as log:  # migrated to the latest version
        assert since_in_postgres(log.database) == 3
        first = ids(log)
        assert len(set(first)) == 19
    with PostgresAuditLog(old, tmp_path / "key.pem") as log:
        assert ids(log) == first
    with PostgresAuditLog(new, tmp_path / "key.pem") as log:
        assert since_in_postgres(log.database) == 1
        assert ids(log) != first
