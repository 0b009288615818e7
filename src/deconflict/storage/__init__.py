"""Storage backends implementing the domain's ``Store`` protocol."""

from __future__ import annotations

from deconflict.config import Settings
from deconflict.storage.sqlite.store import SQLiteStore
from deconflict.strategic.store import Store

__all__ = ["SQLiteStore", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store the settings choose (embedded SQLite at ``settings.db_path``)."""
    return SQLiteStore(settings.db_path, settings.altitude_margins())
