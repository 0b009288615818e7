"""Storage backends implementing the domain's :class:`~deconflict.channel.stores.Storage` bundle.

:func:`open_storage` is the one entry point: every store the service needs,
over one database, closed together.
"""

from __future__ import annotations

from pathlib import Path

from deconflict.config import Settings
from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.conflict_states import SQLiteConflictStates
from deconflict.storage.sqlite.incidents import SQLiteIncidentStore
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.storage.sqlite.parties import SQLitePartyStore
from deconflict.storage.sqlite.storage import SQLiteStorage

__all__ = [
    "SQLiteAuditLog",
    "SQLiteConflictStates",
    "SQLiteDisclosureLedger",
    "SQLiteIncidentStore",
    "SQLiteMessageStore",
    "SQLitePartyStore",
    "SQLiteStorage",
    "SQLiteStore",
    "open_storage",
]


def open_storage(settings: Settings | Path | str) -> SQLiteStorage:
    """The storage the settings choose: every store over one database (embedded SQLite at ``db_path``).

    Given a path instead of settings, the file at that path with the default
    altitude margins. Close it once (or use it as a context manager); a
    change and its audit entry commit together.

    Examples
    --------
    >>> with open_storage(":memory:") as storage:
    ...     storage.operations.count_volumes(), storage.parties.list_parties()
    (0, [])
    """
    if isinstance(settings, Settings):
        return SQLiteStorage.open(settings.db_path, settings.altitude_margins())
    return SQLiteStorage.open(settings)
