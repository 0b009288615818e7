"""``deconflict audit verify|export`` and the entries ``deconflict party`` records."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from deconflict.api.schemas.audit import AuditEntryOut, AuditLinkOut
from deconflict.cli import main
from deconflict.storage import SQLiteAuditLog
from deconflict.storage.sqlite.audit import audit_key_path
from tests.servers import audit_key_file


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.chdir(tmp_path)  # generated private keys land here
    path = tmp_path / "server.db"
    for name in ("blue", "red"):
        assert main(["party", "add", name, "--db", str(path)]) == 0
    assert main(["party", "revoke", "red", "--db", str(path)]) == 0
    capsys.readouterr()
    return path


def test_party_administration_is_recorded_and_verifies(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SQLiteAuditLog(db) as log:
        entries = log.entries()
    assert [(e.kind, e.subject, e.audience) for e in entries] == [
        ("party_added", ["party:blue"], ["blue"]),
        ("party_added", ["party:red"], ["red"]),
        ("party_revoked", ["party:red"], ["red"]),
    ]
    assert entries[0].payload["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert main(["audit", "verify", "--db", str(db), "--key", str(audit_key_file(db))]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "chain verified: 3 entries, 0 message signatures, 0 stored objects as logged"
    )


def test_a_tampered_entry_fails_with_exit_1_naming_it(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE audit_log SET payload = replace(payload, 'red', 'rex') WHERE seq = 3")
    assert main(["audit", "verify", "--db", str(db), "--key", str(audit_key_file(db))]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("audit verify: FAILED: entry 3 (party_revoked): hash does not match")


def test_verifying_with_another_key_fails(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SQLiteAuditLog(tmp_path / "other.db") as other:
        (tmp_path / "other.pem").write_text(other.public_key_pem)
    assert main(["audit", "verify", "--db", str(db), "--key", str(tmp_path / "other.pem")]) == 1
    assert "the server key stored in the database is not the one in" in capsys.readouterr().err


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--db", str(tmp_path / "missing.db")]) == 2
    assert "missing.db: no such database file" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "view.json").write_text("{}")
    assert main(["audit", "verify", "--file", str(tmp_path / "view.json")]) == 2
    assert "--key" in capsys.readouterr().err


def export_of(db: Path, party: str) -> dict[str, object]:
    """What ``audit export`` writes for ``party`` (the body of its ``GET /v1/audit``)."""
    with SQLiteAuditLog(db) as log:
        entries = [
            AuditEntryOut.of(e).model_dump()
            if e.visible_to(party)
            else AuditLinkOut.of(e.link()).model_dump()
            for e in log.entries()
        ]
        return {"party": party, "public_key_pem": log.public_key_pem, "entries": entries}


def test_an_export_verifies_offline_with_the_server_key(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = export_of(db, "blue")
    key = tmp_path / "server-public.pem"
    key.write_text(str(document["public_key_pem"]))
    export = tmp_path / "blue-audit.json"
    export.write_text(json.dumps(document))
    assert main(["audit", "verify", "--file", str(export), "--key", str(key)]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "chain verified: 3 entries (1 readable by blue, the rest by their links)"
    )
    text = export.read_text()
    assert "party:red" not in text  # red's entries are links only
    entries = document["entries"]
    assert isinstance(entries, list)
    entries[0]["payload"]["party"] = "bleu"
    export.write_text(json.dumps(document))
    assert main(["audit", "verify", "--file", str(export), "--key", str(key)]) == 1
    assert "entry 1 (party_added): hash does not match" in capsys.readouterr().err


def test_the_private_key_stays_next_to_the_database(db: Path) -> None:
    assert audit_key_path(db).is_file()
    assert b"PRIVATE KEY" not in db.read_bytes()


def test_verify_db_needs_a_key_from_outside_the_database(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: command line: --key: give the server's public key from outside the database"
    )


def test_audit_key_writes_the_servers_public_key_and_never_replaces_a_file_unasked(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "server.pub.pem"
    assert main(["audit", "key", "--db", str(db), "--out", str(out)]) == 0
    with SQLiteAuditLog(db) as log:
        assert out.read_text() == log.stored_public_key()
    assert main(["audit", "verify", "--db", str(db), "--key", str(out)]) == 0
    capsys.readouterr()
    assert main(["audit", "key", "--db", str(db), "--out", str(out)]) == 2
    assert f"error: {out}: exists already: it is replaced only with --force" in capsys.readouterr().err
    assert main(["audit", "key", "--db", str(db), "--out", str(out), "--force"]) == 0
    assert main(["audit", "key", "--db", str(db)]) == 0
    assert capsys.readouterr().out == out.read_text()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not a key", "not a PEM public key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a PEM public key"),
    ],
)
def test_a_bad_key_file_is_bad_input(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text(content)
    assert main(["audit", "verify", "--db", str(db), "--key", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: {expected}")
    export = tmp_path / "view.json"
    export.write_text(json.dumps(export_of(db, "blue")))
    assert main(["audit", "verify", "--file", str(export), "--key", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: {expected}")


def test_a_missing_server_key_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    SQLiteAuditLog(tmp_path / "fresh.db").close()
    assert main(["audit", "key", "--db", str(tmp_path / "fresh.db")]) == 2
    assert (
        "fresh.db.audit-key.pem: cannot read the server's audit key: no such file" in capsys.readouterr().err
    )


def test_pin_writes_the_key_on_first_use_and_compares_after(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin = tmp_path / "pinned.pem"
    assert main(["audit", "verify", "--db", str(db), "--pin", str(pin)]) == 0
    assert f"pinned the server key of {db} in {pin}" in capsys.readouterr().err
    assert main(["audit", "verify", "--db", str(db), "--pin", str(pin)]) == 0
    with SQLiteAuditLog(tmp_path / "other.db") as other:
        pin.write_text(other.public_key_pem)  # another server's key pinned: this chain is not its
    assert main(["audit", "verify", "--db", str(db), "--pin", str(pin)]) == 1
    assert "the server key is not the one pinned in" in capsys.readouterr().err
