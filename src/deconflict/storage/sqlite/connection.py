"""Opening the database file: one place for the pragmas every SQLite store relies on."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from deconflict.errors import DeconflictError

__all__ = ["connect", "create_private_file"]


def create_private_file(path: Path | str) -> None:
    """Create an empty file readable by its owner only (0600).

    Raises
    ------
    FileExistsError
        If anything is there already, a symbolic link included (it is never followed).
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (explicit transactions), WAL, durable commits.

    ``synchronous = FULL`` makes every commit survive a crash of the machine, so a
    2xx the server sent is never lost. The connection may be used from several
    threads; each store serialises its own use with a lock. A new file is
    created mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same
    mode): a channel's database is as private as its key.
    """
    if str(path) != ":memory:" and not os.path.lexists(path):
        try:
            create_private_file(path)
        except FileExistsError:
            pass  # created by another process meanwhile: SQLite opens it as it is
        except OSError as exc:
            raise DeconflictError(f"{path}: cannot create the database: {exc.strerror or exc}") from exc
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    return db
