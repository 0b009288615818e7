"""``deconflict serve --log-format``: a real server writes one line per request, JSON by default."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from tests.servers import serve_process


def _get(url: str, request_id: str) -> None:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["X-Request-ID"] == request_id


def _wait_for(log: Path, needle: str) -> str:
    deadline = time.monotonic() + 10.0
    while True:
        text = log.read_text(errors="replace")
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} not logged:\n{text}"
        time.sleep(0.05)


def test_serve_logs_json_lines_by_default(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with serve_process(tmp_path / "s.db", log) as (_, url):
        _get(f"{url}/v1/ready", "probe-1")
        text = _wait_for(log, "probe-1")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    (access,) = [line for line in lines if line.get("request_id") == "probe-1"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/v1/ready", 200)
    assert any("running on" in line.get("message", "") for line in lines)


def test_serve_logs_text_when_asked(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with serve_process(tmp_path / "s.db", log, extra_args=["--log-format", "text"]) as (_, url):
        _get(f"{url}/v1/health", "probe-2")
        text = _wait_for(log, "probe-2")
    (line,) = [line for line in text.splitlines() if "probe-2" in line]
    assert "GET /v1/health 200" in line and "request_id=probe-2" in line
    assert not line.startswith("{")
