"""Embedded SQLite storage (the default)."""

from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.storage.sqlite.parties import SQLitePartyStore

__all__ = ["SQLiteAuditLog", "SQLiteMessageStore", "SQLitePartyStore", "SQLiteStore"]
