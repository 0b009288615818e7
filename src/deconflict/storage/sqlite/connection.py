"""Opening the database file: the one place for the pragmas and the WAL checkpointer.

Every connection the stores use comes from :func:`connect`; a server's
database (:class:`~deconflict.storage.sqlite.database.Database` opened with a
checkpoint interval) also runs a :class:`WalCheckpointer`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from deconflict.errors import DeconflictError

__all__ = ["WalCheckpointer", "connect", "connect_reader", "create_private_file"]

_AUTOCHECKPOINT_PAGES = 16384
"""The backstop under a :class:`WalCheckpointer`: at 64 MiB of WAL a commit checkpoints by itself."""


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
    2xx the server sent is never lost. A large page cache, and reads through the OS
    page cache (``mmap_size``), keep the tables warm. The connection may be used from several
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
    db.execute("PRAGMA cache_size = -262144")
    # Reads through the OS page cache: a new connection is warm at once.
    db.execute("PRAGMA mmap_size = 17179869184")
    return db


def connect_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection to an existing database file (WAL): its reads never wait for a writer.

    In WAL mode a reader sees the last committed state and neither blocks nor is
    blocked by the transaction a writer holds open. ``query_only`` makes any
    write through it an error.
    """
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA query_only = ON")
    db.execute("PRAGMA mmap_size = 17179869184")
    return db


class WalCheckpointer:
    """Copies the WAL into the database from its own connection, every ``interval_s``.

    A PASSIVE checkpoint never blocks writers; it only takes work (and the
    fsync of the database file) off the commits that would otherwise trigger
    it. SQLite's automatic checkpoint stays on, at a larger size, as a backstop:
    :meth:`start` sets it on the connection the commits run on.
    """

    def __init__(self, path: str, interval_s: float) -> None:
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deconflict-wal-checkpoint", daemon=True)

    def start(self, db: sqlite3.Connection) -> None:
        """Raise ``db``'s automatic checkpoint to the backstop size and start checkpointing."""
        db.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, timeout=1.0)
        try:
            while not self._stop.wait(self._interval_s):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    continue  # busy or gone: the next round, or the backstop, does it
        finally:
            db.close()

    def stop(self) -> None:
        """Stop checkpointing (idempotent); waits for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10.0)
