"""Request limits: body size (413), vertices and volumes (422), message rate (429), event connections.

In process on a TestClient with small limits and the fake clock; over a real
``deconflict serve`` for what only a socket shows: a chunked body without
``Content-Length``, and a WebSocket client that never reads.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from deconflict.channel.messages import MessageContent
from deconflict.config import Settings
from tests.api.conftest import Channel, open_channel, signed_body
from tests.builders import box_feature, feature, plan, polygon_geometry, register_parties, signed_message_body
from tests.servers import serve_process

MAX_REQUEST_BYTES = 64 * 1024
MESSAGES_PER_MINUTE = 5
MAX_VERTICES = 16
MAX_VOLUMES = 3


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Channel]:
    settings = Settings(
        db_path=tmp_path / "channel.db",
        max_request_bytes=MAX_REQUEST_BYTES,
        messages_per_minute=MESSAGES_PER_MINUTE,
        max_vertices_per_ring=MAX_VERTICES,
        max_volumes_per_operation=MAX_VOLUMES,
        events_max_connections_per_party=2,
    )
    with open_channel(settings, "blue", "red") as channel:
        yield channel


def operations(channel: Channel, party: str) -> list[dict[str, Any]]:
    response = channel.client.get("/v1/operations", headers=channel.auth(party))
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.json()
    return listed


def outbox(channel: Channel, party: str) -> list[dict[str, Any]]:
    response = channel.client.get("/v1/messages?box=outbox", headers=channel.auth(party))
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.json()
    return listed


def padded_plan(operation_id: str, total_bytes: int) -> bytes:
    """A valid plan whose JSON is ``total_bytes`` long (padding in a volume's free-form property)."""
    document = plan(operation_id, box_feature("v1", 10.0, 45.0, 10.1, 45.1, note=""))
    bare = len(json.dumps(document).encode())
    document["features"][0]["properties"]["note"] = "x" * (total_bytes - bare)
    encoded = json.dumps(document).encode()
    assert len(encoded) == total_bytes
    return encoded


# --- body size ---------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(limited: Channel) -> None:
    data = padded_plan("op-big", MAX_REQUEST_BYTES + 1)
    headers = limited.auth("blue", content_type="application/json")
    response = limited.client.post("/v1/operations", content=data, headers=headers)
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert f"{MAX_REQUEST_BYTES + 1} bytes" in detail and "max_request_bytes" in detail
    assert operations(limited, "blue") == []


def test_a_body_at_the_limit_reaches_the_route_intact(limited: Channel) -> None:
    data = padded_plan("op-full", MAX_REQUEST_BYTES)
    headers = limited.auth("blue", content_type="application/json")
    response = limited.client.post("/v1/operations", content=data, headers=headers)
    assert response.status_code == 201, response.text
    assert [op["id"] for op in operations(limited, "blue")] == ["op-full"]


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(limited: Channel) -> None:
    chunks_sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 x the limit, unless the server stops reading
            chunks_sent.append(1)
            yield b" " * 4096

    headers = limited.auth("blue", content_type="application/json")
    response = limited.client.post("/v1/operations", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text
    assert "max_request_bytes" in response.json()["detail"]
    assert operations(limited, "blue") == []


# --- vertices and volumes per operation ----------------------------------------------------------------


def test_too_many_vertices_answer_422_naming_the_field(limited: Channel) -> None:
    corners = [[10.0 + 0.01 * i, 45.0 + 0.001 * (i % 2)] for i in range(MAX_VERTICES)]
    ring = [[10.0, 44.9], *corners, [10.2, 44.9], [10.0, 44.9]]
    document = plan("op-many", feature("v1", geometry=polygon_geometry(ring)))
    response = limited.client.post("/v1/operations", json=document, headers=limited.auth("blue"))
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert problems == [
        {
            "msg": f"has {len(ring)} positions, more than the limit of {MAX_VERTICES}",
            "source": "request",
            "record": "feature 0 (id v1)",
            "field": "geometry.coordinates[0]",
        }
    ]
    assert operations(limited, "blue") == []


def test_too_many_volumes_answer_422_naming_the_field(limited: Channel) -> None:
    features = [box_feature(f"v{i}", 10.0 + i, 45.0, 10.5 + i, 45.5) for i in range(MAX_VOLUMES + 1)]
    response = limited.client.post(
        "/v1/operations", json=plan("op-wide", *features), headers=limited.auth("blue")
    )
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert problems == [
        {
            "msg": f"has {MAX_VOLUMES + 1} volumes, more than the limit of {MAX_VOLUMES}",
            "source": "operation op-wide",
            "record": None,
            "field": "features",
        }
    ]
    assert operations(limited, "blue") == []


# --- messages per minute -------------------------------------------------------------------------------


def post_message(channel: Channel, client: TestClient, sender: str, to: str) -> Any:
    signed = signed_body(channel, sender, to=to, code="FREE", params={}, text="rate test", reply_by=None)
    return client.post("/v1/messages", json=signed, headers=channel.auth(sender))


def test_a_party_over_its_message_rate_gets_429_with_retry_after(limited: Channel) -> None:
    for _ in range(MESSAGES_PER_MINUTE):
        assert post_message(limited, limited.client, "blue", "red").status_code == 201
        limited.clock.advance(1.0)
    # Another connection of the same party shares the count; the refusal stores nothing.
    other_connection = TestClient(limited.app)  # not entered: the app is already started
    refused = post_message(limited, other_connection, "blue", "red")
    assert refused.status_code == 429, refused.text
    # The first of the five was sent at T0; now is T0 + 5: the window frees it in 55 s.
    assert refused.headers["Retry-After"] == "55"
    assert "messages_per_minute" in refused.json()["detail"]
    assert len(outbox(limited, "blue")) == MESSAGES_PER_MINUTE
    # Red is not affected by blue's rate.
    assert post_message(limited, limited.client, "red", "blue").status_code == 201
    limited.clock.advance(54.0)
    assert post_message(limited, limited.client, "blue", "red").status_code == 429
    limited.clock.advance(1.0)
    assert post_message(limited, limited.client, "blue", "red").status_code == 201
    assert len(outbox(limited, "blue")) == MESSAGES_PER_MINUTE + 1


def test_a_bad_token_is_not_rate_limited_but_refused_with_401(limited: Channel) -> None:
    for _ in range(MESSAGES_PER_MINUTE + 2):
        response = limited.client.post(
            "/v1/messages", json={}, headers={"Authorization": "Bearer not-a-token"}
        )
        assert response.status_code == 401


# --- WebSocket connections per party -------------------------------------------------------------------


def test_event_connections_are_limited_per_party(limited: Channel) -> None:
    client = limited.client
    with (
        client.websocket_connect("/v1/events", headers=limited.auth("red")) as first,
        client.websocket_connect("/v1/events", headers=limited.auth("red")) as second,
    ):
        assert first.receive_json()["type"] == second.receive_json()["type"] == "ready"
        with client.websocket_connect("/v1/events", headers=limited.auth("red")) as third:
            with pytest.raises(WebSocketDisconnect) as closed:
                third.receive_json()
            assert closed.value.code == 1013
        with client.websocket_connect("/v1/events", headers=limited.auth("blue")) as blue:
            assert blue.receive_json() == {"type": "ready", "party": "blue"}


# --- over a real server --------------------------------------------------------------------------------

SERVER_QUEUE = 8
"""``events_max_queued`` of the real server: a connection that falls this far behind is dropped."""


class RealServer:
    def __init__(self, url: str, tokens: dict[str, str], keys: dict[str, bytes]) -> None:
        self.url = url
        self.tokens = tokens
        self.keys = keys
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)

    def events(self, party: str, **kwargs: Any) -> ClientConnection:
        uri = f"ws://{self.host}:{self.port}/v1/events"
        headers = {"Authorization": f"Bearer {self.tokens[party]}"}
        return connect(uri, additional_headers=headers, open_timeout=10, **kwargs)

    def send(self, sender: str, to: str, text: str) -> int:
        nonce = f"limits-{sender}-{time.monotonic_ns()}"
        content = MessageContent(sender, to, "FREE", {}, text, None, nonce)
        data = json.dumps(signed_message_body(content, self.keys[sender])).encode()
        head = (
            f"POST /v1/messages HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {self.tokens[sender]}\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        return raw_status(self.host, self.port, head + data)


def raw_status(host: str, port: int, request: bytes) -> int:
    """Send raw bytes, return the status code of the answer (the connection is closed after it)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    root = tmp_path_factory.mktemp("limits-server")
    db = root / "channel.db"
    tokens, keys = register_parties(db, "blue", "red", "green")
    env = {
        **os.environ,
        "DECONFLICT_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        "DECONFLICT_EVENTS_MAX_QUEUED": str(SERVER_QUEUE),
        "DECONFLICT_EVENTS_MAX_CONNECTIONS_PER_PARTY": "1",
        "DECONFLICT_MESSAGES_PER_MINUTE": "100000",
    }
    with serve_process(db, root / "serve.log", env) as (_, url):
        yield RealServer(url, tokens, keys)


def test_a_chunked_body_over_the_limit_is_refused_by_a_real_server(real_server: RealServer) -> None:
    chunk = b" " * 8192
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_REQUEST_BYTES // len(chunk) + 2)
    )
    head = (
        f"POST /v1/operations HTTP/1.1\r\nHost: {real_server.host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {real_server.tokens['blue']}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    assert raw_status(real_server.host, real_server.port, head + chunks + b"0\r\n\r\n") == 413
    # Under the limit, the same framing reaches the route (which refuses the blank JSON with 422).
    small = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    assert raw_status(real_server.host, real_server.port, head + small) == 422


def test_a_client_that_never_reads_does_not_delay_another_party(real_server: RealServer) -> None:
    # Red's connection takes events and never reads them, through a receive buffer kept small.
    red_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    red_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    red_socket.settimeout(10)
    red_socket.connect((real_server.host, real_server.port))
    text = "Ш" * 3900  # about 16 kB a frame (text and rendered text, two bytes a letter)
    delays_s: list[float] = []
    with (
        real_server.events("red", sock=red_socket, max_queue=1, close_timeout=1, compression=None) as red,
        real_server.events("green") as green,
    ):
        assert json.loads(red.recv(timeout=10))["type"] == "ready"
        assert json.loads(green.recv(timeout=10))["type"] == "ready"
        # Red's one permitted connection is taken: another is refused (try again later).
        with real_server.events("red") as refused, pytest.raises(ConnectionClosed) as closed:
            refused.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        dropped = False
        for n in range(600):
            assert real_server.send("blue", "red", text) == 201
            if n % 25 == 0:
                started = time.monotonic()
                assert real_server.send("blue", "green", f"ping {n}") == 201
                frame = json.loads(green.recv(timeout=10))
                delays_s.append(time.monotonic() - started)
                assert frame["type"] == "message" and frame["message"]["text"] == f"ping {n}"
            if n % 25 == 24 and red_dropped(real_server):
                dropped = True
                break
        assert dropped, "the server kept a connection that never reads"
    # Green heard each ping at once although red read nothing (and the sends to red went on).
    assert max(delays_s) < 2.0, delays_s


def red_dropped(real_server: RealServer) -> bool:
    """Whether red's (only permitted) event connection was given up: a new one is then accepted."""
    with real_server.events("red") as probe:
        try:
            frame = json.loads(probe.recv(timeout=10))
        except ConnectionClosed:
            return False
        return bool(frame["type"] == "ready")
