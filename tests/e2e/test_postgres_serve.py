"""``deconflict serve --db postgresql://...``: a real server on PostgreSQL with PostGIS finds conflicts.

Parties are added with ``deconflict party add --db URL`` (the server's audit key
in ``DECONFLICT_AUDIT_KEY_PATH``), two of them file overlapping operations
through the server's API, and the conflict is reported to the second filer and
listed for both; ``/v1/ready`` answers from the database, and the audit chain
the server wrote verifies with ``deconflict audit verify --db URL``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from tests.builders import box_ring, collection, feature, polygon_geometry
from tests.servers import call_api, serve_process


def _plan(operation_id: str) -> dict[str, Any]:
    geometry = polygon_geometry(box_ring(10.0, 45.0, 10.05, 45.05))
    return {**collection(feature("v1", geometry=geometry)), "id": operation_id, "priority": 0}


def _add_party(url: str, name: str, folder: Path) -> str:
    out = io.StringIO()
    key = folder / f"{name}.ed25519.pem"
    with contextlib.redirect_stdout(out):
        assert main(["party", "add", name, "--db", url, "--key-out", str(key)]) == 0
    match = re.search(r"^token: (\S+)$", out.getvalue(), re.MULTILINE)
    assert match, out.getvalue()
    return match.group(1)


def test_serve_on_postgresql_files_two_conflicting_operations(
    fresh_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "server-audit-key.pem"
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(key))
    tokens = {name: _add_party(fresh_postgres_url, name, tmp_path) for name in ("blue", "red")}
    env = {**os.environ, "DECONFLICT_AUDIT_KEY_PATH": str(key)}
    with serve_process(fresh_postgres_url, tmp_path / "serve.log", env=env) as (_, url):
        with urllib.request.urlopen(url + "/v1/ready", timeout=10) as response:
            assert response.status == 200, response.read()
        status, blue_filed = call_api(url, tokens["blue"], "POST", "/v1/operations", _plan("blue-op"))
        assert status == 201, blue_filed
        assert blue_filed["conflicts"] == []
        status, red_filed = call_api(url, tokens["red"], "POST", "/v1/operations", _plan("red-op"))
        assert status == 201, red_filed
        assert len(red_filed["conflicts"]) == 1, red_filed
        for party in ("blue", "red"):
            status, listed = call_api(url, tokens[party], "GET", "/v1/conflicts")
            assert status == 200 and len(listed) == 1, listed
    log = (tmp_path / "serve.log").read_text()
    assert "database postgresql://" in log and "2 parties" in log
    public = tmp_path / "server.pub.pem"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["audit", "key", "--db", fresh_postgres_url]) == 0
    public.write_text(out.getvalue())
    with contextlib.redirect_stdout(io.StringIO()) as verified:
        code = main(["audit", "verify", "--db", fresh_postgres_url, "--key", str(public)])
    assert code == 0, verified.getvalue()
    assert json.dumps(red_filed["conflicts"][0]["id"]) in json.dumps(listed)
