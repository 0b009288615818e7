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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.servers import call_api, register_parties, serve_process


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
