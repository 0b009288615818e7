"""Load benchmark: several parties drive sustained mixed traffic through a real server for a bounded time.

Starts ``deconflict serve`` on 127.0.0.1 (an ephemeral port, a fresh database
in a temporary folder) and registers ``--parties`` parties. One thread per
party then loops for ``--seconds`` over a mix of requests on one keep-alive
connection: file an operation, withdraw one it filed, send a signed message
to another party, acknowledge (read) a message it received (timed with the
inbox query that finds it), list its conflicts, list its inbox. Every answer
other than the expected status is an error.

Reported as one JSON document: ``requests``, ``errors`` (by kind), per kind
its count, ``per_s`` throughput and ``p50_ms`` / ``p99_ms`` latency; overall
throughput and latency; and the server's resident memory (``VmRSS`` of
``/proc/<pid>/status``) after a warm-up and at the end. Exits 1 when there
was any error or the RSS grew by more than ``--max-rss-growth-mib``.

The per-party message rate (``messages_per_minute``) is lifted for the run:
this measures the server, not the policy (tests/api/test_limits.py tests it).

Usage::

    python benchmarks/load.py --seconds 60 --parties 4
"""

from __future__ import annotations

import argparse
import collections
import http.client
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deconflict.channel.messages import MessageContent, sign_content
from deconflict.channel.parties import register_party
from deconflict.storage import open_storage

STARTUP_S = 30.0
WARMUP_REQUESTS = 20
KINDS = ("file", "withdraw", "send", "ack", "conflicts", "inbox")
EXPECTED = {"file": 201, "withdraw": 200, "send": 201, "ack": 200, "conflicts": 200, "inbox": 200}
_RUNNING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")


@dataclass
class Party:
    name: str
    token: str
    key_pem: bytes


@dataclass
class Tally:
    """Latencies (seconds) by kind and errors by kind and cause, from every worker (one lock)."""

    latencies_s: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextmanager
def server(db: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``deconflict serve`` on 127.0.0.1 and an ephemeral port; always stopped (SIGINT, then SIGKILL)."""
    command = [sys.executable, "-m", "deconflict", "serve", "--db", str(db), "--init", "--port", "0"]
    # Throughput, not policy: the per-party rates a real deployment keeps are lifted here.
    rates = ("MESSAGES_PER_MINUTE", "FILINGS_PER_MINUTE", "WITHDRAWALS_PER_MINUTE")
    env = {**os.environ, **{f"DECONFLICT_{rate}": "100000000" for rate in rates}}
    with log.open("wb") as out:  # a file, never a pipe that could fill up
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out, env=env)
    try:
        deadline = time.monotonic() + STARTUP_S
        while (match := _RUNNING.search(log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + log.read_text(errors="replace"))
            time.sleep(0.05)
        yield process, int(match.group(1))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def register(db: Path, count: int) -> list[Party]:
    """``count`` parties on the server's database, with their tokens and private keys."""
    found = []
    with open_storage(db) as storage:
        parties = storage.parties
        for number in range(count):
            name = f"party-{number + 1}"
            registration = register_party(parties, name, None, time.time())
            assert registration.private_key_pem is not None
            found.append(Party(name, registration.token, registration.private_key_pem))
    return found


def _plan(operation_id: str, rng: random.Random) -> dict[str, Any]:
    """A one-volume plan in a small region, so that parties' plans sometimes conflict."""
    lon, lat = 10.0 + rng.uniform(0.0, 2.0), 45.0 + rng.uniform(0.0, 2.0)
    ring = [[lon, lat], [lon + 0.1, lat], [lon + 0.1, lat + 0.1], [lon, lat + 0.1], [lon, lat]]
    start_h = rng.randrange(0, 24)
    return {
        "type": "FeatureCollection",
        "id": operation_id,
        "priority": 0,
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "id": "v1",
                    "altitude_lower": {"value": 0, "units": "m", "reference": "MSL"},
                    "altitude_upper": {"value": 1000, "units": "m", "reference": "MSL"},
                    "time_start": f"2030-01-01T{start_h:02d}:00:00Z",
                    "time_end": f"2030-01-01T{start_h:02d}:59:00Z",
                },
            }
        ],
    }


class Worker:
    """One party's loop of mixed requests on one keep-alive connection."""

    def __init__(self, port: int, me: Party, others: list[str], tally: Tally, seed: int) -> None:
        self.port = port
        self.me = me
        self.others = others
        self.tally = tally
        self.rng = random.Random(seed)
        self.filed: list[tuple[str, int]] = []  # (operation id, version) not yet withdrawn
        self.numbers = itertools.count()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: object | None = None, **headers: str) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Authorization": f"Bearer {self.me.token}", **headers}
        if data is not None:
            sent["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=data, headers=sent)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        return response.status, json.loads(raw) if raw else None

    def one(self, kind: str) -> tuple[str, int, Any] | None:
        """Make one request of ``kind``; ``None`` when there is nothing to do (no operation, no message)."""
        n = next(self.numbers)
        if kind == "file":
            operation_id = f"op-{n}"
            status, answer = self.call("POST", "/v1/operations", _plan(operation_id, self.rng))
            if status == 201:
                self.filed.append((operation_id, int(answer["operation"]["version"])))
            return kind, status, answer
        if kind == "withdraw":
            if not self.filed:
                return None
            operation_id, version = self.filed.pop(0)
            path = f"/v1/operations/{operation_id}/withdraw"
            return (kind, *self.call("POST", path, None, **{"If-Match": f'"{version}"'}))
        if kind == "send":
            to = self.rng.choice(self.others)
            nonce = f"load-{self.me.name}-{n:09d}"
            text = f"load message {n}"
            content = MessageContent(self.me.name, to, "FREE", {}, text, None, nonce)
            body = {
                "to": to,
                "code": "FREE",
                "params": {},
                "text": text,
                "reply_by": None,
                "nonce": nonce,
                "signature": sign_content(content, self.me.key_pem),
            }
            return (kind, *self.call("POST", "/v1/messages", body))
        if kind == "ack":
            status, inbox = self.call("GET", "/v1/messages?box=inbox&state=delivered")
            if status != 200 or not inbox:
                return None
            return (kind, *self.call("POST", f"/v1/messages/{inbox[0]['id']}/ack", {"level": "read"}))
        if kind == "conflicts":
            return (kind, *self.call("GET", "/v1/conflicts"))
        return (kind, *self.call("GET", "/v1/messages?box=inbox"))

    def run(self, stop_at: float, kinds: list[str]) -> None:
        try:
            while time.perf_counter() < stop_at:
                kind = self.rng.choice(kinds)
                started = time.perf_counter()
                try:
                    done = self.one(kind)
                except (OSError, http.client.HTTPException) as exc:
                    with self.tally.lock:
                        self.tally.errors[f"{kind}: {type(exc).__name__}"] += 1
                    continue
                if done is None:
                    continue
                elapsed_s = time.perf_counter() - started
                _, status, answer = done
                with self.tally.lock:
                    self.tally.latencies_s[kind].append(elapsed_s)
                    if status != EXPECTED[kind]:
                        self.tally.errors[f"{kind}: HTTP {status}"] += 1
                        if len(self.tally.errors) <= 3:
                            print(f"{kind}: HTTP {status}: {answer!r}"[:300], file=sys.stderr)
        finally:
            self.connection.close()


def _figures(latencies_s: list[float], seconds: float) -> dict[str, Any]:
    if not latencies_s:
        return {"count": 0, "per_s": 0.0, "p50_ms": None, "p99_ms": None}
    ms = np.asarray(latencies_s) * 1000.0
    return {
        "count": len(latencies_s),
        "per_s": round(len(latencies_s) / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def run(seconds: float, parties: int, max_rss_growth_mib: float, seed: int = 20261126) -> dict[str, Any]:
    """Run the load once against a fresh server; return the figures (``ok`` False on errors or growth)."""
    if parties < 2:
        raise ValueError("at least 2 parties: they send each other messages")
    with tempfile.TemporaryDirectory(prefix="deconflict-load-") as folder:
        root = Path(folder)
        db = root / "channel.db"
        registered = register(db, parties)
        tally = Tally()
        with server(db, root / "serve.log") as (process, port):
            names = [p.name for p in registered]
            workers = [
                Worker(port, p, [n for n in names if n != p.name], tally, seed + k)
                for k, p in enumerate(registered)
            ]
            # Warm-up (imports, caches, the first plans): not measured, so the RSS baseline is steady.
            warm = Tally()
            for worker in workers:
                worker.tally = warm
                worker.run(time.perf_counter() + 0.5, list(KINDS))
                worker.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                worker.tally = tally
            rss_before = rss_kib(process.pid)
            started = time.perf_counter()
            stop_at = started + seconds
            threads = [threading.Thread(target=w.run, args=(stop_at, list(KINDS))) for w in workers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=seconds + 60)
            elapsed_s = time.perf_counter() - started
            hung = sum(thread.is_alive() for thread in threads)
            if hung:
                tally.errors["worker did not finish"] += hung
            rss_after = rss_kib(process.pid)
    tally.errors.update({f"warm-up {kind}": n for kind, n in warm.errors.items()})
    every = [s for kind in KINDS for s in tally.latencies_s[kind]]
    growth_mib = (rss_after - rss_before) / 1024.0
    errors = sum(tally.errors.values())
    overall = _figures(every, elapsed_s)
    return {
        "seconds": round(elapsed_s, 2),
        "parties": parties,
        "requests": len(every),
        "errors": errors,
        "error_kinds": dict(tally.errors),
        "per_s": overall["per_s"],
        "p50_ms": overall["p50_ms"],
        "p99_ms": overall["p99_ms"],
        "kinds": {kind: _figures(tally.latencies_s[kind], elapsed_s) for kind in KINDS},
        "warmup_requests": sum(len(v) for v in warm.latencies_s.values()),
        "rss_before_mib": round(rss_before / 1024.0, 1),
        "rss_after_mib": round(rss_after / 1024.0, 1),
        "rss_growth_mib": round(growth_mib, 1),
        "max_rss_growth_mib": max_rss_growth_mib,
        "ok": errors == 0 and growth_mib <= max_rss_growth_mib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the parties drive load")
    parser.add_argument("--parties", type=int, default=4, help="parties, one thread each")
    parser.add_argument(
        "--max-rss-growth-mib", type=float, default=64.0, help="fail when the server's RSS grows more"
    )
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args(argv)
    figures = run(args.seconds, args.parties, args.max_rss_growth_mib, args.seed)
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
