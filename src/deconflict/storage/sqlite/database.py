"""One SQLite file opened once: the connection, its lock and its transactions, shared by stores.

Stores given the same :class:`Database` run on one connection under one
(reentrant) lock, so a caller can make several stores' writes one transaction
with :meth:`Database.transaction`: the message store's change and the audit
entry recording it commit together or not at all. Transactions nest: an inner
one (a store's own block run inside a caller's) becomes a savepoint of the
outer one. Under concurrent writers, transactions share commits (group commit,
see :mod:`deconflict.storage.group_commit`): one ``fsync`` for many, each
writer still told only once its changes are durable.

:class:`~deconflict.storage.sqlite.storage.SQLiteStorage` opens one
:class:`Database` and gives it to every store (``deconflict.storage.open_storage``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from deconflict.storage.group_commit import GroupCommit
from deconflict.storage.sqlite.connection import WalCheckpointer, connect, connect_reader
from deconflict.storage.sqlite.migrations import migrate

__all__ = ["Database", "DatabaseStore", "GroupCommitError"]


class GroupCommitError(sqlite3.OperationalError):
    """The commit of a group failed: none of its changes were stored."""


class Database:
    """A connection to one SQLite file (migrated on open), its lock and nestable transactions.

    Parameters
    ----------
    path
        Database file (created if missing), or ``":memory:"``.
    group_max_s
        How long at most a group commit stays open for more writers to join.
    checkpoint_interval_s
        How often a background connection checkpoints the WAL
        (:class:`~deconflict.storage.sqlite.connection.WalCheckpointer`); ``None``
        (and ``":memory:"``) leaves it to SQLite's automatic checkpoint inside commits.

    Notes
    -----
    Every use of :attr:`connection` must hold :attr:`lock`; statements run
    outside :meth:`transaction` commit one by one (autocommit). ``close`` is
    reference-counted: each :meth:`acquire` needs one more ``close``.

    Group commit (:mod:`deconflict.storage.group_commit`): a transaction from
    a thread that finds others queued for the lock is not committed at once;
    it leaves its changes in a group transaction that the next holder joins
    (the writer that began the group runs in it directly, each joining writer
    in a savepoint of its own, released), and the holder that finds nobody queued (or
    the group older than ``group_max_s``) commits the group: one ``COMMIT``,
    one ``fsync``, for all of them. Every thread that held the lock while a
    group was open (writers, and readers, which may have read its changes)
    waits until that group is committed before it goes on, and fails with
    :class:`GroupCommitError` if the commit fails; so nothing anyone was told
    is stored can be lost. A lone writer commits at once, as without groups.
    """

    def __init__(
        self, path: Path | str, group_max_s: float = 0.005, checkpoint_interval_s: float | None = None
    ) -> None:
        self.path = str(path)
        self.connection: sqlite3.Connection = connect(self.path)
        self._groups = GroupCommit(_SQLiteStatements(self), group_max_s)
        self.lock = self._groups.lock
        self._depth = 0
        self._users = 1
        self._checkpointer: WalCheckpointer | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        try:
            with self.lock:
                migrate(self.connection, self.path)
                if checkpoint_interval_s is not None and self.path != ":memory:":
                    self._checkpointer = WalCheckpointer(self.path, checkpoint_interval_s)
                    self._checkpointer.start(self.connection)
        except BaseException:
            self.connection.close()
            raise

    def acquire(self) -> Database:
        """One more user of this database (each calls :meth:`close` once)."""
        with self.lock:
            self._users += 1
        return self

    def close(self) -> None:
        """Release one user; the connection closes when the last one leaves."""
        with self.lock:
            self._users -= 1
            if self._users == 0:
                if self._checkpointer is not None:
                    self._checkpointer.stop()
                self._groups.commit()
                self.connection.close()
                with self._reader_lock:
                    if self._reader is not None:
                        self._reader.close()
                        self._reader = None

    @contextmanager
    def committed(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads of what is committed, which never wait behind a write transaction.

        A second connection of its own (opened at first use, read-only, under
        its own lock): in WAL mode it sees the last commit, whatever this
        database's connection, or another process, is writing meanwhile. So a
        request's token lookup does not queue behind a detection cycle's
        transaction, and a party revoked or a token rotated (here or by another
        process) is seen at the next read. Read every row (``fetchall``): a
        statement left unfinished would keep its snapshot. ``":memory:"`` has
        no second connection: the reads take the database's lock and connection.
        """
        if self.path == ":memory:":
            with self.lock:
                yield self.connection
            return
        with self._reader_lock:
            if self._reader is None:
                self._reader = connect_reader(self.path)
            yield self._reader

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread (holding the lock) is inside :meth:`transaction`."""
        return self._depth > 0

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the calling thread's open transaction is committed (at once outside one).

        It is dropped if what was done before it is rolled back (its savepoint, or a failed commit).
        """
        with self.lock:
            self._groups.after_commit(callback)

    def awaits_commit(self, callback: Callable[[], None]) -> bool:
        """Whether ``callback`` (given to :meth:`after_commit`) still waits for a commit.

        ``False`` once it ran, or once what was done before it was rolled back.
        """
        with self.lock:
            return self._groups.awaits_commit(callback)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, or a savepoint inside an open one.

        The outermost block of a thread joins the open group transaction as a
        savepoint, or begins one (``BEGIN IMMEDIATE``) and runs in it without a
        savepoint: a savepoint open over a block makes SQLite copy each page of
        the file that the block changes to its statement journal (a temporary
        file once past 64 KiB), a cost a filing paid for every page it wrote. Its changes are durable once the
        lock is released (see the class notes). A block that raises undoes its
        own changes alone: it rolls back to its savepoint, or rolls back the
        group it began (which holds nobody else's changes).
        """
        with self.lock:
            db = self.connection
            depth = self._depth
            first = depth == 0 and not self._groups.is_open
            if depth == 0:
                self._groups.join()
            if not first:
                db.execute(f"SAVEPOINT nested_{depth}")
            self._depth = depth + 1
            pending = self._groups.callbacks
            try:
                yield db
            except BaseException:
                self._depth = depth
                if first:
                    self._groups.abandon()
                else:
                    self._groups.drop_callbacks(pending)
                    db.execute(f"ROLLBACK TO nested_{depth}")
                    db.execute(f"RELEASE nested_{depth}")
                raise
            self._depth = depth
            if not first:
                db.execute(f"RELEASE nested_{depth}")


class _SQLiteStatements:
    """How a :class:`Database` begins, commits and rolls back a group (``BEGIN IMMEDIATE``)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def begin(self) -> None:
        self._database.connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._database.connection.execute("COMMIT")  # looked up now: tests swap it for one whose COMMIT fails

    def rollback(self) -> None:
        if self._database.connection.in_transaction:
            self._database.connection.execute("ROLLBACK")

    def failure(self, error: BaseException) -> Exception:
        return GroupCommitError(f"{self._database.path}: commit failed, nothing of it was stored: {error}")


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
