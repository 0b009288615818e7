"""PostgreSQL 15 + PostGIS 3 storage: every store in one database, bundled by :class:`PostgresStorage`."""

from deconflict.storage.postgres.audit import PostgresAuditLog
from deconflict.storage.postgres.conflict_states import PostgresConflictStates
from deconflict.storage.postgres.incidents import PostgresIncidentStore
from deconflict.storage.postgres.ledger import PostgresDisclosureLedger
from deconflict.storage.postgres.messages import PostgresMessageStore
from deconflict.storage.postgres.operations import PostgresStore
from deconflict.storage.postgres.parties import PostgresPartyStore
from deconflict.storage.postgres.storage import PostgresStorage

__all__ = [
    "PostgresAuditLog",
    "PostgresConflictStates",
    "PostgresDisclosureLedger",
    "PostgresIncidentStore",
    "PostgresMessageStore",
    "PostgresPartyStore",
    "PostgresStorage",
    "PostgresStore",
]
