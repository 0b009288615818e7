"""The SQLite and PostgreSQL schemas stay the same: tables, columns, types (mapped), nullability, versions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from deconflict.errors import DeconflictError
from deconflict.storage.postgres import migrations as pg_migrations
from deconflict.storage.postgres.database import Database as PostgresDatabase
from deconflict.storage.sqlite import migrations as sqlite_migrations
from deconflict.storage.sqlite.database import Database as SQLiteDatabase

# A column of a SQLite type is stored as this PostgreSQL type.
_TYPES = {"TEXT": "text", "REAL": "double precision", "INTEGER": "bigint", "BLOB": "bytea"}

# What only one backend has, and why.
_SQLITE_ONLY_TABLES = {
    "sqlite_sequence",  # AUTOINCREMENT's counters (PostgreSQL: identity columns)
}
_POSTGRES_ONLY_TABLES = {
    "schema_migrations",  # the version reached (SQLite: PRAGMA user_version)
    "spatial_ref_sys",  # PostGIS's
    # A cluster's shared state (step 14); one node serves a SQLite file and keeps these in memory.
    "leases",
    "rate_events",
    "event_connections",
    "track_posts",
    "live_mirror",
}
_POSTGRES_ONLY_COLUMNS = {
    ("volumes", "footprint"),  # the shape as a PostGIS geometry (GiST index)
    ("volume_index", "box"),  # the 4-D box as an XYZM line (n-D GiST index)
}


def _sqlite_schema(path: Path) -> dict[tuple[str, str], tuple[str, bool]]:
    SQLiteDatabase(path).close()
    db = sqlite3.connect(path)
    try:
        tables = [str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out: dict[tuple[str, str], tuple[str, bool]] = {}
        for table in tables:
            if table in _SQLITE_ONLY_TABLES:
                continue
            for _, column, kind, notnull, _, pk in db.execute(f"PRAGMA table_info({table})"):
                nullable = not (notnull or pk)  # a primary key is never null
                out[(table, str(column))] = (_TYPES[str(kind).upper()], nullable)
        return out
    finally:
        db.close()


def _postgres_schema(url: str) -> dict[tuple[str, str], tuple[str, bool]]:
    PostgresDatabase(url).close()
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable "
            "FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        ).fetchall()
    return {
        (str(table), str(column)): (str(kind), nullable == "YES")
        for table, column, kind, nullable in rows
        if table not in _POSTGRES_ONLY_TABLES and (table, column) not in _POSTGRES_ONLY_COLUMNS
    }


def test_both_backends_have_the_same_tables_and_columns(tmp_path: Path, fresh_postgres_url: str) -> None:
    sqlite_schema = _sqlite_schema(tmp_path / "schema.db")
    postgres_schema = _postgres_schema(fresh_postgres_url)
    assert sorted(set(sqlite_schema) - set(postgres_schema)) == []
    assert sorted(set(postgres_schema) - set(sqlite_schema)) == []
    differ = {
        k: (sqlite_schema[k], postgres_schema[k])
        for k in sqlite_schema
        if sqlite_schema[k] != postgres_schema[k]
    }
    assert differ == {}


def test_both_backends_number_the_same_steps() -> None:
    assert [m.version for m in pg_migrations.MIGRATIONS] == [m.version for m in sqlite_migrations.MIGRATIONS]
    assert pg_migrations.LATEST_VERSION == sqlite_migrations.LATEST_VERSION


def test_postgres_steps_are_recorded_and_a_second_open_changes_nothing(fresh_postgres_url: str) -> None:
    with psycopg.connect(fresh_postgres_url, autocommit=True) as connection:
        assert pg_migrations.migrate(connection, target=5) == 5
        assert pg_migrations.schema_version(connection) == 5
        assert pg_migrations.migrate(connection) == pg_migrations.LATEST_VERSION
        assert pg_migrations.migrate(connection) == pg_migrations.LATEST_VERSION
        versions = [int(r[0]) for r in connection.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in pg_migrations.MIGRATIONS]


def test_a_postgres_database_newer_than_the_code_is_refused(fresh_postgres_url: str) -> None:
    PostgresDatabase(fresh_postgres_url).close()
    with psycopg.connect(fresh_postgres_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO schema_migrations (version, description) VALUES (%s, 'from the future')",
            (pg_migrations.LATEST_VERSION + 1,),
        )
    with pytest.raises(DeconflictError, match="newer than this deconflict"):
        PostgresDatabase(fresh_postgres_url)


def test_nodes_opening_a_new_postgres_database_at_once_do_not_fail(fresh_postgres_url: str) -> None:
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            PostgresDatabase(fresh_postgres_url, max_size=1).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with psycopg.connect(fresh_postgres_url) as connection:
        rows = connection.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [int(v) for (v,) in rows] == [m.version for m in pg_migrations.MIGRATIONS]
