"""Storage backends implementing the domain's :class:`~deconflict.channel.stores.Storage` bundle.

:func:`open_storage` is the one entry point: every store the service needs,
over one database (embedded SQLite by default, PostgreSQL with PostGIS for a
``postgresql://`` URL), closed together.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deconflict.channel.stores import Storage
from deconflict.config import Settings, is_database_url
from deconflict.errors import InputError, Problem
from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.conflict_states import SQLiteConflictStates
from deconflict.storage.sqlite.incidents import SQLiteIncidentStore
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.storage.sqlite.parties import SQLitePartyStore
from deconflict.storage.sqlite.storage import SQLiteStorage
from deconflict.units import AltitudeMargins

if TYPE_CHECKING:
    from deconflict.storage.postgres.storage import PostgresStorage

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


def open_storage(settings: Settings | Path | str, *, audit_key_path: Path | None = None) -> Storage:
    """The storage the settings choose: every store over one database.

    Embedded SQLite at ``db_path``, or PostgreSQL at ``db_url`` when it is set
    (its audit key at ``audit_key_path``). Given a path instead of settings, the
    file at that path with the default altitude margins; given a
    ``postgresql://`` URL, that database (``audit_key_path`` is then needed).
    Close it once (or use it as a context manager); a change and its audit
    entry commit together.

    Raises
    ------
    InputError
        A PostgreSQL database without an audit key file.

    Examples
    --------
    >>> with open_storage(":memory:") as storage:
    ...     storage.operations.count_volumes(), storage.parties.list_parties()
    (0, [])
    """
    if isinstance(settings, Settings):
        if settings.db_url is not None:
            return _open_postgres(
                settings.db_url.get_secret_value(),
                settings.altitude_margins(),
                settings.audit_key_path,
                settings.db_pool_size,
                settings.db_pool_timeout_s,
            )
        return SQLiteStorage.open(settings.db_path, settings.altitude_margins())
    if is_database_url(str(settings)):
        return _open_postgres(str(settings), AltitudeMargins(), audit_key_path)
    return SQLiteStorage.open(settings)


def _open_postgres(
    url: str,
    margins: AltitudeMargins,
    key_path: Path | None,
    pool_size: int = 8,
    pool_timeout_s: float = 5.0,
) -> PostgresStorage:
    from deconflict.storage.postgres.storage import PostgresStorage

    if key_path is None:
        raise InputError(
            [
                Problem(
                    "settings",
                    "a PostgreSQL database needs the server's audit key file: set "
                    "DECONFLICT_AUDIT_KEY_PATH (every node of a cluster uses a copy of the same key)",
                    None,
                    "audit_key_path",
                )
            ]
        )
    return PostgresStorage.open(
        url, margins, key_path=key_path.resolve(), max_connections=pool_size, timeout_s=pool_timeout_s
    )
