"""Parties and credentials: names, tokens kept only as hashes, keys, revocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.channel.keys import generate_key_pair
from deconflict.channel.parties import (
    authenticate,
    check_party_name,
    hash_token,
    new_token,
    register_party,
    revoke_party,
)
from deconflict.errors import AlreadyExistsError, AuthenticationError, InputError, NotFoundError
from deconflict.storage import SQLitePartyStore
from tests.builders import T0_S


@pytest.mark.parametrize("name", ["blue", "a", "nato-ais_2", "0", "x" * 64])
def test_valid_names(name: str) -> None:
    assert check_party_name(name) == name


@pytest.mark.parametrize("name", ["", "Blue", "-blue", "_x", "x" * 65, "blue team", "blé", "a/b", "a.b"])
def test_invalid_names_say_the_rule_and_the_value(name: str) -> None:
    with pytest.raises(InputError) as info:
        check_party_name(name)
    (problem,) = info.value.problems
    assert problem.field == "name"
    assert repr(name) in problem.message and "a-z" in problem.message


def test_register_stores_only_the_token_hash_and_generates_a_key(
    parties: SQLitePartyStore, tmp_path: Path
) -> None:
    registration = register_party(parties, "blue", None, T0_S)
    assert len(registration.token) >= 43
    assert registration.private_key_pem is not None
    private = serialization.load_pem_private_key(registration.private_key_pem, password=None)
    assert isinstance(private, Ed25519PrivateKey)
    public = serialization.load_pem_public_key(registration.party.public_key_pem.encode())
    assert isinstance(public, Ed25519PublicKey)
    signature = private.sign(b"hotline")
    public.verify(signature, b"hotline")  # the registered key is the private key's pair
    parties.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("channel.db"))
    assert registration.token.encode() not in stored
    assert hash_token(registration.token).encode() in stored


def test_register_with_a_given_public_key(parties: SQLitePartyStore) -> None:
    _, public_pem = generate_key_pair()
    registration = register_party(parties, "red", public_pem, T0_S)
    assert registration.private_key_pem is None
    assert registration.party.public_key_pem.encode() == public_pem


def test_register_refuses_keys_that_are_not_ed25519_pem(parties: SQLitePartyStore) -> None:
    ec_pem = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(InputError, match="must be an Ed25519 key"):
        register_party(parties, "red", ec_pem, T0_S)
    with pytest.raises(InputError, match="not a PEM public key"):
        register_party(parties, "red", b"hello", T0_S)
    assert parties.list_parties() == []


def test_names_are_unique_and_never_reused(parties: SQLitePartyStore) -> None:
    register_party(parties, "blue", None, T0_S)
    revoke_party(parties, "blue", T0_S + 1)
    with pytest.raises(AlreadyExistsError, match="'blue' already exists"):
        register_party(parties, "blue", None, T0_S + 2)


def test_authenticate_accepts_the_token_and_nothing_else(parties: SQLitePartyStore) -> None:
    blue = register_party(parties, "blue", None, T0_S)
    red = register_party(parties, "red", None, T0_S)
    assert authenticate(parties, blue.token).name == "blue"
    assert authenticate(parties, red.token).name == "red"
    for wrong in ["", "x", blue.token[:-1], blue.token + "x", hash_token(blue.token)]:
        with pytest.raises(AuthenticationError):
            authenticate(parties, wrong)


def test_revoked_tokens_fail_and_revoking_twice_keeps_the_first_time(parties: SQLitePartyStore) -> None:
    blue = register_party(parties, "blue", None, T0_S)
    first = revoke_party(parties, "blue", T0_S + 10)
    again = revoke_party(parties, "blue", T0_S + 20)
    assert first.revoked_s == again.revoked_s == T0_S + 10
    assert not first.is_active
    with pytest.raises(AuthenticationError):
        authenticate(parties, blue.token)


def test_revoking_an_unknown_party_is_not_found(parties: SQLitePartyStore) -> None:
    with pytest.raises(NotFoundError, match="no party 'ghost'"):
        revoke_party(parties, "ghost", T0_S)


def test_parties_are_listed_by_name_and_survive_reopening(tmp_path: Path) -> None:
    with SQLitePartyStore(tmp_path / "c.db") as parties:
        for name in ["red", "blue", "green"]:
            register_party(parties, name, None, T0_S)
    with SQLitePartyStore(tmp_path / "c.db") as parties:
        assert [p.name for p in parties.list_parties()] == ["blue", "green", "red"]


def test_new_tokens_never_look_like_command_line_options() -> None:
    tokens = [new_token() for _ in range(2000)]  # a leading '-' has odds 1/64 per draw
    assert not any(t.startswith("-") for t in tokens)
    assert all(len(t) == 43 for t in tokens) and len(set(tokens)) == len(tokens)
