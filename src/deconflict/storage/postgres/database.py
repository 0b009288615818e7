"""One PostgreSQL database opened once: a connection pool and nestable transactions, shared by stores.

Stores given the same :class:`Database` take their connections from one
:class:`psycopg_pool.ConnectionPool`. A thread inside :meth:`Database.transaction`
keeps its connection until the outermost block ends, and every store it calls
meanwhile (reads included) runs on that connection: a change and the audit
entry recording it commit together or not at all, and an inner block is a
savepoint of the outer one.

Writers are serialised, as SQLite's ``BEGIN IMMEDIATE`` serialises them: each
transaction first takes one transaction-scoped advisory lock
(:data:`WRITER_LOCK`), so what it reads (an operation's version, the audit
chain's head, the candidates of a filing) cannot change under it before it
commits, whichever process or node runs it. Statements outside a transaction
run in autocommit, one by one.

Concurrent writers of one process share transactions and their commits (group
commit, :mod:`deconflict.storage.group_commit`, as on SQLite): a node-local
lock stands in front of the outermost write transactions; the first writer of
a group takes a pooled connection, begins, and takes the advisory lock once;
each writer who joins it runs its block in a savepoint on that connection (a
block that raises rolls back its own changes alone); a writer that ends
while others are queued for the node-local lock leaves its changes to the
next, and the last (or the one finding the group older than ``group_max_s``)
commits them all with one ``COMMIT``, one flush of the WAL, which is what
bounds the cluster's durable writes (they go one group at a time). Nobody
returns before the commit that holds its changes: a failed commit gives every
writer of the group :class:`~deconflict.errors.StorageUnavailableError`.

A database that cannot be reached fails fast and recovers by itself: a caller
waits at most ``timeout_s`` for a connection, then gets
:class:`~deconflict.errors.StorageUnavailableError` (so does any statement or
commit whose connection fails: the API answers 503 with ``Retry-After``). Each
connection idle for more than half a second is checked as it leaves the pool,
so one that outlived a server restart is dropped, not used (one back from use
within that half second is not: a busy node saves a round trip per checkout);
a reconnection attempt gives up after ``timeout_s`` too, and the next caller
starts a new one, so the pool is back within seconds of the server (psycopg's
default keeps backing off for minutes).

:class:`~deconflict.storage.postgres.storage.PostgresStorage` opens one
:class:`Database` and gives it to every store (``deconflict.storage.open_storage``).
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from deconflict.errors import DeconflictError, StorageUnavailableError
from deconflict.storage.group_commit import GroupCommit
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


RECENTLY_USED_S = 0.5
"""A pooled connection given back less than this ago leaves the pool unchecked (see :class:`_Pool`)."""


class _Pool(ConnectionPool[Connection]):
    """A pool that checks a connection as it leaves only if it has been idle for :data:`RECENTLY_USED_S`.

    The check is a round trip to the server, and a request takes connections
    several times (its login, its rate, its reads, its transaction): on a busy
    node each is back within milliseconds, and one whose server went away
    since fails at its first statement (a 503, the connection then dropped) as
    it would have failed the check. A connection idle for longer (one that may
    have outlived a server restart) is checked, as psycopg's pool does.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._returned_s: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()
        super().__init__(*args, check=self._check_idle, **kwargs)

    def putconn(self, conn: Connection) -> None:
        self._returned_s[conn] = time.monotonic()
        super().putconn(conn)

    def _check_idle(self, conn: Connection) -> None:
        returned_s = self._returned_s.get(conn)
        if returned_s is None or time.monotonic() - returned_s >= RECENTLY_USED_S or conn.broken:
            ConnectionPool.check_connection(conn)


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
    group_max_s
        How long at most a group commit stays open for more writers of this
        process to join (counted once it holds the writer lock).

    Notes
    -----
    ``close`` is reference-counted: each :meth:`acquire` needs one more ``close``.
    :attr:`lock` is the node-local lock in front of the outermost write
    transactions (see the module notes).
    """

    def __init__(
        self,
        url: str,
        min_size: int = 1,
        max_size: int = 8,
        timeout_s: float = 5.0,
        group_max_s: float = 0.005,
    ) -> None:
        self.url = url
        self.where = display_url(url)
        self._local = _Local()
        self._statements = _PostgresStatements(self)
        self._groups = GroupCommit(self._statements, group_max_s)
        self.lock = self._groups.lock
        self._savepoints = itertools.count()
        self._users = 1
        self._users_lock = threading.Lock()
        self.retry_after_s = max(1, math.ceil(timeout_s))
        self.pool: ConnectionPool[Connection] = _Pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout_s,
            reconnect_timeout=timeout_s,
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
            try:
                with self.lock:
                    self._groups.commit()
            finally:
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
            raise self.unavailable(exc) from exc

    def unavailable(self, error: BaseException, what: str = "") -> StorageUnavailableError:
        """The :class:`~deconflict.errors.StorageUnavailableError` for ``error`` (``what`` failed)."""
        reason = str(error).strip().split("\n", 1)[0] or type(error).__name__
        return StorageUnavailableError(
            f"database {self.where}: unavailable ({what}{reason}); try again in {self.retry_after_s} s",
            self.retry_after_s,
        )

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
        process's transactions run in the order the transactions committed, by the thread
        that commits their group (the next group waits for them, so they must be quick and
        never open a transaction).
        """
        if self._local.connection is None:
            callback()
        else:
            self._groups.after_commit(callback)

    @contextmanager
    def transaction(self, savepoint: bool = True) -> Iterator[Connection]:
        """A write transaction holding the writer lock, or a savepoint inside the thread's open one.

        The outermost block of a thread joins this process's open group transaction
        (or begins one and takes the writer lock) as a savepoint, and returns once the
        group that holds its changes has committed (see the module notes). A block
        that raises rolls back to its savepoint: the others' changes are not touched.

        Inside the thread's open transaction, ``savepoint=False`` runs the block in it
        without a savepoint of its own (two round trips fewer, each holding the
        cluster's writer lock): for a block whose one change is a single statement,
        which either happens whole or leaves the transaction failed, so that the
        enclosing block, raising in turn, rolls it back. Outermost, it is ignored.

        Raises
        ------
        StorageUnavailableError
            The database cannot be reached (see :meth:`available`), or the commit of
            the group failed: nothing of it was committed, unless the connection broke
            during the ``COMMIT`` itself.
        """
        local = self._local
        current = local.connection
        if current is not None:
            pending = self._groups.callbacks
            try:
                with self.available(), current.transaction() if savepoint else nullcontext():
                    yield current
            except BaseException:
                self._groups.drop_callbacks(pending)
                raise
            return
        with self.lock:
            first = not self._groups.is_open
            with self.available():
                self._groups.join()
            connection = self._statements.connection
            assert connection is not None
            # Every round trip inside the group holds the writer lock of the whole cluster, so
            # they are counted: the first writer of a group takes no savepoint (when its block
            # raises, the transaction holds its changes alone and is rolled back whole), a
            # joining writer one, never released (COMMIT commits them all; a later writer's
            # ROLLBACK TO its own leaves them be).
            mark = None if first else sql.Identifier(f"writer_{next(self._savepoints)}")
            local.connection = connection
            pending = self._groups.callbacks
            try:
                with self.available():
                    if mark is not None:
                        connection.execute(sql.SQL("SAVEPOINT {}").format(mark))
                    yield connection
            except BaseException:
                local.connection = None
                if mark is None:
                    self._groups.abandon()
                else:
                    self._groups.drop_callbacks(pending)
                    self._roll_back_to(connection, mark)
                raise
            finally:
                local.connection = None
            if connection.broken or connection.info.transaction_status != TransactionStatus.INTRANS:
                self._groups.end_now()  # a broken connection or a failed transaction: nobody may join

    def _roll_back_to(self, connection: Connection, savepoint: sql.Identifier) -> None:
        """Undo a joining writer's changes; a group whose connection cannot is ended (it fails)."""
        try:
            connection.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(savepoint))
        except psycopg.Error:
            self._groups.end_now()


class _PostgresStatements:
    """How a :class:`Database` begins, commits and rolls back a group: a pooled connection, ``BEGIN``
    and the writer lock (one round trip); ``COMMIT`` or ``ROLLBACK``, the connection back to the pool."""

    _BEGIN = sql.SQL("BEGIN; SELECT pg_advisory_xact_lock({})").format(sql.Literal(WRITER_LOCK))

    def __init__(self, database: Database) -> None:
        self._database = database
        self.connection: Connection | None = None

    def begin(self) -> None:
        connection = self._database.pool.getconn()
        try:
            connection.execute(self._BEGIN)
        except BaseException:
            self._give_back(connection)
            raise
        self.connection = connection

    def commit(self) -> None:
        connection = self.connection
        assert connection is not None
        status = connection.info.transaction_status
        if status != TransactionStatus.INTRANS:
            # COMMIT would not fail on a transaction in error: PostgreSQL rolls it back silently.
            raise psycopg.OperationalError(f"the transaction was {status.name.lower()}")
        connection.execute("COMMIT")
        self.connection = None
        self._database.pool.putconn(connection)

    def rollback(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            self._give_back(connection)

    def failure(self, error: BaseException) -> Exception:
        return self._database.unavailable(error, "the commit of a group of writers failed: ")

    def _give_back(self, connection: Connection) -> None:
        """Return ``connection`` to the pool, its transaction rolled back (the pool drops a broken one)."""
        try:
            if connection.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                connection.execute("ROLLBACK")
        except psycopg.Error:
            pass  # broken: the pool discards it
        finally:
            self._database.pool.putconn(connection)


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
