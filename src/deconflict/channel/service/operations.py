"""Operations filed, amended and withdrawn, each recorded with the conflicts it found or resolved.

Transactions: the change and its entries (the operation's, each conflict
found, each conflict resolved by an amendment or withdrawal) are ONE
transaction when the operations store, the conflict lifecycle store and the
audit log share one connection (``deconflict.storage.open_*`` open them so);
the filing's own transaction and each lifecycle update become savepoints of
it. With stores on separate connections, two commits, change first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from deconflict.channel.audit import AuditKind, AuditLog, AuditRecord, canonical_json
from deconflict.channel.conflicts import ConflictStateStore, Resolution
from deconflict.channel.disclosure import conflict_view
from deconflict.channel.events import Event, EventKind, EventSink, OperationNotice
from deconflict.channel.ledger import (
    DisclosureLedger,
    LedgerEntry,
    conflict_disclosures,
    probe_alarm_on_burst,
    probe_alarms_on_withdrawal,
)
from deconflict.channel.plans import check_extent
from deconflict.channel.probes import ProbeRules
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.channel.service.common import (
    alarm_events,
    present,
    publish_events,
    record_events,
    together,
)
from deconflict.channel.service.conflicts import resolve_superseded
from deconflict.errors import NotFoundError
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.filing import (
    FilingResult,
    activate_operation,
    extended_volumes,
    file_operation,
    release_operation,
    withdraw_operation,
)
from deconflict.strategic.geojson import volume_feature
from deconflict.strategic.limits import Limits
from deconflict.strategic.store import ConflictRecord, Store
from deconflict.strategic.volume import Operation, OperationState, Volume
from deconflict.strategic.zones import Zone

__all__ = ["activate_plan", "extend_plan", "file_plan", "release_plan", "withdraw_plan"]


def _document_sha256(document: object) -> str | None:
    try:
        return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
    except (TypeError, ValueError):
        return None


def _conflict_record(filer: str, conflict: Conflict, conflict_id: int, ids: PublicIds) -> AuditRecord:
    # Seen by both sides: only the facts disclosure lets both learn (no operation or volume ids).
    shown = ids.public(IdKind.CONFLICT, conflict_id)
    payload: dict[str, Any] = {
        "conflict_id": shown,
        "parties": [conflict.party_a, conflict.party_b],
        "time_start_s": conflict.time_start_s,
        "time_end_s": conflict.time_end_s,
        "altitude_lower_m": conflict.altitude_lower_m,
        "altitude_upper_m": conflict.altitude_upper_m,
        "altitude_reference": str(conflict.altitude_reference),
        "overlap_area_m2": conflict.overlap_area_m2,
        "overlap_bbox": list(conflict.overlap_bbox),
    }
    if conflict.zone is not None:
        payload["zone"] = conflict.operation_b  # zone/IDENTIFIER: public, as zones are
    audience = tuple(sorted({conflict.party_a, conflict.party_b}))
    return AuditRecord(filer, AuditKind.CONFLICT_FOUND, (f"conflict:{shown}",), audience, payload)


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
    zones: Sequence[tuple[str, Zone]] = (),
    state: OperationState | None = None,
    audit_kind: AuditKind | None = None,
) -> FilingResult:
    """File (or amend) an operation and record it with one ``conflict_found`` entry per conflict.

    ``document`` is the plan as the party sent it; the entry keeps its SHA-256
    (of its canonical JSON), and the volume ids, version and priority. Given
    ``conflict_states``, an amendment resolves the operation's open conflicts
    (``amended``), each with a ``conflict_resolved`` entry for both sides.
    Given a ``ledger``, what each conflict tells each side about the other is
    recorded in it, in the same transaction, and a burst of filings revealing
    one party's plans raises a probe alarm to it (recorded, and pushed).
    ``zones`` (published zones with their authorities): each applicable
    restriction entered is a conflict with the zone's authority, recorded as
    every other conflict is (its entry also names the zone). ``state`` is the
    state of the version filed (``None``: as
    :func:`~deconflict.strategic.filing.file_operation` decides) and
    ``audit_kind`` the kind of its entry (``operation_filed`` or
    ``operation_updated`` unless given): an extension
    gives the operation's own state and ``operation_extended`` (and its owner
    an ``operation`` event with the others).

    Raises
    ------
    InputError
        If the operation is larger than ``limits`` allow (:func:`~deconflict.channel.plans.check_extent`),
        or its volumes are refused (:func:`~deconflict.strategic.filing.file_operation`).
    """
    check_extent(operation_id, volumes, limits)
    alarms: list[LedgerEntry] = []
    with together(audit, *present(store, conflict_states, ledger)):
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
            zones=zones,
            state=state,
        )
        operation = result.operation
        kind = audit_kind or (
            AuditKind.OPERATION_FILED if replaces_version is None else AuditKind.OPERATION_UPDATED
        )
        payload = {
            "operation": operation.id,
            "version": operation.version,
            "priority": operation.priority,
            "state": str(operation.state),
            "volumes": [v.id for v in operation.volumes],
            "document_sha256": _document_sha256(document),
            "conflicts": [audit.public_ids.public(IdKind.CONFLICT, i) for i in result.conflict_ids],
        }
        records = [AuditRecord(party, kind, (f"operation:{party}/{operation.id}",), (party,), payload)]
        records += [
            _conflict_record(party, c, i, audit.public_ids)
            for c, i in zip(result.conflicts, result.conflict_ids, strict=True)
        ]
        records += resolve_superseded(
            conflict_states, superseded, party, Resolution.AMENDED, now_s, audit.public_ids
        )
        audit.append(records, now_s)
        if ledger is not None and result.conflicts:
            found = list(zip(result.conflict_ids, result.conflicts, strict=True))
            ledger.record([d for i, c in found for d in conflict_disclosures(c, i, now_s)])
            burst = probe_alarm_on_burst(ledger, party, found, now_s, probes.window_s, probes.burst_filings)
            alarms = ledger.record(burst)
        pending = record_events(
            events,
            [
                Event(EventKind.CONFLICT, side, conflict_view(c, side, conflict_id=i, state="open"))
                for c, i in zip(result.conflicts, result.conflict_ids, strict=True)
                for side in sorted({c.party_a, c.party_b})
            ]
            + alarm_events(alarms)
            + ([_notice(party, operation)] if audit_kind is AuditKind.OPERATION_EXTENDED else []),
        )
    publish_events(events, pending)
    return result


def _other_side(conflict: Conflict, party: str) -> str:
    return conflict.party_b if conflict.party_a == party else conflict.party_a


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
    each with a ``conflict_resolved`` entry for both sides and a ``conflict`` event
    to each side (as a release does); its owner gets an ``operation`` event. Given a ``ledger``,
    withdrawing an operation less than ``probes.window_s`` after its conflicts
    were found raises a probe alarm to each party on their other side: recorded
    in its ledger (same transaction) and pushed to it.
    """
    with together(audit, *present(store, conflict_states, ledger)):
        revealed = _conflicts_of_operation(store, party, operation_id) if ledger is not None else []
        superseded = _open_conflicts_of(store, conflict_states, party, operation_id, version)
        operation = withdraw_operation(store, party, operation_id, version)
        pending = _record_end(
            audit, conflict_states, superseded, party, operation, Resolution.WITHDRAWN, now_s,
            revealed=revealed, ledger=ledger, probes=probes, events=events,
        )  # fmt: skip
    publish_events(events, pending)
    return operation


def _notice(party: str, operation: Operation) -> Event:
    """The owner's ``operation`` event: the operation's id, new version and state."""
    return Event(
        EventKind.OPERATION, party, OperationNotice(operation.id, operation.version, str(operation.state))
    )


def _operation_record(kind: AuditKind, party: str, operation: Operation) -> AuditRecord:
    payload = {"operation": operation.id, "version": operation.version, "state": str(operation.state)}
    return AuditRecord(party, kind, (f"operation:{party}/{operation.id}",), (party,), payload)


_END_KINDS = {
    Resolution.WITHDRAWN: AuditKind.OPERATION_WITHDRAWN,
    Resolution.RELEASED: AuditKind.OPERATION_RELEASED,
}


def _record_end(
    audit: AuditLog,
    conflict_states: ConflictStateStore | None,
    superseded: Sequence[ConflictRecord],
    party: str,
    operation: Operation,
    resolution: Resolution,
    now_s: float,
    *,
    revealed: Sequence[ConflictRecord],
    ledger: DisclosureLedger | None,
    probes: ProbeRules,
    events: EventSink | None,
) -> list[Event]:
    """Record an operation withdrawn or released (``resolution``), in the caller's transaction.

    Its entry, its ``superseded`` conflicts resolved (an entry and a ``conflict``
    event for each side), the owner's ``operation`` event, and the probe alarms of
    ending it soon after ``revealed`` were found; returns the events to publish
    once the transaction commits.
    """
    records = [_operation_record(_END_KINDS[resolution], party, operation)]
    records += resolve_superseded(conflict_states, superseded, party, resolution, now_s, audit.public_ids)
    audit.append(records, now_s)
    alarms = _withdrawal_alarms(ledger, party, revealed, now_s, probes)
    resolved = _resolved_events(superseded, party, resolution, now_s)
    return record_events(events, [_notice(party, operation), *resolved, *alarm_events(alarms)])


def _withdrawal_alarms(
    ledger: DisclosureLedger | None,
    party: str,
    revealed: Sequence[ConflictRecord],
    now_s: float,
    probes: ProbeRules,
) -> list[LedgerEntry]:
    """The probe alarms (recorded in ``ledger``) of ending an operation soon after ``revealed`` were found."""
    if ledger is None or not revealed:
        return []
    others = [(r.id, _other_side(r.conflict, party)) for r in revealed]
    found_s = ledger.conflicts_found_s(party, others)
    pairs = [(r.id, r.conflict) for r in revealed]
    return ledger.record(probe_alarms_on_withdrawal(party, pairs, found_s, now_s, probes.window_s))


def activate_plan(
    store: Store,
    audit: AuditLog,
    party: str,
    operation_id: str,
    version: int,
    now_s: float,
    *,
    events: EventSink | None = None,
) -> Operation:
    """Activate an operation (:func:`~deconflict.strategic.filing.activate_operation`) and record it.

    The ``operation_activated`` entry is the owner's alone, and so is the
    ``operation`` event: the other side of its conflicts is not told (the
    conflicts stand as they were).
    """
    with together(audit, store):
        operation = activate_operation(store, party, operation_id, version, now_s)
        audit.append([_operation_record(AuditKind.OPERATION_ACTIVATED, party, operation)], now_s)
        pending = record_events(events, [_notice(party, operation)])
    publish_events(events, pending)
    return operation


def release_plan(
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
    """Release an activated operation early (it ends now) and record it.

    Its open conflicts become resolved (``released``) at once, each with a
    ``conflict_resolved`` entry for both sides and a ``conflict`` event to each
    side: all the other side learns is that the conflict was resolved by a
    release. Released within ``probes.window_s`` of its conflicts being found,
    it raises the same probe alarm a withdrawal does (file, activate, release
    must not map the others' plans more cheaply than file and withdraw).
    """
    with together(audit, *present(store, conflict_states, ledger)):
        revealed = _conflicts_of_operation(store, party, operation_id)
        superseded = revealed if conflict_states is not None else []
        operation = release_operation(store, party, operation_id, version)
        pending = _record_end(
            audit, conflict_states, superseded, party, operation, Resolution.RELEASED, now_s,
            revealed=revealed, ledger=ledger, probes=probes, events=events,
        )  # fmt: skip
    publish_events(events, pending)
    return operation


def _resolved_events(
    superseded: Sequence[ConflictRecord], party: str, resolution: Resolution, now_s: float
) -> list[Event]:
    """A ``conflict`` event to each side of each conflict ``party`` ended by ``resolution``.

    All the other side learns is that the conflict was resolved, how, and by whom.
    """
    return [
        Event(
            EventKind.CONFLICT,
            side,
            replace(
                conflict_view(r.conflict, side, conflict_id=r.id, state="resolved"),
                resolution=str(resolution),
                resolved_by=party,
                resolved_s=now_s,
            ),
        )
        for r in superseded
        for side in sorted({r.conflict.party_a, r.conflict.party_b})
    ]


def extend_plan(
    store: Store,
    audit: AuditLog,
    party: str,
    operation_id: str,
    version: int,
    until_s: float,
    *,
    buffers: Buffers,
    limits: Limits,
    now_s: float,
    events: EventSink | None = None,
    conflict_states: ConflictStateStore | None = None,
    ledger: DisclosureLedger | None = None,
    probes: ProbeRules = ProbeRules(),
    zones: Sequence[tuple[str, Zone]] = (),
) -> FilingResult:
    """Extend an operation: the volumes that end last run until ``until_s``.

    The extended volumes go through :func:`file_plan` as an amendment of
    ``version`` would (the strategic check against every live plan and zone,
    the extent limits, the earlier conflicts resolved ``amended``, the new ones
    found, disclosed and pushed), keeping the operation's state and priority;
    its entry is ``operation_extended``, and its owner gets an ``operation`` event.

    Raises
    ------
    NotFoundError
        If ``party`` has no such operation.
    TransitionError, InputError
        See :func:`~deconflict.strategic.filing.extended_volumes`.
    StaleVersionError
        If ``version`` is not the stored one.
    """
    existing = store.get_operation(party, operation_id)
    if existing is None:
        raise NotFoundError(f"party {party!r} has no operation {operation_id!r}")
    volumes = extended_volumes(existing, until_s, now_s)
    return file_plan(
        store,
        audit,
        party,
        operation_id,
        volumes,
        document={"type": "FeatureCollection", "features": [volume_feature(v) for v in volumes]},
        priority=existing.priority,
        replaces_version=version,
        buffers=buffers,
        limits=limits,
        now_s=now_s,
        events=events,
        conflict_states=conflict_states,
        ledger=ledger,
        probes=probes,
        zones=zones,
        state=existing.state,
        audit_kind=AuditKind.OPERATION_EXTENDED,
    )


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
