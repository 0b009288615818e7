"""Credentials bind sessions: a long-lived connection lasts only as long as the token that opened it.

A party's ``/v1/events`` connection is opened with a bearer token. The token
can stop being valid while the connection is open: its party is revoked
(``deconflict party revoke``), or it was rotated out (``deconflict party
rotate``) and its grace period ended. Both happen in the database, possibly
from another process, so the server re-checks the credentials of its open
connections against the store (:func:`credential_ending`) and ends each
connection whose token no longer holds, saying why (:class:`SessionEnding`).

Only the token's hash is kept with a connection, never the token.
"""

from __future__ import annotations

from dataclasses import dataclass

from deconflict.channel.parties import PartyStore

__all__ = ["TOKEN_EXPIRED", "TOKEN_REVOKED", "SessionEnding", "credential_ending"]


@dataclass(frozen=True)
class SessionEnding:
    """Why a session ends, as a WebSocket close code (4000-4999: the application's own) and reason."""

    code: int
    reason: str


TOKEN_REVOKED = SessionEnding(4001, "token revoked")
"""The token's party was revoked (``deconflict party revoke``).

Examples
--------
>>> TOKEN_REVOKED.code, TOKEN_REVOKED.reason
(4001, 'token revoked')
"""

TOKEN_EXPIRED = SessionEnding(4002, "token expired")
"""The token was rotated out (``deconflict party rotate``) and its grace period is over."""


def credential_ending(store: PartyStore, token_sha256: str, now_s: float) -> SessionEnding | None:
    """``None`` while the token of that hash is still accepted at ``now_s``, else why it is not.

    The same rules as :func:`~deconflict.channel.parties.authenticate`: a
    party's current token holds until the party is revoked; its previous
    (rotated-out) token until its grace period ends. A token the store no
    longer knows at all (rotated out twice since) has expired.

    """
    current = store.party_for_token(token_sha256)
    if current is not None:
        return None if current[0].is_active else TOKEN_REVOKED
    previous = store.party_for_previous_token(token_sha256)
    if previous is None:
        return TOKEN_EXPIRED
    party, _, until_s = previous
    if not party.is_active:
        return TOKEN_REVOKED
    return None if now_s < until_s else TOKEN_EXPIRED
