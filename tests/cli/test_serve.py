"""``deconflict serve`` starts a real server process that answers, and stops when told."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

STARTUP_S = 30.0


def test_serve_answers_health_on_an_ephemeral_port(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "deconflict", "serve", "--db", str(tmp_path / "s.db"), "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_S
        port = None
        log = []
        while port is None and time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = process.stderr.readline()
            if not line:
                break
            log.append(line)
            match = re.search(r"running on http://127\.0\.0\.1:(\d+)", line)
            port = int(match.group(1)) if match else None
        assert port, "server did not start:\n" + "".join(log)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=10) as response:
            assert "/v1/operations" in json.loads(response.read())["paths"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode is not None
