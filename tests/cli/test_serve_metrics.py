"""``deconflict serve --metrics-bind HOST:PORT``: metrics on the operator address, never the party port."""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from deconflict.cli import main
from tests.builders import register_parties
from tests.servers import call_api, serve_process

_OPERATOR = re.compile(r"operator metrics at (http://127\.0\.0\.1:\d+/metrics)")


def _operator_url(log: Path) -> str:
    deadline = time.monotonic() + 10.0
    while not (found := _OPERATOR.search(log.read_text(errors="replace"))):
        assert time.monotonic() < deadline, "no operator metrics address logged"
        time.sleep(0.05)
    return found.group(1)


def test_metrics_are_served_on_the_operator_address_and_not_on_the_party_port(tmp_path: Path) -> None:
    db, log = tmp_path / "channel.db", tmp_path / "serve.log"
    tokens, _ = register_parties(db, "blue")
    with serve_process(db, log, extra_args=["--metrics-bind", "127.0.0.1:0"]) as (_, url):
        assert call_api(url, tokens["blue"], "GET", "/v1/parties/me")[0] == 200
        assert call_api(url, tokens["blue"], "GET", "/metrics")[0] == 404  # not even for a party
        with urllib.request.urlopen(_operator_url(log), timeout=10) as response:
            assert response.status == 200
            text = response.read().decode()
    assert 'deconflict_http_requests_total{method="GET",route="/v1/parties/me",status="200"} 1.0' in text
    assert "deconflict_open_conflicts 0.0" in text


def test_without_an_operator_address_or_token_there_are_no_metrics(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with serve_process(tmp_path / "channel.db", log) as (_, url):
        assert call_api(url, "anything", "GET", "/metrics")[0] == 404
    assert "operator metrics" not in log.read_text(errors="replace")


@pytest.mark.parametrize("bind", ["nowhere", "127.0.0.1:", ":9100", "127.0.0.1:70000", "127.0.0.1:x"])
def test_a_bad_metrics_bind_is_a_usage_error(bind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--metrics-bind", bind]) == 2
    err = capsys.readouterr().err
    assert "--metrics-bind" in err and "HOST:PORT" in err


def test_a_busy_metrics_address_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(
            [
                "serve",
                "--db",
                str(tmp_path / "c.db"),
                "--init",
                "--port",
                "0",
                "--metrics-bind",
                f"127.0.0.1:{port}",
            ]
        )
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: metrics_bind: 127.0.0.1:{port}: cannot listen")
