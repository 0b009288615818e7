"""The two storage backends, seen the same way by the store contract suite (``storage_backend``).

A :class:`Backend` opens the bundle, a shared database, or one store of a kind
on its fresh database, so a store test says what it does once and runs on both.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from deconflict.storage.group_commit import GroupCommitLock
from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.blind import SQLiteBlindRelayStore
from deconflict.storage.sqlite.conflict_states import SQLiteConflictStates
from deconflict.storage.sqlite.database import Database as SQLiteDatabase
from deconflict.storage.sqlite.incidents import SQLiteIncidentStore
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.storage.sqlite.parties import SQLitePartyStore
from deconflict.storage.sqlite.zones import SQLiteZoneStore
from deconflict.units import AltitudeMargins

__all__ = ["Backend", "PostgresBackend", "SQLiteBackend", "empty_postgres", "queue_writers"]

_KEPT_TABLES = ("schema_migrations", "spatial_ref_sys", "public_id_secret")  # made with the database


def empty_postgres(url: str) -> None:
    """Empty every table of a migrated database (what migrations made once, and PostGIS's own, kept)."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        tables = [
            str(name)
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT (tablename = ANY(%s))",
                (list(_KEPT_TABLES),),
            )
        ]
        names = ", ".join(f'"{t}"' for t in tables)
        connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]
        # The outbox's one row of relay state, as its migration made it (a new epoch).
        connection.execute(
            "INSERT INTO event_relay (one, epoch, published_id, pruned_id) "
            "VALUES (1, replace(gen_random_uuid()::text, '-', ''), 0, 0)"
        )


class Backend(Protocol):
    """A fresh database of one backend and how to open its stores."""

    name: str

    def database(self) -> Any:
        """A shared database (its stores write in one transaction); close it once."""
        ...

    def store(self, kind: str, on: Any = None, **options: Any) -> Any:
        """A store of ``kind`` (``operations``, ``parties``, ``messages``, ``audit``,
        ``conflict_states``, ``incidents``, ``ledger``, ``zones``, ``blind``) on the database ``on``,
        or its own."""
        ...

    def open(self, margins: AltitudeMargins = AltitudeMargins()) -> Any:
        """The whole :class:`~deconflict.channel.stores.Storage` bundle."""
        ...

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (no parameters), read on a connection of its own."""
        ...


@dataclass(frozen=True)
class SQLiteBackend:
    """A new SQLite file in the test's folder."""

    path: Path
    folder: Path
    name: str = "sqlite"

    def database(self) -> SQLiteDatabase:
        return SQLiteDatabase(self.path)

    def store(self, kind: str, on: Any = None, **options: Any) -> Any:
        where = self.path if on is None else on
        if kind == "operations":
            options.setdefault("checkpoint_interval_s", None)
        return {
            "operations": SQLiteStore,
            "parties": SQLitePartyStore,
            "messages": SQLiteMessageStore,
            "audit": SQLiteAuditLog,
            "conflict_states": SQLiteConflictStates,
            "incidents": SQLiteIncidentStore,
            "ledger": SQLiteDisclosureLedger,
            "zones": SQLiteZoneStore,
            "blind": SQLiteBlindRelayStore,
        }[kind](where, **options)

    def open(self, margins: AltitudeMargins = AltitudeMargins()) -> Any:
        from deconflict.storage.sqlite.storage import SQLiteStorage

        return SQLiteStorage.open(self.path, margins, checkpoint_interval_s=None)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.path)
        try:
            return [tuple(row) for row in db.execute(sql)]
        finally:
            db.close()


@dataclass(frozen=True)
class PostgresBackend:
    """The contract suite's PostgreSQL database, emptied; the audit key in the test's folder."""

    url: str
    folder: Path
    name: str = "postgres"

    @property
    def key_path(self) -> Path:
        return self.folder / "audit-key.pem"

    def database(self) -> Any:
        from deconflict.storage.postgres.database import Database

        return Database(self.url)

    def store(self, kind: str, on: Any = None, **options: Any) -> Any:
        from deconflict.storage.postgres.audit import PostgresAuditLog
        from deconflict.storage.postgres.blind import PostgresBlindRelayStore
        from deconflict.storage.postgres.conflict_states import PostgresConflictStates
        from deconflict.storage.postgres.incidents import PostgresIncidentStore
        from deconflict.storage.postgres.ledger import PostgresDisclosureLedger
        from deconflict.storage.postgres.messages import PostgresMessageStore
        from deconflict.storage.postgres.operations import PostgresStore
        from deconflict.storage.postgres.parties import PostgresPartyStore
        from deconflict.storage.postgres.zones import PostgresZoneStore

        where = self.url if on is None else on
        if kind == "audit":
            options.setdefault("key_path", self.key_path)
        return {
            "operations": PostgresStore,
            "parties": PostgresPartyStore,
            "messages": PostgresMessageStore,
            "audit": PostgresAuditLog,
            "conflict_states": PostgresConflictStates,
            "incidents": PostgresIncidentStore,
            "ledger": PostgresDisclosureLedger,
            "zones": PostgresZoneStore,
            "blind": PostgresBlindRelayStore,
        }[kind](where, **options)

    def open(self, margins: AltitudeMargins = AltitudeMargins()) -> Any:
        from deconflict.storage.postgres.storage import PostgresStorage  # type: ignore[import-not-found]

        return PostgresStorage.open(self.url, margins, key_path=self.key_path)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as db:
            return [tuple(row) for row in db.execute(sql)]  # type: ignore[call-overload]


def queue_writers(
    lock: GroupCommitLock, names: list[str], work: Callable[[str], None]
) -> list[threading.Thread]:
    """Start one thread per name doing ``work(name)``; return once all are queued for the held ``lock``."""
    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10.0
    while lock._queued < len(names):  # the lock counts who waits for it
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.001)
    return threads
