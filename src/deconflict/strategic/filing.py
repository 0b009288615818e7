"""Filing operations against everything stored: check and commit in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from deconflict.errors import InputError, NotFoundError, Problem, StaleVersionError, TransitionError
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import Conflict, evaluate_pairs, format_time
from deconflict.strategic.limits import Limits
from deconflict.strategic.store import Store
from deconflict.strategic.volume import Operation, OperationState, Volume, search_boxes_of
from deconflict.strategic.zones import Zone, zone_conflicts

__all__ = [
    "ACTIVATION_LEAD_S",
    "FilingResult",
    "activate_operation",
    "extended_volumes",
    "file_operation",
    "release_operation",
    "withdraw_operation",
]

ACTIVATION_LEAD_S = 1800.0
"""How long before its earliest start an operation may be activated (s): crews report ready early."""


@dataclass(frozen=True)
class FilingResult:
    """The operation as stored and the conflicts it has with other parties' plans.

    ``conflict_ids`` are the store's ids of ``conflicts``, in the same order.
    """

    operation: Operation
    conflicts: tuple[Conflict, ...]
    conflict_ids: tuple[int, ...] = ()


def _check_volumes(operation_id: str, party: str, volumes: Sequence[Volume], limits: Limits) -> None:
    source = f"operation {operation_id}"
    problems = []
    if not volumes:
        problems.append(Problem(source, "has no volumes", None, "features"))
    if len(volumes) > limits.max_volumes_per_operation:
        problems.append(
            Problem(
                source,
                f"has {len(volumes)} volumes, more than the limit of {limits.max_volumes_per_operation}",
                None,
                "features",
            )
        )
    seen: set[str] = set()
    for index, volume in enumerate(volumes):
        record = f"volume {index} (id {volume.id})"
        if volume.party != party:
            problems.append(
                Problem(source, f"belongs to party {volume.party!r}, not {party!r}", record, "party")
            )
        if volume.id in seen:
            problems.append(Problem(source, f"duplicate id {volume.id!r}", record, "id"))
        seen.add(volume.id)
    if problems:
        raise InputError(problems)


def file_operation(
    store: Store,
    party: str,
    operation_id: str,
    volumes: Sequence[Volume],
    *,
    priority: int | None = None,
    replaces_version: int | None = None,
    buffers: Buffers = Buffers(),
    limits: Limits = Limits(),
    zones: Sequence[tuple[str, Zone]] = (),
    state: OperationState | None = None,
) -> FilingResult:
    """File a new operation, or a new version of one, and find its conflicts.

    The check against other parties' live volumes and the commit happen in one
    store transaction, so the conflicts returned are exactly those with the
    state the operation was committed against.

    Parameters
    ----------
    priority
        The operation's priority; ``None`` keeps the amended operation's own
        (0 for a new operation).
    replaces_version
        ``None`` to file a new operation; the current version to update one.
    zones
        Published geographical zones, each with its authority party: each
        applicable restriction the operation enters is a conflict with the
        authority (:meth:`~deconflict.strategic.zones.ZoneConflict.filed`), after
        those with other parties' plans. The party's own zones are skipped.
    state
        The state of the version filed; ``None``: ``proposed``, except that an
        amendment of an ``activated`` operation keeps it ``activated`` (the
        activity goes on under the amended plan).

    Raises
    ------
    StaleVersionError
        If the operation exists and ``replaces_version`` is not its version (or
        is ``None``), or it does not exist and a version was named.
    InputError
        If the volumes are empty, too many, of another party or have duplicate ids.
    """
    _check_volumes(operation_id, party, volumes, limits)
    if priority is None or state is None:
        # Read before the transaction: if the operation changes meanwhile, its version
        # does too and the check below refuses the amendment as stale.
        existing = None if replaces_version is None else store.get_operation(party, operation_id)
        if priority is None:
            priority = existing.priority if existing is not None else 0
        if state is None:
            running = existing is not None and existing.state is OperationState.ACTIVATED
            state = OperationState.ACTIVATED if running else OperationState.PROPOSED
    margins = store.margins
    # Built directly: dataclasses.replace costs as much as the rest of a volume's search boxes.
    volumes = tuple(
        Volume(
            v.id, v.party, operation_id, v.footprint, v.lower, v.upper, v.time_start_s, v.time_end_s, priority
        )
        for v in volumes
    )
    with store.transaction() as tx:
        current = tx.current_version(party, operation_id)
        if current != replaces_version:
            raise StaleVersionError(operation_id, replaces_version, current)
        # Stored boxes are not grown: the query box covers both volumes' buffers.
        reach = Buffers(2.0 * buffers.buffer_m, 2.0 * buffers.vertical_buffer_m, 2.0 * buffers.time_buffer_s)
        boxes = search_boxes_of(volumes, margins, reach)
        flat = [box for group in boxes for box in group]
        found = tx.candidates(flat, exclude_party=party)
        left: list[Volume] = []
        right: list[Volume] = []
        position = 0
        for volume, group in zip(volumes, boxes, strict=True):
            seen: set[tuple[str, str, str]] = set()
            for hits in found[position : position + len(group)]:
                for other in hits:
                    key = (other.party, other.operation, other.id)
                    if key not in seen:
                        seen.add(key)
                        left.append(volume)
                        right.append(other)
            position += len(group)
        conflicts = evaluate_pairs(left, right, buffers, margins)
        others = [(authority, zone) for authority, zone in zones if authority != party]
        conflicts += [z.filed() for z in zone_conflicts(volumes, others, buffers, margins)]
        operation = Operation(
            id=operation_id,
            party=party,
            volumes=volumes,
            priority=priority,
            state=state,
            version=1 if current is None else current + 1,
        )
        ids = tx.save_operation(operation, conflicts)
    return FilingResult(operation, tuple(conflicts), tuple(ids))


def withdraw_operation(store: Store, party: str, operation_id: str, version: int) -> Operation:
    """Withdraw an operation: its volumes stop conflicting; the version goes up by one."""
    existing = store.get_operation(party, operation_id)
    if existing is None:
        raise NotFoundError(f"party {party!r} has no operation {operation_id!r}")
    with store.transaction() as tx:
        current = tx.current_version(party, operation_id)
        if current != version:
            raise StaleVersionError(operation_id, version, current)
        withdrawn = replace(existing, state=OperationState.WITHDRAWN, version=version + 1)
        tx.save_operation(withdrawn, [])
    return withdrawn


def _window_s(operation: Operation) -> tuple[float, float]:
    """The operation's earliest start and latest end (s since the epoch)."""
    return (
        min(v.time_start_s for v in operation.volumes),
        max(v.time_end_s for v in operation.volumes),
    )


def _stored(store: Store, party: str, operation_id: str) -> Operation:
    existing = store.get_operation(party, operation_id)
    if existing is None:
        raise NotFoundError(f"party {party!r} has no operation {operation_id!r}")
    return existing


def _change_state(
    store: Store, existing: Operation, version: int, state: OperationState, *, keep_conflicts: bool
) -> Operation:
    changed = replace(existing, state=state, version=version + 1)
    with store.transaction() as tx:
        current = tx.current_version(existing.party, existing.id)
        if current != version:
            raise StaleVersionError(existing.id, version, current)
        if keep_conflicts:
            tx.set_state(existing.party, existing.id, state, version + 1)
        else:
            tx.save_operation(changed, [])
    return changed


def activate_operation(store: Store, party: str, operation_id: str, version: int, now_s: float) -> Operation:
    """Activate an operation: its activity has started. Volumes and conflicts stay as they are.

    A ``proposed`` or ``accepted`` operation may be activated from
    :data:`ACTIVATION_LEAD_S` before its earliest start until its latest end;
    the version goes up by one.

    Raises
    ------
    NotFoundError
        If ``party`` has no such operation.
    TransitionError
        If it is not ``proposed`` or ``accepted``, or ``now_s`` is outside that span.
    StaleVersionError
        If ``version`` is not the stored one.
    """
    existing = _stored(store, party, operation_id)
    if existing.state not in (OperationState.PROPOSED, OperationState.ACCEPTED):
        raise TransitionError(
            f"operation {operation_id!r} is {existing.state}: "
            "only a proposed or accepted one can be activated",
            str(existing.state),
        )
    start_s, end_s = _window_s(existing)
    if now_s < start_s - ACTIVATION_LEAD_S:
        raise TransitionError(
            f"operation {operation_id!r} starts at {format_time(start_s)}: it can be activated from "
            f"{ACTIVATION_LEAD_S / 60:.0f} minutes before",
            str(existing.state),
        )
    if now_s >= end_s:
        raise TransitionError(
            f"operation {operation_id!r} ended at {format_time(end_s)}: extend it before activating it",
            str(existing.state),
        )
    return _change_state(store, existing, version, OperationState.ACTIVATED, keep_conflicts=True)


def release_operation(store: Store, party: str, operation_id: str, version: int) -> Operation:
    """Release an activated operation early: it ends now, its volumes stop conflicting.

    The volumes are kept as filed (the record of what was reserved); the
    store supersedes its open conflicts, as a withdrawal does.

    Raises
    ------
    NotFoundError
        If ``party`` has no such operation.
    TransitionError
        If it is not ``activated``.
    StaleVersionError
        If ``version`` is not the stored one.
    """
    existing = _stored(store, party, operation_id)
    if existing.state is not OperationState.ACTIVATED:
        raise TransitionError(
            f"operation {operation_id!r} is {existing.state}: only an activated one can be released",
            str(existing.state),
        )
    return _change_state(store, existing, version, OperationState.ENDED, keep_conflicts=False)


def extended_volumes(operation: Operation, until_s: float, now_s: float) -> tuple[Volume, ...]:
    """The operation's volumes with those that end last running until ``until_s`` instead.

    Raises
    ------
    TransitionError
        If the operation is ended or withdrawn.
    InputError
        If ``until_s`` is not later than both its latest end and ``now_s``.

    """
    if not operation.state.is_live:
        raise TransitionError(
            f"operation {operation.id!r} is {operation.state}: it cannot be extended", str(operation.state)
        )
    _, end_s = _window_s(operation)
    if until_s <= max(end_s, now_s):
        later = "its end, " + format_time(end_s) if end_s >= now_s else "now, " + format_time(now_s)
        raise InputError(
            [
                Problem(
                    f"operation {operation.id}",
                    f"{format_time(until_s)} is not later than {later}",
                    None,
                    "until",
                )
            ]
        )
    return tuple(replace(v, time_end_s=until_s) if v.time_end_s == end_s else v for v in operation.volumes)
