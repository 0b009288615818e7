"""A real ``deconflict serve`` SIGKILLed mid-traffic and mid-request, on SQLite and PostgreSQL; a deadline.

Parties are registered with the CLI; several parties' writers (file operations,
send signed messages, acknowledge) run in threads with the Python client; the
server is killed with SIGKILL at a random moment and restarted on the same
database. Everything answered with a 2xx must be there exactly once, the
database must be intact, and ``deconflict audit verify --db`` must pass; then one
byte of an audit entry is altered in storage and the verification must fail
naming it. A filing and a message in flight when the server dies get no answer;
each is then all there or not at all, and sending it again (same operation id,
same nonce) leaves exactly one. Both run on SQLite (the file itself is altered)
and on PostgreSQL (the service process dies, PostgreSQL keeps running and rolls
back its open transactions; the entry is altered with SQL). A clock file
(``DECONFLICT_CLOCK_FILE``) moves the real server past a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest

from deconflict.channel.audit import AuditSigner
from deconflict.channel.messages import MessageContent
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.client import ChannelClient, ChannelError
from deconflict.storage.sqlite.audit import audit_key_path
from deconflict.storage.sqlite.public_ids import load_public_ids
from tests.builders import T0_S, box_feature, plan, signed_message_body
from tests.cli.conftest import run_main
from tests.servers import Party, audit_key_file, call_api, new_party, serve_process
from tests.storage.backends import Backend, PostgresBackend, SQLiteBackend

STARTUP_S = 30.0
ROUNDS = int(os.environ.get("DECONFLICT_CRASH_ROUNDS", "3"))
"""SIGKILL rounds (more with ``DECONFLICT_CRASH_ROUNDS``; each adds some 3 s)."""
PARTIES = ("blue", "red", "green")
REPLY_BY = "2099-01-01T00:00:00Z"
GRID = 8
"""The in-flight filing has GRID x GRID volumes, each overlapping four of another party's: a transaction
long enough to be seen open and killed."""


class CrashDatabase(Backend, Protocol):
    """The database a killed server restarts on, and what only its backend knows how to do to it."""

    folder: Path

    @property
    def db(self) -> Path | str:
        """What ``deconflict serve --db`` and the CLI are given."""
        ...

    @property
    def key_path(self) -> Path:
        """The server's private audit key."""
        ...

    def public_ids(self) -> PublicIds:
        """The database's public ids (what audit entries name messages and conflicts by)."""
        ...

    def check_intact(self) -> None:
        """Fail unless the database's own checks pass; then leave every committed byte in its files."""
        ...

    def alter_hash(self, seq: int, digest: str) -> None:
        """Change one character of audit entry ``seq``'s stored hash, ``digest``, behind the server's back."""
        ...

    def writing(self) -> bool:
        """Whether a write transaction is open now (the server's: the test writes none)."""
        ...


def _altered(digest: str) -> str:
    """``digest`` with its first character changed (still hex, same length)."""
    return ("0" if digest[0] != "0" else "1") + digest[1:]


class _SQLiteCrashDatabase(SQLiteBackend):
    """A SQLite file: ``PRAGMA integrity_check``; the tamper step edits the file's bytes."""

    @property
    def db(self) -> Path:
        return self.path

    @property
    def key_path(self) -> Path:
        return audit_key_path(self.path)

    def public_ids(self) -> PublicIds:
        return load_public_ids(self.path)

    def check_intact(self) -> None:
        raw = sqlite3.connect(self.path)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL's pages into the file the tamper edits
        finally:
            raw.close()

    def alter_hash(self, seq: int, digest: str) -> None:
        data = self.path.read_bytes()
        old = digest.encode("ascii")
        assert data.count(old) == 1, f"entry {seq}'s hash is not stored once in the file"
        self.path.write_bytes(data.replace(old, _altered(digest).encode("ascii")))

    def writing(self) -> bool:
        raw = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")  # refused while another connection holds the write lock
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc), exc
            return True
        else:
            raw.execute("ROLLBACK")
            return False
        finally:
            raw.close()


class _PostgresCrashDatabase(PostgresBackend):
    """A PostgreSQL database: amcheck on every B-tree index and its table; the tamper step is an UPDATE."""

    @property
    def db(self) -> str:
        return self.url

    def public_ids(self) -> PublicIds:
        from deconflict.storage.postgres.database import Database
        from deconflict.storage.postgres.public_ids import load_public_ids as load_postgres_ids

        database = Database(self.url)
        try:
            return load_postgres_ids(database)
        finally:
            database.close()

    def check_intact(self) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            indexes = connection.execute(
                "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND n.nspname = 'public'"
            ).fetchall()
            assert indexes
            for (index,) in indexes:  # raises on a corrupt index, or a row its index lacks
                connection.execute("SELECT bt_index_check(%s::regclass, true)", (index,))

    def alter_hash(self, seq: int, digest: str) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as connection:
            changed = connection.execute(
                "UPDATE audit_log SET hash = %s WHERE seq = %s AND hash = %s", (_altered(digest), seq, digest)
            )
            assert changed.rowcount == 1

    def writing(self) -> bool:
        # Every write transaction first takes the writer's advisory lock (storage/postgres/database.py).
        held = self.query(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return int(held[0][0]) > 0


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CrashDatabase:
    """A new database of each backend: a SQLite file, or a PostgreSQL database (its key in ``tmp_path``)."""
    if request.param == "sqlite":
        return _SQLiteCrashDatabase(tmp_path / "channel.db", tmp_path)
    crash = _PostgresCrashDatabase(request.getfixturevalue("fresh_postgres_url"), tmp_path)
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(crash.key_path))  # the CLI's and the server's
    return crash


def _public_key_file(database: CrashDatabase) -> Path:
    """The server's audit public key in a file, what ``audit verify --key`` checks the chain with."""
    out = database.folder / "server-audit-key.pub.pem"
    out.write_text(AuditSigner(database.key_path.read_bytes()).public_key_pem, encoding="ascii")
    return out


def _verify(database: CrashDatabase) -> tuple[int, str, str]:
    """``deconflict audit verify --db DB --key PUBLIC`` (in this process): exit code, stdout, stderr."""
    return run_main("audit", "verify", "--db", str(database.db), "--key", str(_public_key_file(database)))


@dataclass
class Acknowledged:
    """What the server answered with a 2xx (one lock: several writer threads add to it)."""

    operations: set[tuple[str, str]] = field(default_factory=set)
    messages: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # id -> (from, to, text)
    acks: dict[int, str] = field(default_factory=dict)  # message id -> the recipient who read it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.operations) + len(self.messages) + len(self.acks)

    def wait_for_more(self, than: int) -> None:
        """Wait for more than ``than`` 2xx (a new server's first filing may take seconds on a busy host)."""
        deadline = time.monotonic() + STARTUP_S
        while self.count() <= than:
            assert time.monotonic() < deadline, f"no 2xx in {STARTUP_S:g} s"
            time.sleep(0.02)


@contextmanager
def _server(
    db: Path | str, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A ``deconflict serve`` process on an ephemeral port; its log goes to a file (never a full pipe)."""
    # Writers send and file faster than a party's rates allow (tests/api/test_limits.py and
    # tests/e2e/test_probe_attack.py test the limits); more rounds must not run into them.
    rates = ("MESSAGES_PER_MINUTE", "FILINGS_PER_MINUTE", "WITHDRAWALS_PER_MINUTE")
    env = {**{f"DECONFLICT_{rate}": "1000000" for rate in rates}, **(env if env is not None else os.environ)}
    with serve_process(db, log, env) as (process, url):
        yield process, url


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _plan(party: str, operation_id: str, n: int) -> dict[str, Any]:
    lon = 10.0 + (n % 40) * 0.01
    return plan(operation_id, box_feature("v1", lon, 45.0, lon + 0.02, 45.02))


def _writer(
    url: str, me: Party, others: list[str], seen: Acknowledged, stop: threading.Event, tag: str
) -> None:
    """File, send and acknowledge until told to stop or the server is gone."""
    client = ChannelClient(url, me.token, private_key_pem=me.key)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            operation_id = f"op-{tag}-{n}"
            status, _ = call_api(url, me.token, "POST", "/v1/operations", _plan(me.name, operation_id, n))
            if status == 201:
                with seen.lock:
                    seen.operations.add((me.name, operation_id))
            to = others[n % len(others)]
            sent = client.send(to, "FREE", text=f"{tag} {n}", reply_by=REPLY_BY)
            with seen.lock:
                seen.messages[int(sent["id"])] = (me.name, to, sent["text"])
            for message in client.messages("inbox", state="delivered")[:3]:
                try:
                    acked = client.ack(int(message["id"]), "read")
                except ChannelError as exc:
                    if exc.status != 409:  # 409: the party's other writer read it first
                        raise
                    continue
                with seen.lock:
                    seen.acks[int(acked["id"])] = me.name
    except (ChannelError, OSError):
        return  # the server was killed under us: what got a 2xx is recorded


def _check_survivors(url: str, parties: dict[str, Party], seen: Acknowledged) -> None:
    for name, party in parties.items():
        status, listed = call_api(url, party.token, "GET", "/v1/operations")
        assert status == 200
        ids = [op["id"] for op in listed]
        assert len(ids) == len(set(ids))
        mine = {op_id for owner, op_id in seen.operations if owner == name}
        assert mine <= set(ids), sorted(mine - set(ids))
        for op in listed:
            assert op["volumes"]["features"], op["id"]  # nothing half-written: a plan has its volumes
        client = ChannelClient(url, party.token)
        outbox = client.messages("outbox")
        out_ids = [m["id"] for m in outbox]
        assert len(out_ids) == len(set(out_ids))
        sent = {i for i, (sender, _, _) in seen.messages.items() if sender == name}
        assert sent <= set(out_ids), sorted(sent - set(out_ids))
        by_id = {m["id"]: m for m in outbox}
        for i in sent:
            assert by_id[i]["text"] == seen.messages[i][2]
    for message_id, recipient in seen.acks.items():
        got = ChannelClient(url, parties[recipient].token).message(message_id)
        assert got["state"] == "read", (message_id, got["state"])


def test_sigkill_mid_traffic_loses_nothing_acknowledged_and_a_tampered_byte_is_found(
    database: CrashDatabase, tmp_path: Path
) -> None:
    started = time.monotonic()
    db = database.db
    parties = {name: new_party(db, tmp_path, name) for name in PARTIES}
    seen = Acknowledged()
    rng = random.Random(20261126)
    for round_no in range(ROUNDS):
        with _server(db, tmp_path / f"serve-{round_no}.log") as (process, url):
            if round_no:
                _check_survivors(url, parties, seen)
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=_writer,
                    args=(url, p, [o for o in PARTIES if o != p.name], seen, stop, f"{p.name}{round_no}{k}"),
                )
                for p in parties.values()
                for k in range(2)
            ]
            answered = seen.count()
            for t in threads:
                t.start()
            seen.wait_for_more(answered)  # then a random moment of the traffic
            time.sleep(rng.uniform(0.5, 2.0))
            _kill(process)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            assert not any(t.is_alive() for t in threads)
    assert seen.operations and seen.messages and seen.acks
    with _server(db, tmp_path / "serve-final.log") as (_, url):
        _check_survivors(url, parties, seen)
    # A message change and its entry are one transaction: the two sets match exactly.
    stored, recorded = _sent_messages(database)
    assert recorded == stored
    # An operation and its entry are one transaction too: each stored one has its entry, and back.
    operations = [
        f"operation:{party}/{op}" for party, op in database.query("SELECT party, id FROM operations")
    ]
    filed = [
        json.loads(subject)[0]
        for (subject,) in database.query("SELECT subject FROM audit_log WHERE kind = 'operation_filed'")
    ]
    assert sorted(filed) == sorted(operations)
    missing = {f"operation:{party}/{op}" for party, op in seen.operations} - set(filed)
    assert not missing, sorted(missing)
    database.check_intact()
    code, out, err = _verify(database)
    assert code == 0, err
    assert "chain verified" in out

    # One character of the last audit entry's hash, altered in storage (the file, or the row).
    [(seq, kind, digest)] = database.query("SELECT seq, kind, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    database.alter_hash(int(seq), str(digest))
    code, out, err = _verify(database)
    assert code == 1, out + err
    assert f"entry {seq} ({kind})" in err
    print(
        f"crash ({database.name}): {ROUNDS} SIGKILL rounds survived; acknowledged and found again: "
        f"{len(seen.operations)} operations, {len(seen.messages)} messages, {len(seen.acks)} acknowledgements"
    )
    assert time.monotonic() - started < 20.0 * ROUNDS


def _grid_plan(operation_id: str, shift_deg: float) -> dict[str, Any]:
    """GRID x GRID boxes of 0.02 deg, ``shift_deg`` north-east of the grid at 20 E 45 N."""
    step_deg = 0.02
    boxes = [
        box_feature(
            f"v{i}-{j}",
            20.0 + i * step_deg + shift_deg,
            45.0 + j * step_deg + shift_deg,
            20.0 + (i + 1) * step_deg + shift_deg,
            45.0 + (j + 1) * step_deg + shift_deg,
        )
        for i in range(GRID)
        for j in range(GRID)
    ]
    return plan(operation_id, *boxes)


def _send_unanswered(url: str, token: str, path: str, body: object) -> http.client.HTTPConnection:
    """POST ``body`` in full and leave the answer unread: the request is in flight."""
    where = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(str(where.hostname), where.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", path, body=json.dumps(body).encode(), headers=headers)
    return connection


@dataclass(frozen=True)
class StoredFiling:
    """How much of one filing is stored: rows and audit entries."""

    operations: int
    volumes: int
    conflicts: int
    entries: int  # its operation_filed entries
    conflict_entries: int  # conflict_found entries of its conflicts


def _stored_filing(database: CrashDatabase, party: str, operation_id: str) -> StoredFiling:
    # Literals, not parameters (the two drivers' placeholders differ): the test's own names.
    def count(sql: str) -> int:
        return int(database.query(sql)[0][0])

    of = f"party = '{party}' AND id = '{operation_id}'"
    conflict_ids = [
        int(i)
        for (i,) in database.query(
            f"SELECT id FROM conflicts WHERE (party_a = '{party}' AND operation_a = '{operation_id}') "
            f"OR (party_b = '{party}' AND operation_b = '{operation_id}')"
        )
    ]
    ids = database.public_ids()
    found = {
        subject
        for (subject,) in database.query("SELECT subject FROM audit_log WHERE kind = 'conflict_found'")
    }
    subject = json.dumps([f"operation:{party}/{operation_id}"])
    return StoredFiling(
        operations=count(f"SELECT count(*) FROM operations WHERE {of}"),
        volumes=count(
            f"SELECT count(*) FROM volumes WHERE party = '{party}' AND operation_id = '{operation_id}'"
        ),
        conflicts=len(conflict_ids),
        entries=count(
            f"SELECT count(*) FROM audit_log WHERE kind = 'operation_filed' AND subject = '{subject}'"
        ),
        conflict_entries=sum(
            json.dumps([f"conflict:{ids.public(IdKind.CONFLICT, i)}"]) in found for i in conflict_ids
        ),
    )


def _sent_messages(database: CrashDatabase) -> tuple[list[int], list[int]]:
    """The public ids of the messages stored, and of those the ``message_sent`` entries name (sorted)."""
    ids = database.public_ids()  # entries name messages by the ids the parties were given
    stored = [ids.public(IdKind.MESSAGE, int(i)) for (i,) in database.query("SELECT id FROM messages")]
    recorded = [
        int(json.loads(payload)["message_id"])
        for (payload,) in database.query("SELECT payload FROM audit_log WHERE kind = 'message_sent'")
    ]
    return sorted(stored), sorted(recorded)


def test_a_request_in_flight_when_the_server_dies_is_all_there_or_absent_and_a_retry_makes_one(
    database: CrashDatabase, tmp_path: Path
) -> None:
    started = time.monotonic()
    db = database.db
    blue, red = (new_party(db, tmp_path, name) for name in ("blue", "red"))
    content = MessageContent(
        "blue", "red", "FREE", {}, "sent as the server died", REPLY_BY, "in-flight-nonce-1"
    )
    message = signed_message_body(content, blue.key)
    with _server(db, tmp_path / "serve-killed.log") as (process, url):
        status, _ = call_api(url, red.token, "POST", "/v1/operations", _grid_plan("red-grid", 0.0))
        assert status == 201
        # The same filing under another id: each volume overlaps the red boxes around it.
        status, filed = call_api(url, blue.token, "POST", "/v1/operations", _grid_plan("reference", 0.01))
        assert status == 201, filed
        whole = StoredFiling(1, GRID * GRID, len(filed["conflicts"]), 1, len(filed["conflicts"]))
        assert whole.conflicts > GRID * GRID
        filing = _send_unanswered(url, blue.token, "/v1/operations", _grid_plan("cut", 0.01))
        deadline = time.monotonic() + STARTUP_S
        while not database.writing():  # killed with its transaction open (unless it commits in between)
            assert time.monotonic() < deadline, f"the filing's transaction not seen open in {STARTUP_S:g} s"
            time.sleep(0.005)
        sending = _send_unanswered(url, blue.token, "/v1/messages", message)  # it waits for the writer
        _kill(process)
        for connection in (filing, sending):
            with pytest.raises((http.client.HTTPException, OSError)):  # no answer: the outcome is unknown
                connection.getresponse()
            connection.close()
    with _server(db, tmp_path / "serve-restarted.log") as (_, url):
        after_kill = _stored_filing(database, "blue", "cut")
        assert after_kill in (StoredFiling(0, 0, 0, 0, 0), whole), after_kill
        stored, recorded = _sent_messages(database)  # blue's message is the only one
        assert recorded == stored and len(stored) in (0, 1), (stored, recorded)
        # A retry is safe: the operation's id and the message's nonce are taken at most once.
        status, _ = call_api(url, blue.token, "POST", "/v1/operations", _grid_plan("cut", 0.01))
        assert status == (409 if after_kill == whole else 201)
        status, _ = call_api(url, blue.token, "POST", "/v1/messages", message)
        assert status == (409 if stored else 201)
        assert _stored_filing(database, "blue", "cut") == whole
        after_retry, recorded = _sent_messages(database)
        assert len(after_retry) == 1 and recorded == after_retry
        outbox = ChannelClient(url, blue.token).messages("outbox")
        assert [m["text"] for m in outbox] == [content.text]
    database.check_intact()
    code, out, err = _verify(database)
    assert code == 0, err
    assert "chain verified" in out
    print(
        f"in flight ({database.name}): the filing was {'there' if after_kill == whole else 'absent'} "
        f"({whole.conflicts} conflicts), the message "
        f"{'there' if stored else 'absent'} after the kill"
    )
    assert time.monotonic() - started < 60.0


def test_a_missed_deadline_escalates_on_a_real_server_with_a_clock_file(tmp_path: Path) -> None:
    db = tmp_path / "deadline.db"
    clock = tmp_path / "clock"
    clock.write_text(f"{T0_S}\n", encoding="ascii")
    blue, red = (new_party(db, tmp_path, name) for name in ("blue", "red"))
    env = {**os.environ, "DECONFLICT_CLOCK_FILE": str(clock)}
    with _server(db, tmp_path / "serve.log", env) as (_, url):
        sender = ChannelClient(url, blue.token, private_key_pem=blue.key)
        sent = sender.send("red", "FREE", text="confirm by 12:10", reply_by="2026-01-01T12:10:00Z")
        assert sent["created"] == "2026-01-01T12:00:00Z"  # the server's time is the file's
        assert sender.escalations() == []
        clock.write_text(f"{T0_S + 3600.0}\n", encoding="ascii")  # 50 min past the deadline
        steps = sender.escalations()
        assert [(e["message"], e["step"]) for e in steps] == [(sent["id"], 0), (sent["id"], 1)]
        assert [e["due"] for e in steps] == ["2026-01-01T12:10:00Z", "2026-01-01T12:25:00Z"]
        assert len(ChannelClient(url, red.token).escalations()) == 2
        assert sender.message(sent["id"])["overdue"] is True
    code, out, err = run_main("audit", "verify", "--db", str(db), "--key", str(audit_key_file(db)))
    assert code == 0, out + err
