"""PostgreSQL restarted under a serving node: 503 with Retry-After meanwhile, no lost 2xx, no node restart.

A private PostgreSQL server (the session's is shared by other tests) serves one
``deconflict serve`` process; two parties' writers file operations and send
signed messages in a bounded loop. PostgreSQL is stopped mid-load
(``pg_ctl stop -m fast``) and started again on the same data: meanwhile every
request the node cannot serve is answered 503 with ``Retry-After`` and a JSON
``detail`` (never a 500), a message sent on an open WebSocket is refused with 503
and ``retry_after_s`` (the socket stays open), ``/v1/ready`` fails, and afterwards
the same node serves again. Every filing and message that got a 2xx (or a ``sent``
frame) is then listed exactly once.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websocket_connect

from deconflict.channel.messages import MessageContent
from deconflict.client import ChannelClient, ChannelError
from tests.builders import box_feature, plan, signed_message_body
from tests.cluster.servers import PostgresServer, ServerUnavailable, postgres_server, unavailable
from tests.servers import Party, new_party, serve_process

PARTIES = ("blue", "red")
ROUNDS = 400
"""The most rounds a writer runs (each: one filing, one signed message); the test stops them sooner."""
POOL_TIMEOUT_S = 2
REPLY_BY = "2099-01-01T00:00:00Z"
WAIT_S = 30.0


@dataclass
class Seen:
    """What the writers were answered (one lock: both writer threads add to it)."""

    operations: set[tuple[str, str]] = field(default_factory=set)  # (party, operation id) answered 201
    messages: set[tuple[str, str]] = field(default_factory=set)  # (sender, text) answered 2xx
    unavailable: list[tuple[str, str | None, Any]] = field(default_factory=list)  # (what, Retry-After, body)
    failures: list[str] = field(default_factory=list)  # anything else: a test failure
    lock: threading.Lock = field(default_factory=threading.Lock)

    def successes(self) -> int:
        with self.lock:
            return len(self.operations) + len(self.messages)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own: it is stopped and started under a node."""
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        unavailable(str(exc), "DECONFLICT_REQUIRE_POSTGRES")


def _request(
    url: str, token: str, method: str, path: str, body: object = None
) -> tuple[int, str | None, Any]:
    """One request: its status, its ``Retry-After`` header and its JSON body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get("Retry-After"), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After"), json.loads(exc.read() or b"null")


def _ready(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/v1/ready", timeout=20) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _writer(url: str, me: Party, to: str, seen: Seen, stop: threading.Event) -> None:
    """File an operation and send a signed message per round until told to stop; record every answer."""
    client = ChannelClient(url, me.token, private_key_pem=me.key)
    for n in range(ROUNDS):
        if stop.is_set():
            return
        operation_id = f"op-{me.name}-{n}"
        lon = 10.0 + (n % 40) * 0.01
        status, retry_after, body = _request(
            url,
            me.token,
            "POST",
            "/v1/operations",
            plan(operation_id, box_feature("v1", lon, 45.0, lon + 0.02, 45.02)),
        )
        with seen.lock:
            if status == 201:
                seen.operations.add((me.name, operation_id))
            elif status == 503:
                seen.unavailable.append(("filing", retry_after, body))
            else:
                seen.failures.append(f"filing {operation_id}: {status} {body}")
        text = f"{me.name} {n}"
        try:
            client.send(to, "FREE", text=text, reply_by=REPLY_BY)
        except ChannelError as exc:
            with seen.lock:
                if exc.status == 503:
                    seen.unavailable.append(("message", None, {"detail": exc.detail}))
                else:
                    seen.failures.append(f"message {text!r}: {exc.status} {exc.detail}")
        else:
            with seen.lock:
                seen.messages.add((me.name, text))


def _send_on_socket(ws: ClientConnection, me: Party, to: str, text: str) -> dict[str, Any]:
    """Send a signed message on an open ``/v1/events`` socket; the ``sent`` or ``refused`` frame for it."""
    content = MessageContent(
        me.name, to, "FREE", {}, text, REPLY_BY, f"socket-nonce-{text.replace(' ', '-')}"
    )
    ws.send(json.dumps({"type": "send", "ref": text, "message": signed_message_body(content, me.key)}))
    deadline = time.monotonic() + WAIT_S
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("ref") == text:
            return frame


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S:g} s for {what}"
        time.sleep(0.05)


def test_postgresql_restarted_mid_load_answers_503_then_recovers_losing_no_2xx(
    own_postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    db = own_postgres.url()
    key = tmp_path / "server-audit-key.pem"
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(key))
    parties = {name: new_party(db, tmp_path, name) for name in PARTIES}
    rates = ("MESSAGES_PER_MINUTE", "FILINGS_PER_MINUTE")
    env = {
        **os.environ,
        **{f"DECONFLICT_{rate}": "1000000" for rate in rates},
        "DECONFLICT_DB_POOL_TIMEOUT_S": str(POOL_TIMEOUT_S),
    }
    seen = Seen()
    stop = threading.Event()
    with serve_process(db, tmp_path / "serve.log", env=env) as (process, url):
        writers = [
            threading.Thread(target=_writer, args=(url, parties[a], b, seen, stop), daemon=True)
            for a, b in (("blue", "red"), ("red", "blue"))
        ]
        with websocket_connect(
            url.replace("http", "ws", 1) + "/v1/events",
            additional_headers={"Authorization": f"Bearer {parties['blue'].token}"},
            open_timeout=WAIT_S,
        ) as ws:
            assert json.loads(ws.recv(timeout=WAIT_S)) == {"type": "ready", "party": "blue"}
            for writer in writers:
                writer.start()
            try:
                _wait(lambda: seen.successes() >= 10, "the load to start")
                own_postgres.stop()
                assert _ready(url) == 503
                refused = _send_on_socket(ws, parties["blue"], "red", "socket 1")
                assert (refused["type"], refused["status"]) == ("refused", 503), refused
                assert refused["retry_after_s"] == POOL_TIMEOUT_S and "unavailable" in refused["detail"]
                _wait(
                    lambda: len(seen.unavailable) >= 4 or seen.failures,
                    "requests answered 503 during the outage",
                )
                assert not seen.failures, seen.failures[:5]
                assert _ready(url) == 503
                own_postgres.start()
                _wait(lambda: _ready(url) == 200, "/v1/ready to recover")
                after_restart = seen.successes()
                _wait(lambda: seen.successes() >= after_restart + 10, "the node to serve again")
                sent_frame = _send_on_socket(ws, parties["blue"], "red", "socket 2")
                assert sent_frame["type"] == "sent", sent_frame
                with seen.lock:
                    seen.messages.add(("blue", "socket 2"))
            finally:
                stop.set()
                for writer in writers:
                    writer.join(timeout=WAIT_S)
        assert process.poll() is None, "the node must keep running through the outage"
        assert not seen.failures, seen.failures[:5]
        for what, retry_after, body in seen.unavailable:
            assert isinstance(body, dict) and "unavailable" in str(body.get("detail")), (what, body)
            if what == "filing":
                assert retry_after == str(POOL_TIMEOUT_S), (what, retry_after)
        assert any(what == "filing" for what, _, _ in seen.unavailable), seen.unavailable
        for name, party in parties.items():
            status, _, listed = _request(url, party.token, "GET", "/v1/operations")
            assert status == 200, listed
            ids = [op["id"] for op in listed]
            assert len(ids) == len(set(ids))
            answered = {op_id for owner, op_id in seen.operations if owner == name}
            assert answered <= set(ids), sorted(answered - set(ids))
            texts = [m["text"] for m in ChannelClient(url, party.token).all_messages("outbox")]
            sent = {text for sender, text in seen.messages if sender == name}
            missing = sent - set(texts)
            assert not missing, sorted(missing)
            assert all(texts.count(text) == 1 for text in sent), "a message stored twice"
    assert time.monotonic() - started < 90.0
