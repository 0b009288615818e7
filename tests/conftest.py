"""Hypothesis profiles, and the cluster's servers as session fixtures.

Hypothesis: random exploration by default, the same examples every run in CI.
``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci``: a CI verdict then depends on the commit
alone, not on which examples a run happened to draw. Run ``make test`` locally
(the ``default`` profile) to keep exploring new examples.

``postgres`` and ``nats`` (tests/cluster/servers.py) start only when a test asks for
them, so a run without such tests starts no server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.cluster.servers import (
    NatsCluster,
    PostgresServer,
    ServerUnavailable,
    nats_cluster,
    postgres_server,
    unavailable,
)

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 server with PostGIS for the whole run, started by the first test that asks.

    Skipped when PostgreSQL or PostGIS is not installed, unless ``DECONFLICT_REQUIRE_POSTGRES``
    is set (``.ci/run`` sets it).
    """
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        unavailable(str(exc), "DECONFLICT_REQUIRE_POSTGRES")


@pytest.fixture(scope="session")
def nats() -> Iterator[NatsCluster]:
    """One 3-node NATS JetStream cluster for the whole run, started by the first test that asks.

    A test that kills a node restarts it before it ends. Skipped when nats-server is not
    installed, unless ``DECONFLICT_REQUIRE_NATS`` is set (``.ci/run`` sets it).
    """
    try:
        with nats_cluster() as cluster:
            yield cluster
    except ServerUnavailable as exc:
        unavailable(str(exc), "DECONFLICT_REQUIRE_NATS")
