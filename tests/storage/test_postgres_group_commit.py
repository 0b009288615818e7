"""Group commit on PostgreSQL (storage/postgres/database.py over storage/group_commit.py).

Writers of one process queued for the node-local lock share one transaction
(one ``txid_current()``) and its one ``COMMIT``; each returns only once that
commit is done; a block that raises loses only its own changes; a group whose
connection is cut before its commit fails every writer of it with
:class:`~deconflict.errors.StorageUnavailableError` and stores none of them;
after-commit callbacks run in commit order, and groups of two processes
("nodes", two :class:`Database` objects here) never interleave.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import psycopg
import pytest

from deconflict.channel.deadlines import Escalation
from deconflict.channel.events import Event, EventKind
from deconflict.errors import StorageUnavailableError
from deconflict.storage.postgres.database import Database
from deconflict.storage.postgres.events import PostgresEventOutbox
from tests.storage.backends import empty_postgres, queue_writers

_PARTY_SQL = "INSERT INTO parties (name, public_key_pem, token_sha256, created_s) VALUES (%s, 'pem', %s, 0.0)"


@pytest.fixture
def url(contract_postgres_url: str) -> str:
    empty_postgres(contract_postgres_url)
    return contract_postgres_url


@pytest.fixture
def database(url: str) -> Iterator[Database]:
    opened = Database(url, group_max_s=60.0)  # groups end only when nobody is queued
    yield opened
    opened.close()


def _stored(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as raw:
        return {str(name) for (name,) in raw.execute("SELECT name FROM parties")}


def _write(database: Database, name: str) -> int:
    """Store party ``name`` in a transaction of its own; its transaction id."""
    with database.transaction() as db:
        row = db.execute("SELECT txid_current() AS txid").fetchone()
        db.execute(_PARTY_SQL, (name, name))
    assert row is not None
    return int(row["txid"])


def _ids(events: list[Event]) -> list[int]:
    return [int(e.id or 0) for e in events]


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=20.0)
        assert not thread.is_alive(), "a writer never returned"


def test_queued_writers_share_one_transaction_and_each_returns_durable(database: Database, url: str) -> None:
    txids: dict[str, int] = {}
    durable_on_return: dict[str, bool] = {}

    def write(name: str) -> None:
        txids[name] = _write(database, name)
        durable_on_return[name] = name in _stored(url)  # seen by another connection: committed

    names = [f"writer-{i}" for i in range(8)]
    with database.lock:  # everyone queues behind the holder
        threads = queue_writers(database.lock, names, write)
    _join(threads)
    assert durable_on_return == dict.fromkeys(names, True)
    assert len(set(txids.values())) == 1  # eight writers, one transaction
    assert not database.in_transaction
    assert _write(database, "alone") != txids[names[0]]  # a lone writer commits at once, a new transaction
    assert "alone" in _stored(url)


def test_contending_writers_need_fewer_transactions_than_writes(url: str) -> None:
    database = Database(url)  # the default group age
    txids: list[int] = []
    try:

        def write(name: str) -> None:
            for k in range(10):
                txids.append(_write(database, f"{name}-{k}"))

        threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(12)]
        for thread in threads:
            thread.start()
        _join(threads)
    finally:
        database.close()
    assert len(_stored(url)) == len(txids) == 120
    assert len(set(txids)) < len(txids)  # some writes shared a commit


def test_a_raising_block_loses_only_its_own_changes_and_callbacks(database: Database, url: str) -> None:
    txids: dict[str, int] = {}
    raised: dict[str, BaseException] = {}
    called: list[str] = []

    def write(name: str) -> None:
        try:
            with database.transaction() as db:
                row = db.execute("SELECT txid_current() AS txid").fetchone()
                assert row is not None
                txids[name] = int(row["txid"])
                db.execute(_PARTY_SQL, (name, name))
                database.after_commit(lambda: called.append(name))
                if "refused" in name:
                    raise ValueError(f"{name} changed its mind")
        except ValueError as exc:
            raised[name] = exc

    names = ["first", "refused", "last"]
    with database.lock:
        threads = queue_writers(database.lock, names, write)
        write("refused-opener")  # the group's first writer (no savepoint of its own): rolled back whole
        assert not database.in_transaction
    _join(threads)
    assert set(raised) == {"refused", "refused-opener"}
    assert _stored(url) == {"first", "last"}
    assert len({txids[n] for n in names}) == 1  # the three queued were one group
    assert sorted(called) == ["first", "last"]
    _write(database, "after")
    assert _stored(url) == {"first", "last", "after"}


def test_a_lone_writer_whose_block_raises_stores_nothing(database: Database, url: str) -> None:
    with pytest.raises(ValueError, match="no"), database.transaction() as db:
        db.execute(_PARTY_SQL, ("blue", "blue"))
        with database.transaction() as inner:  # a store's own block: a savepoint
            inner.execute(_PARTY_SQL, ("red", "red"))
        raise ValueError("no")
    assert _stored(url) == set()
    _write(database, "green")
    assert _stored(url) == {"green"}


def test_a_group_whose_connection_is_cut_before_its_commit_fails_every_writer_and_stores_none(
    database: Database, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: Any = database._statements
    real_commit = statements.commit
    pids: set[int] = set()

    def cut_then_commit() -> None:
        pid = statements.connection.info.backend_pid
        pids.add(pid)
        with psycopg.connect(url, autocommit=True) as other:  # as a server restart would
            other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        real_commit()

    monkeypatch.setattr(statements, "commit", cut_then_commit)
    failures: dict[str, BaseException] = {}
    returned: list[str] = []

    def write(name: str) -> None:
        try:
            _write(database, name)
            returned.append(name)
        except StorageUnavailableError as exc:
            failures[name] = exc

    names = [f"writer-{i}" for i in range(4)]
    with database.lock:
        threads = queue_writers(database.lock, names, write)
    _join(threads)
    assert (returned, set(failures)) == ([], set(names))
    assert "unavailable" in str(failures[names[0]]) and failures[names[0]].retry_after_s >= 1
    assert len(pids) == 1  # one group
    assert _stored(url) == set()
    monkeypatch.setattr(statements, "commit", real_commit)
    _write(database, "after")  # the pool dropped the cut connection: the database goes on
    assert _stored(url) == {"after"}


def test_callbacks_run_in_commit_order_and_two_nodes_groups_never_interleave(url: str) -> None:
    nodes = [Database(url), Database(url)]
    outboxes = [PostgresEventOutbox(node) for node in nodes]
    delivered: list[list[int]] = [[], []]
    txid_of: dict[int, int] = {}  # event id -> the transaction that stored it
    try:

        def send(node: int, name: str) -> None:
            def then(numbered: list[Event], txid: int) -> None:
                delivered[node].extend(_ids(numbered))
                txid_of.update(dict.fromkeys(_ids(numbered), txid))

            for k in range(8):
                event = Event(EventKind.ESCALATION, "red", Escalation(k, name, "blue", "red", 0, 1.0, 2.0))
                with nodes[node].transaction() as db:
                    row = db.execute("SELECT txid_current() AS txid").fetchone()
                    assert row is not None
                    outboxes[node].record([event], partial(then, txid=int(row["txid"])))

        threads = [threading.Thread(target=send, args=(i % 2, f"w{i}")) for i in range(8)]
        for thread in threads:
            thread.start()
        _join(threads)
    finally:
        for outbox in outboxes:
            outbox.close()
        for node in nodes:
            node.close()
    assert sorted(delivered[0] + delivered[1]) == list(range(1, 65))
    assert delivered == [sorted(delivered[0]), sorted(delivered[1])]  # each node calls back in commit order
    txids = [txid_of[i] for i in range(1, 65)]
    runs = [t for k, t in enumerate(txids) if k == 0 or txids[k - 1] != t]
    assert len(runs) == len(set(runs))  # ids grow one group after another: no group's ids interleave
    assert len(runs) < len(txids)  # and groups held several writers' events


def test_a_node_writes_only_once_the_other_nodes_group_has_committed(url: str) -> None:
    first, second = Database(url), Database(url)
    inside = threading.Event()
    go_on = threading.Event()
    seen_by_second: list[set[str]] = []

    def hold_a_group_open() -> None:
        with first.transaction() as db:
            db.execute(_PARTY_SQL, ("first", "first"))
            inside.set()
            go_on.wait(timeout=10.0)

    def write_after() -> None:
        with second.transaction() as db:
            seen_by_second.append({str(r["name"]) for r in db.execute("SELECT name FROM parties")})
            db.execute(_PARTY_SQL, ("second", "second"))

    try:
        holder = threading.Thread(target=hold_a_group_open)
        holder.start()
        assert inside.wait(timeout=10.0)
        writer = threading.Thread(target=write_after)
        writer.start()
        time.sleep(0.3)
        assert seen_by_second == []  # waiting for the writer lock
        with first.connection() as db:  # a read outside a transaction is not held up by the open group
            assert [r["name"] for r in db.execute("SELECT name FROM parties")] == []
        go_on.set()
        _join([holder, writer])
    finally:
        first.close()
        second.close()
    assert seen_by_second == [{"first"}]
    assert _stored(url) == {"first", "second"}


def test_a_connection_back_from_use_leaves_the_pool_unchecked_an_idle_one_checked(url: str) -> None:
    """The pool's check costs a round trip: skipped for a connection given back within
    RECENTLY_USED_S (a dead one then fails at its first statement, a 503), done for one idle longer,
    so a connection whose server side went away while it sat in the pool is replaced, not used."""
    from deconflict.storage.postgres.database import RECENTLY_USED_S

    opened = Database(url, min_size=1, max_size=1)
    try:
        with opened.pool.connection() as db:
            pid = db.info.backend_pid
        with psycopg.connect(url, autocommit=True) as raw:
            raw.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.05)
        with pytest.raises(StorageUnavailableError), opened.connection() as db:  # unchecked
            assert db.info.backend_pid == pid
            db.execute("SELECT 1")
        with opened.pool.connection() as db:  # the dead one was dropped: a new one
            pid = db.info.backend_pid
        with psycopg.connect(url, autocommit=True) as raw:
            raw.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(RECENTLY_USED_S + 0.1)
        with opened.connection() as db:  # idle long enough: checked, replaced, and it works
            assert db.info.backend_pid != pid
            assert db.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    finally:
        opened.close()
