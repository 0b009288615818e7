"""End to end against a real ``deconflict serve`` process: SIGKILL mid-traffic, a tampered byte, a deadline.

Parties are registered with the CLI; several parties' writers (file operations,
send signed messages, acknowledge) run in threads with the Python client; the
server is killed with SIGKILL at a random moment and restarted on the same
file. Everything answered with a 2xx must be there exactly once, the database
must be intact, and ``deconflict audit verify --db`` must pass; then one byte
of an audit entry is altered on disk and the verification must fail naming it.
A clock file (``DECONFLICT_CLOCK_FILE``) moves the real server past a deadline.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deconflict.channel.public_ids import IdKind
from deconflict.client import ChannelClient, ChannelError
from deconflict.storage.sqlite.public_ids import load_public_ids
from tests.builders import T0_S, box_feature, plan
from tests.cli.conftest import run_cli
from tests.servers import Party, audit_key_file, call_api, new_party, serve_process

STARTUP_S = 30.0
ROUNDS = int(os.environ.get("DECONFLICT_CRASH_ROUNDS", "3"))
"""SIGKILL rounds (more with ``DECONFLICT_CRASH_ROUNDS``; each adds some 3 s)."""
PARTIES = ("blue", "red", "green")
REPLY_BY = "2099-01-01T00:00:00Z"


@dataclass
class Acknowledged:
    """What the server answered with a 2xx (one lock: several writer threads add to it)."""

    operations: set[tuple[str, str]] = field(default_factory=set)
    messages: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # id -> (from, to, text)
    acks: dict[int, str] = field(default_factory=dict)  # message id -> the recipient who read it
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def _server(
    db: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A ``deconflict serve`` process on an ephemeral port; its log goes to a file (never a full pipe)."""
    # Writers send and file faster than a party's rates allow (tests/api/test_limits.py and
    # tests/e2e/test_probe_attack.py test the limits); more rounds must not run into them.
    rates = ("MESSAGES_PER_MINUTE", "FILINGS_PER_MINUTE", "WITHDRAWALS_PER_MINUTE")
    env = {**{f"DECONFLICT_{rate}": "1000000" for rate in rates}, **(env if env is not None else os.environ)}
    with serve_process(db, log, env) as (process, url):
        yield process, url


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


def _audit_rows(db: Path) -> list[tuple[int, str, str]]:
    raw = sqlite3.connect(db)
    try:
        return [
            (int(r[0]), str(r[1]), str(r[2])) for r in raw.execute("SELECT seq, kind, hash FROM audit_log")
        ]
    finally:
        raw.close()


def test_sigkill_mid_traffic_loses_nothing_acknowledged_and_a_tampered_byte_is_found(tmp_path: Path) -> None:
    started = time.monotonic()
    db = tmp_path / "channel.db"
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
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.5, 2.0))
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            assert not any(t.is_alive() for t in threads)
    assert seen.operations and seen.messages and seen.acks
    with _server(db, tmp_path / "serve-final.log") as (_, url):
        _check_survivors(url, parties, seen)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # A message change and its entry are one transaction: the two sets match exactly.
    ids = load_public_ids(db)  # entries name messages by the ids the parties were given
    stored = {ids.public(IdKind.MESSAGE, r[0]) for r in raw.execute("SELECT id FROM messages")}
    recorded = [
        json.loads(r[0])["message_id"]
        for r in raw.execute("SELECT payload FROM audit_log WHERE kind = ?", ("message_sent",))
    ]
    assert sorted(recorded) == sorted(stored)
    # An operation and its entry are one transaction too: each stored one has its entry, and back.
    operations = {f"operation:{party}/{op}" for party, op in raw.execute("SELECT party, id FROM operations")}
    filed = {
        json.loads(subject)[0]
        for (subject,) in raw.execute("SELECT subject FROM audit_log WHERE kind = 'operation_filed'")
    }
    assert filed == operations
    for party, op in seen.operations:
        assert raw.execute(
            "SELECT 1 FROM audit_log WHERE kind = 'operation_filed' AND subject = ?",
            (json.dumps([f"operation:{party}/{op}"]),),
        ).fetchone(), (party, op)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    verified = run_cli("audit", "verify", "--db", str(db), "--key", str(audit_key_file(db)))
    assert verified.returncode == 0, verified.stderr
    assert "chain verified" in verified.stdout

    # One byte of the last audit entry's hash, altered in the file itself.
    seq, kind, digest = _audit_rows(db)[-1]
    data = bytearray(db.read_bytes())
    offset = data.find(digest.encode("ascii"))
    assert offset >= 0 and data.find(digest.encode("ascii"), offset + 1) < 0
    data[offset] = ord("0") if data[offset] != ord("0") else ord("1")
    db.write_bytes(bytes(data))
    failed = run_cli("audit", "verify", "--db", str(db), "--key", str(audit_key_file(db)))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"entry {seq} ({kind})" in failed.stderr
    print(
        f"crash: {ROUNDS} SIGKILL rounds survived; acknowledged and found again: "
        f"{len(seen.operations)} operations, {len(seen.messages)} messages, {len(seen.acks)} acknowledgements"
    )
    assert time.monotonic() - started < 20.0 * ROUNDS


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
    verified = run_cli("audit", "verify", "--db", str(db), "--key", str(audit_key_file(db)))
    assert verified.returncode == 0, verified.stderr
