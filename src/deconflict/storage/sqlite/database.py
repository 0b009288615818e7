"""One SQLite file opened once: the connection, its lock and its transactions, shared by stores.

Stores given the same :class:`Database` run on one connection under one
(reentrant) lock, so a caller can make several stores' writes one transaction
with :meth:`Database.transaction`: the message store's change and the audit
entry recording it commit together or not at all. Transactions nest: an inner
one (a store's own ``BEGIN IMMEDIATE`` block run inside a caller's) becomes a
savepoint of the outer one.

:func:`shared_database` hands out one refcounted :class:`Database` per file,
so the stores a server opens separately (``deconflict.storage.open_*``) still
share it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from deconflict.storage.sqlite.connection import connect
from deconflict.storage.sqlite.migrations import migrate

__all__ = ["Database", "DatabaseStore", "shared_database"]


class Database:
    """A connection to one SQLite file (migrated on open), its lock and nestable transactions.

    Parameters
    ----------
    path
        Database file (created if missing), or ``":memory:"``.

    Notes
    -----
    Every use of :attr:`connection` must hold :attr:`lock`; statements run
    outside :meth:`transaction` commit one by one (autocommit). ``close`` is
    reference-counted: each :meth:`acquire` needs one more ``close``.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.connection: sqlite3.Connection = connect(self.path)
        self.lock = threading.RLock()
        self._depth = 0
        self._users = 1
        with self.lock:
            migrate(self.connection, self.path)

    def acquire(self) -> Database:
        """One more user of this database (each calls :meth:`close` once)."""
        with self.lock:
            self._users += 1
        return self

    def close(self) -> None:
        """Release one user; the connection closes when the last one leaves."""
        # Lock order everywhere: the registry's, then the database's.
        with _REGISTRY_LOCK, self.lock:
            self._users -= 1
            if self._users == 0:
                if _REGISTRY.get(self.path) is self:
                    del _REGISTRY[self.path]
                self.connection.close()

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread (holding the lock) is inside :meth:`transaction`."""
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), or a savepoint inside an open one.

        Commits when the block ends, rolls back (to the savepoint) when it raises.
        """
        with self.lock:
            db = self.connection
            depth = self._depth
            db.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT nested_{depth}")
            self._depth = depth + 1
            try:
                yield db
            except BaseException:
                self._depth = depth
                if depth == 0:
                    db.execute("ROLLBACK")
                else:
                    db.execute(f"ROLLBACK TO nested_{depth}")
                    db.execute(f"RELEASE nested_{depth}")
                raise
            self._depth = depth
            db.execute("COMMIT" if depth == 0 else f"RELEASE nested_{depth}")


_REGISTRY: dict[str, Database] = {}
_REGISTRY_LOCK = threading.Lock()


def shared_database(path: Path | str) -> Database:
    """The open :class:`Database` of a file, shared by its callers (``":memory:"`` is never shared).

    Each caller calls :meth:`Database.close` once when done.
    """
    text = str(path)
    if text == ":memory:":
        return Database(text)
    key = str(Path(text).resolve())
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(key)
        if found is not None:
            return found.acquire()
        database = Database(key)
        _REGISTRY[key] = database
        return database


class DatabaseStore:
    """Base of the SQLite stores: opens a :class:`Database` for a path, or shares one given.

    Stores on one shared Database write on one connection under one lock, so
    a caller can put several stores' writes in one :meth:`Database.transaction`.
    """

    def __init__(self, path: Path | str | Database) -> None:
        self.database = path.acquire() if isinstance(path, Database) else Database(path)
        self.path = self.database.path
        self._db = self.database.connection
        self._lock = self.database.lock

    def close(self) -> None:
        """Release the database (the connection closes with its last user)."""
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
