"""``benchmarks/channel.py`` against a real ``deconflict serve``: it runs, reports, and stops the server.

Also the WebSocket over real uvicorn (not the TestClient): a bad token is closed with 1008.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.servers import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("channel")


def test_the_benchmark_measures_and_stops_the_server(bench: ModuleType) -> None:
    figures = bench.run(messages=40, seconds=20.0, senders=2, server_args=[])
    assert figures["messages"] == 40 and figures["errors"] == 0
    assert figures["messages_per_s"] > 0
    assert 0 < figures["delivery_p50_ms"] <= figures["delivery_p99_ms"]


def test_the_socket_benchmark_sends_over_the_websocket(bench: ModuleType) -> None:
    figures = bench.run(messages=60, seconds=20.0, senders=1, server_args=[], via="socket", window=8)
    assert (figures["via"], figures["messages"], figures["errors"]) == ("socket", 60, 0)
    assert 0 < figures["delivery_p50_ms"] <= figures["delivery_p99_ms"]


def test_a_real_server_closes_a_bad_token_with_1008(bench: ModuleType, tmp_path: Path) -> None:
    server = bench.Server(tmp_path / "e2e.db", [])

    async def attempt() -> int | None:
        url = f"ws://127.0.0.1:{server.port}/v1/events"
        async with connect(url, additional_headers={"Authorization": "Bearer not-a-token"}) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10.0)
        return None if closed.value.rcvd is None else closed.value.rcvd.code

    try:
        assert asyncio.run(attempt()) == 1008
    finally:
        server.stop()
    assert server.process.returncode is not None
