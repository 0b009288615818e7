"""Token rotation without downtime: the new token works at once, the old one until its grace period ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from deconflict.channel.parties import (
    DEFAULT_GRACE_S,
    authenticate,
    hash_token,
    register_party,
    revoke_party,
    rotate_token,
)
from deconflict.errors import AuthenticationError, InputError, NotFoundError, TransitionError
from deconflict.storage import SQLitePartyStore
from tests.builders import T0_S


def test_both_tokens_work_during_the_grace_period_then_only_the_new(parties: SQLitePartyStore) -> None:
    old = register_party(parties, "blue", None, T0_S).token
    rotation = rotate_token(parties, "blue", T0_S + 100.0, grace_s=600.0)
    assert rotation.token != old
    assert rotation.previous_until_s == T0_S + 700.0
    assert rotation.party.name == "blue"
    for now_s in (T0_S + 100.0, T0_S + 699.9):
        assert authenticate(parties, old, now_s).name == "blue"
        assert authenticate(parties, rotation.token, now_s).name == "blue"
    with pytest.raises(AuthenticationError, match="invalid or revoked token"):
        authenticate(parties, old, T0_S + 700.0)
    assert authenticate(parties, rotation.token, T0_S + 10 * DEFAULT_GRACE_S).name == "blue"


def test_the_default_grace_is_an_hour(parties: SQLitePartyStore) -> None:
    old = register_party(parties, "blue", None, T0_S).token
    rotate_token(parties, "blue", T0_S)
    assert DEFAULT_GRACE_S == 3600.0
    assert authenticate(parties, old, T0_S + 3599.0).name == "blue"
    with pytest.raises(AuthenticationError):
        authenticate(parties, old, T0_S + 3600.0)


def test_zero_grace_refuses_the_old_token_at_once(parties: SQLitePartyStore) -> None:
    old = register_party(parties, "blue", None, T0_S).token
    rotate_token(parties, "blue", T0_S, grace_s=0.0)
    with pytest.raises(AuthenticationError):
        authenticate(parties, old, T0_S)


def test_rotating_again_drops_the_token_rotated_out_before(parties: SQLitePartyStore) -> None:
    first = register_party(parties, "blue", None, T0_S).token
    second = rotate_token(parties, "blue", T0_S, grace_s=600.0).token
    third = rotate_token(parties, "blue", T0_S + 10.0, grace_s=600.0).token
    with pytest.raises(AuthenticationError):
        authenticate(parties, first, T0_S + 20.0)
    assert authenticate(parties, second, T0_S + 20.0).name == "blue"
    assert authenticate(parties, third, T0_S + 20.0).name == "blue"


def test_only_hashes_are_stored(parties: SQLitePartyStore, tmp_path: Path) -> None:
    old = register_party(parties, "blue", None, T0_S).token
    new = rotate_token(parties, "blue", T0_S).token
    found = parties.party_for_previous_token(hash_token(old))
    assert found is not None and found[1] == hash_token(old) and found[2] == T0_S + DEFAULT_GRACE_S
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("channel.db*"))
    assert old.encode() not in stored and new.encode() not in stored


def test_revoking_refuses_both_tokens(parties: SQLitePartyStore) -> None:
    old = register_party(parties, "blue", None, T0_S).token
    new = rotate_token(parties, "blue", T0_S).token
    revoke_party(parties, "blue", T0_S + 1.0)
    for token in (old, new):
        with pytest.raises(AuthenticationError):
            authenticate(parties, token, T0_S + 2.0)


def test_a_revoked_or_unknown_party_cannot_rotate(parties: SQLitePartyStore) -> None:
    register_party(parties, "blue", None, T0_S)
    revoke_party(parties, "blue", T0_S)
    with pytest.raises(TransitionError, match="revoked"):
        rotate_token(parties, "blue", T0_S)
    with pytest.raises(NotFoundError, match="ghost"):
        rotate_token(parties, "ghost", T0_S)


@pytest.mark.parametrize("grace_s", [-1.0, float("inf"), float("nan")])
def test_a_bad_grace_period_names_the_field(parties: SQLitePartyStore, grace_s: float) -> None:
    register_party(parties, "blue", None, T0_S)
    with pytest.raises(InputError) as raised:
        rotate_token(parties, "blue", T0_S, grace_s=grace_s)
    assert raised.value.problems[0].field == "grace_s"
