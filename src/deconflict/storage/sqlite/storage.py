"""Every store over one SQLite file: the :class:`~deconflict.channel.stores.Storage` bundle.

One :class:`~deconflict.storage.sqlite.database.Database` (one connection, one
lock, the WAL checkpointer) serves all the stores, so a caller can make several
stores' writes one transaction (the audit log's ``transaction_with``): a
change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from deconflict.storage.bundle import StorageBundle, opening
from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.blind import SQLiteBlindRelayStore
from deconflict.storage.sqlite.conflict_states import SQLiteConflictStates
from deconflict.storage.sqlite.database import Database
from deconflict.storage.sqlite.events import SQLiteEventOutbox
from deconflict.storage.sqlite.incidents import SQLiteIncidentStore
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.storage.sqlite.parties import SQLitePartyStore
from deconflict.storage.sqlite.readiness import readiness_problem
from deconflict.storage.sqlite.zones import SQLiteZoneStore
from deconflict.units import AltitudeMargins

__all__ = ["SQLiteStorage"]

_CHECKPOINT_INTERVAL_S = 0.5


@dataclass(frozen=True, eq=False)
class SQLiteStorage(StorageBundle):
    """The stores of one SQLite file, opened together on one connection and closed together.

    Build it with :meth:`open` (or ``deconflict.storage.open_storage``).
    """

    database: Database
    operations: SQLiteStore
    parties: SQLitePartyStore
    messages: SQLiteMessageStore
    audit: SQLiteAuditLog
    conflict_states: SQLiteConflictStates
    incidents: SQLiteIncidentStore
    ledger: SQLiteDisclosureLedger
    zones: SQLiteZoneStore
    outbox: SQLiteEventOutbox
    blind: SQLiteBlindRelayStore

    @classmethod
    def open(
        cls,
        path: Path | str,
        margins: AltitudeMargins = AltitudeMargins(),
        checkpoint_interval_s: float | None = _CHECKPOINT_INTERVAL_S,
    ) -> SQLiteStorage:
        """Open (creating and migrating if needed) the database at ``path``, or ``":memory:"``.

        Parameters
        ----------
        path
            The database file; the server's audit key is kept beside it.
        margins
            Altitude-reference margins the operations' index is built with.
        checkpoint_interval_s
            How often a background connection checkpoints the WAL; ``None``
            leaves it to SQLite's automatic checkpoint inside commits.
        """
        # Resolved once: the key file, the readiness check and error messages name the same file.
        where = str(path) if str(path) == ":memory:" else str(Path(path).resolve())
        database = Database(where, checkpoint_interval_s=checkpoint_interval_s)
        with opening(database) as store:
            storage = cls(
                database,
                store(partial(SQLiteStore, margins=margins)),
                store(SQLitePartyStore),
                store(SQLiteMessageStore),
                store(SQLiteAuditLog),
                store(SQLiteConflictStates),
                store(SQLiteIncidentStore),
                store(SQLiteDisclosureLedger),
                store(SQLiteZoneStore),
                store(SQLiteEventOutbox),
                store(SQLiteBlindRelayStore),
            )
        return storage

    @property
    def path(self) -> str:
        """The database file (``":memory:"`` for an in-memory one)."""
        return self.database.path

    def coordination(self, node: str) -> None:
        """``None``: one node serves a SQLite file (a server lock keeps others out), so it holds every
        lease and counts its limits in its own memory."""
        return None

    def readiness_problem(self) -> str | None:
        """Why the file cannot serve now (a fresh connection cannot read it, or its schema is not
        the latest), or ``None`` when it can."""
        return readiness_problem(self.database.path)
