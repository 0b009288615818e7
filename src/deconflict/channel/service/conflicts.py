"""Conflict lifecycles: each side acknowledges or accepts a conflict; a change of its operation resolves it.

Transactions: as for operations (:mod:`~deconflict.channel.service.operations`),
ONE transaction when the operations store, the conflict lifecycle store and the
audit log share one connection; else two commits, change first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from deconflict.channel.audit import AuditKind, AuditLog, AuditRecord
from deconflict.channel.conflicts import (
    ConflictLifecycle,
    ConflictStateStore,
    Resolution,
    accept_conflict,
    acknowledge_conflict,
    current_lifecycles,
    resolve_conflict,
)
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.channel.service.common import together
from deconflict.errors import NotFoundError, TransitionError
from deconflict.strategic.store import ConflictRecord, Store

__all__ = ["accept_conflict_as", "acknowledge_conflict_as", "conflict_lifecycles", "resolve_superseded"]


def _lifecycle_record(
    actor: str, kind: AuditKind, lifecycle: ConflictLifecycle, ids: PublicIds, **details: Any
) -> AuditRecord:
    # Seen by both sides: the conflict's public id, the state and the reasons, never an operation or volume.
    shown = ids.public(IdKind.CONFLICT, lifecycle.conflict_id)
    payload = {"conflict_id": shown, "state": str(lifecycle.state), **details}
    return AuditRecord(actor, kind, (f"conflict:{shown}",), lifecycle.parties, payload)


def resolve_superseded(
    conflict_states: ConflictStateStore | None,
    superseded: Sequence[ConflictRecord],
    party: str,
    resolution: Resolution,
    now_s: float,
    ids: PublicIds,
) -> list[AuditRecord]:
    """Mark conflicts superseded by ``party``'s change resolved; the entries of those not resolved already."""
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
                party, AuditKind.CONFLICT_RESOLVED, lifecycle, ids, resolution=str(resolution), by=party
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
    with together(audit, store, conflict_states):
        lifecycle = _change_conflict(
            store, conflict_states, party, conflict_id, lambda lc: acknowledge_conflict(lc, party, now_s)
        )
        record = _lifecycle_record(
            party, AuditKind.CONFLICT_ACKNOWLEDGED, lifecycle, audit.public_ids, party=party
        )
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
    with together(audit, store, conflict_states):
        lifecycle = _change_conflict(
            store, conflict_states, party, conflict_id, lambda lc: accept_conflict(lc, party, reason, now_s)
        )
        side = lifecycle.side_of(party)
        entry = _lifecycle_record(
            party,
            AuditKind.CONFLICT_ACCEPTED,
            lifecycle,
            audit.public_ids,
            party=party,
            reason=side.accept_reason,
        )
        audit.append([entry], now_s)
    return lifecycle
