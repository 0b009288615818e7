"""Parties and their credentials: names, bearer tokens (kept only as hashes), public keys.

A party is an organisation with its own credentials. Its bearer token is shown
once, when the party is registered; the store keeps only the token's SHA-256,
so a copy of the database does not let anyone act as a party.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from deconflict.channel.keys import generate_key_pair, public_key_of
from deconflict.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InputError,
    NotFoundError,
    Problem,
    TransitionError,
)

__all__ = [
    "DEFAULT_GRACE_S",
    "NAME_PATTERN",
    "Party",
    "PartyStore",
    "Registration",
    "Rotation",
    "authenticate",
    "check_party_name",
    "hash_token",
    "new_token",
    "register_party",
    "revoke_party",
    "rotate_token",
]

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""A party name: lower-case letters, digits, ``_`` and ``-``, 1 to 64 characters."""

_TOKEN_BYTES = 32

DEFAULT_GRACE_S = 3600.0
"""How long a rotated-out token keeps working by default, in seconds."""


@dataclass(frozen=True)
class Party:
    """An organisation with its own credentials and its own view of the data.

    Attributes
    ----------
    name
        Unique, matching :data:`NAME_PATTERN`.
    public_key_pem
        The party's Ed25519 public key (SubjectPublicKeyInfo PEM): it verifies
        what the party signs.
    created_s, revoked_s
        Seconds since the Unix epoch; ``revoked_s`` is ``None`` while the party's
        token is valid.
    """

    name: str
    public_key_pem: str
    created_s: float
    revoked_s: float | None = None

    @property
    def is_active(self) -> bool:
        """Whether the party's token is still accepted."""
        return self.revoked_s is None


class PartyStore(Protocol):
    """What the channel needs from storage to keep parties and their token hashes."""

    def add_party(self, party: Party, token_sha256: str) -> None:
        """Store a new party; raise :class:`AlreadyExistsError` if the name is taken."""
        ...

    def get_party(self, name: str) -> Party | None:
        """The party of that name (revoked or not), or ``None``."""
        ...

    def party_for_token(self, token_sha256: str) -> tuple[Party, str] | None:
        """The party whose stored token hash is ``token_sha256``, with that stored hash."""
        ...

    def list_parties(self) -> list[Party]:
        """Every party, by name."""
        ...

    def revoke_party(self, name: str, revoked_s: float) -> Party:
        """Mark a party's token revoked; raise :class:`NotFoundError` if there is no such party."""
        ...

    def rotate_token(self, name: str, token_sha256: str, previous_until_s: float) -> Party:
        """Make ``token_sha256`` the party's token; its current one stays valid until ``previous_until_s``.

        The token it replaces becomes the party's only previous token (one
        rotated out before is dropped). Raise :class:`NotFoundError` if there
        is no such party.
        """
        ...

    def party_for_previous_token(self, token_sha256: str) -> tuple[Party, str, float] | None:
        """The party whose previous (rotated-out) token hash is ``token_sha256``, with that
        stored hash and the time (seconds since the epoch) until which it is accepted."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


@dataclass(frozen=True)
class Registration:
    """What registering a party produces: shown once, never stored as is.

    Attributes
    ----------
    party
        The party as stored.
    token
        The bearer token; only its hash is stored.
    private_key_pem
        The generated Ed25519 private key (PKCS #8 PEM), or ``None`` when the
        party brought its own public key.
    """

    party: Party
    token: str
    private_key_pem: bytes | None


def check_party_name(name: str) -> str:
    """``name`` if it is a valid party name.

    Raises
    ------
    InputError
        Naming the rule and the offending value.

    Examples
    --------
    >>> check_party_name("blue-1")
    'blue-1'
    """
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(
            [
                Problem(
                    "party",
                    f"invalid name {name!r}: use 1 to 64 of a-z, 0-9, '_' and '-', "
                    "starting with a letter or digit",
                    field="name",
                )
            ]
        )
    return name


def new_token() -> str:
    """A fresh bearer token: 32 random bytes, URL-safe base64 (43 characters), never starting with ``-``.

    A leading ``-`` would make ``--token TOKEN`` on a command line read as an
    option; drawing again costs under a bit of the 256 bits.
    """
    while True:
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        if not token.startswith("-"):
            return token


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token, the only form in which tokens are stored.

    A plain hash suffices (no salt, no slow KDF): tokens are 256-bit random
    values, not passwords, so there is nothing to guess.

    Examples
    --------
    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def register_party(store: PartyStore, name: str, public_key_pem: bytes | None, now_s: float) -> Registration:
    """Register a party: a new token and, unless one is given, a new Ed25519 key pair.

    Raises
    ------
    InputError
        If the name is invalid or the public key is not an Ed25519 PEM key.
    AlreadyExistsError
        If a party of that name exists (revoked or not: names are never reused).
    """
    check_party_name(name)
    private_pem: bytes | None = None
    if public_key_pem is None:
        private_pem, public_pem = generate_key_pair()
    else:
        public_pem = public_key_of(public_key_pem, source="public key")
    if store.get_party(name) is not None:
        raise AlreadyExistsError(f"party {name!r} already exists")
    token = new_token()
    party = Party(name=name, public_key_pem=public_pem.decode("ascii"), created_s=now_s)
    store.add_party(party, hash_token(token))
    return Registration(party, token, private_pem)


def authenticate(store: PartyStore, token: str, now_s: float | None = None) -> Party:
    """The active party a bearer token belongs to.

    The party's current token is accepted; so is its previous one (see
    :func:`rotate_token`) until its grace period ends at ``now_s``.

    Parameters
    ----------
    now_s
        The time now, seconds since the epoch (the system clock's when ``None``).

    Raises
    ------
    AuthenticationError
        If the token is unknown, rotated out past its grace period, or its
        party revoked (the same error for all).
    """
    digest = hash_token(token)
    found = store.party_for_token(digest)
    # The lookup is by hash, so its timing reveals nothing usable about the token;
    # compare in constant time all the same, as the one place that decides.
    if found is not None and hmac.compare_digest(found[1], digest) and found[0].is_active:
        return found[0]
    if found is None:
        previous = store.party_for_previous_token(digest)
        if previous is not None:
            party, stored, until_s = previous
            now = time.time() if now_s is None else now_s
            if hmac.compare_digest(stored, digest) and party.is_active and now < until_s:
                return party
    raise AuthenticationError("invalid or revoked token")


@dataclass(frozen=True)
class Rotation:
    """What rotating a party's token produces: shown once, never stored as is.

    Attributes
    ----------
    party
        The party as stored.
    token
        The new bearer token; only its hash is stored.
    previous_until_s
        Until when (seconds since the epoch) the replaced token is still accepted.
    """

    party: Party
    token: str
    previous_until_s: float


def rotate_token(store: PartyStore, name: str, now_s: float, grace_s: float = DEFAULT_GRACE_S) -> Rotation:
    """Give a party a new token; the one it replaces keeps working for ``grace_s`` seconds.

    During the grace period both tokens are accepted, so the party's clients
    can switch without a moment refused. Rotating again within it ends the
    grace of the token rotated out before (only one previous token is kept).

    Raises
    ------
    InputError
        If the name is invalid or ``grace_s`` is negative or not finite.
    NotFoundError
        If there is no such party.
    TransitionError
        If the party is revoked: a revoked party gets no new token.
    """
    check_party_name(name)
    if not (math.isfinite(grace_s) and grace_s >= 0.0):
        raise InputError(
            [Problem("party", f"must be a finite number >= 0, got {grace_s!r}", None, "grace_s")]
        )
    party = store.get_party(name)
    if party is None:
        raise NotFoundError(f"no party {name!r}")
    if not party.is_active:
        raise TransitionError(f"party {name!r} is revoked: its token cannot be rotated", current="revoked")
    token = new_token()
    until_s = now_s + grace_s
    return Rotation(store.rotate_token(name, hash_token(token), until_s), token, until_s)


def revoke_party(store: PartyStore, name: str, now_s: float) -> Party:
    """Revoke a party's token; its data stays. Revoking twice keeps the first time.

    Raises
    ------
    NotFoundError
        If there is no such party.
    """
    check_party_name(name)
    party = store.get_party(name)
    if party is None:
        raise NotFoundError(f"no party {name!r}")
    if not party.is_active:
        return party
    return store.revoke_party(name, now_s)
