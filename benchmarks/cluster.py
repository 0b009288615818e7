"""Cluster benchmark: the hotline across 3 nodes on one PostgreSQL and 3 NATS servers, and failover.

Starts PostgreSQL with PostGIS and a 3-server NATS JetStream cluster on
127.0.0.1 (``tests/cluster/servers.py``, what ``deploy/cluster/`` deploys),
then 3 ``deconflict serve`` nodes on that database with ``--nats``. Two phases:

Throughput: red's ``/v1/events`` socket sits on node 2; ``--senders`` senders
POST blue's signed messages to red through nodes 1 and 3 (alternately) for
``--messages`` messages or ``--seconds``. Every 201 is a durable commit in
PostgreSQL (its event in the outbox, relayed through JetStream). Measured:
``messages_per_s`` (201 answers per second), ``delivery_p50_ms`` /
``delivery_p99_ms`` (just before the POST to the frame on red's socket on the
other node). Targets: >= 1000 messages/s, p99 < 50 ms.

Failover, ``--kills`` times: ``--clients`` red sockets sit on one node while
blue sends a message every ``--interval-ms`` through another; the node is
killed (SIGKILL). Each client, when its socket drops, reconnects to the next
live node with its last event id (``Last-Event-ID``). A client has caught up
when it holds every message answered (201) before the kill and one sent after
it, each once. Measured per client: kill to caught up; ``failover_p50_s`` /
``failover_p99_s`` over every client of every kill (target < 3 s). The killed
node is started again before the next round.
Called with running servers (:class:`Servers`: a test's), it uses them instead, on a new database.

CPU seconds of the benchmark and of the servers (nodes, PostgreSQL, NATS) are
reported beside wall time, with the load average: the machine may be shared.

Usage::

    python benchmarks/cluster.py --messages 10000 --seconds 60 --senders 8 --kills 5 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from websockets.sync.client import connect as websocket_connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the servers' helpers live with the tests (they are not product code)
from tests.cluster.servers import NatsCluster, PostgresServer, nats_cluster, postgres_server  # noqa: E402
from tests.servers import Party, load_benchmark, new_party, serve_process  # noqa: E402

NODES = 3
TARGET_MESSAGES_PER_S = 1000.0
TARGET_P99_MS = 50.0
TARGET_FAILOVER_S = 3.0
CATCH_UP_TIMEOUT_S = 30.0
channel = load_benchmark("channel")


def _node_env(nats_urls: list[str], audit_key: Path) -> dict[str, str]:
    """A node's environment: the bus, the audit key, limits lifted (this measures throughput, not policy).

    The per-party connection cap is raised because a killed node's sockets may count until they expire.
    """
    return {
        **os.environ,
        "DECONFLICT_NATS_URL": ",".join(nats_urls),
        "DECONFLICT_AUDIT_KEY_PATH": str(audit_key),
        "DECONFLICT_MESSAGES_PER_MINUTE": "100000000",
        "DECONFLICT_EVENTS_MAX_CONNECTIONS_PER_PARTY": "64",
    }


class Nodes:
    """The service nodes: started, SIGKILLed and restarted; every one stopped when the block ends."""

    def __init__(self, db: str, root: Path, env: dict[str, str], stack: contextlib.ExitStack) -> None:
        self.db, self.root, self.env, self.stack = db, root, env, stack
        self.processes: list[Any] = []
        self.urls: list[str] = []
        self.lock = threading.Lock()
        self.started = itertools.count()
        # Together: a node's start is mostly its interpreter loading, not the database.
        starting = [self._serve() for _ in range(NODES)]
        with ThreadPoolExecutor(NODES) as pool:
            entered = [pool.submit(serving.__enter__) for serving in starting]
        for serving, future in zip(starting, entered, strict=True):
            if future.exception() is None:
                self.stack.push(serving.__exit__)
        for future in entered:
            process, url = future.result()  # the first failure, once every started node is in the stack
            self.processes.append(process)
            self.urls.append(url)

    def _serve(self) -> contextlib.AbstractContextManager[tuple[Any, str]]:
        return serve_process(self.db, self.root / f"node-{next(self.started)}.log", env=self.env)

    def _start(self) -> tuple[Any, str]:
        started: tuple[Any, str] = self.stack.enter_context(self._serve())
        return started

    def kill(self, n: int) -> None:
        with self.lock:
            self.urls[n] = ""  # clients skip it from now on
        self.processes[n].kill()
        self.processes[n].wait(timeout=10)

    def restart(self, n: int) -> None:
        process, url = self._start()
        with self.lock:
            self.processes[n], self.urls[n] = process, url

    def live(self) -> list[str]:
        with self.lock:
            return [url for url in self.urls if url]


def _port(url: str) -> int:
    port = urlparse(url).port
    assert port is not None
    return port


def throughput(
    nodes: Nodes, blue: Party, red: Party, messages: int, seconds: float, senders: int, via: str, window: int
) -> dict[str, Any]:
    """Red reads on node 2; blue POSTs through nodes 1 and 3, or sends frames on node 1 (``via="socket"``).

    channel.py's senders and receiver.
    """
    tally = channel.Tally()
    ready, done = threading.Event(), threading.Event()
    receiver = threading.Thread(
        target=asyncio.run, args=(channel.receive(_port(nodes.urls[1]), red.token, tally, ready, done),)
    )
    receiver.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("red's WebSocket did not connect")
        started = time.perf_counter()
        budget = threading.Semaphore(messages)
        nonces = itertools.count()
        workers = [
            threading.Thread(
                target=channel.sender,
                args=(
                    _port(nodes.urls[0 if i % 2 == 0 else 2]),
                    blue.token,
                    blue.key,
                    nonces,
                    budget,
                    started + seconds,
                    tally,
                    i,
                ),
            )
            for i in range(senders)
        ]
        if via == "socket":  # one WebSocket on node 1, `send` frames, channel.py's window
            workers = []
            asyncio.run(
                channel.socket_sender(
                    _port(nodes.urls[0]), blue.token, blue.key, messages, started + seconds, tally, window
                )
            )
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        done.set()
        receiver.join()
    answered = sorted(tally.answered_at.values())
    elapsed_s = (answered[-1] - started) if answered else float("nan")
    latencies_ms = np.array(
        [
            (tally.delivered_at[n] - tally.sent_at[n]) * 1000.0
            for n in tally.answered_at
            if n in tally.delivered_at
        ]
    )
    undelivered = len(tally.answered_at.keys() - tally.delivered_at.keys())
    rate = len(answered) / elapsed_s if answered else 0.0
    p99 = _pct(latencies_ms, 99)
    return {
        "via": via,
        "messages": len(answered),
        "senders": senders if via == "post" else 1,
        "window": window if via == "socket" else None,
        "seconds": round(elapsed_s, 3),
        "messages_per_s": round(rate, 1),
        "delivery_p50_ms": _pct(latencies_ms, 50),
        "delivery_p99_ms": p99,
        "errors": sum(tally.errors.values()) + undelivered,
        "error_kinds": dict(tally.errors) | ({"undelivered": undelivered} if undelivered else {}),
        "rate_vs_target": round(rate / TARGET_MESSAGES_PER_S, 3),
        "p99_vs_target": None if p99 is None else round(p99 / TARGET_P99_MS, 3),
    }


def _pct(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values.size else None


@dataclass
class Client:
    """A red ``/v1/events`` socket that moves to another live node, with its last event id, when it drops."""

    token: str
    nodes: Nodes
    first: str
    texts: list[str] = field(default_factory=list)
    arrived_at: list[float] = field(default_factory=list)
    last_id: int | None = None
    resumes: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    connected: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        url = self.first
        while not self.stop.is_set():
            headers = {"Authorization": f"Bearer {self.token}"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = str(self.last_id)
            try:
                with websocket_connect(
                    url.replace("http", "ws", 1) + "/v1/events", additional_headers=headers, open_timeout=5
                ) as ws:
                    if json.loads(ws.recv(timeout=5)).get("type") != "ready":
                        raise RuntimeError("no ready frame")
                    self.connected.set()
                    while not self.stop.is_set():
                        try:
                            frame = json.loads(ws.recv(timeout=0.1))
                        except TimeoutError:
                            continue
                        if frame.get("type") == "message":
                            with self.lock:
                                self.texts.append(str(frame["message"]["text"]))
                                self.arrived_at.append(time.perf_counter())
                                self.last_id = int(frame["id"])
            except Exception as exc:  # the node died (or refused): move on
                if self.stop.is_set():
                    return
                with self.lock:
                    self.errors.append(type(exc).__name__)
            if self.stop.is_set():
                return
            live = [u for u in self.nodes.live() if u != url] or self.nodes.live()
            if not live:
                time.sleep(0.05)
                continue
            url = live[0]
            self.resumes += 1

    def caught_up_at(self, needed: set[str]) -> float | None:
        """When it first held every text of ``needed``; None while it does not."""
        with self.lock:
            missing = set(needed)
            for text, at in zip(self.texts, self.arrived_at, strict=True):
                missing.discard(text)
                if not missing:
                    return at
        return None

    def duplicates(self) -> int:
        with self.lock:
            return len(self.texts) - len(set(self.texts))


def failover(
    nodes: Nodes, blue: Party, red: Party, kills: int, clients: int, interval_s: float
) -> dict[str, Any]:
    """SIGKILL a node holding ``clients`` of red's sockets, ``kills`` times: kill to each client caught up."""
    times_s: list[float] = []
    rounds: list[dict[str, Any]] = []
    sent = itertools.count()
    for k in range(kills):
        victim = k % NODES
        sender_node = (victim + 1) % NODES
        held = [Client(red.token, nodes, nodes.urls[victim]) for _ in range(clients)]
        threads = [threading.Thread(target=c.run, daemon=True) for c in held]
        for thread in threads:
            thread.start()
        for client in held:
            if not client.connected.wait(30):
                raise RuntimeError("a client did not connect")
        answered: list[tuple[float, str]] = []
        stop_sending = threading.Event()

        sending = threading.Thread(
            target=keep_sending,
            args=(nodes.urls[sender_node], blue, red.name, sent, interval_s, answered, stop_sending),
            daemon=True,
        )
        sending.start()
        time.sleep(1.0)  # messages flowing to every client
        killed_at = time.perf_counter()
        nodes.kill(victim)
        deadline = killed_at + CATCH_UP_TIMEOUT_S
        caught: list[float | None] = [None] * clients
        while time.perf_counter() < deadline and None in caught:
            time.sleep(0.02)
            before = {text for at, text in list(answered) if at < killed_at}
            after = [text for at, text in list(answered) if at > killed_at]
            if not after:
                continue
            needed = before | {after[0]}
            for i, client in enumerate(held):
                if caught[i] is None:
                    caught[i] = client.caught_up_at(needed)
        stop_sending.set()
        sending.join(timeout=10)
        time.sleep(0.5)  # a duplicate, if one were coming
        for client in held:
            client.stop.set()
        for thread in threads:
            thread.join(timeout=10)
        took = [None if at is None else at - killed_at for at in caught]
        times_s.extend(t for t in took if t is not None)
        rounds.append(
            {
                "killed_node": victim + 1,
                "caught_up_s": [None if t is None else round(t, 3) for t in took],
                "duplicates": sum(c.duplicates() for c in held),
                "resumes": sum(c.resumes for c in held),
                "drops": sorted({e for c in held for e in c.errors}),
            }
        )
        if k + 1 < kills:
            nodes.restart(victim)
    values = np.array(times_s)
    p99 = None if not values.size else round(float(np.percentile(values, 99)), 3)
    return {
        "kills": kills,
        "clients": clients,
        "failover_p50_s": None if not values.size else round(float(np.percentile(values, 50)), 3),
        "failover_p99_s": p99,
        "failover_max_s": None if not values.size else round(float(values.max()), 3),
        "not_caught_up": sum(r["caught_up_s"].count(None) for r in rounds),
        "duplicates": sum(r["duplicates"] for r in rounds),
        "rounds": rounds,
        "p99_vs_target": None if p99 is None else round(p99 / TARGET_FAILOVER_S, 3),
    }


def keep_sending(
    url: str,
    sender: Party,
    to: str,
    numbers: Iterator[int],
    interval_s: float,
    answered: list[tuple[float, str]],
    stop: threading.Event,
) -> None:
    """Send a message every ``interval_s`` until ``stop``; each 201 goes into ``answered`` with its time."""
    while not stop.is_set():
        text = f"failover-{next(numbers)}"
        try:
            channel_send(url, sender, to, text)
            answered.append((time.perf_counter(), text))
        except (OSError, RuntimeError):
            pass
        time.sleep(interval_s)


def channel_send(url: str, sender: Party, to: str, text: str) -> None:
    """POST one signed FREE message; RuntimeError unless 201."""
    import urllib.request

    from deconflict.channel.messages import MessageContent, sign_content

    nonce = f"cluster-{text}"
    content = MessageContent(sender.name, to, "FREE", {}, text, None, nonce)
    body: dict[str, Any] = {
        "to": to,
        "code": "FREE",
        "params": {},
        "text": text,
        "reply_by": None,
        "nonce": nonce,
        "signature": sign_content(content, sender.key),
    }
    request = urllib.request.Request(url + "/v1/messages", data=json.dumps(body).encode(), method="POST")
    request.add_header("Authorization", f"Bearer {sender.token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 201:
            raise RuntimeError(f"HTTP {response.status}")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_tree_cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of running processes (from /proc; 0 for one already gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster's pid and its backends' (children of the postmaster)."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return []
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(stat.parent.name))
    return [postmaster, *children]


@dataclass(frozen=True)
class Servers:
    """Running servers to use instead of starting new ones: PostgreSQL, an empty database on it, NATS."""

    database: PostgresServer
    url: str
    nats: NatsCluster


@contextlib.contextmanager
def cluster(root: Path, servers: Servers | None = None) -> Iterator[tuple[Nodes, Party, Party, Any, Any]]:
    """PostgreSQL, 3 NATS servers (started, unless ``servers`` are given) and 3 nodes; blue and red
    registered."""
    with contextlib.ExitStack() as stack:
        if servers is None:
            database = stack.enter_context(postgres_server())
            nats = stack.enter_context(nats_cluster())
            url = database.url()
        else:
            database, url, nats = servers.database, servers.url, servers.nats
        key = root / "audit-key.pem"
        before = os.environ.get("DECONFLICT_AUDIT_KEY_PATH")
        os.environ["DECONFLICT_AUDIT_KEY_PATH"] = str(key)  # party add (run in this process) needs it too
        try:
            blue, red = new_party(url, root, "blue"), new_party(url, root, "red")
        finally:
            if before is None:
                del os.environ["DECONFLICT_AUDIT_KEY_PATH"]
            else:
                os.environ["DECONFLICT_AUDIT_KEY_PATH"] = before
        nodes = Nodes(url, root, _node_env(nats.urls, key), stack)
        yield nodes, blue, red, database, nats


def run(
    messages: int,
    seconds: float,
    senders: int,
    kills: int,
    clients: int,
    interval_s: float,
    via: str = "post",
    window: int = 32,
    servers: Servers | None = None,
) -> dict[str, Any]:
    """Both phases on one cluster (on ``servers`` when given); the figures as one document."""
    load_before = os.getloadavg()
    wall_started = time.perf_counter()
    own_started = time.process_time()
    with (
        tempfile.TemporaryDirectory(prefix="deconflict-bench-cluster-") as tmp,
        cluster(Path(tmp), servers) as (
            nodes,
            blue,
            red,
            database,
            nats,
        ),
    ):

        def servers_cpu_s() -> dict[str, float]:
            return {
                "nodes": _process_tree_cpu_s([p.pid for p in nodes.processes]),
                "postgresql": _process_tree_cpu_s(_postgres_pids(database.data_dir)),
                "nats": _process_tree_cpu_s([n.process.pid for n in nats.nodes if n.process]),
            }

        cpu_before = servers_cpu_s()
        measured = throughput(nodes, blue, red, messages, seconds, senders, via, window)
        cpu_after = servers_cpu_s()
        measured["servers_cpu_by_kind_s"] = {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_after}
        measured["servers_cpu_s"] = round(sum(measured["servers_cpu_by_kind_s"].values()), 2)
        measured["cpu_ms_per_message"] = (
            round(measured["servers_cpu_s"] * 1000.0 / measured["messages"], 3)
            if measured["messages"]
            else None
        )
        failed_over = failover(nodes, blue, red, kills, clients, interval_s)
    return {
        "benchmark": "cluster",
        "nodes": NODES,
        "nats_servers": 3,
        "throughput": measured,
        "failover": failed_over,
        "targets": {
            "messages_per_s": TARGET_MESSAGES_PER_S,
            "delivery_p99_ms": TARGET_P99_MS,
            "failover_p99_s": TARGET_FAILOVER_S,
        },
        "wall_s": round(time.perf_counter() - wall_started, 1),
        "benchmark_cpu_s": round(time.process_time() - own_started, 2),
        "children_cpu_s": round(_children_cpu_s(), 2),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the figures (one JSON document with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=3000, help="messages to send at most (throughput)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time to send for at most (throughput)")
    parser.add_argument(
        "--senders", type=int, default=8, help="concurrent senders, alternately on nodes 1 and 3"
    )
    parser.add_argument(
        "--kills", type=int, default=5, help="nodes SIGKILLed, one after the other (failover)"
    )
    parser.add_argument("--clients", type=int, default=4, help="red sockets on the node killed each time")
    parser.add_argument(
        "--interval-ms", type=float, default=50.0, help="failover: time between blue's messages"
    )
    parser.add_argument(
        "--via",
        choices=("post", "socket"),
        default="post",
        help="throughput: POST on nodes 1 and 3 (--senders connections), or frames on a WebSocket on node 1",
    )
    parser.add_argument("--window", type=int, default=32, help="with --via socket: unanswered frames at most")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if min(args.messages, args.senders, args.kills, args.clients) < 1 or args.seconds <= 0:
        parser.error("--messages, --seconds, --senders, --kills and --clients must be positive")
    figures = run(
        args.messages,
        args.seconds,
        args.senders,
        args.kills,
        args.clients,
        args.interval_ms / 1000.0,
        args.via,
        args.window,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        t, f = figures["throughput"], figures["failover"]
        print(
            f"3 nodes, cross-node ({t['via']}): {t['messages_per_s']} msg/s "
            f"(target {TARGET_MESSAGES_PER_S:.0f}), "
            f"delivery p50 {t['delivery_p50_ms']} ms p99 {t['delivery_p99_ms']} ms "
            f"(target {TARGET_P99_MS:.0f}), errors {t['errors']}, servers' CPU {t['servers_cpu_s']} s\n"
            f"failover over {f['kills']} kills x {f['clients']} clients: p50 {f['failover_p50_s']} s "
            f"p99 {f['failover_p99_s']} s (target {TARGET_FAILOVER_S:.0f}), "
            f"not caught up {f['not_caught_up']}, duplicates {f['duplicates']}\n"
            f"load average {figures['load_average_before']} -> "
            f"{figures['load_average_after']} on {figures['cpus']} CPUs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
