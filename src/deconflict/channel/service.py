"""The channel's state changes, each followed by its audit entries: the one place that records them.

The API (and the ``party`` command) call these functions instead of the bare
domain operations, so no state change escapes the log.

When entries are written
------------------------
Each function makes the state change and appends its entries to the log,
durably, before it returns; if appending fails, the function raises and the
request fails (HTTP 500), so a client never gets a 2xx for a change whose
entry is missing. Entries of one change (an operation and each conflict found
by filing it) are appended in one transaction, so the chain never holds half
of them.

Transaction boundaries:

* Messages (:func:`send`, :func:`acknowledge_message`, :func:`fetch_messages`,
  :func:`read_one`, :func:`deliver_pushed`, :func:`pass_deadlines`): the change
  and its entries are ONE transaction when the audit log offers it
  (:class:`~deconflict.channel.audit.SharedTransaction`; the SQLite log does
  for a message store on the same connection, as ``deconflict.storage.open_*``
  open them). After any crash there is then neither a message change without
  its entry nor an entry without its change. With stores on separate
  connections it falls back to two commits, change first.
* Operations (:func:`file_plan`, :func:`withdraw_plan`) and conflict
  lifecycles (:func:`acknowledge_conflict_as`, :func:`accept_conflict_as`, and
  the resolutions a filing or withdrawal makes): likewise ONE transaction when
  the operations store, the conflict lifecycle store and the audit log share
  one connection (``deconflict.storage.open_*`` open them so); the filing's
  own transaction and each lifecycle update become savepoints of it. With
  stores on separate connections, two commits, change first.
* Parties (:func:`add_party`, :func:`revoke_party_token`,
  :func:`rotate_party_token`): ONE transaction when the party store shares the
  log's connection (``deconflict.storage.open_*`` open them so). A failed
  login changes nothing but the log: its entry is one commit.
* With stores on separate connections, two commits, the change first. A
  crash between them leaves a change without its entry, never an entry
  without its change. For messages on separate connections the gap is not
  silent: ``deconflict audit verify`` matches every stored message with its
  ``message_sent`` entry and reports a message without one.

Events
------
Functions given an ``events`` sink (:class:`~deconflict.channel.events.EventSink`)
publish each party's events (:mod:`deconflict.channel.events`) once the change
and its entries are committed, never before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from deconflict.channel.audit import (
    SERVER,
    AuditKind,
    AuditLog,
    AuditRecord,
    SharedTransaction,
    canonical_json,
    message_sha256,
)
from deconflict.channel.catalogue import Catalogue
from deconflict.channel.conflicts import (
    ConflictLifecycle,
    ConflictStateStore,
    Resolution,
    accept_conflict,
    acknowledge_conflict,
    current_lifecycles,
    resolve_conflict,
)
from deconflict.channel.deadlines import DeadlineStore, Escalation, is_overdue, run_deadlines
from deconflict.channel.disclosure import conflict_view
from deconflict.channel.events import Event, EventKind, EventSink
from deconflict.channel.ledger import (
    ALERT_FIELDS,
    DisclosureLedger,
    LedgerEntry,
    ProbeReason,
    alert_disclosure,
    conflict_disclosures,
    probe_alarm_on_burst,
    probe_alarm_on_sweep,
    probe_alarms_on_withdrawal,
)
from deconflict.channel.live import (
    AlertNotice,
    AlertState,
    CommentNotice,
    CycleChanges,
    Incident,
    IncidentComment,
    IncidentNotice,
    IncidentState,
    IncidentStore,
    LivePicture,
    new_comment,
)
from deconflict.channel.logins import FailureCount, LoginFailures
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
from deconflict.channel.parties import (
    DEFAULT_GRACE_S,
    Party,
    PartyStore,
    Registration,
    Rotation,
    hash_token,
    register_party,
    revoke_party,
    rotate_token,
)
from deconflict.channel.plans import check_extent
from deconflict.channel.probes import ProbeRules
from deconflict.errors import DeconflictError, NotFoundError, TransitionError
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.filing import FilingResult, file_operation, withdraw_operation
from deconflict.strategic.limits import Limits
from deconflict.strategic.store import ConflictRecord, Store
from deconflict.strategic.volume import Operation, Volume

__all__ = [
    "accept_conflict_as",
    "acknowledge_conflict_as",
    "acknowledge_message",
    "add_party",
    "comment_on_incident",
    "conflict_lifecycles",
    "deliver_pushed",
    "fetch_messages",
    "file_plan",
    "pass_deadlines",
    "read_one",
    "record_counted_login_failures",
    "record_login_failure",
    "revoke_party_token",
    "rotate_party_token",
    "run_tactical_cycle",
    "send",
    "send_batch",
    "withdraw_plan",
]


def _together(audit: AuditLog, *stores: object) -> AbstractContextManager[object]:
    """One transaction for a change in ``stores`` and its entries, where the storage offers it."""
    if isinstance(audit, SharedTransaction):
        return audit.transaction_with(*stores)
    return nullcontext()


def _present(*stores: object) -> tuple[object, ...]:
    """The stores given (those passed as ``None`` left out)."""
    return tuple(s for s in stores if s is not None)


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
    priority: int | None,
    replaces_version: int | None,
    buffers: Buffers,
    limits: Limits,
    now_s: float,
    events: EventSink | None = None,
    conflict_states: ConflictStateStore | None = None,
    ledger: DisclosureLedger | None = None,
    probes: ProbeRules = ProbeRules(),
) -> FilingResult:
    """File (or amend) an operation and record it with one ``conflict_found`` entry per conflict.

    ``document`` is the plan as the party sent it; the entry keeps its SHA-256
    (of its canonical JSON), and the volume ids, version and priority. Given
    ``conflict_states``, an amendment resolves the operation's open conflicts
    (``amended``), each with a ``conflict_resolved`` entry for both sides.
    Given a ``ledger``, what each conflict tells each side about the other is
    recorded in it, in the same transaction, and a burst of filings revealing
    one party's plans raises a probe alarm to it (recorded, and pushed).

    Raises
    ------
    InputError
        If the operation is larger than ``limits`` allow (:func:`~deconflict.channel.plans.check_extent`),
        or its volumes are refused (:func:`~deconflict.strategic.filing.file_operation`).
    """
    check_extent(operation_id, volumes, limits)
    alarms: list[LedgerEntry] = []
    with _together(audit, *_present(store, conflict_states, ledger)):
        # An amendment supersedes the operation's open conflicts: each becomes resolved (amended).
        superseded = _open_conflicts_of(store, conflict_states, party, operation_id, replaces_version)
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
        records += _resolve(conflict_states, superseded, party, Resolution.AMENDED, now_s)
        audit.append(records, now_s)
        if ledger is not None and result.conflicts:
            found = list(zip(result.conflict_ids, result.conflicts, strict=True))
            ledger.record([d for i, c in found for d in conflict_disclosures(c, i, now_s)])
            burst = probe_alarm_on_burst(ledger, party, found, now_s, probes.window_s, probes.burst_filings)
            alarms = ledger.record(burst)
    if events is not None:
        events.publish(
            [
                Event(EventKind.CONFLICT, side, conflict_view(c, side, conflict_id=i, state="open"))
                for c, i in zip(result.conflicts, result.conflict_ids, strict=True)
                for side in sorted({c.party_a, c.party_b})
            ]
            + _alarm_events(alarms)
        )
    return result


def _other_side(conflict: Conflict, party: str) -> str:
    return conflict.party_b if conflict.party_a == party else conflict.party_a


def _alarm_events(alarms: Sequence[LedgerEntry]) -> list[Event]:
    """Each probe alarm, pushed to the party it warns (the subject of its ledger entry)."""
    return [Event(EventKind.PROBE_ALARM, a.disclosure.subject, a) for a in alarms]


def withdraw_plan(
    store: Store,
    audit: AuditLog,
    party: str,
    operation_id: str,
    version: int,
    now_s: float,
    conflict_states: ConflictStateStore | None = None,
    *,
    ledger: DisclosureLedger | None = None,
    probes: ProbeRules = ProbeRules(),
    events: EventSink | None = None,
) -> Operation:
    """Withdraw an operation and record it.

    Given ``conflict_states``, its open conflicts become resolved (``withdrawn``),
    each with a ``conflict_resolved`` entry for both sides. Given a ``ledger``,
    withdrawing an operation less than ``probes.window_s`` after its conflicts
    were found raises a probe alarm to each party on their other side: recorded
    in its ledger (same transaction) and pushed to it.
    """
    alarms: list[LedgerEntry] = []
    with _together(audit, *_present(store, conflict_states, ledger)):
        revealed = _conflicts_of_operation(store, party, operation_id) if ledger is not None else []
        superseded = _open_conflicts_of(store, conflict_states, party, operation_id, version)
        operation = withdraw_operation(store, party, operation_id, version)
        payload = {"operation": operation.id, "version": operation.version, "state": str(operation.state)}
        subject = (f"operation:{party}/{operation.id}",)
        records = [AuditRecord(party, AuditKind.OPERATION_WITHDRAWN, subject, (party,), payload)]
        records += _resolve(conflict_states, superseded, party, Resolution.WITHDRAWN, now_s)
        audit.append(records, now_s)
        if ledger is not None and revealed:
            others = [(r.id, _other_side(r.conflict, party)) for r in revealed]
            found_s = ledger.conflicts_found_s(party, others)
            pairs = [(r.id, r.conflict) for r in revealed]
            alarms = ledger.record(probe_alarms_on_withdrawal(party, pairs, found_s, now_s, probes.window_s))
    if events is not None and alarms:
        events.publish(_alarm_events(alarms))
    return operation


def _both(message: Message) -> tuple[str, ...]:
    return tuple(sorted({message.content.sender, message.content.recipient}))


def _sent(message: Message) -> AuditRecord:
    """The entry of a message sent: its signature and the SHA-256 of the bytes signed, not its text."""
    content = message.content
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
    return AuditRecord(
        content.sender, AuditKind.MESSAGE_SENT, (f"message:{message.id}",), _both(message), payload
    )


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
    """
    with _together(audit, messages):
        message = send_message(messages, parties, catalogue, content, signature, now_s)
        audit.append([_sent(message)], now_s)
    if events is not None:
        events.publish([Event(EventKind.MESSAGE, content.recipient, message)])
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
    place in the result, in the order given; the others are stored.
    """
    results: list[Message | DeconflictError] = []
    with _together(audit, messages):
        for content, signature in signed:
            try:
                with _together(audit, messages):
                    message = send_message(messages, parties, catalogue, content, signature, now_s)
                    audit.append([_sent(message)], now_s)
            except DeconflictError as exc:
                results.append(exc)
            else:
                results.append(message)
    if events is not None:
        events.publish(
            [Event(EventKind.MESSAGE, m.content.recipient, m) for m in results if isinstance(m, Message)]
        )
    return results


def _delivered(message: Message, now_s: float) -> AuditRecord:
    payload = {"message_id": message.id, "level": str(AckLevel.DELIVERED), "delivered_s": now_s}
    subject = (f"message:{message.id}",)
    return AuditRecord(
        message.content.recipient, AuditKind.MESSAGE_DELIVERED, subject, _both(message), payload
    )


def deliver_pushed(
    messages: MessageStore, audit: AuditLog, party: str, message_ids: Sequence[int], now_s: float
) -> list[Message]:
    """Mark messages pushed to their recipient ``party`` delivered, as fetching them does, and record it.

    Messages already delivered (or beyond), or not received by ``party``, are
    left alone; returns those that became delivered now.
    """
    new = []
    with _together(audit, messages):
        for message_id in message_ids:
            message = messages.get_message(message_id)
            if message is None or message.content.recipient != party or message.level is not AckLevel.SENT:
                continue
            messages.mark_delivered(party, now_s, message_id)
            new.append(message)
        if new:
            audit.append([_delivered(m, now_s) for m in new], now_s, once=True)
    return new


def read_one(messages: MessageStore, audit: AuditLog, message_id: int, party: str, now_s: float) -> Message:
    """Read a message; the recipient's first fetch marks it delivered, and that is recorded."""
    with _together(audit, messages):
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
    limit: int | None = None,
    before_id: int | None = None,
) -> list[Message]:
    """The party's inbox or outbox (a page of it: see ``MessageStore.list_messages``).

    Fetching the inbox marks its new messages delivered, each recorded: all of
    them, or with ``limit`` the newest ``limit`` in the page's range.
    """
    if box == "inbox":
        with _together(audit, messages):
            new = messages.list_messages(party, "inbox", AckLevel.SENT, None, limit, before_id)
            for message in new:
                messages.mark_delivered(party, now_s, message.id)
            audit.append([_delivered(m, now_s) for m in new], now_s, once=True)
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
    with _together(audit, messages):
        message = acknowledge(messages, message_id, party, level, reason, now_s)
        payload = {"message_id": message.id, "level": str(message.level), "reason": message.reason}
        subject = (f"message:{message.id}", f"level:{message.level}")
        audit.append(
            [AuditRecord(party, AuditKind.MESSAGE_ACKNOWLEDGED, subject, _both(message), payload)], now_s
        )
    if events is not None:
        events.publish([Event(EventKind.ACKNOWLEDGEMENT, message.content.sender, message)])
    return message


def pass_deadlines(
    messages: DeadlineStore,
    audit: AuditLog,
    now_s: float,
    ladder_s: Sequence[float],
    events: EventSink | None = None,
) -> list[Escalation]:
    """Run the deadlines (:func:`~deconflict.channel.deadlines.run_deadlines`) and record what they found.

    Each overdue message and each escalation step is recorded once, however
    often this runs (entries are keyed by their subject), and so is each event:
    a deadline passed and an escalation step are published to both sides only
    when their entry is new.
    """
    past = messages.messages_past_deadline(now_s, len(ladder_s))
    if not past:  # the common case, on every request: one query, not two
        return []
    with _together(audit, messages):
        escalations = run_deadlines(messages, now_s, ladder_s)
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
        added = audit.append(records, now_s, once=True)
    if events is not None and added:
        new = {(entry.kind, entry.subject_json) for entry in added}
        overdue = [
            m for m in past if (str(AuditKind.MESSAGE_OVERDUE), canonical_json([f"message:{m.id}"])) in new
        ]
        stepped = [
            e
            for e in escalations
            if (str(AuditKind.ESCALATION), canonical_json([f"message:{e.message_id}", f"step:{e.step}"]))
            in new
        ]
        events.publish(
            [Event(EventKind.DEADLINE_PASSED, side, m) for m in overdue for side in _both(m)]
            + [
                Event(EventKind.ESCALATION, side, e)
                for e in stepped
                for side in sorted({e.sender, e.recipient})
            ]
        )
    return escalations


def record_login_failure(
    audit: AuditLog,
    parties: PartyStore,
    authorization: str | None,
    token: str | None,
    now_s: float,
    *,
    source: str | None = None,
    failures: LoginFailures | None = None,
) -> float | None:
    """Record a failed authentication: why, and the SHA-256 of what was presented (never the token).

    Parameters
    ----------
    authorization
        The ``Authorization`` header as received, or ``None`` when there was none.
    token
        The bearer token in it, or ``None`` when the header is not ``Bearer <token>``.
    source
        Where the request came from (the client's address), recorded with the entry.
    failures
        Given, failures are aggregated (:class:`~deconflict.channel.logins.LoginFailures`):
        the first of a source's window is recorded at once, the others as one
        entry with their ``count`` once the window has passed.

    Returns
    -------
    float or None
        Seconds the source should wait (it is over its failure rate), else ``None``.
    """
    audience: tuple[str, ...] = ()
    if authorization is None:
        reason, presented = "no Authorization header", None
    elif token is None:
        reason, presented = "malformed Authorization header (expected 'Bearer <token>')", authorization
    else:
        presented = token
        found = parties.party_for_token(hash_token(token))
        previous = parties.party_for_previous_token(hash_token(token)) if found is None else None
        if previous is not None:
            reason = f"token of party {previous[0].name!r} rotated out (its grace period has ended)"
            audience = (previous[0].name,)
        elif found is None:
            reason = "unknown token"
        else:
            reason = f"token of revoked party {found[0].name!r}"
            audience = (found[0].name,)
    payload: dict[str, Any] = {
        "reason": reason,
        "presented_sha256": None if presented is None else hash_token(presented),
    }
    if source is not None:
        payload["source"] = source
    if failures is None:
        audit.append([AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), audience, payload)], now_s)
        return None
    record_now, retry_after_s, due = failures.failed(source or "unknown", reason, audience, now_s)
    records = [_failure_count_record(c) for c in due]
    if record_now:
        records.append(AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), audience, {**payload, "count": 1}))
    if records:
        audit.append(records, now_s)
    return retry_after_s


def _failure_count_record(counted: FailureCount) -> AuditRecord:
    payload = {
        "reason": counted.reason,
        "presented_sha256": None,
        "source": counted.source,
        "count": counted.count,
        "first_s": counted.first_s,
        "last_s": counted.last_s,
    }
    return AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), counted.audience, payload)


def record_counted_login_failures(audit: AuditLog, failures: LoginFailures, now_s: float) -> None:
    """Record every counted failure not recorded yet (at shutdown: the windows still open too)."""
    records = [_failure_count_record(c) for c in failures.due(now_s, everything=True)]
    if records:
        audit.append(records, now_s)


def add_party(
    parties: PartyStore, audit: AuditLog, name: str, public_key_pem: bytes | None, now_s: float
) -> Registration:
    """Register a party (:func:`~deconflict.channel.parties.register_party`) and record it with its key."""
    with _together(audit, parties):
        registration = register_party(parties, name, public_key_pem, now_s)
        party = registration.party
        payload = {"party": party.name, "public_key_pem": party.public_key_pem, "created_s": party.created_s}
        subject = (f"party:{party.name}",)
        audit.append([AuditRecord(SERVER, AuditKind.PARTY_ADDED, subject, (party.name,), payload)], now_s)
    return registration


def revoke_party_token(parties: PartyStore, audit: AuditLog, name: str, now_s: float) -> Party:
    """Revoke a party's token (:func:`~deconflict.channel.parties.revoke_party`) and record it."""
    with _together(audit, parties):
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
    with _together(audit, parties):
        rotation = rotate_token(parties, name, now_s, grace_s)
        payload = {"party": name, "rotated_s": now_s, "previous_until_s": rotation.previous_until_s}
        subject = (f"party:{name}",)
        audit.append([AuditRecord(SERVER, AuditKind.TOKEN_ROTATED, subject, (name,), payload)], now_s)
    return rotation


def _open_conflicts_of(
    store: Store,
    conflict_states: ConflictStateStore | None,
    party: str,
    operation_id: str,
    replaces_version: int | None,
) -> list[ConflictRecord]:
    """The open conflicts of one of ``party``'s operations: those a change of it supersedes."""
    if conflict_states is None or replaces_version is None:
        return []
    return _conflicts_of_operation(store, party, operation_id)


def _conflicts_of_operation(store: Store, party: str, operation_id: str) -> list[ConflictRecord]:
    """The open conflicts of one of ``party``'s operations."""
    return [
        r
        for r in store.list_conflict_records(party)
        if (r.conflict.party_a, r.conflict.operation_a) == (party, operation_id)
        or (r.conflict.party_b, r.conflict.operation_b) == (party, operation_id)
    ]


def _lifecycle_record(
    actor: str, kind: AuditKind, lifecycle: ConflictLifecycle, **details: Any
) -> AuditRecord:
    # Seen by both sides: the conflict id, the state and the reasons, never an operation or volume.
    payload = {"conflict_id": lifecycle.conflict_id, "state": str(lifecycle.state), **details}
    return AuditRecord(actor, kind, (f"conflict:{lifecycle.conflict_id}",), lifecycle.parties, payload)


def _resolve(
    conflict_states: ConflictStateStore | None,
    superseded: Sequence[ConflictRecord],
    party: str,
    resolution: Resolution,
    now_s: float,
) -> list[AuditRecord]:
    """Mark superseded conflicts resolved; the entries of those that were not resolved already."""
    if conflict_states is None:
        return []
    records = []
    for record in superseded:
        try:
            lifecycle = conflict_states.update(
                record.id, record.conflict, lambda lc: resolve_conflict(lc, party, resolution, now_s)
            )
        except TransitionError:
            continue  # resolved by the other side's change in the meantime
        records.append(
            _lifecycle_record(
                party, AuditKind.CONFLICT_RESOLVED, lifecycle, resolution=str(resolution), by=party
            )
        )
    return records


def conflict_lifecycles(
    store: Store, conflict_states: ConflictStateStore, party: str
) -> list[ConflictLifecycle]:
    """Every conflict of ``party`` (open, acknowledged, accepted, resolved) with its lifecycle, by id."""
    return current_lifecycles(store.list_conflict_records(party), conflict_states.list_for(party))


def _change_conflict(
    store: Store,
    conflict_states: ConflictStateStore,
    party: str,
    conflict_id: int,
    change: Callable[[ConflictLifecycle], ConflictLifecycle],
) -> ConflictLifecycle:
    open_record = next((r for r in store.list_conflict_records(party) if r.id == conflict_id), None)
    stored = conflict_states.get(conflict_id)
    if open_record is None and stored is None:
        raise NotFoundError(f"no conflict {conflict_id} for party {party!r}")
    if stored is not None:
        stored.side_of(party)  # NotFoundError for a party on neither side
    return conflict_states.update(conflict_id, None if open_record is None else open_record.conflict, change)


def acknowledge_conflict_as(
    store: Store,
    conflict_states: ConflictStateStore,
    audit: AuditLog,
    party: str,
    conflict_id: int,
    now_s: float,
) -> ConflictLifecycle:
    """``party`` acknowledges one of its conflicts; recorded for both sides.

    Raises
    ------
    NotFoundError
        If the conflict does not exist, or ``party`` is on neither side of it.
    TransitionError
        See :func:`~deconflict.channel.conflicts.acknowledge_conflict`.
    """
    with _together(audit, store, conflict_states):
        lifecycle = _change_conflict(
            store, conflict_states, party, conflict_id, lambda lc: acknowledge_conflict(lc, party, now_s)
        )
        record = _lifecycle_record(party, AuditKind.CONFLICT_ACKNOWLEDGED, lifecycle, party=party)
        audit.append([record], now_s)
    return lifecycle


def accept_conflict_as(
    store: Store,
    conflict_states: ConflictStateStore,
    audit: AuditLog,
    party: str,
    conflict_id: int,
    reason: str,
    now_s: float,
) -> ConflictLifecycle:
    """``party`` accepts one of its conflicts as it is, with ``reason``; recorded for both sides.

    Raises
    ------
    NotFoundError
        If the conflict does not exist, or ``party`` is on neither side of it.
    InputError, TransitionError
        See :func:`~deconflict.channel.conflicts.accept_conflict`.
    """
    with _together(audit, store, conflict_states):
        lifecycle = _change_conflict(
            store, conflict_states, party, conflict_id, lambda lc: accept_conflict(lc, party, reason, now_s)
        )
        side = lifecycle.side_of(party)
        entry = _lifecycle_record(
            party, AuditKind.CONFLICT_ACCEPTED, lifecycle, party=party, reason=side.accept_reason
        )
        audit.append([entry], now_s)
    return lifecycle


def _incident_payload(incident: Incident) -> dict[str, Any]:
    # Seen by both sides: the parties, times and closest approach; never either aircraft's id. The
    # closest approach only when neither side's view of it is withheld (one entry serves both).
    c = incident.closest
    closest: dict[str, Any] = {"time_s": c.time_s}
    if not incident.withheld:
        closest |= {
            "distance_m": c.distance_m,
            "vertical_m": c.vertical_m,
            "lon_deg": c.lon_deg,
            "lat_deg": c.lat_deg,
            "alt_m": c.alt_m,
        }
    return {
        "incident_id": incident.id,
        "parties": list(incident.parties),
        "started_s": incident.started_s,
        "ended_s": incident.ended_s,
        "closest": closest,
        "withheld": list(incident.withheld),
    }


def _incident_record(kind: AuditKind, incident: Incident) -> AuditRecord:
    subject = (f"incident:{incident.id}",)
    return AuditRecord(SERVER, kind, subject, incident.parties, _incident_payload(incident))


def run_tactical_cycle(
    live: LivePicture,
    incidents: IncidentStore,
    audit: AuditLog,
    now_s: float,
    events: EventSink | None = None,
    ledger: DisclosureLedger | None = None,
) -> CycleChanges:
    """Run one detection cycle of the live picture and record what it changed.

    Incidents opened and closed are recorded with their ``incident_recorded`` /
    ``incident_closed`` entries (both sides in the audience, no aircraft ids),
    closer approaches and the alert log are stored, all in one transaction
    where the storage offers it; given a ``ledger``, so is each foreign aircraft
    newly shown to a party in an alert, in its owner's ledger, and each sweep
    the cycle saw raises a probe alarm to the party swept (at most one per
    prober and window, also across restarts: the ledger is asked). Then each
    side hears, from its own point of view, of new, changed and cleared alerts
    and of opened and closed incidents, and the swept party of its alarm.
    """
    changes = live.cycle(now_s)
    closed: list[Incident] = []
    alarms: list[LedgerEntry] = []
    touched = changes.opened or changes.closer or changes.closed
    shown = changes.shown if ledger is not None else ()
    sweeps = changes.sweeps if ledger is not None else ()
    if touched or changes.new_alerts or changes.cleared_alerts or shown or sweeps:
        with _together(audit, *_present(incidents, ledger)):
            if ledger is not None and sweeps:
                since_s = now_s - live.settings.gating.sweep_window_s
                last_s = {s: ledger.last_alarm_s(s.subject, s.prober, str(ProbeReason.SWEEP)) for s in sweeps}
                due = [s for s, last in last_s.items() if last is None or last <= since_s]
                alarms = ledger.record([probe_alarm_on_sweep(s) for s in due])
            if ledger is not None and shown:
                ledger.record(
                    [
                        alert_disclosure(
                            s.subject_party, s.party, s.subject_id, ALERT_FIELDS, f"alert:{s.ref}", now_s
                        )
                        for s in shown
                    ]
                )
            for incident in changes.opened:
                incidents.record_opened(incident)
            for incident in changes.closer:
                incidents.record_closest(incident)
            closed = [incidents.record_closed(i) for i in changes.closed]
            incidents.log_alerts(changes.new_alerts, changes.cleared_alerts)
            records = [_incident_record(AuditKind.INCIDENT_RECORDED, i) for i in changes.opened]
            records += [_incident_record(AuditKind.INCIDENT_CLOSED, i) for i in closed]
            if records:
                audit.append(records, now_s)
    if events is not None:
        alert_changes = (
            (AlertState.NEW, changes.new_alerts),
            (AlertState.UPDATE, changes.changed_alerts),
            (AlertState.CLEARED, changes.cleared_alerts),
        )
        incident_changes = ((IncidentState.OPENED, changes.opened), (IncidentState.CLOSED, tuple(closed)))
        events.publish(
            [
                Event(EventKind.ALERT, side, AlertNotice(state, alert.view_for(side)))
                for state, alerts in alert_changes
                for alert in alerts
                for side in alert.parties
            ]
            + [
                Event(EventKind.INCIDENT, side, IncidentNotice(state, incident.view_for(side)))
                for state, found in incident_changes
                for incident in found
                for side in incident.parties
            ]
            + _alarm_events(alarms)
        )
    return changes


def comment_on_incident(
    incidents: IncidentStore,
    audit: AuditLog,
    party: str,
    incident_id: int,
    text: str,
    now_s: float,
    events: EventSink | None = None,
) -> IncidentComment:
    """``party`` adds a comment to an incident's thread; recorded (with its text) for both sides.

    Raises
    ------
    NotFoundError
        If there is no such incident, or none of ``party``'s aircraft is in it.
    InputError
        An empty or too long comment (:func:`~deconflict.channel.live.new_comment`).
    """
    comment = new_comment(party, text, now_s)
    with _together(audit, incidents):
        incident = incidents.get_incident(incident_id)
        if incident is None or not incident.involves(party):
            raise NotFoundError(f"no incident {incident_id} for party {party!r}")
        incidents.add_comment(incident_id, comment)
        payload = {"incident_id": incident_id, "party": party, "text": comment.text}
        record = AuditRecord(
            party, AuditKind.INCIDENT_COMMENTED, (f"incident:{incident_id}",), incident.parties, payload
        )
        audit.append([record], now_s)
    if events is not None:
        events.publish(
            [
                Event(EventKind.INCIDENT_COMMENT, side, CommentNotice(incident_id, comment))
                for side in incident.parties
            ]
        )
    return comment
