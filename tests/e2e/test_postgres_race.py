"""Filing is race-free across nodes: overlapping filings through two nodes at once, each conflict once.

Two ``deconflict serve`` processes (two nodes) serve one PostgreSQL database.
Party blue files through node 1 and party red through node 2; in each of
:data:`PAIRS` rounds both file overlapping operations released together by a
:class:`threading.Barrier` (the pairs are apart from each other in space and
time, so each pair makes exactly one conflict). Afterwards:

- every filing was answered 201, and in each pair exactly one of the two
  answers (the one that committed second) reports the pair's conflict;
- the database holds exactly :data:`PAIRS` conflicts, one per pair (counted
  through the storage API), and each party lists every one of them exactly
  once on ``GET /v1/conflicts``, asked through the node it files through;
- each party holds a ``/v1/events`` socket on its own node (blue on node 1,
  red on node 2: different nodes), and is pushed each conflict found on that
  node exactly once, and no conflict twice.

The nodes run without NATS (no ``--nats``), so events do not cross nodes: a
conflict is pushed by the node whose filing found it, to the sockets that node
holds, and the party whose socket is on the other node learns of it from ``GET
/v1/conflicts`` (asserted above). ``tests/e2e/test_nats_events.py`` runs nodes
with the relay, where every event reaches every party once.

Run with ``-s`` to see the filings' latency (p50/p99 through the API, both
nodes contending for the writers' lock).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websocket_connect

from deconflict.storage.postgres.storage import PostgresStorage
from tests.builders import box_feature, plan
from tests.servers import Party, call_api, new_party, serve_process

PAIRS = 50
WAIT_S = 20.0
FIRST_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Filed:
    """One filing's answer: its status, the conflicts it reported and how long it took."""

    status: int
    body: Any
    elapsed_s: float


@dataclass
class Pushed:
    """The ``conflict`` frames one socket received (a reader thread adds to them)."""

    conflicts: list[dict[str, Any]] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)  # frames that are not ``conflict``
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> Counter[int]:
        with self.lock:
            return Counter(int(frame["conflict"]["id"]) for frame in self.conflicts)


def _pair_plans(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pair ``n``'s two overlapping plans: their own cell of a 10 x 5 grid and their own hour."""
    lon = 10.0 + (n % 10) * 0.1
    lat = 45.0 + (n // 10) * 0.1
    start = FIRST_START + timedelta(hours=n)
    window = {
        "time_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_end": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    blue = plan(f"blue-{n}", box_feature("v1", lon, lat, lon + 0.04, lat + 0.04, **window))
    red = plan(f"red-{n}", box_feature("v1", lon + 0.02, lat + 0.02, lon + 0.06, lat + 0.06, **window))
    return blue, red


def _filer(
    url: str, party: Party, plans: list[dict[str, Any]], barrier: threading.Barrier, out: list[Filed]
) -> None:
    """File each plan as soon as the other party's filer is ready to file its pair's.

    A filer that fails breaks the barrier, so the other stops at once rather than
    waiting out its timeout.
    """
    try:
        for body in plans:
            barrier.wait(timeout=WAIT_S)
            started = time.perf_counter()
            status, answer = call_api(url, party.token, "POST", "/v1/operations", body)
            out.append(Filed(status, answer, time.perf_counter() - started))
    except BaseException:
        barrier.abort()
        raise


def _read(ws: ClientConnection, pushed: Pushed, stop: threading.Event) -> None:
    """Keep every frame a socket receives until told to stop."""
    while not stop.is_set():
        try:
            frame = json.loads(ws.recv(timeout=0.1))
        except TimeoutError:
            continue
        except Exception as exc:  # the socket closed: the test fails on it
            with pushed.lock:
                pushed.errors.append(repr(exc))
            return
        with pushed.lock:
            (pushed.conflicts if frame.get("type") == "conflict" else pushed.other).append(frame)


@pytest.fixture
def audit_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The servers' audit key file, in the environment for ``party add`` and both nodes."""
    key = tmp_path / "server-audit-key.pem"
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(key))
    return key


@pytest.fixture
def socket_of() -> Iterator[Any]:
    """Open ``/v1/events`` sockets, each read by a thread into a :class:`Pushed`; all closed afterwards."""
    stop = threading.Event()
    readers: list[threading.Thread] = []
    sockets = contextlib.ExitStack()

    def connect(url: str, party: Party) -> Pushed:
        ws = sockets.enter_context(
            websocket_connect(
                url.replace("http", "ws", 1) + "/v1/events",
                additional_headers={"Authorization": f"Bearer {party.token}"},
                open_timeout=WAIT_S,
            )
        )
        assert json.loads(ws.recv(timeout=WAIT_S)) == {"type": "ready", "party": party.name}
        pushed = Pushed()
        reader = threading.Thread(target=_read, args=(ws, pushed, stop), daemon=True)
        reader.start()
        readers.append(reader)
        return pushed

    with sockets:
        yield connect
        stop.set()
        for reader in readers:
            reader.join(timeout=WAIT_S)


def _percentile_ms(values_s: list[float], q: int) -> float:
    return statistics.quantiles(values_s, n=100, method="inclusive")[q - 1] * 1000.0


def test_overlapping_filings_through_two_nodes_make_each_conflict_once(
    fresh_postgres_url: str, tmp_path: Path, audit_key: Path, socket_of: Any
) -> None:
    started = time.monotonic()
    db = fresh_postgres_url
    blue, red = (new_party(db, tmp_path, name) for name in ("blue", "red"))
    env = {**os.environ, "DECONFLICT_FILINGS_PER_MINUTE": "1000000"}
    plans = [_pair_plans(n) for n in range(PAIRS)]
    filed: dict[str, list[Filed]] = {"blue": [], "red": []}
    with (
        serve_process(db, tmp_path / "node-1.log", env=env) as (_, node_1),
        serve_process(db, tmp_path / "node-2.log", env=env) as (_, node_2),
    ):
        pushed = {"blue": socket_of(node_1, blue), "red": socket_of(node_2, red)}
        barrier = threading.Barrier(2)
        filers = [
            threading.Thread(
                target=_filer, args=(url, party, [p[side] for p in plans], barrier, filed[party.name])
            )
            for side, (url, party) in enumerate(((node_1, blue), (node_2, red)))
        ]
        for filer in filers:
            filer.start()
        for filer in filers:
            filer.join(timeout=WAIT_S * 2)
            assert not filer.is_alive(), "the filings did not end in time"

        assert [f.status for f in filed["blue"] + filed["red"]] == [201] * 2 * PAIRS, [
            f.body for f in filed["blue"] + filed["red"] if f.status != 201
        ][:3]
        found_on: dict[int, str] = {}  # conflict id -> the party whose node's filing found it
        for n, (by_blue, by_red) in enumerate(zip(filed["blue"], filed["red"], strict=True)):
            reported = {"blue": by_blue.body["conflicts"], "red": by_red.body["conflicts"]}
            finders = [name for name, conflicts in reported.items() if conflicts]
            assert len(finders) == 1, f"pair {n}: {reported}"
            (conflict,) = reported[finders[0]]
            assert conflict["operation"] == f"{finders[0]}-{n}", conflict
            found_on[int(conflict["id"])] = finders[0]
        assert len(found_on) == PAIRS, "two pairs reported the same conflict id"

        for party, url in ((blue, node_1), (red, node_2)):
            status, listed = call_api(url, party.token, "GET", "/v1/conflicts")
            assert status == 200, listed
            ids = Counter(int(conflict["id"]) for conflict in listed)
            assert set(ids) == set(found_on) and set(ids.values()) == {1}, ids
            assert sorted(c["operation"] for c in listed) == sorted(f"{party.name}-{n}" for n in range(PAIRS))

        # Each party's socket is on the node it files through: it is pushed what that node found.
        deadline = time.monotonic() + WAIT_S
        expected = {name: {i for i, finder in found_on.items() if finder == name} for name in pushed}
        while any(set(pushed[name].ids()) < expected[name] for name in pushed):
            assert time.monotonic() < deadline, "conflicts not pushed in time"
            time.sleep(0.05)
        time.sleep(0.5)  # a duplicate, if one were coming
        for name, socket in pushed.items():
            assert not socket.errors, socket.errors
            ids = socket.ids()
            assert set(ids) <= set(found_on), sorted(set(ids) - set(found_on))
            assert expected[name] <= set(ids), sorted(expected[name] - set(ids))
            assert set(ids.values()) <= {1}, "a conflict pushed twice to " + name

    with PostgresStorage.open(db, key_path=audit_key) as storage:
        assert storage.operations.count_open_conflicts() == PAIRS
        for name in ("blue", "red"):
            records = storage.operations.list_conflict_records(name)
            pairs = Counter(frozenset((r.conflict.operation_a, r.conflict.operation_b)) for r in records)
            assert set(pairs) == {frozenset((f"blue-{n}", f"red-{n}")) for n in range(PAIRS)}
            assert set(pairs.values()) == {1}, pairs

    elapsed_s = [f.elapsed_s for f in filed["blue"] + filed["red"]]
    print(
        f"\n{2 * PAIRS} filings through 2 nodes, in pairs released together: "
        f"p50 {_percentile_ms(elapsed_s, 50):.1f} ms, p99 {_percentile_ms(elapsed_s, 99):.1f} ms; "
        f"found on blue's node {sum(1 for f in found_on.values() if f == 'blue')}, "
        f"on red's {sum(1 for f in found_on.values() if f == 'red')}"
    )
    assert time.monotonic() - started < 60.0
