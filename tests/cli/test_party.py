"""``deconflict party add|list|revoke`` on a real database file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.channel.keys import generate_key_pair
from deconflict.channel.parties import authenticate
from deconflict.cli import main
from deconflict.errors import AuthenticationError
from deconflict.storage import SQLitePartyStore
from tests.cli.conftest import party_add, token_of


def test_add_prints_a_working_token_once_and_writes_a_private_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "server.db"
    code, out, _ = party_add(db, "blue")
    assert code == 0
    token = token_of(out)
    key_path = tmp_path / "blue.ed25519.pem"
    assert f"private key: {key_path}" in out
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    with SQLitePartyStore(db) as parties:
        party = authenticate(parties, token)
        registered = party.public_key_pem.encode()
    assert registered == private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("server.db*"))
    assert token.encode() not in stored


def test_add_with_a_public_key_writes_no_private_key(tmp_path: Path) -> None:
    _, public_pem = generate_key_pair()
    key_file = tmp_path / "red.pub.pem"
    key_file.write_bytes(public_pem)
    code, out, _ = party_add(tmp_path / "s.db", "red", "--public-key", str(key_file))
    assert code == 0 and "private key" not in out
    with SQLitePartyStore(tmp_path / "s.db") as parties:
        red = parties.get_party("red")
    assert red is not None and red.public_key_pem.encode() == public_pem


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Blue"], "invalid name 'Blue'"),
        (["red", "--public-key", "missing.pem"], "missing.pem: cannot read"),
        (["red", "--public-key", "garbage.pem"], "not a PEM public key"),
    ],
)
def test_add_errors_are_clear_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.pem").write_text("not a key")
    code, out, err = party_add(tmp_path / "s.db", *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_a_name_is_registered_once_and_an_existing_key_file_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "s.db"
    assert party_add(db, "blue")[0] == 0
    key = (tmp_path / "blue.ed25519.pem").read_bytes()
    code, _, err = party_add(db, "blue", "--key-out", "other.pem")
    assert code == 2 and "'blue' already exists" in err
    assert not (tmp_path / "other.pem").exists()
    (tmp_path / "taken.pem").write_text("keep me")
    code, _, err = party_add(db, "red", "--key-out", "taken.pem")
    assert code == 2 and "exists already" in err
    assert (tmp_path / "taken.pem").read_text() == "keep me"
    assert (tmp_path / "blue.ed25519.pem").read_bytes() == key
    with SQLitePartyStore(db) as parties:
        assert [p.name for p in parties.list_parties()] == ["blue"]  # red was not registered


def test_list_and_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "s.db"
    SQLitePartyStore(db).close()  # an existing channel without parties
    assert main(["party", "list", "--db", str(db)]) == 0
    assert "no parties" in capsys.readouterr().out
    _, out, _ = party_add(db, "red")
    red_token = token_of(out)
    party_add(db, "blue")
    assert main(["party", "revoke", "red", "--db", str(db)]) == 0
    assert "'red' revoked" in capsys.readouterr().out
    assert main(["party", "list", "--db", str(db)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "CREATED", "STATE"]
    assert [line.split()[0] for line in table[1:]] == ["blue", "red"]
    assert table[1].endswith("active") and "revoked" in table[2]
    assert main(["party", "list", "--json", "--db", str(db)]) == 0
    listed = json.loads(capsys.readouterr().out)["parties"]
    assert [(p["name"], p["active"]) for p in listed] == [("blue", True), ("red", False)]
    with SQLitePartyStore(db) as parties, pytest.raises(AuthenticationError):
        authenticate(parties, red_token)
    assert main(["party", "revoke", "ghost", "--db", str(db)]) == 2
    assert "no party 'ghost'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["party", "list"],
        ["party", "revoke", "blue"],
        ["party", "rotate", "blue"],
        ["db", "backup", "copy.db"],
        ["audit", "verify", "--key", "server.pem"],
    ],
)
def test_a_command_reading_a_channel_refuses_a_missing_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--db", "nosuch.db"]) == 2
    assert capsys.readouterr().err.startswith("error: nosuch.db: no such database file")
    assert not (tmp_path / "nosuch.db").exists()
