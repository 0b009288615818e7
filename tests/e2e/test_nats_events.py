"""Events cross nodes through NATS JetStream: once each, resumed on another node, kept through quorum loss.

Three ``deconflict serve`` nodes share one PostgreSQL database and the 3-server
JetStream cluster of ``tests/cluster/servers.py`` (``--nats``). Blue sends
signed messages to red through node 1 while red's ``/v1/events`` socket is on
node 2: each reaches red once, in order (the ids red is shown, opaque, decode with
the database's secret to outbox rows that grow). Red then loses its node
(the socket closes), blue sends more, and red reconnects to node 3 with its
last event id (``Last-Event-ID``), as node 2 showed it: node 3 decodes it alike (the
secret is the database's), and red gets every later message once, no gap, no
duplicate, then the live ones. With two of the three NATS servers killed the
stream has no quorum: filings and messages still commit (201), and once the
servers are back red is pushed every message it missed, in order, exactly once.

When the node that relays is killed (SIGKILL), another takes the relay over,
and red, on a third node, still gets every message once and in order.

Run with ``-s`` to see the cross-node delivery latency (sent to pushed, p50/p99).
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from deconflict.channel.messages import MessageContent
from deconflict.channel.public_ids import NO_ROW, IdKind, PublicIds
from tests.builders import box_feature, plan, signed_message_body
from tests.cluster.nodes import events_socket, node_processes, nodes
from tests.cluster.servers import NatsCluster
from tests.servers import Party, call_api, new_party

WAIT_S = 20.0
LATENCY_MESSAGES = 100
_nonces = itertools.count()


def send(url: str, sender: Party, to: str, text: str) -> float:
    """POST a signed ``FREE`` message; asserts 201; when the answer came (``perf_counter``)."""
    content = MessageContent(sender.name, to, "FREE", {}, text, None, f"nats-test-nonce-{next(_nonces):08d}")
    status, body = call_api(
        url, sender.token, "POST", "/v1/messages", signed_message_body(content, sender.key)
    )
    assert status == 201, body
    return time.perf_counter()


def event_rows(postgres_url: str, frames: list[dict[str, Any]]) -> list[int]:
    """The outbox rows of the frames' events: their shown ids decoded with the database's secret."""
    with psycopg.connect(postgres_url) as db:
        found = db.execute("SELECT secret FROM public_id_secret").fetchone()
    assert found is not None
    ids = PublicIds(bytes.fromhex(str(found[0])))
    return [ids.row(IdKind.EVENT, int(f["id"])) for f in frames]


def assert_once_in_order(postgres_url: str, frames: list[dict[str, Any]], texts: list[str]) -> None:
    """Exactly ``texts``, in order, with event ids that decode to growing rows (and are not those rows)."""
    assert [str(f["message"]["text"]) for f in frames] == texts
    rows = event_rows(postgres_url, frames)
    assert NO_ROW not in rows and rows == sorted(set(rows)), rows
    assert all(int(f["id"]) != row for f, row in zip(frames, rows, strict=True))


@pytest.fixture
def audit_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = tmp_path / "server-audit-key.pem"
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(key))
    return key


def _log(tmp_path: Path, n: int) -> str:
    return (tmp_path / f"node-{n + 1}.log").read_text(errors="replace")


def relaying_node(tmp_path: Path, count: int) -> int:
    """The index of the node whose relay holds the lock (its log says so), waiting for one."""
    deadline = time.monotonic() + WAIT_S
    while True:
        for n in range(count):
            if "this node relays" in _log(tmp_path, n):
                return n
        assert time.monotonic() < deadline, "no node relays"
        time.sleep(0.05)


def _percentile_ms(values_s: list[float], q: int) -> float:
    return statistics.quantiles(values_s, n=100, method="inclusive")[q - 1] * 1000.0


def test_events_cross_nodes_once_and_resume_on_another_node(
    fresh_postgres_url: str, nats: NatsCluster, tmp_path: Path, audit_key: Path
) -> None:
    started = time.monotonic()
    blue, red = (new_party(fresh_postgres_url, tmp_path, name) for name in ("blue", "red"))
    with nodes(fresh_postgres_url, tmp_path, nats, 3) as (node_1, node_2, node_3):
        # A conflict found on node 1 reaches red on node 2, and blue on node 3, once each.
        window = {"time_start": "2027-01-01T12:00:00Z", "time_end": "2027-01-01T13:00:00Z"}
        with events_socket(node_2, red) as red_socket, events_socket(node_3, blue) as blue_socket:
            status, _ = call_api(
                node_2,
                red.token,
                "POST",
                "/v1/operations",
                plan("red-op", box_feature("v", 10, 45, 10.1, 45.1, **window)),
            )
            assert status == 201
            status, filed = call_api(
                node_1,
                blue.token,
                "POST",
                "/v1/operations",
                plan("blue-op", box_feature("v", 10.05, 45.05, 10.2, 45.2, **window)),
            )
            assert status == 201 and len(filed["conflicts"]) == 1, filed

            # Messages sent through node 1 reach red on node 2 once each, in order.
            sent_at = []
            texts = [f"m{n}" for n in range(LATENCY_MESSAGES)]
            for text in texts:
                sent_at.append(send(node_1, blue, "red", text))
            red_socket.wait_for(len(texts))
            time.sleep(0.5)  # a duplicate, if one were coming
            assert not red_socket.errors, red_socket.errors
            assert_once_in_order(fresh_postgres_url, red_socket.messages(), texts)
            with red_socket.lock:
                pushed_at = [t for t, f in red_socket.frames if f["type"] == "message"]
                conflicts = [f for _, f in red_socket.frames if f["type"] == "conflict"]
            latencies_s = [p - s for p, s in zip(pushed_at, sent_at, strict=True)]
            assert len(conflicts) == 1 and conflicts[0]["conflict"]["other_party"] == "blue", conflicts
            deadline = time.monotonic() + WAIT_S
            while not any(f["type"] == "conflict" for _, f in blue_socket.frames):
                assert time.monotonic() < deadline, "blue was not pushed its conflict"
                time.sleep(0.01)
            assert [f["type"] for _, f in blue_socket.frames] == ["conflict"]
            last_id = int(red_socket.messages()[60]["id"])  # red got up to m60 before losing its node

        # Red's node is gone; blue sends more; red resumes on node 3 from its last event id.
        missed = [f"late{n}" for n in range(20)]
        for text in missed:
            send(node_1, blue, "red", text)
        with events_socket(node_3, red, last_event_id=last_id) as resumed:
            resumed.wait_for(len(texts) - 61 + len(missed))
            live = [f"live{n}" for n in range(5)]
            for text in live:
                send(node_2, blue, "red", text)
            resumed.wait_for(len(texts) - 61 + len(missed) + len(live))
            time.sleep(0.5)
            assert_once_in_order(fresh_postgres_url, resumed.messages(), texts[61:] + missed + live)
            last_row, first_row = event_rows(fresh_postgres_url, [{"id": last_id}, resumed.messages()[0]])
            assert first_row > last_row
    print(
        f"\n{LATENCY_MESSAGES} messages sent on node 1, pushed on node 2: "
        f"p50 {_percentile_ms(latencies_s, 50):.1f} ms, p99 {_percentile_ms(latencies_s, 99):.1f} ms"
    )
    assert time.monotonic() - started < 60.0


def test_with_two_of_three_nats_servers_down_filings_commit_and_events_follow_in_order(
    fresh_postgres_url: str, nats: NatsCluster, tmp_path: Path, audit_key: Path
) -> None:
    started = time.monotonic()
    blue, red = (new_party(fresh_postgres_url, tmp_path, name) for name in ("blue", "red"))
    with (
        nodes(fresh_postgres_url, tmp_path, nats, 2) as (node_1, node_2),
        events_socket(node_2, red) as socket,
    ):
        send(node_1, blue, "red", "before")
        socket.wait_for(1)
        down = nats.nodes[1:]
        try:
            for server in down:
                nats.kill(server)
            during = [f"during{n}" for n in range(10)]
            for text in during:
                send(node_1, blue, "red", text)  # committed: 201 without the stream
            window = {"time_start": "2027-02-01T12:00:00Z", "time_end": "2027-02-01T13:00:00Z"}
            status, filed = call_api(
                node_1,
                blue.token,
                "POST",
                "/v1/operations",
                plan("blue-q", box_feature("v", 20, 45, 20.1, 45.1, **window)),
            )
            assert status == 201, filed
        finally:
            for server in down:
                nats.start(server)
        nats.wait_ready()
        socket.wait_for(1 + len(during), timeout_s=45.0)
        send(node_1, blue, "red", "after")
        socket.wait_for(2 + len(during))
        time.sleep(0.5)
        assert not socket.errors, socket.errors
        assert_once_in_order(fresh_postgres_url, socket.messages(), ["before", *during, "after"])
    assert time.monotonic() - started < 90.0


def test_when_the_relaying_node_dies_another_relays_and_nothing_is_lost_or_doubled(
    fresh_postgres_url: str, nats: NatsCluster, tmp_path: Path, audit_key: Path
) -> None:
    started = time.monotonic()
    blue, red = (new_party(fresh_postgres_url, tmp_path, name) for name in ("blue", "red"))
    with node_processes(fresh_postgres_url, tmp_path, nats, 3) as running:
        relay = relaying_node(tmp_path, 3)
        (_, sender), (_, reader) = [running[n] for n in range(3) if n != relay]
        with events_socket(reader, red) as socket:
            texts = [f"m{n}" for n in range(40)]
            for text in texts[:20]:
                send(sender, blue, "red", text)
            running[relay][0].kill()  # SIGKILL: its database connection, and the relay's lock, go with it
            for text in texts[20:]:
                send(sender, blue, "red", text)
            socket.wait_for(len(texts))
            time.sleep(0.5)  # a duplicate, if one were coming
            assert not socket.errors, socket.errors
            assert_once_in_order(fresh_postgres_url, socket.messages(), texts)
        taken_over = [n for n in range(3) if n != relay and "this node relays" in _log(tmp_path, n)]
        assert len(taken_over) == 1, "one other node took the relay over"
    assert time.monotonic() - started < 60.0
