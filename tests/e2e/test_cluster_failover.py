"""Failover under load: a service node and a NATS server SIGKILLed mid-load, nothing lost, nothing twice.

Three ``deconflict serve`` nodes share one PostgreSQL database and the 3-server
JetStream cluster of ``tests/cluster/servers.py``. Three parties each keep a
``/v1/events`` socket, party k's on node k; a bounded load loop (filings that
overlap the other parties', signed messages, acknowledgements of received
messages) goes round the nodes, and a request that meets a broken connection or
a 503 is tried on the next node (its outcome unknown, only what got a 2xx is
recorded). Mid-load node 1 and NATS server 2 are SIGKILLed; both are restarted
while the load goes on. Then every 2xx answer (operation, conflict, message,
acknowledgement) is found exactly once through the REST routes; each party
received each event id once, and every message, conflict and acknowledgement of
its own as one event; the party whose node died resumed on another node
(``Last-Event-ID``: it reconnects only once the other parties were pushed their
events, so what it missed was relayed while it was away); and ``deconflict audit verify``
passes on the database.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import urllib.error
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect as websocket_connect

from deconflict.channel.messages import MessageContent
from tests.builders import box_feature, plan, signed_message_body
from tests.cli.conftest import run_main
from tests.cluster.nodes import WAIT_S, node_env, node_processes
from tests.cluster.servers import NatsCluster
from tests.servers import Party, call_api, new_party, serve_process

PARTIES = ("blue", "red", "green")
ROUNDS = 30
"""Load rounds; each party files, sends and acknowledges once a round (at most 90 requests each kind)."""
KILL_AT = 8
RESUME_AT = 11
"""The party whose node was killed reconnects only then, once the others were pushed their events:
it has missed three rounds' events, already relayed."""
RESTART_AT = 16
LOAD_S = 25.0
"""The load stops after this long even if rounds are left (not before a round on the restarted node)."""
REPLY_BY = "2099-01-01T00:00:00Z"
WINDOW = {"time_start": "2027-03-01T12:00:00Z", "time_end": "2027-03-01T13:00:00Z"}
_nonces = itertools.count()


@dataclass
class Answered:
    """What got a 2xx: ids by party, each recorded once per answer (a list shows a double answer)."""

    operations: dict[str, list[str]] = field(default_factory=dict)
    conflicts: dict[str, list[int]] = field(default_factory=dict)  # each side's conflict ids, from filings
    messages: dict[str, list[int]] = field(default_factory=dict)  # by sender
    acks: dict[str, list[int]] = field(default_factory=dict)  # message ids, by the party that acknowledged
    retried: int = 0


@dataclass
class ResumingClient:
    """A party's ``/v1/events`` socket read by a thread that reconnects, to the next node, when its node dies.

    Every reconnection gives the last event id received (``Last-Event-ID``), once ``may_reconnect`` is set.
    """

    party: Party
    urls: list[str]  # the nodes' URLs, shared with the test (a restarted node's is replaced)
    start: int
    frames: list[dict[str, Any]] = field(default_factory=list)
    connected_to: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)
    may_reconnect: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.may_reconnect.set()

    def last_id(self) -> int | None:
        with self.lock:
            return int(self.frames[-1]["id"]) if self.frames else None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [frame for frame in self.frames if frame["type"] == kind]

    def run(self) -> None:
        for n in itertools.count(self.start):
            while not self.may_reconnect.wait(0.05):
                if self.stop.is_set():
                    return
            if self.stop.is_set():
                return
            url = self.urls[n % len(self.urls)]
            headers = {"Authorization": f"Bearer {self.party.token}"}
            last_id = self.last_id()
            if last_id is not None:
                headers["Last-Event-ID"] = str(last_id)
            try:
                with websocket_connect(
                    url.replace("http", "ws", 1) + "/v1/events", additional_headers=headers, open_timeout=5
                ) as ws:
                    ready = json.loads(ws.recv(timeout=5))
                    if ready != {"type": "ready", "party": self.party.name}:
                        self.errors.append(f"{url}: {ready}")
                        return
                    self.connected_to.append(url)
                    self.ready.set()
                    while not self.stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            frame = json.loads(ws.recv(timeout=0.1))
                            with self.lock:
                                self.frames.append(frame)
            except (OSError, TimeoutError, WebSocketException):
                if self.stop.is_set():
                    return
                time.sleep(0.1)  # its node is gone: the next one


@pytest.fixture
def audit_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = tmp_path / "server-audit-key.pem"
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(key))
    return key


def _on_some_node(
    urls: list[str], first: int, party: Party, method: str, path: str, body: object, answered: Answered
) -> tuple[int, Any]:
    """The request on node ``first``, else on the next ones while a node is gone or answers 503."""
    deadline = time.monotonic() + WAIT_S
    for n in itertools.count(first):
        try:
            status, found = call_api(urls[n % len(urls)], party.token, method, path, body)
        except (ConnectionError, urllib.error.URLError, TimeoutError):
            status, found = 0, None
        if status not in (0, 503):
            return status, found
        answered.retried += 1
        assert time.monotonic() < deadline, f"{method} {path}: no node answered"
        time.sleep(0.05)
    raise AssertionError("unreachable")


def _filing(n: int, k: int) -> dict[str, Any]:
    """Party ``k``'s ``n``-th plan: it overlaps the other parties' ``n-1``, ``n`` and ``n+1``-th ones."""
    lon = 10.0 + n * 0.05 + k * 0.001
    return plan(f"op-{k}-{n}", box_feature("v", lon, 45.0, lon + 0.06, 45.05, **WINDOW))


def _round(n: int, parties: list[Party], urls: list[str], answered: Answered) -> None:
    for k, me in enumerate(parties):
        first = n + k
        status, filed = _on_some_node(urls, first, me, "POST", "/v1/operations", _filing(n, k), answered)
        if status == 201:
            answered.operations.setdefault(me.name, []).append(filed["operation"]["id"])
            for conflict in filed["conflicts"]:
                answered.conflicts.setdefault(me.name, []).append(int(conflict["id"]))
        else:
            assert status == 409, (status, filed)  # a retry of a filing that committed before its node died
        to = parties[(k + 1) % len(parties)]
        content = MessageContent(
            me.name, to.name, "FREE", {}, f"{me.name} {n}", REPLY_BY, f"failover-nonce-{next(_nonces):08d}"
        )
        body = signed_message_body(content, me.key)
        status, sent = _on_some_node(urls, first + 1, me, "POST", "/v1/messages", body, answered)
        if status == 201:
            answered.messages.setdefault(me.name, []).append(int(sent["id"]))
        else:
            assert status == 409, (status, sent)  # a replayed nonce: the first try committed
        status, inbox = _on_some_node(
            urls, first + 2, me, "GET", "/v1/messages?box=inbox&state=delivered&limit=2", None, answered
        )
        assert status == 200, inbox
        for message in inbox:
            path = f"/v1/messages/{int(message['id'])}/ack"
            status, acked = _on_some_node(urls, first, me, "POST", path, {"level": "read"}, answered)
            if status == 200:
                answered.acks.setdefault(me.name, []).append(int(acked["id"]))
            else:
                assert status == 409, (status, acked)  # acknowledged by a try whose answer was lost


def _wait(condition: Any, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout_s:g} s for {what}"
        time.sleep(0.05)


def _listed(url: str, party: Party, path: str) -> list[Any]:
    status, found = call_api(url, party.token, "GET", path)
    assert status == 200, found
    assert isinstance(found, list)
    return found


def test_a_service_node_and_a_nats_server_killed_mid_load_lose_and_double_nothing(
    fresh_postgres_url: str, nats: NatsCluster, tmp_path: Path, audit_key: Path
) -> None:
    started = time.monotonic()
    db = fresh_postgres_url
    parties = [new_party(db, tmp_path, name) for name in PARTIES]
    answered = Answered()
    killed_nats = nats.nodes[1]
    with contextlib.ExitStack() as stack, node_processes(db, tmp_path, nats, 3) as running:
        urls = [url for _, url in running]
        clients = [ResumingClient(party, urls, k) for k, party in enumerate(parties)]
        readers = [threading.Thread(target=client.run, daemon=True) for client in clients]
        for reader in readers:
            reader.start()
        try:
            for client in clients:
                assert client.ready.wait(WAIT_S), client.errors
            load_started = time.monotonic()
            for n in range(ROUNDS):
                if n > RESTART_AT and time.monotonic() - load_started > LOAD_S:
                    break
                if n == KILL_AT:
                    clients[0].may_reconnect.clear()
                    running[0][0].kill()  # SIGKILL: node 1 and its sockets go, no goodbye
                    nats.kill(killed_nats)
                if n == RESUME_AT:  # once the others were pushed theirs: what it missed was relayed
                    for client, party in zip(clients[1:], parties[1:], strict=True):
                        _wait(lambda c=client, p=party: _caught_up(urls[1], p, c, parties, answered), "relay")
                    clients[0].may_reconnect.set()
                if n == RESTART_AT:
                    nats.start(killed_nats)
                    log = tmp_path / "node-1-restarted.log"
                    _, urls[0] = stack.enter_context(serve_process(db, log, env=node_env(nats)))
                _round(n, parties, urls, answered)
            rounds_done = n + 1
            nats.wait_ready()
            for client, party in zip(clients, parties, strict=True):
                _wait(lambda c=client, p=party: _caught_up(urls[1], p, c, parties, answered), "events pushed")
            time.sleep(0.5)  # a duplicate, if one were coming
        finally:
            for client in clients:
                client.stop.set()
            for reader in readers:
                reader.join(timeout=WAIT_S)
            for client in clients:
                client.may_reconnect.set()
            if killed_nats.process is None:
                nats.start(killed_nats)
        _check_rest(urls[1], parties, answered)
        _check_events(urls[1], parties, clients, answered)
        assert running[0][1] in clients[0].connected_to[:1]
        assert any(url != running[0][1] for url in clients[0].connected_to[1:]), clients[0].connected_to
    nats.wait_ready()
    key = tmp_path / "audit.pub.pem"
    code, _, err = run_main("audit", "key", "--db", db, "--out", str(key))
    assert code == 0, err
    code, out, err = run_main("audit", "verify", "--db", db, "--key", str(key))
    assert code == 0, out + err
    elapsed_s = time.monotonic() - started
    print(
        f"\nfailover: {rounds_done} rounds, {answered.retried} requests retried on another node, "
        f"{elapsed_s:.1f} s"
    )
    assert elapsed_s < 60.0


def _caught_up(
    url: str, party: Party, client: ResumingClient, parties: list[Party], answered: Answered
) -> bool:
    """Whether ``client`` was pushed every message sent to its party, its conflicts and its read receipts."""
    received = {
        int(m["id"])
        for other in parties
        if other is not party
        for m in _listed(url, other, "/v1/messages?box=outbox&limit=1000")
        if m["to"] == party.name
    }
    conflicts = {int(c["id"]) for c in _listed(url, party, "/v1/conflicts")}
    acked = {message_id for ids in answered.acks.values() for message_id in ids}
    read = acked & set(answered.messages.get(party.name, []))
    receipts = client.of_type("acknowledgement")
    return (
        received <= {int(f["message"]["id"]) for f in client.of_type("message")}
        and conflicts <= {int(f["conflict"]["id"]) for f in client.of_type("conflict")}
        and read <= {int(f["message"]["id"]) for f in receipts if f["message"]["state"] == "read"}
    )


def _once(values: list[Any]) -> set[Any]:
    """``values`` as a set, asserting none is there twice."""
    twice = sorted(value for value, count in Counter(values).items() if count > 1)
    assert not twice, f"found twice: {twice}"
    return set(values)


def _check_rest(url: str, parties: list[Party], answered: Answered) -> None:
    """Every 2xx is found, once, through the REST routes."""
    for party in parties:
        name = party.name
        operations = _once([op["id"] for op in _listed(url, party, "/v1/operations")])
        assert _once(answered.operations.get(name, [])) <= operations
        conflicts = _once([int(c["id"]) for c in _listed(url, party, "/v1/conflicts")])
        assert _once(answered.conflicts.get(name, [])) <= conflicts
        outbox = _once([int(m["id"]) for m in _listed(url, party, "/v1/messages?box=outbox&limit=1000")])
        assert _once(answered.messages.get(name, [])) <= outbox
        inbox = {int(m["id"]): m for m in _listed(url, party, "/v1/messages?box=inbox&limit=1000")}
        for message_id in _once(answered.acks.get(name, [])):
            assert inbox[message_id]["state"] == "read", inbox[message_id]


def _check_events(url: str, parties: list[Party], clients: list[ResumingClient], answered: Answered) -> None:
    """Each party got each event id once: every message it received, conflict it has and read receipt."""
    acked = {message_id for ids in answered.acks.values() for message_id in ids}
    for party, client in zip(parties, clients, strict=True):
        assert not client.errors, client.errors
        _once([int(frame["id"]) for frame in client.frames])
        pushed = _once([int(f["message"]["id"]) for f in client.of_type("message")])
        inbox = {int(m["id"]) for m in _listed(url, party, "/v1/messages?box=inbox&limit=1000")}
        assert pushed == inbox, (sorted(inbox - pushed), sorted(pushed - inbox))
        conflicts = _once([int(f["conflict"]["id"]) for f in client.of_type("conflict")])
        assert conflicts == {int(c["id"]) for c in _listed(url, party, "/v1/conflicts")}
        outbox = {int(m["id"]) for m in _listed(url, party, "/v1/messages?box=outbox&limit=1000")}
        receipts = [
            (int(f["message"]["id"]), f["message"]["state"]) for f in client.of_type("acknowledgement")
        ]
        read = {message_id for message_id, state in _once(receipts) if state == "read"}
        assert read == acked & outbox, (sorted(acked & outbox - read), sorted(read - acked))
