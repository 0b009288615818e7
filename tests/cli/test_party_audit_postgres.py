"""``deconflict party`` and ``audit key|verify`` against a PostgreSQL database (``--db postgresql://...``)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from deconflict.cli import main


def test_party_and_audit_commands_run_on_postgresql(
    fresh_postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = fresh_postgres_url
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(tmp_path / "audit-key.pem"))
    for name in ("blue", "red"):
        assert main(["party", "add", name, "--db", url, "--key-out", str(tmp_path / f"{name}.pem")]) == 0
        assert f"party {name!r} added" in capsys.readouterr().out
    assert main(["party", "add", "blue", "--db", url, "--key-out", str(tmp_path / "again.pem")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["party", "revoke", "red", "--db", url]) == 0
    assert main(["party", "rotate", "blue", "--db", url]) == 0
    assert "new token" in capsys.readouterr().out
    assert main(["party", "list", "--json", "--db", url]) == 0
    listed = json.loads(capsys.readouterr().out)["parties"]
    assert [(p["name"], p["active"]) for p in listed] == [("blue", True), ("red", False)]

    public = tmp_path / "server-public.pem"
    assert main(["audit", "key", "--db", url, "--out", str(public)]) == 0
    assert main(["audit", "verify", "--db", url, "--key", str(public)]) == 0
    assert "chain verified: 4 entries" in capsys.readouterr().out
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE audit_log SET payload = payload || ' ' WHERE seq = 3")
    assert main(["audit", "verify", "--db", url, "--key", str(public)]) == 1
    err = capsys.readouterr().err
    assert "entry 3" in err or "seq 3" in err, err
