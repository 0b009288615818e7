"""The store contract suite's backends: ``storage_backend`` gives each test a fresh, empty database.

A test that takes ``storage_backend`` runs once on a new SQLite file and once
on a PostgreSQL database (tests/cluster/servers.py's server) emptied for it:
one database per run is migrated once, and each test starts by truncating its
tables, much faster than creating a database per test. ``fresh_postgres_url``
gives a new, empty database (no schema) for the tests of migrations.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cluster.servers import PostgresServer
from tests.storage.backends import Backend, PostgresBackend, SQLiteBackend

_names = itertools.count()

_KEPT_TABLES = ("schema_migrations", "spatial_ref_sys")


def new_database(server: PostgresServer) -> str:
    """Create a new, empty database on ``server`` (PostGIS not yet created in it); return its URL."""
    name = f"fresh_{next(_names)}"
    with psycopg.connect(server.url("postgres"), autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture
def fresh_postgres_url(postgres: PostgresServer) -> str:
    """A new, empty PostgreSQL database (no PostGIS, no tables) for this test."""
    return new_database(postgres)


@pytest.fixture(scope="session")
def contract_postgres_url(postgres: PostgresServer) -> str:
    """The PostgreSQL database the contract suite runs on, migrated once."""
    from deconflict.storage.postgres.database import Database

    url = new_database(postgres)
    Database(url).close()
    return url


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        tables = [
            str(name)
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT (tablename = ANY(%s))",
                (list(_KEPT_TABLES),),
            )
        ]
        connection.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"  # type: ignore[arg-type]
        )


@pytest.fixture(params=["sqlite", "postgres"])
def storage_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh database of each backend: a new SQLite file, or the emptied PostgreSQL database."""
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path / "deconflict.db", tmp_path)
        return
    url: str = request.getfixturevalue("contract_postgres_url")
    _truncate(url)
    yield PostgresBackend(url, tmp_path)
