"""deploy/nginx/deconflict.conf, run by a real nginx in front of a real ``deconflict serve``.

The site file is used as shipped, with only its ports and certificate paths swapped
for temporary ones; a certificate authority made here signs the proxy's certificate.
A party's client calls the REST API and opens the WebSocket through HTTPS. Skipped
when nginx is not installed, unless ``DECONFLICT_REQUIRE_PROXY`` is set (``.ci/run``
installs nginx and sets it).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.sync.client import connect

from deconflict.cli import main
from deconflict.client import ChannelClient
from tests.servers import register_party, serve_process, stop_process
from tests.tls import ServerCertificate, make_server_certificate

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "deconflict.conf"
STARTUP_S = 15.0


def _nginx() -> str:
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        reason = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("DECONFLICT_REQUIRE_PROXY"):
            pytest.fail(f"{reason}, and DECONFLICT_REQUIRE_PROXY is set")
        pytest.skip(f"{reason}; set DECONFLICT_REQUIRE_PROXY to make this a failure")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _swap(text: str, pattern: str, replacement: str) -> str:
    """``text`` with the one line matching ``pattern`` replaced: the shipped file must still have it."""
    swapped, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"{SITE.name}: expected one line matching {pattern!r}, found {count}"
    return swapped


@dataclass(frozen=True)
class Proxy:
    https_url: str
    http_port: int


def site_for_test(upstream_port: int, https_port: int, http_port: int, cert: ServerCertificate) -> str:
    """The shipped site file on 127.0.0.1 ports and the test's certificate."""
    text = SITE.read_text(encoding="utf-8")
    text = _swap(text, r"^[ \t]*server 127\.0\.0\.1:8000;", f"    server 127.0.0.1:{upstream_port};")
    text = _swap(text, r"^[ \t]*listen 443 ssl;", f"    listen 127.0.0.1:{https_port} ssl;")
    text = _swap(text, r"^[ \t]*listen \[::\]:443 ssl;\n", "")
    text = _swap(text, r"^[ \t]*listen 80;", f"    listen 127.0.0.1:{http_port};")
    text = _swap(text, r"^[ \t]*listen \[::\]:80;\n", "")
    text = _swap(text, r"^[ \t]*ssl_certificate[ \t]+\S+;", f"    ssl_certificate {cert.cert};")
    return _swap(text, r"^[ \t]*ssl_certificate_key[ \t]+\S+;", f"    ssl_certificate_key {cert.key};")


@contextmanager
def nginx_in_front(upstream_url: str, cert: ServerCertificate, folder: Path) -> Iterator[Proxy]:
    """nginx with the site file on free ports of 127.0.0.1, proxying to ``upstream_url``; always stopped."""
    nginx = _nginx()
    upstream_port = int(upstream_url.rsplit(":", 1)[1])
    https_port, http_port = _free_port(), _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    site = folder / "deconflict.conf"
    site.write_text(site_for_test(upstream_port, https_port, http_port, cert), encoding="utf-8")
    temp_paths = "".join(
        f"  {kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main_conf = folder / "nginx.conf"
    main_conf.write_text(
        f"daemon off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
        "worker_processes 1;\nevents { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n{temp_paths}  include {site};\n}}\n",
        encoding="utf-8",
    )
    command = [nginx, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main_conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                log = (folder / "error.log").read_text(errors="replace")
                assert process.poll() is None, f"nginx exited:\n{log}"
                assert time.monotonic() < deadline, f"nginx did not start:\n{log}"
                time.sleep(0.05)
        yield Proxy(f"https://127.0.0.1:{https_port}", http_port)
    finally:
        stop_process(process)


def test_https_and_the_websocket_through_the_shipped_nginx_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _nginx()
    cert = make_server_certificate(tmp_path / "tls")
    db = tmp_path / "channel.db"
    blue_token, blue_key = register_party(db, "blue", tmp_path)
    red_token, _ = register_party(db, "red", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.ca_cert))
    trusted = ssl.create_default_context(cafile=str(cert.ca_cert))
    with (
        serve_process(db, tmp_path / "serve.log") as (_, upstream),
        nginx_in_front(upstream, cert, tmp_path / "nginx") as proxy,
    ):
        # REST through HTTPS, with the CLI and with the Python client.
        assert main(["ops", "list", "--url", proxy.https_url, "--token", blue_token, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []
        blue = ChannelClient(proxy.https_url, blue_token, private_key_pem=blue_key)
        assert blue.me()["name"] == "blue"

        # The WebSocket through the proxy: red hears blue's message live.
        wss_url = proxy.https_url.replace("https://", "wss://") + "/v1/events"
        headers = {"Authorization": f"Bearer {red_token}"}
        with connect(wss_url, ssl=trusted, additional_headers=headers, open_timeout=10) as socket_:
            assert json.loads(socket_.recv(timeout=10))["type"] == "ready"
            sent = blue.send("red", "FREE", text="through the proxy")
            while True:
                event = json.loads(socket_.recv(timeout=10))
                if event["type"] == "message":
                    break
            assert event["message"]["id"] == sent["id"]

        # The metrics stay for the local scraper; plain HTTP only redirects to HTTPS.
        https = http.client.HTTPSConnection(
            "127.0.0.1", int(proxy.https_url.rsplit(":", 1)[1]), context=trusted
        )
        https.request("GET", "/metrics")
        assert https.getresponse().status == 403
        https.close()
        plain = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
        plain.request("GET", "/v1/health")
        answer = plain.getresponse()
        assert answer.status == 301
        assert answer.getheader("Location", "").startswith("https://")
        plain.close()
