"""A PostgreSQL server that goes away and comes back: bounded waits, a domain error, recovery in place.

A private server (the session's is shared) is stopped under an open
:class:`~deconflict.storage.postgres.storage.PostgresStorage`: reads and writes
raise :class:`~deconflict.errors.StorageUnavailableError` within the pool's
timeout (never psycopg's errors, never a hang), readiness says why at once, and
once the server is started again the same storage serves, with what was
committed before the outage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deconflict.channel.parties import Party
from deconflict.errors import StorageUnavailableError
from deconflict.storage.postgres.storage import PostgresStorage
from tests.builders import T0_S
from tests.cluster.servers import PostgresServer, ServerUnavailable, postgres_server, unavailable

TIMEOUT_S = 1.0


def _party(name: str) -> Party:
    return Party(name=name, public_key_pem=f"key of {name}", created_s=T0_S, revoked_s=None)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own: it is stopped and started under the storage."""
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        unavailable(str(exc), "DECONFLICT_REQUIRE_POSTGRES")


def test_a_stopped_server_fails_fast_with_a_domain_error_and_the_same_pool_recovers(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    key = tmp_path / "audit-key.pem"
    with PostgresStorage.open(own_postgres.url(), key_path=key, timeout_s=TIMEOUT_S) as storage:
        storage.parties.add_party(_party("blue"), "hash-blue")
        assert storage.readiness_problem() is None
        own_postgres.stop()
        try:
            for attempt in (
                storage.parties.list_parties,
                lambda: storage.parties.add_party(_party("red"), "hash-red"),
            ):
                began = time.monotonic()
                with pytest.raises(StorageUnavailableError, match="unavailable") as raised:
                    attempt()
                assert time.monotonic() - began < TIMEOUT_S + 2.0
                assert raised.value.retry_after_s == 1
            began = time.monotonic()
            problem = storage.readiness_problem()
            assert problem is not None and "does not answer" in problem
            assert time.monotonic() - began < 3.0
        finally:
            own_postgres.start()
        deadline = time.monotonic() + 10.0
        while True:
            try:
                names = [p.name for p in storage.parties.list_parties()]
                break
            except StorageUnavailableError:
                assert time.monotonic() < deadline, "the pool did not recover"
                time.sleep(0.1)
        assert names == ["blue"]
        assert storage.readiness_problem() is None
