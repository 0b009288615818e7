"""Checking the audit log: the chain, the message signatures it covers, the signed heads.

:mod:`deconflict.channel.audit` says how an entry is encoded, hashed and signed;
this module checks a chain read back against that: every entry in its place,
canonical, its hash recomputed and its server signature verified
(:func:`verify_chain`), every stored message signed by its sender and matching
its ``message_sent`` entry (:func:`verify_messages`, on entries whose public
ids :func:`with_row_ids` turned back into row ids), every checkpoint a head the
chain still contains (:func:`verify_checkpoints`). Replaying the chain against
the stored state is :mod:`deconflict.channel.audit_state`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deconflict.channel.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditKind,
    ChainLink,
    Checkpoint,
    canonical_json,
    checkpoint_bytes,
    entry_bytes,
    message_sha256,
)
from deconflict.channel.messages import Message, verify_signature
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.errors import AuditError, InputError, Problem

__all__ = ["load_public_key", "verify_chain", "verify_checkpoints", "verify_messages", "with_row_ids"]


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
