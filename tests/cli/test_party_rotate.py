"""``deconflict party rotate`` on a real database file: a new token printed once, the old one in grace."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from deconflict.channel.parties import authenticate
from deconflict.cli import main
from deconflict.errors import AuthenticationError
from deconflict.storage import SQLiteAuditLog, open_storage
from tests.cli.conftest import party_add, run_main, token_of
from tests.servers import audit_key_file


def rotate(db: Path, name: str, *extra: str) -> tuple[int, str, str]:
    return run_main("party", "rotate", name, "--db", str(db), *extra)


def new_token_of(out: str) -> str:
    match = re.search(r"new token: (\S+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def test_rotate_prints_a_new_token_and_keeps_the_old_one_for_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "server.db"
    old = token_of(party_add(db, "blue")[1])
    before = time.time()
    code, out, _ = rotate(db, "blue", "--grace-s", "120")
    assert code == 0
    new = new_token_of(out)
    assert new != old and out.count(new) == 1 and old not in out
    assert "accepted until" in out
    with open_storage(db) as storage:
        parties = storage.parties
        assert authenticate(parties, old, before + 60.0).name == "blue"
        assert authenticate(parties, new, before + 60.0).name == "blue"
        with pytest.raises(AuthenticationError):
            authenticate(parties, old, time.time() + 121.0)
    with SQLiteAuditLog(db) as audit:
        (entry,) = [e for e in audit.entries() if e.kind == "token_rotated"]
    assert list(entry.subject) == ["party:blue"] and list(entry.audience) == ["blue"]
    assert entry.payload["previous_until_s"] == pytest.approx(entry.payload["rotated_s"] + 120.0)
    assert old not in str(entry.payload) and new not in str(entry.payload)
    assert main(["audit", "verify", "--db", str(db), "--key", str(audit_key_file(db))]) == 0


def test_rotate_defaults_to_an_hour_of_grace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "server.db"
    old = token_of(party_add(db, "blue")[1])
    assert rotate(db, "blue")[0] == 0
    with open_storage(db) as storage:
        parties = storage.parties
        assert authenticate(parties, old, time.time() + 3500.0).name == "blue"
        with pytest.raises(AuthenticationError):
            authenticate(parties, old, time.time() + 3601.0)


def test_rotate_refuses_unknown_and_revoked_parties_and_bad_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "server.db"
    party_add(db, "blue")
    code, _, err = rotate(db, "ghost")
    assert code == 2 and "no party 'ghost'" in err
    code, _, err = rotate(db, "blue", "--grace-s", "-5")
    assert code == 2 and "--grace-s" in err
    assert main(["party", "revoke", "blue", "--db", str(db)]) == 0
    capsys.readouterr()
    code, out, err = rotate(db, "blue")
    assert code == 2 and "revoked" in err and "token" not in out
