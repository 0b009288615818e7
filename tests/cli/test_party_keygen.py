"""``deconflict party keygen``: a party makes its own key pair; the operator registers only the public key."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.channel.messages import MessageContent, sign_content, verify_signature
from deconflict.cli import main
from deconflict.storage import open_storage


def _line(out: str, label: str) -> str:
    match = re.search(rf"^{label}: (\S+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def test_keygen_writes_a_private_key_for_the_party_and_a_public_key_for_the_operator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    assert main(["party", "keygen", "blue", "--out", str(keys)]) == 0
    out = capsys.readouterr().out
    private_path, public_path = keys / "blue.ed25519.pem", keys / "blue.ed25519.pub.pem"
    assert _line(out, "private key") == str(private_path) and _line(out, "public key") == str(public_path)
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700  # the folder it made holds a private key
    private = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_path.read_bytes() == public_pem
    assert b"PRIVATE" not in public_path.read_bytes()

    # The operator registers the public key; both sides read the same fingerprint.
    db = tmp_path / "channel.db"
    assert main(["party", "add", "blue", "--db", str(db), "--public-key", str(public_path)]) == 0
    registered = capsys.readouterr().out
    assert _line(registered, "fingerprint") == _line(out, "fingerprint")
    assert "private key" not in registered
    with open_storage(db) as storage:
        parties = storage.parties
        blue = parties.get_party("blue")
    assert blue is not None
    content = MessageContent("blue", "red", "FREE", {}, "hello", None, "n-1")
    verify_signature(content, sign_content(content, private_path.read_bytes()), blue.public_key_pem)


def test_keygen_never_replaces_key_files_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["party", "keygen", "blue"]) == 0
    first = _line(capsys.readouterr().out, "fingerprint")
    private_path = tmp_path / "blue.ed25519.pem"
    before = private_path.read_bytes()
    assert main(["party", "keygen", "blue"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {private_path}: exists already: it is replaced only with --force",
        f"error: {tmp_path / 'blue.ed25519.pub.pem'}: exists already: it is replaced only with --force",
    ]
    assert private_path.read_bytes() == before

    private_path.chmod(0o644)  # even a key left readable by others comes back private
    assert main(["party", "keygen", "blue", "--force"]) == 0
    assert _line(capsys.readouterr().out, "fingerprint") != first
    assert private_path.read_bytes() != before
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blue.ed25519.pem", "blue.ed25519.pub.pem"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Blue"], "invalid name 'Blue'"),
        (["blue", "--out", "{tmp}/file/sub"], "cannot create"),
    ],
)
def test_keygen_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    assert main(["party", "keygen", *[a.format(tmp=tmp_path) for a in argv]]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and len(err.splitlines()) == 1
