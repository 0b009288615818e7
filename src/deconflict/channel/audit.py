"""The audit log: an append-only, hash-chained, server-signed record of every state change.

Each :class:`AuditEntry` holds the hash of the one before it, so removing,
inserting, reordering or altering any entry breaks the chain from that entry
on; each hash is signed with the server's Ed25519 key, so nobody without that
key can rebuild a consistent chain after tampering.

Canonical encoding
------------------
An entry's ``hash`` is the hex SHA-256 of the UTF-8 bytes of :func:`canonical_json`
of the object::

    {"actor": ..., "audience": [...], "kind": ..., "payload": {...},
     "prev_hash": ..., "seq": n, "subject": [...], "time_s": t}

(sorted keys, ``separators=(",", ":")``, non-ASCII characters as themselves,
``time_s`` a JSON number written as Python writes a float: the shortest decimal
that reads back as the same IEEE 754 double). The first entry's ``prev_hash``
is :data:`GENESIS_HASH`. ``signature`` is the base64 Ed25519 signature of the
32 raw bytes of the hash (not of its hex text).

Who sees what
-------------
``audience`` names the parties an entry concerns; the acting party is always
in it. A party reads the payload of an entry only if it is in its audience
(:meth:`AuditEntry.visible_to`); of every other entry it gets a
:class:`ChainLink` (``seq``, ``prev_hash``, ``hash``): enough to check that the
chain is unbroken end to end, nothing of what the entry says. Payloads seen by
two parties carry only what :mod:`deconflict.channel.disclosure` lets both
learn (a conflict entry names no operation or volume of either side).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.channel.messages import Message, canonical_bytes
from deconflict.channel.public_ids import PublicIds
from deconflict.errors import InputError, Problem

__all__ = [
    "GENESIS_HASH",
    "SERVER",
    "AuditEntry",
    "AuditKind",
    "AuditLog",
    "AuditRecord",
    "AuditSigner",
    "ChainLink",
    "Checkpoint",
    "SharedTransaction",
    "canonical_json",
    "checkpoint_bytes",
    "entry_bytes",
    "message_sha256",
    "seal",
    "sign_checkpoint",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry."""

SERVER = "server"
"""The actor of what the server does by itself (deadlines, failed logins, party administration)."""


class AuditKind(StrEnum):
    """What an entry records."""

    OPERATION_FILED = "operation_filed"
    OPERATION_UPDATED = "operation_updated"
    OPERATION_WITHDRAWN = "operation_withdrawn"
    OPERATION_ACTIVATED = "operation_activated"
    OPERATION_RELEASED = "operation_released"
    OPERATION_EXTENDED = "operation_extended"
    CONFLICT_FOUND = "conflict_found"
    CONFLICT_ACKNOWLEDGED = "conflict_acknowledged"
    CONFLICT_ACCEPTED = "conflict_accepted"
    CONFLICT_RESOLVED = "conflict_resolved"
    MESSAGE_SENT = "message_sent"
    MESSAGE_DELIVERED = "message_delivered"
    MESSAGE_ACKNOWLEDGED = "message_acknowledged"
    MESSAGE_OVERDUE = "message_overdue"
    ESCALATION = "escalation"
    LOGIN_FAILED = "login_failed"
    PARTY_ADDED = "party_added"
    PARTY_REVOKED = "party_revoked"
    INCIDENT_RECORDED = "incident_recorded"
    INCIDENT_CLOSED = "incident_closed"
    INCIDENT_COMMENTED = "incident_commented"
    TOKEN_ROTATED = "token_rotated"
    ZONES_PUBLISHED = "zones_published"
    ZONE_WITHDRAWN = "zone_withdrawn"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, non-ASCII as itself, finite numbers only.

    Examples
    --------
    >>> canonical_json({"b": [1, 2.5], "a": "é"})
    '{"a":"é","b":[1,2.5]}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class AuditRecord:
    """What a state change asks the log to record; :func:`seal` makes it an entry.

    Attributes
    ----------
    actor
        The acting party, or :data:`SERVER`.
    kind
        An :class:`AuditKind` value.
    subject
        Ids of what changed, e.g. ``("message:7",)``.
    audience
        The parties that may read the entry (the acting party among them).
    payload
        JSON-compatible details (finite numbers only).
    """

    actor: str
    kind: str
    subject: tuple[str, ...]
    audience: tuple[str, ...]
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class ChainLink:
    """What a party learns of an entry it may not read: its place in the chain only."""

    seq: int
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditEntry:
    """One sealed entry, as stored.

    Attributes
    ----------
    seq
        1, 2, ... without gaps.
    time_s
        When it was recorded, seconds since the Unix epoch.
    actor, kind
        See :class:`AuditRecord`.
    subject_json, audience_json, payload_json
        The canonical JSON of the subject list, the audience list and the
        payload object, as stored (parse them with the properties).
    prev_hash, hash
        Hex SHA-256 of the previous entry and of this one (see the module docs).
    signature
        Base64 Ed25519 signature of the raw hash by the server key.
    """

    seq: int
    time_s: float
    actor: str
    kind: str
    subject_json: str
    audience_json: str
    payload_json: str
    prev_hash: str
    hash: str
    signature: str

    @property
    def subject(self) -> list[str]:
        """The subject ids."""
        value: list[str] = json.loads(self.subject_json)
        return value

    @property
    def audience(self) -> list[str]:
        """The parties that may read the entry."""
        value: list[str] = json.loads(self.audience_json)
        return value

    @property
    def payload(self) -> dict[str, Any]:
        """The details."""
        value: dict[str, Any] = json.loads(self.payload_json)
        return value

    def visible_to(self, party: str) -> bool:
        """Whether ``party`` may read the entry (it is in the audience)."""
        try:
            return party in self.audience
        except ValueError:
            return False

    def link(self) -> ChainLink:
        """The entry as a party outside its audience sees it."""
        return ChainLink(self.seq, self.prev_hash, self.hash)


def entry_bytes(
    seq: int,
    time_s: float,
    actor: str,
    kind: str,
    subject: Sequence[str],
    audience: Sequence[str],
    payload: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    """The bytes an entry's hash covers (see the module docs).

    Examples
    --------
    >>> entry_bytes(1, 5.0, "server", "login_failed", [], [], {"reason": "x"}, "00")
    b'{"actor":"server","audience":[],"kind":"login_failed","payload":{"reason":"x"},"prev_hash":"00","seq":1,"subject":[],"time_s":5.0}'
    """
    document = {
        "seq": seq,
        "time_s": float(time_s),
        "actor": actor,
        "kind": kind,
        "subject": list(subject),
        "audience": list(audience),
        "payload": dict(payload),
        "prev_hash": prev_hash,
    }
    return canonical_json(document).encode("utf-8")


class AuditSigner:
    """The server's Ed25519 key, signing entry hashes.

    Parameters
    ----------
    private_key_pem
        Unencrypted PKCS #8 PEM of an Ed25519 private key.

    Raises
    ------
    InputError
        If the key is not an unencrypted Ed25519 private key.
    """

    def __init__(self, private_key_pem: bytes, source: str = "audit key") -> None:
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise InputError([Problem(source, f"not an unencrypted PEM private key ({exc})")]) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError([Problem(source, f"must be an Ed25519 key, got {type(key).__name__}")])
        self._key = key
        self.public_key_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, digest_hex: str) -> str:
        """The base64 signature of the raw bytes of a hex digest."""
        return self.sign_bytes(bytes.fromhex(digest_hex))

    def sign_bytes(self, data: bytes) -> str:
        """The base64 signature of ``data``."""
        return base64.b64encode(self._key.sign(data)).decode("ascii")


def seal(record: AuditRecord, seq: int, time_s: float, prev_hash: str, signer: AuditSigner) -> AuditEntry:
    """The entry that follows ``prev_hash`` at ``seq``: hashed and signed.

    Raises
    ------
    ValueError
        If the payload is not JSON with finite numbers.
    """
    digest = hashlib.sha256(
        entry_bytes(
            seq, time_s, record.actor, record.kind, record.subject, record.audience, record.payload, prev_hash
        )
    ).hexdigest()
    return AuditEntry(
        seq=seq,
        time_s=float(time_s),
        actor=record.actor,
        kind=str(record.kind),
        subject_json=canonical_json(list(record.subject)),
        audience_json=canonical_json(list(record.audience)),
        payload_json=canonical_json(dict(record.payload)),
        prev_hash=prev_hash,
        hash=digest,
        signature=signer.sign(digest),
    )


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain at one time, signed by the server: a party keeps it as a receipt.

    Attributes
    ----------
    seq
        The head entry's seq (0 for an empty chain).
    hash
        Its hash (:data:`GENESIS_HASH` for an empty chain).
    time_s
        When the server signed it, seconds since the Unix epoch.
    signature
        Base64 Ed25519 signature by the server key of :func:`checkpoint_bytes`.

    A chain "contains" a checkpoint when its entry ``seq`` has that ``hash``:
    every entry up to it is then the one the server had signed at ``time_s``,
    so a log cut below ``seq`` or rewritten at or before it is caught.
    """

    seq: int
    hash: str
    time_s: float
    signature: str


def checkpoint_bytes(seq: int, digest: str, time_s: float) -> bytes:
    """The bytes a checkpoint's signature covers: never 32 bytes, so never an entry's signed hash.

    Examples
    --------
    >>> checkpoint_bytes(3, "ab", 5.0)
    b'{"hash":"ab","seq":3,"time_s":5.0,"type":"deconflict-audit-checkpoint"}'
    """
    document = {"type": "deconflict-audit-checkpoint", "seq": seq, "hash": digest, "time_s": float(time_s)}
    return canonical_json(document).encode("utf-8")


def sign_checkpoint(signer: AuditSigner, seq: int, digest: str, time_s: float) -> Checkpoint:
    """The signed head ``seq``/``digest`` at ``time_s``."""
    return Checkpoint(seq, digest, float(time_s), signer.sign_bytes(checkpoint_bytes(seq, digest, time_s)))


class AuditLog(Protocol):
    """Where the audit chain is kept (storage implements it).

    Attributes
    ----------
    public_key_pem
        The server's Ed25519 public key (SubjectPublicKeyInfo PEM) that verifies the chain.
    """

    @property
    def public_key_pem(self) -> str:
        """The server's public key (a new server key is made on first use)."""
        ...

    def stored_public_key(self) -> str | None:
        """The public key recorded with the chain (that signed it), or ``None`` before any; makes no key."""
        ...

    @property
    def public_ids(self) -> PublicIds:
        """The ids its entries name, as parties are shown them (:mod:`deconflict.channel.public_ids`).

        Entries are read by the parties: a conflict, message or incident is named
        by its public id, never its row id, which would count the others' activity.
        """
        ...

    def append(
        self, records: Sequence[AuditRecord], time_s: float, *, once: bool = False
    ) -> list[AuditEntry]:
        """Seal and store ``records`` in order, all or none, durably; returns the new entries.

        With ``once``, a record whose kind and subject are already in the log is
        skipped (for facts noticed repeatedly, such as a passed deadline).
        """
        ...

    def entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > after_seq`` in order, at most ``limit`` of them."""
        ...

    def head(self, time_s: float) -> Checkpoint:
        """The chain's last entry (seq and hash) now, signed at ``time_s``."""
        ...

    def close(self) -> None:
        """Release the log's resources."""
        ...


@runtime_checkable
class SharedTransaction(Protocol):
    """An audit log that can commit a store's change and its entries in one transaction.

    The channel's service (:mod:`deconflict.channel.service`) runs "change, then
    append" inside ``transaction_with(store)`` when the log offers it: after a
    crash there is then never a change without its entry, nor an entry without
    its change.
    """

    def transaction_with(self, *stores: object) -> AbstractContextManager[object]:
        """One transaction covering the log and ``stores`` if the storage can, else no transaction."""
        ...


def message_sha256(message: Message) -> str:
    """Hex SHA-256 of the bytes the message's signature covers (:func:`canonical_bytes`)."""
    return hashlib.sha256(canonical_bytes(message.content)).hexdigest()
