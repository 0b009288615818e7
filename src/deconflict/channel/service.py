"""The channel's state changes, each followed by its audit entries: the one place that records them.

The API (and the ``party`` command) call these functions instead of the bare
domain operations, so no state change escapes the log.

When entries are written
------------------------
Each function commits the state change and then appends its entries to the
log, immediately and durably, before it returns; if appending fails, the
function raises and the request fails (HTTP 500), so a client never gets a 2xx
for a change whose entry is missing. The change and its entries are two
transactions, not one: the operations store (``storage/sqlite/store.py``) and
the message store commit on their own connections. Should the process die
between the two commits, the gap is not silent: ``deconflict audit verify``
matches every stored message with its ``message_sent`` entry and reports a
message without one. Entries of one change (an operation and each conflict
found by filing it) are appended in one transaction, so the chain never holds
half of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from deconflict.channel.audit import SERVER, AuditKind, AuditLog, AuditRecord, canonical_json, message_sha256
from deconflict.channel.catalogue import Catalogue
from deconflict.channel.deadlines import DeadlineStore, Escalation, is_overdue, run_deadlines
from deconflict.channel.messages import (
    AckLevel,
    Box,
    Message,
    MessageContent,
    MessageStore,
    acknowledge,
    read_message,
    send_message,
)
from deconflict.channel.parties import Party, PartyStore, hash_token
from deconflict.config import Buffers, Limits
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.filing import FilingResult, file_operation, withdraw_operation
from deconflict.strategic.store import Store
from deconflict.strategic.volume import Operation, Volume

__all__ = [
    "acknowledge_message",
    "fetch_messages",
    "file_plan",
    "pass_deadlines",
    "read_one",
    "record_login_failure",
    "record_party_added",
    "record_party_revoked",
    "send",
    "withdraw_plan",
]


def _document_sha256(document: object) -> str | None:
    try:
        return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
    except (TypeError, ValueError):
        return None


def _conflict_record(filer: str, conflict: Conflict, conflict_id: int) -> AuditRecord:
    # Seen by both sides: only the facts disclosure lets both learn (no operation or volume ids).
    payload: dict[str, Any] = {
        "conflict_id": conflict_id,
        "parties": [conflict.party_a, conflict.party_b],
        "priorities": [conflict.priority_a, conflict.priority_b],
        "time_start_s": conflict.time_start_s,
        "time_end_s": conflict.time_end_s,
        "altitude_lower_m": conflict.altitude_lower_m,
        "altitude_upper_m": conflict.altitude_upper_m,
        "altitude_reference": str(conflict.altitude_reference),
        "overlap_area_m2": conflict.overlap_area_m2,
        "overlap_bbox": list(conflict.overlap_bbox),
    }
    audience = tuple(sorted({conflict.party_a, conflict.party_b}))
    return AuditRecord(filer, AuditKind.CONFLICT_FOUND, (f"conflict:{conflict_id}",), audience, payload)


def file_plan(
    store: Store,
    audit: AuditLog,
    party: str,
    operation_id: str,
    volumes: Sequence[Volume],
    *,
    document: object,
    priority: int,
    replaces_version: int | None,
    buffers: Buffers,
    limits: Limits,
    now_s: float,
) -> FilingResult:
    """File (or amend) an operation and record it with one ``conflict_found`` entry per conflict.

    ``document`` is the plan as the party sent it; the entry keeps its SHA-256
    (of its canonical JSON), and the volume ids, version and priority.
    """
    result = file_operation(
        store,
        party,
        operation_id,
        volumes,
        priority=priority,
        replaces_version=replaces_version,
        buffers=buffers,
        limits=limits,
    )
    operation = result.operation
    kind = AuditKind.OPERATION_FILED if replaces_version is None else AuditKind.OPERATION_UPDATED
    payload = {
        "operation": operation.id,
        "version": operation.version,
        "priority": operation.priority,
        "state": str(operation.state),
        "volumes": [v.id for v in operation.volumes],
        "document_sha256": _document_sha256(document),
        "conflicts": list(result.conflict_ids),
    }
    records = [AuditRecord(party, kind, (f"operation:{party}/{operation.id}",), (party,), payload)]
    records += [
        _conflict_record(party, c, i) for c, i in zip(result.conflicts, result.conflict_ids, strict=True)
    ]
    audit.append(records, now_s)
    return result


def withdraw_plan(
    store: Store, audit: AuditLog, party: str, operation_id: str, version: int, now_s: float
) -> Operation:
    """Withdraw an operation and record it."""
    operation = withdraw_operation(store, party, operation_id, version)
    payload = {"operation": operation.id, "version": operation.version, "state": str(operation.state)}
    subject = (f"operation:{party}/{operation.id}",)
    audit.append([AuditRecord(party, AuditKind.OPERATION_WITHDRAWN, subject, (party,), payload)], now_s)
    return operation


def _both(message: Message) -> tuple[str, ...]:
    return tuple(sorted({message.content.sender, message.content.recipient}))


def send(
    messages: MessageStore,
    parties: PartyStore,
    catalogue: Catalogue,
    audit: AuditLog,
    content: MessageContent,
    signature: str,
    now_s: float,
) -> Message:
    """Send a message and record it with its signature and the SHA-256 of the bytes signed.

    The text stays out of the entry (both sides hold it); the hash of the signed
    bytes and the signature let anyone re-verify the message against the entry.
    """
    message = send_message(messages, parties, catalogue, content, signature, now_s)
    payload = {
        "message_id": message.id,
        "from": content.sender,
        "to": content.recipient,
        "code": content.code,
        "nonce": content.nonce,
        "reply_by": content.reply_by,
        "signature": message.signature,
        "content_sha256": message_sha256(message),
    }
    record = AuditRecord(
        content.sender, AuditKind.MESSAGE_SENT, (f"message:{message.id}",), _both(message), payload
    )
    audit.append([record], now_s)
    return message


def _delivered(message: Message, now_s: float) -> AuditRecord:
    payload = {"message_id": message.id, "level": str(AckLevel.DELIVERED), "delivered_s": now_s}
    subject = (f"message:{message.id}",)
    return AuditRecord(
        message.content.recipient, AuditKind.MESSAGE_DELIVERED, subject, _both(message), payload
    )


def read_one(messages: MessageStore, audit: AuditLog, message_id: int, party: str, now_s: float) -> Message:
    """Read a message; the recipient's first fetch marks it delivered, and that is recorded."""
    message = read_message(messages, message_id, party, now_s)
    if party == message.content.recipient and message.delivered_s == now_s:
        audit.append([_delivered(message, now_s)], now_s, once=True)
    return message


def fetch_messages(
    messages: MessageStore,
    audit: AuditLog,
    party: str,
    box: Box,
    now_s: float,
    level: AckLevel | None = None,
    overdue: bool | None = None,
) -> list[Message]:
    """The party's inbox or outbox; fetching the inbox marks new messages delivered, each recorded."""
    if box == "inbox":
        new = messages.list_messages(party, "inbox", AckLevel.SENT)
        for message in new:
            messages.mark_delivered(party, now_s, message.id)
        audit.append([_delivered(m, now_s) for m in new], now_s, once=True)
    return messages.list_messages(party, box, level, overdue)


def acknowledge_message(
    messages: MessageStore,
    audit: AuditLog,
    message_id: int,
    party: str,
    level: AckLevel,
    reason: str | None,
    now_s: float,
) -> Message:
    """Acknowledge a received message (read, accepted, disputed) and record it with the reason."""
    message = acknowledge(messages, message_id, party, level, reason, now_s)
    payload = {"message_id": message.id, "level": str(message.level), "reason": message.reason}
    subject = (f"message:{message.id}", f"level:{message.level}")
    audit.append(
        [AuditRecord(party, AuditKind.MESSAGE_ACKNOWLEDGED, subject, _both(message), payload)], now_s
    )
    return message


def pass_deadlines(
    messages: DeadlineStore, audit: AuditLog, now_s: float, ladder_s: Sequence[float]
) -> list[Escalation]:
    """Run the deadlines (:func:`~deconflict.channel.deadlines.run_deadlines`) and record what they found.

    Each overdue message and each escalation step is recorded once, however
    often this runs (entries are keyed by their subject).
    """
    past = messages.messages_past_deadline(now_s, len(ladder_s))
    escalations = run_deadlines(messages, now_s, ladder_s)
    if not past:
        return escalations
    records = [
        AuditRecord(
            SERVER,
            AuditKind.MESSAGE_OVERDUE,
            (f"message:{m.id}",),
            _both(m),
            {"message_id": m.id, "reply_by": m.content.reply_by},
        )
        for m in past
        if m.overdue_s is None and is_overdue(m, now_s)
    ]
    records += [
        AuditRecord(
            SERVER,
            AuditKind.ESCALATION,
            (f"message:{e.message_id}", f"step:{e.step}"),
            tuple(sorted({e.sender, e.recipient})),
            {"message_id": e.message_id, "step": e.step, "due_s": e.due_s, "code": e.code},
        )
        for e in escalations
    ]
    audit.append(records, now_s, once=True)
    return escalations


def record_login_failure(
    audit: AuditLog, parties: PartyStore, authorization: str | None, token: str | None, now_s: float
) -> None:
    """Record a failed authentication: why, and the SHA-256 of what was presented (never the token).

    Parameters
    ----------
    authorization
        The ``Authorization`` header as received, or ``None`` when there was none.
    token
        The bearer token in it, or ``None`` when the header is not ``Bearer <token>``.
    """
    audience: tuple[str, ...] = ()
    if authorization is None:
        reason, presented = "no Authorization header", None
    elif token is None:
        reason, presented = "malformed Authorization header (expected 'Bearer <token>')", authorization
    else:
        presented = token
        found = parties.party_for_token(hash_token(token))
        if found is None:
            reason = "unknown token"
        else:
            reason = f"token of revoked party {found[0].name!r}"
            audience = (found[0].name,)
    payload = {
        "reason": reason,
        "presented_sha256": None if presented is None else hash_token(presented),
    }
    audit.append([AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), audience, payload)], now_s)


def record_party_added(audit: AuditLog, party: Party, now_s: float) -> None:
    """Record a party's registration, with its public key (what its messages verify against)."""
    payload = {"party": party.name, "public_key_pem": party.public_key_pem, "created_s": party.created_s}
    audit.append(
        [AuditRecord(SERVER, AuditKind.PARTY_ADDED, (f"party:{party.name}",), (party.name,), payload)], now_s
    )


def record_party_revoked(audit: AuditLog, party: Party, now_s: float) -> None:
    """Record that a party's token was revoked."""
    payload = {"party": party.name, "revoked_s": party.revoked_s}
    subject = (f"party:{party.name}",)
    audit.append(
        [AuditRecord(SERVER, AuditKind.PARTY_REVOKED, subject, (party.name,), payload)], now_s, once=True
    )
