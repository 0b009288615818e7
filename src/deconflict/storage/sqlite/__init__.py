"""Embedded SQLite storage (the default): every store in one file, bundled by :class:`SQLiteStorage`."""

from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.storage.sqlite.parties import SQLitePartyStore
from deconflict.storage.sqlite.storage import SQLiteStorage

__all__ = ["SQLiteAuditLog", "SQLiteMessageStore", "SQLitePartyStore", "SQLiteStorage", "SQLiteStore"]
