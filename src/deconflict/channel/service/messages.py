"""Messages sent, delivered, read and acknowledged, and the deadlines they pass, each recorded.

Transactions: the change and its entries are ONE transaction when the audit
log offers it (:class:`~deconflict.channel.audit.SharedTransaction`; the
SQLite log does for a message store on the same connection, as
``deconflict.storage.open_*`` open them). After any crash there is then
neither a message change without its entry nor an entry without its change.
With stores on separate connections it falls back to two commits, change
first, and the gap is not silent: ``deconflict audit verify`` matches every
stored message with its ``message_sent`` entry and reports a message without one.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.channel.audit import (
    SERVER,
    AuditEntry,
    AuditKind,
    AuditLog,
    AuditRecord,
    canonical_json,
    message_sha256,
)
from deconflict.channel.catalogue import Catalogue
from deconflict.channel.cluster import Lease, LeaseLostError
from deconflict.channel.deadlines import DeadlineStore, Escalation, is_overdue, run_deadlines
from deconflict.channel.events import Event, EventKind, EventSink
from deconflict.channel.messages import (
    AckLevel,
    Box,
    Message,
    MessageContent,
    MessageStore,
    acknowledge,
    check_message,
    read_message,
)
from deconflict.channel.parties import PartyStore
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.channel.service.common import publish_events, record_events, together
from deconflict.errors import DeconflictError, StorageUnavailableError

__all__ = [
    "acknowledge_message",
    "deliver_pushed",
    "fetch_messages",
    "pass_deadlines",
    "read_one",
    "send",
    "send_batch",
]


def _both(message: Message) -> tuple[str, ...]:
    return tuple(sorted({message.content.sender, message.content.recipient}))


def _sent(message: Message, ids: PublicIds) -> AuditRecord:
    """The entry of a message sent: its signature and the SHA-256 of the bytes signed, not its text."""
    content = message.content
    shown = ids.public(IdKind.MESSAGE, message.id)
    payload = {
        "message_id": shown,
        "from": content.sender,
        "to": content.recipient,
        "code": content.code,
        "nonce": content.nonce,
        "reply_by": content.reply_by,
        "signature": message.signature,
        "content_sha256": message_sha256(message),
    }
    return AuditRecord(content.sender, AuditKind.MESSAGE_SENT, (f"message:{shown}",), _both(message), payload)


def send(
    messages: MessageStore,
    parties: PartyStore,
    catalogue: Catalogue,
    audit: AuditLog,
    content: MessageContent,
    signature: str,
    now_s: float,
    events: EventSink | None = None,
) -> Message:
    """Send a message and record it with its signature and the SHA-256 of the bytes signed.

    The text stays out of the entry (both sides hold it); the hash of the signed
    bytes and the signature let anyone re-verify the message against the entry.
    The checks and the signature's verification come before the transaction, so
    they hold no writer lock (a recipient deactivated meanwhile still gets it, as
    it would had the message come a moment earlier).
    """
    check_message(parties, catalogue, content, signature, now_s)
    with together(audit, messages):
        message = messages.add_message(content, signature, now_s)
        audit.append([_sent(message, audit.public_ids)], now_s)
        pending = record_events(events, [Event(EventKind.MESSAGE, content.recipient, message)])
    publish_events(events, pending)
    return message


def send_batch(
    messages: MessageStore,
    parties: PartyStore,
    catalogue: Catalogue,
    audit: AuditLog,
    signed: Sequence[tuple[MessageContent, str]],
    now_s: float,
    events: EventSink | None = None,
) -> list[Message | DeconflictError]:
    """Send several signed messages as :func:`send` does, in one transaction (one durable commit).

    Each message stands or falls alone: a refused one (bad signature, reused
    nonce, ...) is rolled back to its own savepoint and its error takes its
    place in the result, in the order given; the others are stored. As in
    :func:`send`, the checks come before the transaction.
    """
    results: list[Message | DeconflictError] = []
    checked: list[DeconflictError | None] = []
    for content, signature in signed:
        try:
            check_message(parties, catalogue, content, signature, now_s)
        except StorageUnavailableError:
            raise  # the whole batch fails: no message can be stored
        except DeconflictError as exc:
            checked.append(exc)
        else:
            checked.append(None)
    with together(audit, messages):
        for (content, signature), refused in zip(signed, checked, strict=True):
            if refused is not None:
                results.append(refused)
                continue
            try:
                with together(audit, messages):
                    message = messages.add_message(content, signature, now_s)
                    audit.append([_sent(message, audit.public_ids)], now_s)
            except StorageUnavailableError:
                raise  # the whole batch fails: no message can be stored
            except DeconflictError as exc:
                results.append(exc)
            else:
                results.append(message)
        pending = record_events(
            events,
            [Event(EventKind.MESSAGE, m.content.recipient, m) for m in results if isinstance(m, Message)],
        )
    publish_events(events, pending)
    return results


def _delivered(message: Message, now_s: float, ids: PublicIds) -> AuditRecord:
    shown = ids.public(IdKind.MESSAGE, message.id)
    payload = {"message_id": shown, "level": str(AckLevel.DELIVERED), "delivered_s": now_s}
    subject = (f"message:{shown}",)
    return AuditRecord(
        message.content.recipient, AuditKind.MESSAGE_DELIVERED, subject, _both(message), payload
    )


def deliver_pushed(
    messages: MessageStore, audit: AuditLog, party: str, message_ids: Sequence[int], now_s: float
) -> list[Message]:
    """Mark messages pushed to their recipient ``party`` delivered, as fetching them does, and record it.

    Messages already delivered (or beyond), or not received by ``party``, are
    left alone; returns those that became delivered now. They are read before
    the transaction (which then holds the writer lock only for the changes): one
    that a fetch marked delivered meanwhile already has its entry, so the entries
    appended now (``once``) tell which became delivered here.
    """
    candidates = []
    for message_id in dict.fromkeys(message_ids):  # each once, in the order given
        message = messages.get_message(message_id)
        if message is not None and message.content.recipient == party and message.level is AckLevel.SENT:
            candidates.append(message)
    if not candidates:
        return []
    ids = audit.public_ids
    with together(audit, messages):
        for message in candidates:
            messages.mark_delivered(party, now_s, message.id)
        added = audit.append([_delivered(m, now_s, ids) for m in candidates], now_s, once=True)
    appended = {entry.subject_json for entry in added}
    return [
        m for m in candidates if canonical_json([f"message:{ids.public(IdKind.MESSAGE, m.id)}"]) in appended
    ]


def read_one(messages: MessageStore, audit: AuditLog, message_id: int, party: str, now_s: float) -> Message:
    """Read a message; the recipient's first fetch marks it delivered, and that is recorded."""
    with together(audit, messages):
        message = read_message(messages, message_id, party, now_s)
        if party == message.content.recipient and message.delivered_s == now_s:
            audit.append([_delivered(message, now_s, audit.public_ids)], now_s, once=True)
    return message


def fetch_messages(
    messages: MessageStore,
    audit: AuditLog,
    party: str,
    box: Box,
    now_s: float,
    level: AckLevel | None = None,
    overdue: bool | None = None,
    limit: int | None = None,
    before_id: int | None = None,
) -> list[Message]:
    """The party's inbox or outbox (a page of it: see ``MessageStore.list_messages``).

    Fetching the inbox marks its new messages delivered, each recorded: all of
    them, or with ``limit`` the newest ``limit`` in the page's range.
    """
    if box == "inbox":
        with together(audit, messages):
            new = messages.list_messages(party, "inbox", AckLevel.SENT, None, limit, before_id)
            for message in new:
                messages.mark_delivered(party, now_s, message.id)
            audit.append([_delivered(m, now_s, audit.public_ids) for m in new], now_s, once=True)
    return messages.list_messages(party, box, level, overdue, limit, before_id)


def acknowledge_message(
    messages: MessageStore,
    audit: AuditLog,
    message_id: int,
    party: str,
    level: AckLevel,
    reason: str | None,
    now_s: float,
    events: EventSink | None = None,
) -> Message:
    """Acknowledge a received message (read, accepted, disputed) and record it with the reason."""
    with together(audit, messages):
        message = acknowledge(messages, message_id, party, level, reason, now_s)
        shown = audit.public_ids.public(IdKind.MESSAGE, message.id)
        payload = {"message_id": shown, "level": str(message.level), "reason": message.reason}
        subject = (f"message:{shown}", f"level:{message.level}")
        audit.append(
            [AuditRecord(party, AuditKind.MESSAGE_ACKNOWLEDGED, subject, _both(message), payload)], now_s
        )
        pending = record_events(events, [Event(EventKind.ACKNOWLEDGEMENT, message.content.sender, message)])
    publish_events(events, pending)
    return message


def pass_deadlines(
    messages: DeadlineStore,
    audit: AuditLog,
    now_s: float,
    ladder_s: Sequence[float],
    events: EventSink | None = None,
    lease: Lease | None = None,
) -> list[Escalation]:
    """Run the deadlines (:func:`~deconflict.channel.deadlines.run_deadlines`) and record what they found.

    Each overdue message and each escalation step is recorded once, however
    often this runs (entries are keyed by their subject), and so is each event:
    a deadline passed and an escalation step are published to both sides only
    when their entry is new. Given the scheduler's ``lease``
    (:mod:`deconflict.channel.cluster`), only while this node holds it: checked
    in the transaction that records them, so a node that lost it writes nothing
    (and returns nothing; the holder does the work).
    """
    if lease is not None and not lease.held():
        return []
    past = messages.messages_past_deadline(now_s, len(ladder_s))
    if not past:  # the common case, on every request: one query, not two
        return []
    try:
        return _record_deadlines(messages, audit, past, now_s, ladder_s, events, lease)
    except LeaseLostError:
        return []


def _record_deadlines(
    messages: DeadlineStore,
    audit: AuditLog,
    past: list[Message],
    now_s: float,
    ladder_s: Sequence[float],
    events: EventSink | None,
    lease: Lease | None,
) -> list[Escalation]:
    """Record the overdue messages and escalation steps, with their entries and events, in one
    transaction; then publish the events.

    Raises
    ------
    LeaseLostError
        Given a ``lease`` this node no longer holds: nothing was recorded.
    """
    with together(audit, messages):
        if lease is not None:
            lease.fence()
        escalations = run_deadlines(messages, now_s, ladder_s)
        ids = audit.public_ids
        records = [
            AuditRecord(
                SERVER,
                AuditKind.MESSAGE_OVERDUE,
                (f"message:{ids.public(IdKind.MESSAGE, m.id)}",),
                _both(m),
                {"message_id": ids.public(IdKind.MESSAGE, m.id), "reply_by": m.content.reply_by},
            )
            for m in past
            if m.overdue_s is None and is_overdue(m, now_s)
        ]
        records += [
            AuditRecord(
                SERVER,
                AuditKind.ESCALATION,
                (f"message:{ids.public(IdKind.MESSAGE, e.message_id)}", f"step:{e.step}"),
                tuple(sorted({e.sender, e.recipient})),
                {
                    "message_id": ids.public(IdKind.MESSAGE, e.message_id),
                    "step": e.step,
                    "due_s": e.due_s,
                    "code": e.code,
                },
            )
            for e in escalations
        ]
        added = audit.append(records, now_s, once=True)
        pending = record_events(events, _deadline_events(past, escalations, added, ids))
    publish_events(events, pending)
    return escalations


def _deadline_events(
    past: Sequence[Message], escalations: Sequence[Escalation], added: Sequence[AuditEntry], ids: PublicIds
) -> list[Event]:
    """The events of the deadlines and steps whose entries are new (``added``): to both sides."""
    if not added:
        return []
    new = {(entry.kind, entry.subject_json) for entry in added}
    overdue = [
        m
        for m in past
        if (
            str(AuditKind.MESSAGE_OVERDUE),
            canonical_json([f"message:{ids.public(IdKind.MESSAGE, m.id)}"]),
        )
        in new
    ]
    stepped = [
        e
        for e in escalations
        if (
            str(AuditKind.ESCALATION),
            canonical_json([f"message:{ids.public(IdKind.MESSAGE, e.message_id)}", f"step:{e.step}"]),
        )
        in new
    ]
    return [Event(EventKind.DEADLINE_PASSED, side, m) for m in overdue for side in _both(m)] + [
        Event(EventKind.ESCALATION, side, e) for e in stepped for side in sorted({e.sender, e.recipient})
    ]
