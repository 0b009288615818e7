"""Every store over one PostgreSQL database: the :class:`~deconflict.channel.stores.Storage` bundle.

One :class:`~deconflict.storage.postgres.database.Database` (one connection
pool) serves all the stores, so a caller can make several stores' writes one
transaction (the audit log's ``transaction_with``): a change and its audit
entry commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row

from deconflict.storage.bundle import StorageBundle, opening
from deconflict.storage.postgres.audit import PostgresAuditLog
from deconflict.storage.postgres.blind import PostgresBlindRelayStore
from deconflict.storage.postgres.cluster import PostgresCoordination
from deconflict.storage.postgres.conflict_states import PostgresConflictStates
from deconflict.storage.postgres.database import Database
from deconflict.storage.postgres.events import PostgresEventOutbox
from deconflict.storage.postgres.incidents import PostgresIncidentStore
from deconflict.storage.postgres.ledger import PostgresDisclosureLedger
from deconflict.storage.postgres.messages import PostgresMessageStore
from deconflict.storage.postgres.migrations import LATEST_VERSION, schema_version
from deconflict.storage.postgres.operations import PostgresStore
from deconflict.storage.postgres.parties import PostgresPartyStore
from deconflict.storage.postgres.zones import PostgresZoneStore
from deconflict.units import AltitudeMargins

__all__ = ["PostgresStorage", "readiness_problem"]

_READY_TIMEOUT_S = 2


def readiness_problem(url: str, where: str) -> str | None:
    """Why the database at ``url`` cannot serve now, or ``None`` when it can.

    A new connection (not a pooled one, which may have outlived the server)
    runs a query and reads the schema version, which must be
    :data:`~deconflict.storage.postgres.migrations.LATEST_VERSION`.
    """
    try:
        with psycopg.connect(
            url, connect_timeout=_READY_TIMEOUT_S, autocommit=True, row_factory=tuple_row
        ) as connection:
            connection.execute(f"SET statement_timeout = {_READY_TIMEOUT_S * 1000}")
            version = schema_version(connection)
    except psycopg.Error as exc:
        return f"database {where}: does not answer ({str(exc).strip() or type(exc).__name__})"
    if version != LATEST_VERSION:
        return (
            f"database {where}: schema version {version}, this deconflict needs {LATEST_VERSION} "
            "(restart to migrate, or upgrade deconflict)"
        )
    return None


@dataclass(frozen=True, eq=False)
class PostgresStorage(StorageBundle):
    """The stores of one PostgreSQL database, opened together on one pool and closed together.

    Build it with :meth:`open` (or ``deconflict.storage.open_storage``).
    """

    database: Database
    operations: PostgresStore
    parties: PostgresPartyStore
    messages: PostgresMessageStore
    audit: PostgresAuditLog
    conflict_states: PostgresConflictStates
    incidents: PostgresIncidentStore
    ledger: PostgresDisclosureLedger
    zones: PostgresZoneStore
    outbox: PostgresEventOutbox
    blind: PostgresBlindRelayStore

    @classmethod
    def open(
        cls,
        url: str,
        margins: AltitudeMargins = AltitudeMargins(),
        *,
        key_path: Path,
        max_connections: int = 8,
        timeout_s: float = 5.0,
    ) -> PostgresStorage:
        """Connect to (migrating if needed) the database at ``url``.

        Parameters
        ----------
        url
            A libpq URL, ``postgresql://user@host:port/database``.
        margins
            Altitude-reference margins the operations' index is built with.
        key_path
            The server's private audit key file (created on the first append).
        max_connections
            The most connections the pool opens.
        timeout_s
            How long a caller waits for a connection before
            :class:`~deconflict.errors.StorageUnavailableError` (and a new connection for the server).
        """
        database = Database(url, max_size=max_connections, timeout_s=timeout_s)
        with opening(database) as store:
            storage = cls(
                database,
                store(partial(PostgresStore, margins=margins)),
                store(PostgresPartyStore),
                store(PostgresMessageStore),
                store(partial(PostgresAuditLog, key_path=key_path)),
                store(PostgresConflictStates),
                store(PostgresIncidentStore),
                store(PostgresDisclosureLedger),
                store(PostgresZoneStore),
                store(PostgresEventOutbox),
                store(PostgresBlindRelayStore),
            )
        return storage

    @property
    def path(self) -> str:
        """The database, as a URL without its password."""
        return self.database.where

    def coordination(self, node: str) -> PostgresCoordination:
        """The cluster's shared state here (leases, limits, posted tracks), as ``node`` sees it."""
        return PostgresCoordination(self.database, node)

    def readiness_problem(self) -> str | None:
        """Why the database cannot serve now (a new connection cannot query it, or its schema is not
        the latest), or ``None`` when it can."""
        return readiness_problem(self.database.url, self.database.where)
