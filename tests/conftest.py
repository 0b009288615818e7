"""Hypothesis profiles, and the cluster's servers as session fixtures.

Hypothesis: random exploration by default, the same examples every run in CI.
``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci``: a CI verdict then depends on the commit
alone, not on which examples a run happened to draw. Run ``make test`` locally
(the ``default`` profile) to keep exploring new examples.

``postgres`` and ``nats`` (tests/cluster/servers.py) start only when a test asks for
them, so a run without such tests starts no server.

The store contract suite: a test that takes ``storage_backend`` runs once on a new
SQLite file and once on a PostgreSQL database emptied for it (one database per run is
migrated once, and each test starts by truncating its tables: much faster than
creating a database per test). ``fresh_postgres_url`` gives a new, empty database (no
schema) for the tests of migrations.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings

from tests.cluster.servers import (
    NatsCluster,
    PostgresServer,
    ServerUnavailable,
    nats_cluster,
    postgres_server,
    unavailable,
)
from tests.storage.backends import Backend, PostgresBackend, SQLiteBackend, empty_postgres

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 server with PostGIS for the whole run, started by the first test that asks.

    Skipped when PostgreSQL or PostGIS is not installed, unless ``DECONFLICT_REQUIRE_POSTGRES``
    is set (``.ci/run`` sets it).
    """
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        unavailable(str(exc), "DECONFLICT_REQUIRE_POSTGRES")


@pytest.fixture(scope="session")
def nats() -> Iterator[NatsCluster]:
    """One 3-node NATS JetStream cluster for the whole run, started by the first test that asks.

    A test that kills a node restarts it before it ends. Skipped when nats-server is not
    installed, unless ``DECONFLICT_REQUIRE_NATS`` is set (``.ci/run`` sets it).
    """
    try:
        with nats_cluster() as cluster:
            yield cluster
    except ServerUnavailable as exc:
        unavailable(str(exc), "DECONFLICT_REQUIRE_NATS")


# --- the store contract suite's backends -------------------------------------------------

_names = itertools.count()


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


@pytest.fixture(params=["sqlite", "postgres"])
def storage_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh database of each backend: a new SQLite file, or the emptied PostgreSQL database."""
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path / "deconflict.db", tmp_path)
        return
    url: str = request.getfixturevalue("contract_postgres_url")
    empty_postgres(url)
    yield PostgresBackend(url, tmp_path)
