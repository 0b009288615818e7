"""Embedded SQLite storage (the default)."""

from deconflict.storage.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
