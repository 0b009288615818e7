"""Parties registered, revoked and given new tokens, each recorded.

Transactions: ONE transaction when the party store shares the log's
connection (``deconflict.storage.open_*`` open them so); else two commits,
change first.
"""

from __future__ import annotations

from deconflict.channel.audit import SERVER, AuditKind, AuditLog, AuditRecord
from deconflict.channel.parties import (
    DEFAULT_GRACE_S,
    Party,
    PartyStore,
    Registration,
    Rotation,
    register_party,
    revoke_party,
    rotate_token,
)
from deconflict.channel.service.common import together

__all__ = ["add_party", "revoke_party_token", "rotate_party_token"]


def add_party(
    parties: PartyStore, audit: AuditLog, name: str, public_key_pem: bytes | None, now_s: float
) -> Registration:
    """Register a party (:func:`~deconflict.channel.parties.register_party`) and record it with its key."""
    with together(audit, parties):
        registration = register_party(parties, name, public_key_pem, now_s)
        party = registration.party
        payload = {"party": party.name, "public_key_pem": party.public_key_pem, "created_s": party.created_s}
        subject = (f"party:{party.name}",)
        audit.append([AuditRecord(SERVER, AuditKind.PARTY_ADDED, subject, (party.name,), payload)], now_s)
    return registration


def revoke_party_token(parties: PartyStore, audit: AuditLog, name: str, now_s: float) -> Party:
    """Revoke a party's token (:func:`~deconflict.channel.parties.revoke_party`) and record it."""
    with together(audit, parties):
        party = revoke_party(parties, name, now_s)
        payload = {"party": party.name, "revoked_s": party.revoked_s}
        subject = (f"party:{party.name}",)
        record = AuditRecord(SERVER, AuditKind.PARTY_REVOKED, subject, (party.name,), payload)
        audit.append([record], now_s, once=True)
    return party


def rotate_party_token(
    parties: PartyStore, audit: AuditLog, name: str, now_s: float, grace_s: float = DEFAULT_GRACE_S
) -> Rotation:
    """Give a party a new token (:func:`~deconflict.channel.parties.rotate_token`) and record it.

    The entry names neither token nor its hash.
    """
    with together(audit, parties):
        rotation = rotate_token(parties, name, now_s, grace_s)
        payload = {"party": name, "rotated_s": now_s, "previous_until_s": rotation.previous_until_s}
        subject = (f"party:{name}",)
        audit.append([AuditRecord(SERVER, AuditKind.TOKEN_ROTATED, subject, (name,), payload)], now_s)
    return rotation
