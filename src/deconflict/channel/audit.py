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
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.channel.messages import Message, canonical_bytes, verify_signature
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.errors import AuditError, InputError, Problem

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
    "load_public_key",
    "message_sha256",
    "seal",
    "sign_checkpoint",
    "verify_chain",
    "verify_checkpoints",
    "verify_messages",
    "with_row_ids",
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


def load_public_key(public_key_pem: str, source: str = "the server public key") -> Ed25519PublicKey:
    """The Ed25519 public key of a PEM text.

    Raises
    ------
    InputError
        Naming ``source``, if the text is not an Ed25519 public key in PEM.
    """
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise InputError([Problem(source, f"not a PEM public key ({exc})")]) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError([Problem(source, f"must be an Ed25519 public key, got {type(key).__name__}")])
    return key


def _load_public_key(public_key_pem: str) -> Ed25519PublicKey:
    try:
        return load_public_key(public_key_pem)
    except InputError as exc:
        raise AuditError(str(exc)) from None


def _check_entry(entry: AuditEntry, key: Ed25519PublicKey) -> str | None:
    """What is wrong with one entry on its own, or ``None``."""
    try:
        subject, audience, payload = entry.subject, entry.audience, entry.payload
    except ValueError:
        return "subject, audience or payload is not JSON"
    if not isinstance(payload, dict) or not isinstance(subject, list) or not isinstance(audience, list):
        return "subject or audience is not a list, or payload not an object"
    if (
        canonical_json(payload) != entry.payload_json
        or canonical_json(subject) != entry.subject_json
        or canonical_json(audience) != entry.audience_json
    ):
        return "subject, audience or payload is not in canonical JSON"
    try:
        digest = hashlib.sha256(
            entry_bytes(
                entry.seq, entry.time_s, entry.actor, entry.kind, subject, audience, payload, entry.prev_hash
            )
        ).hexdigest()
    except (TypeError, ValueError):
        return "a field has the wrong type"
    if digest != entry.hash:
        return (
            f"hash does not match the entry's contents (recomputed {digest[:16]}…, stored {entry.hash[:16]}…)"
        )
    try:
        key.verify(base64.b64decode(entry.signature, validate=True), bytes.fromhex(entry.hash))
    except (InvalidSignature, binascii.Error, ValueError):
        return "server signature does not verify"
    return None


def verify_chain(items: Iterable[AuditEntry | ChainLink], public_key_pem: str, first_seq: int = 1) -> int:
    """Check a chain (or a party's view of it) from ``first_seq``; returns the number of items.

    For every item: ``seq`` follows the previous one, ``prev_hash`` is the previous
    ``hash`` (:data:`GENESIS_HASH` for seq 1). For every full :class:`AuditEntry`
    also: canonical stored JSON, the recomputed hash, the server signature.
    A :class:`ChainLink` can only be checked for its place in the chain.

    Raises
    ------
    AuditError
        Naming the first bad entry and what is wrong with it.
    """
    key = _load_public_key(public_key_pem)
    expected_seq = first_seq
    prev_hash: str | None = GENESIS_HASH if first_seq == 1 else None
    count = 0
    for item in items:
        name = f"entry {item.seq}" + (f" ({item.kind})" if isinstance(item, AuditEntry) else "")
        if item.seq != expected_seq:
            what = "missing" if item.seq > expected_seq else "out of order or repeated"
            raise AuditError(f"{name}: expected seq {expected_seq} (an entry is {what})", seq=item.seq)
        if prev_hash is not None and item.prev_hash != prev_hash:
            raise AuditError(
                f"{name}: prev_hash does not match the hash of entry {item.seq - 1}", seq=item.seq
            )
        if isinstance(item, AuditEntry):
            problem = _check_entry(item, key)
            if problem is not None:
                raise AuditError(f"{name}: {problem}", seq=item.seq)
        prev_hash = item.hash
        expected_seq += 1
        count += 1
    return count


def message_sha256(message: Message) -> str:
    """Hex SHA-256 of the bytes the message's signature covers (:func:`canonical_bytes`)."""
    return hashlib.sha256(canonical_bytes(message.content)).hexdigest()


_ID_FIELDS = {"message_id": IdKind.MESSAGE, "conflict_id": IdKind.CONFLICT, "incident_id": IdKind.INCIDENT}


def with_row_ids(entries: Iterable[AuditEntry], ids: PublicIds, since_seq: int = 1) -> list[AuditEntry]:
    """The entries with the public ids in their payloads turned back into row ids, to compare with storage.

    Entries name objects by the ids parties see (:mod:`deconflict.channel.public_ids`);
    the database's own verification (``audit verify --db``) compares them with stored
    rows. Entries before ``since_seq`` (written before public ids) name rows already.
    Their hashes no longer verify: check the chain first.
    """
    out = []
    for entry in entries:
        payload = entry.payload
        found = {k: kind for k, kind in _ID_FIELDS.items() if isinstance(payload.get(k), int)}
        if entry.seq < since_seq or not (found or "conflicts" in payload):
            out.append(entry)
            continue
        rows: dict[str, Any] = {k: ids.row(kind, payload[k]) for k, kind in found.items()}
        if isinstance(payload.get("conflicts"), list):
            rows["conflicts"] = [ids.row(IdKind.CONFLICT, int(i)) for i in payload["conflicts"]]
        out.append(replace(entry, payload_json=canonical_json({**payload, **rows})))
    return out


def verify_messages(
    messages: Iterable[Message], public_keys: Mapping[str, str], entries: Iterable[AuditEntry]
) -> int:
    """Re-verify every message's signature and match it with its ``message_sent`` entry.

    Parameters
    ----------
    messages
        Every stored message.
    public_keys
        Registered public key (PEM) of each party, by name.
    entries
        The (already verified) chain.

    Returns
    -------
    int
        The number of message signatures verified.

    Raises
    ------
    AuditError
        Naming the first message (or entry) at fault: a signature that does not
        verify with its sender's registered key, a message without its
        ``message_sent`` entry or differing from it, an entry whose message is gone.
    """
    sent: dict[int, AuditEntry] = {}
    for entry in entries:
        if entry.kind == AuditKind.MESSAGE_SENT:
            sent[int(entry.payload["message_id"])] = entry
    count = 0
    for message in sorted(messages, key=lambda m: m.id):
        name = f"message {message.id} from {message.content.sender!r}"
        key = public_keys.get(message.content.sender)
        if key is None:
            raise AuditError(f"{name}: no registered public key for the sender", message_id=message.id)
        try:
            verify_signature(message.content, message.signature, key)
        except InputError:
            raise AuditError(
                f"{name}: signature does not verify with the sender's registered public key "
                "(its text, parameters or signature were altered)",
                message_id=message.id,
            ) from None
        if message.id not in sent:
            raise AuditError(f"{name}: no message_sent entry in the audit log", message_id=message.id)
        entry = sent.pop(message.id)
        payload = entry.payload
        if payload.get("signature") != message.signature or payload.get("content_sha256") != message_sha256(
            message
        ):
            raise AuditError(
                f"{name}: differs from audit entry {entry.seq} (signature or signed content)",
                message_id=message.id,
                seq=entry.seq,
            )
        count += 1
    for message_id, entry in sorted(sent.items()):
        raise AuditError(
            f"entry {entry.seq} (message_sent): message {message_id} is missing from the store",
            seq=entry.seq,
            message_id=message_id,
        )
    return count


def verify_checkpoints(
    items: Sequence[AuditEntry | ChainLink],
    checkpoints: Iterable[tuple[str, Checkpoint]],
    public_key_pem: str,
) -> int:
    """Check that a verified chain contains each signed head (see :class:`Checkpoint`).

    Parameters
    ----------
    items
        The chain (or a party's view of it), already checked by :func:`verify_chain`.
    checkpoints
        ``(where it came from, checkpoint)`` pairs, e.g. the file each was read from.
    public_key_pem
        The server key the checkpoints must be signed with.

    Returns
    -------
    int
        The number of checkpoints checked.

    Raises
    ------
    AuditError
        Naming the checkpoint: not signed by the key, or a chain that ends
        before its head (cut off) or has another entry at its seq (rewritten).
    """
    key = _load_public_key(public_key_pem)
    by_seq = {item.seq: item.hash for item in items}
    last = max(by_seq, default=0)
    count = 0
    for source, checkpoint in checkpoints:
        name = f"checkpoint {source} (seq {checkpoint.seq})"
        try:
            signed = checkpoint_bytes(checkpoint.seq, checkpoint.hash, checkpoint.time_s)
            key.verify(base64.b64decode(checkpoint.signature, validate=True), signed)
        except (InvalidSignature, binascii.Error, ValueError, TypeError):
            raise AuditError(f"{name}: its signature does not verify with the server key") from None
        if checkpoint.seq == 0:
            if checkpoint.hash != GENESIS_HASH:
                raise AuditError(f"{name}: an empty chain's head must be the genesis hash")
        elif checkpoint.seq not in by_seq:
            raise AuditError(
                f"{name}: the server signed a chain of {checkpoint.seq} entries, this one ends at "
                f"entry {last}: entries were cut off",
                seq=checkpoint.seq,
            )
        elif by_seq[checkpoint.seq] != checkpoint.hash:
            raise AuditError(
                f"{name}: entry {checkpoint.seq} is not the one the server signed "
                f"(hash {by_seq[checkpoint.seq][:16]}…, checkpoint {checkpoint.hash[:16]}…): "
                "the chain was rewritten",
                seq=checkpoint.seq,
            )
        count += 1
    return count
