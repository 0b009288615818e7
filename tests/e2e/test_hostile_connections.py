"""Hostile connections against a real ``deconflict serve``: what the server logs, and what it lets linger.

- a token put in a query string (WebSocket or HTTP) never reaches the log, uvicorn's own lines included;
- a frame the server cannot decode (nested too deep, not JSON, binary) closes that socket with 1007,
  logged in one line, and the others go on;
- half-sent requests are closed after ``http_header_timeout_s``, connections beyond ``max_connections``
  at once, while complete requests are answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.builders import register_parties
from tests.servers import call_api, serve_process


@dataclass
class Server:
    url: str
    log: Path
    tokens: dict[str, str]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/v1/events"

    def auth(self, party: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[party]}"}


@contextmanager
def running(tmp_path: Path, **settings: str) -> Iterator[Server]:
    """A server with parties blue and red, and ``DECONFLICT_*`` settings given by keyword."""
    db = tmp_path / "channel.db"
    tokens, _ = register_parties(db, "blue", "red")
    env = {**os.environ, **{f"DECONFLICT_{k.upper()}": v for k, v in settings.items()}}
    log = tmp_path / "server.log"
    with serve_process(db, log, env=env) as (_, url):
        yield Server(url, log, tokens)


# -- tokens in query strings ------------------------------------------------------------------------


def test_a_token_in_a_query_string_never_reaches_the_log(tmp_path: Path) -> None:
    secrets = [f"query-secret-{i}-Zq8" for i in range(4)]
    with running(tmp_path) as server:

        async def sockets() -> None:
            # Accepted (a header carries the real token), and refused (none does).
            query = f"?lang=en&token={secrets[0]}"
            async with connect(server.ws_url + query, additional_headers=server.auth("blue")) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10.0))["type"] == "ready"
            async with connect(f"{server.ws_url}?token={secrets[1]}") as ws:
                await ws.send(json.dumps({"type": "auth", "token": "wrong"}))
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 10.0)

        asyncio.run(sockets())
        assert call_api(server.url, "x", "GET", f"/v1/health?token={secrets[2]}")[0] == 200
        assert call_api(server.url, "x", "GET", f"/no/such/path?access_token={secrets[3]}")[0] == 404
        time.sleep(0.5)  # the last lines written
        text = server.log.read_text(errors="replace")
    assert "WebSocket /v1/events" in text and "/no/such/path" in text  # the lines are there...
    for secret in secrets:
        assert secret not in text  # ...without their query strings


# -- frames the server cannot decode -----------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
"""A frame nested far beyond Python's recursion limit."""


def test_an_undecodable_frame_closes_only_its_socket_with_1007_in_one_log_line(tmp_path: Path) -> None:
    frames: list[str | bytes] = [
        DEEP,
        '{"type": "send", "ref": ' + "[" * 500 + "]" * 500 + "}",
        "not json",
        b"\x00",
    ]
    with running(tmp_path) as server:

        async def scenario() -> list[int | None]:
            codes: list[int | None] = []
            async with connect(server.ws_url, additional_headers=server.auth("red")) as bystander:
                assert json.loads(await asyncio.wait_for(bystander.recv(), 10.0))["type"] == "ready"
                attempts = [(server.auth("blue"), frame) for frame in frames] + [({}, DEEP)]  # first frame
                for headers, frame in attempts:
                    async with connect(server.ws_url, additional_headers=headers, max_size=None) as ws:
                        if headers:
                            assert json.loads(await asyncio.wait_for(ws.recv(), 10.0))["type"] == "ready"
                        await ws.send(frame)
                        with pytest.raises(ConnectionClosed) as closed:
                            await asyncio.wait_for(ws.recv(), 10.0)
                        codes.append(None if closed.value.rcvd is None else closed.value.rcvd.code)
                # The bystander's socket still answers.
                await bystander.send(json.dumps({"type": "hello", "ref": "still here"}))
                answer = json.loads(await asyncio.wait_for(bystander.recv(), 10.0))
                assert (answer["ref"], answer["status"]) == ("still here", 400)
            return codes

        codes = asyncio.run(scenario())
        time.sleep(0.5)  # the last lines written
        lines = server.log.read_text(errors="replace").splitlines()
    assert codes == [1007] * 5
    closes = [line for line in lines if "1007" in line]
    assert len(closes) == 5, "\n".join(lines)
    assert all(json.loads(line)["level"] == "warning" for line in closes)
    assert not any("Traceback" in line or '"exception"' in line for line in lines)


# -- half-sent requests and the connection cap -------------------------------------------------------

SLACK_S = 4.0
"""Beyond a timeout, how late a busy machine may be (without the timeout, they stay open for good)."""
PARTIAL_REQUEST = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
FULL_REQUEST = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _open_raw(url: str, first_bytes: bytes) -> socket.socket:
    host, _, port = url.removeprefix("http://").partition(":")
    raw = socket.create_connection((host, int(port)), timeout=10.0)
    if first_bytes:
        raw.sendall(first_bytes)
    return raw


def _closed_by_server(raw: socket.socket, within_s: float) -> bytes | None:
    """What the server sent before it closed the connection within ``within_s``; ``None`` if still open."""
    raw.settimeout(within_s)
    received = b""
    try:
        while chunk := raw.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def _whole_response(raw: socket.socket, within_s: float) -> bytes:
    """One response read whole, headers and ``Content-Length`` body (they may come in several segments)."""
    raw.settimeout(within_s)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = raw.recv(4096)
        assert chunk, f"connection closed before the headers ended: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
    length = int({name.lower(): value for name, value in headers.items()}[b"content-length"])
    while len(body) < length:
        chunk = raw.recv(4096)
        assert chunk, f"connection closed inside the body: {received!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_half_sent_requests_are_closed_after_the_header_timeout_while_others_are_served(
    tmp_path: Path,
) -> None:
    timeout_s = 1.0
    with running(tmp_path, http_header_timeout_s=str(timeout_s)) as server:
        opened_s = time.monotonic()
        silent = [_open_raw(server.url, b"") for _ in range(5)]
        partial = [_open_raw(server.url, PARTIAL_REQUEST) for _ in range(25)]
        dripping = _open_raw(server.url, b"G")
        kept_alive = _open_raw(server.url, FULL_REQUEST.replace(b"close", b"keep-alive"))
        try:
            assert call_api(server.url, server.tokens["blue"], "GET", "/v1/parties/me")[0] == 200
            assert _whole_response(kept_alive, 5.0).startswith(b"HTTP/1.1 200")
            kept_alive.sendall(PARTIAL_REQUEST)  # the next request on it, half-sent (any data stops
            # uvicorn's keep-alive timer: only the header timeout ends this one)
            for byte in b"ET /v1/health HTTP/1.1\r\nX-Drip: " + b"a" * 100:
                try:
                    dripping.send(bytes([byte]))  # a byte every 0.1 s: never idle, never complete
                except OSError:
                    break
                time.sleep(0.1)
            drip_closed_s = time.monotonic() - opened_s
            assert drip_closed_s < timeout_s + SLACK_S
            for raw in silent + partial:
                assert _closed_by_server(raw, timeout_s + SLACK_S) == b""
            assert _closed_by_server(kept_alive, timeout_s + SLACK_S) == b""
            assert time.monotonic() - opened_s < timeout_s + 2 * SLACK_S
            assert call_api(server.url, server.tokens["blue"], "GET", "/v1/parties/me")[0] == 200
        finally:
            for raw in [*silent, *partial, dripping, kept_alive]:
                raw.close()


def test_connections_beyond_the_cap_are_answered_503_and_closed(tmp_path: Path) -> None:
    cap = 20
    with running(tmp_path, max_connections=str(cap), http_header_timeout_s="3") as server:
        held = [_open_raw(server.url, PARTIAL_REQUEST) for _ in range(cap)]
        try:
            time.sleep(0.3)  # all accepted
            extra = _open_raw(server.url, FULL_REQUEST)
            answer = _closed_by_server(extra, 2.0)
            extra.close()
            assert answer is not None and answer.startswith(b"HTTP/1.1 503"), answer
        finally:
            for raw in held:
                raw.close()
        time.sleep(0.3)  # the held ones gone
        assert call_api(server.url, server.tokens["blue"], "GET", "/v1/parties/me")[0] == 200
        time.sleep(0.3)
        assert "max_connections" in server.log.read_text(errors="replace")
