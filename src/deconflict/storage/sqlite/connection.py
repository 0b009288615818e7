"""Opening the database file: one place for the pragmas every SQLite store relies on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["connect"]


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (explicit transactions), WAL, durable commits.

    ``synchronous = FULL`` makes every commit survive a crash of the machine, so a
    2xx the server sent is never lost. The connection may be used from several
    threads; each store serialises its own use with a lock.
    """
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    return db
