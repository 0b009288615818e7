"""Credentials bind sessions (a real ``deconflict serve``): a token that stops holding ends its sockets.

The CLI changes the database from another process (here, the test's) while
the server runs: ``party revoke``, ``party rotate --grace-s 0``, and a rotation
whose grace period runs out. Each open ``/v1/events`` socket of that token is
closed within 2 s with the code and reason that say why, and a ``send`` frame
that arrives after the change is refused, never stored, never delivered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from deconflict.channel.messages import MessageContent
from deconflict.channel.sessions import TOKEN_EXPIRED, TOKEN_REVOKED, SessionEnding
from deconflict.cli import main
from tests.builders import register_parties, signed_message_body
from tests.servers import call_api, serve_process

CLOSE_WITHIN_S = 2.0


@dataclass
class Server:
    url: str
    db: Path
    tokens: dict[str, str]
    keys: dict[str, bytes]

    def send_frame(self, sender: str, to: str, text: str) -> dict[str, Any]:
        content = MessageContent(sender, to, "FREE", {}, text, None, f"nonce-of-{text:0>16}")
        return {"type": "send", "ref": text, "message": signed_message_body(content, self.keys[sender])}

    def inbox_texts(self, party: str) -> list[str]:
        status, messages = call_api(self.url, self.tokens[party], "GET", "/v1/messages?box=inbox")
        assert status == 200, messages
        return [m["text"] for m in messages]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = tmp_path / "channel.db"
    tokens, keys = register_parties(db, "blue", "red")
    with serve_process(db, tmp_path / "server.log") as (_, url):
        yield Server(url, db, tokens, keys)


async def _open(sockets: AsyncExitStack, server: Server, token: str) -> ClientConnection:
    """A subscribed socket (its ``ready`` frame read), closed when ``sockets`` closes."""
    ws = await sockets.enter_async_context(
        connect(
            server.url.replace("http://", "ws://") + "/v1/events",
            additional_headers={"Authorization": f"Bearer {token}"},
        )
    )
    ready = json.loads(await asyncio.wait_for(ws.recv(), 10.0))
    assert ready["type"] == "ready"
    return ws


async def _closed_within(ws: ClientConnection, timeout_s: float) -> tuple[SessionEnding, list[Any]]:
    """The close code and reason the server sent within ``timeout_s``, and the frames before it."""
    frames: list[Any] = []
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(timeout_s):
            while True:
                frames.append(json.loads(await ws.recv()))
    received = closed.value.rcvd
    assert received is not None, "closed without a close frame"
    return SessionEnding(received.code, received.reason), frames


def _run(scenario: Callable[[AsyncExitStack], Awaitable[None]]) -> None:
    async def within_sockets() -> None:
        async with AsyncExitStack() as sockets:
            await scenario(sockets)

    asyncio.run(within_sockets())


@pytest.mark.parametrize(
    ("command", "ending"),
    [
        (["party", "revoke", "blue"], TOKEN_REVOKED),
        (["party", "rotate", "blue", "--grace-s", "0"], TOKEN_EXPIRED),
    ],
    ids=["revoke", "rotate-grace-0"],
)
def test_a_token_that_stops_holding_closes_its_sockets_and_its_sends_are_refused(
    server: Server, command: list[str], ending: SessionEnding
) -> None:
    async def scenario(sockets: AsyncExitStack) -> None:
        blue = [await _open(sockets, server, server.tokens["blue"]) for _ in range(2)]
        red = await _open(sockets, server, server.tokens["red"])
        await blue[0].send(json.dumps(server.send_frame("blue", "red", "before")))
        assert json.loads(await asyncio.wait_for(blue[0].recv(), 10.0))["type"] == "sent"
        assert main([*command, "--db", str(server.db)]) == 0
        changed_s = time.monotonic()
        await blue[1].send(json.dumps(server.send_frame("blue", "red", "after")))
        results = [await _closed_within(ws, CLOSE_WITHIN_S + 1.0) for ws in blue]
        assert time.monotonic() - changed_s <= CLOSE_WITHIN_S
        for closed, _ in results:
            assert closed == ending
        answers = [f for f in results[1][1] if f.get("ref") == "after"]
        assert [(a["type"], a["status"]) for a in answers] in ([], [("refused", 401)])
        # The other party's socket stays open and was told of the first message only.
        pushed = json.loads(await asyncio.wait_for(red.recv(), 10.0))
        assert (pushed["type"], pushed["message"]["text"]) == ("message", "before")
        await red.send(json.dumps({"type": "send", "ref": "still-open", "message": {}}))
        assert json.loads(await asyncio.wait_for(red.recv(), 10.0))["ref"] == "still-open"

    _run(scenario)
    assert server.inbox_texts("red") == ["before"]


def test_a_rotated_token_closes_its_sockets_when_its_grace_ends(server: Server) -> None:
    grace_s = 2.0

    async def scenario(sockets: AsyncExitStack) -> None:
        old = await _open(sockets, server, server.tokens["blue"])
        assert main(["party", "rotate", "blue", "--grace-s", str(grace_s), "--db", str(server.db)]) == 0
        rotated_s = time.monotonic()
        closed, _ = await _closed_within(old, grace_s + CLOSE_WITHIN_S + 1.0)
        assert closed == TOKEN_EXPIRED
        assert grace_s - 0.5 <= time.monotonic() - rotated_s <= grace_s + CLOSE_WITHIN_S

    _run(scenario)
