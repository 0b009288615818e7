"""Filing operations against everything stored: check and commit in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from deconflict.errors import InputError, NotFoundError, Problem, StaleVersionError
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import Conflict, evaluate_pairs
from deconflict.strategic.limits import Limits
from deconflict.strategic.store import Store
from deconflict.strategic.volume import Operation, OperationState, Volume
from deconflict.strategic.zones import Zone, zone_conflicts

__all__ = ["FilingResult", "file_operation", "withdraw_operation"]


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

    Raises
    ------
    StaleVersionError
        If the operation exists and ``replaces_version`` is not its version (or
        is ``None``), or it does not exist and a version was named.
    InputError
        If the volumes are empty, too many, of another party or have duplicate ids.
    """
    _check_volumes(operation_id, party, volumes, limits)
    if priority is None:
        # Read before the transaction: if the operation changes meanwhile, its version
        # does too and the check below refuses the amendment as stale.
        existing = None if replaces_version is None else store.get_operation(party, operation_id)
        priority = existing.priority if existing is not None else 0
    margins = store.margins
    volumes = tuple(replace(v, operation=operation_id, priority=priority) for v in volumes)
    with store.transaction() as tx:
        current = tx.current_version(party, operation_id)
        if current != replaces_version:
            raise StaleVersionError(operation_id, replaces_version, current)
        # Stored boxes are not grown: the query box covers both volumes' buffers.
        reach = Buffers(2.0 * buffers.buffer_m, 2.0 * buffers.vertical_buffer_m, 2.0 * buffers.time_buffer_s)
        boxes = [v.search_boxes(margins, reach) for v in volumes]
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
            state=OperationState.PROPOSED,
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
