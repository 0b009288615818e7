"""``deconflict serve`` starts a real server process that answers, and stops when told."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.servers import serve_process


def test_serve_answers_health_on_an_ephemeral_port(tmp_path: Path) -> None:
    with serve_process(tmp_path / "s.db", tmp_path / "serve.log") as (process, url):
        with urllib.request.urlopen(f"{url}/v1/health", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        with urllib.request.urlopen(f"{url}/openapi.json", timeout=10) as response:
            assert "/v1/operations" in json.loads(response.read())["paths"]
    assert process.returncode is not None
