"""One PostgreSQL database opened once: a connection pool and nestable transactions, shared by stores.

Stores given the same :class:`Database` take their connections from one
:class:`psycopg_pool.ConnectionPool`. A thread inside :meth:`Database.transaction`
keeps its connection until the outermost block ends, and every store it calls
meanwhile (reads included) runs on that connection: a change and the audit
entry recording it commit together or not at all, and an inner block is a
savepoint of the outer one.

Writers are serialised, as SQLite's ``BEGIN IMMEDIATE`` serialises them: each
outermost transaction first takes one transaction-scoped advisory lock, so what
it reads (an operation's version, the audit chain's head, the candidates of a
filing) cannot change under it before it commits, whichever process or node
runs it. Statements outside a transaction run in autocommit, one by one.

A database that cannot be reached fails fast and recovers by itself: a caller
waits at most ``timeout_s`` for a connection, then gets
:class:`~deconflict.errors.StorageUnavailableError` (so does any statement or
commit whose connection fails: the API answers 503 with ``Retry-After``). Each
connection is checked as it leaves the pool, so one that outlived a server
restart is dropped, not used; a reconnection attempt gives up after
``timeout_s`` too, and the next caller starts a new one, so the pool is back
within seconds of the server (psycopg's default keeps backing off for minutes).

:class:`~deconflict.storage.postgres.storage.PostgresStorage` opens one
:class:`Database` and gives it to every store (``deconflict.storage.open_storage``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from deconflict.errors import DeconflictError, StorageUnavailableError
from deconflict.storage.postgres.migrations import migrate

__all__ = ["WRITER_LOCK", "Connection", "Database", "DatabaseStore", "display_url"]

WRITER_LOCK = 0x6465_636F_6E66_6C74  # "deconflt"
"""The advisory lock every write transaction takes first (transaction-scoped)."""

Connection = psycopg.Connection[dict[str, Any]]
"""A pooled connection: autocommit, rows as dictionaries by column name."""


def display_url(url: str) -> str:
    """``url`` without its password, for messages and logs.

    >>> display_url("postgresql://app:secret@db.example:5432/channel")
    'postgresql://app@db.example:5432/channel'
    """
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql database"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class _Local(threading.local):
    connection: Connection | None = None
    after_commit: list[Callable[[], None]]

    def __init__(self) -> None:
        self.after_commit = []


class Database:
    """A pool of connections to one PostgreSQL database (migrated on open) and nestable transactions.

    Parameters
    ----------
    url
        A libpq URL, ``postgresql://user@host:port/database``.
    min_size, max_size
        The pool's bounds (connections kept open, connections at most).
    timeout_s
        How long a caller waits for a pooled connection (then
        :class:`~deconflict.errors.StorageUnavailableError`), a new connection for the
        server, and a failed reconnection before it starts again.

    Notes
    -----
    ``close`` is reference-counted: each :meth:`acquire` needs one more ``close``.
    """

    def __init__(self, url: str, min_size: int = 1, max_size: int = 8, timeout_s: float = 5.0) -> None:
        self.url = url
        self.where = display_url(url)
        self._local = _Local()
        self._commit_order = threading.Lock()
        self._users = 1
        self._users_lock = threading.Lock()
        self.retry_after_s = max(1, math.ceil(timeout_s))
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout_s,
            reconnect_timeout=timeout_s,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": self.retry_after_s},
            open=False,
            name="deconflict",
        )
        try:
            self.pool.open(wait=True, timeout=timeout_s)
        except PoolTimeout as exc:
            self.pool.close()
            raise DeconflictError(f"{self.where}: cannot connect within {timeout_s:g} s") from exc
        try:
            with self.pool.connection() as connection:
                migrate(connection, self.where)
        except BaseException:
            self.pool.close()
            raise

    def acquire(self) -> Database:
        """One more user of this database (each calls :meth:`close` once)."""
        with self._users_lock:
            self._users += 1
        return self

    def close(self) -> None:
        """Release one user; the pool closes when the last one leaves."""
        with self._users_lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self.pool.close()

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread is inside :meth:`transaction`."""
        return self._local.connection is not None

    @contextmanager
    def available(self) -> Iterator[None]:
        """Raise :class:`~deconflict.errors.StorageUnavailableError` for a database that fails inside.

        A connection that cannot be had in time, or one that fails (the server
        down or restarting, the connection cut, a statement cancelled): psycopg's
        ``OperationalError``.
        """
        try:
            yield
        except PoolTimeout as exc:
            raise StorageUnavailableError(
                f"database {self.where}: unavailable (no connection within {self.pool.timeout:g} s); "
                f"try again in {self.retry_after_s} s",
                self.retry_after_s,
            ) from exc
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
            raise StorageUnavailableError(
                f"database {self.where}: unavailable ({reason}); try again in {self.retry_after_s} s",
                self.retry_after_s,
            ) from exc

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """The calling thread's transaction connection inside :meth:`transaction`, else a pooled one.

        Raises
        ------
        StorageUnavailableError
            The database cannot be reached (see :meth:`available`).
        """
        current = self._local.connection
        if current is not None:
            with self.available():
                yield current
            return
        with self.available(), self.pool.connection() as connection:
            yield connection

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the calling thread's open transaction commits (at once outside one).

        It is dropped if what was done before it is rolled back. The callbacks of this
        process's transactions run in the order the transactions committed (the next
        writer waits for them, so they must be quick and never open a transaction).
        """
        if self._local.connection is None:
            callback()
        else:
            self._local.after_commit.append(callback)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction holding the writer lock, or a savepoint inside the thread's open one.

        Commits when the outermost block ends without error; rolls back (to the
        savepoint, for an inner block) when it raises.

        Raises
        ------
        StorageUnavailableError
            The database cannot be reached (see :meth:`available`): nothing was
            committed, unless the connection broke during the commit itself.
        """
        local = self._local
        current = local.connection
        if current is not None:
            pending = len(local.after_commit)
            try:
                with self.available(), current.transaction():
                    yield current
            except BaseException:
                del local.after_commit[pending:]
                raise
            return
        callbacks: list[Callable[[], None]] = []
        ordered = False
        try:
            with self.available(), self.pool.connection() as connection:
                local.connection = connection
                local.after_commit = []
                try:
                    with connection.transaction():
                        connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
                        # Held from the writer lock until this commit's callbacks have run: this
                        # node's commits call them back in the order they committed.
                        self._commit_order.acquire()
                        ordered = True
                        yield connection
                    callbacks = local.after_commit
                finally:
                    local.connection = None
                    local.after_commit = []
            for callback in callbacks:
                callback()
        finally:
            if ordered:
                self._commit_order.release()


class DatabaseStore:
    """Base of the PostgreSQL stores: opens a :class:`Database` for a URL, or shares one given."""

    def __init__(self, url: str | Database) -> None:
        self.database = url.acquire() if isinstance(url, Database) else Database(url)
        self.where = self.database.where

    def close(self) -> None:
        """Release the database (the pool closes with its last user)."""
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
