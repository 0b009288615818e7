"""The lifecycle of a conflict, as both of its parties see it: pure transitions over frozen records.

States
------
``open``
    Found by the strategic check; not yet acknowledged by both sides (each
    side's acknowledgement is recorded on its own, with its time).
``acknowledged``
    Both sides have acknowledged it.
``accepted``
    Both sides have accepted it as it is, each with its own reason (one side's
    acceptance alone leaves the state as it was and is shown as such).
``resolved``
    One side amended or withdrew its operation, so the conflict no longer
    exists (the store calls such a conflict *superseded*). The resolution says
    which (``amended`` or ``withdrawn``) and by whom. Final.

A side must acknowledge a conflict before it accepts it. An accepted conflict
can still be resolved: the agreement stays on record, the conflict is gone.

The state is derived from the record, never stored on its own, so it cannot
disagree with the acknowledgements and acceptances it summarises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from deconflict.errors import InputError, NotFoundError, Problem, TransitionError
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.store import ConflictRecord

__all__ = [
    "MAX_REASON_CHARS",
    "ConflictLifecycle",
    "ConflictState",
    "ConflictStateStore",
    "LifecycleView",
    "Resolution",
    "Side",
    "accept_conflict",
    "acknowledge_conflict",
    "current_lifecycles",
    "lifecycle_view",
    "new_lifecycle",
    "resolve_conflict",
    "stored_or_new",
]

MAX_REASON_CHARS = 2000
"""Longest accepted reason, in characters."""


class ConflictState(StrEnum):
    """Where a conflict is in its lifecycle (see the module docs)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    """How a conflict stopped existing."""

    AMENDED = "amended"
    WITHDRAWN = "withdrawn"
    RELEASED = "released"


@dataclass(frozen=True)
class Side:
    """What one party has done about a conflict.

    Attributes
    ----------
    party
        The party on this side.
    acknowledged_s
        When it acknowledged the conflict (seconds since the epoch), or ``None``.
    accepted_s, accept_reason
        When and why it accepted the conflict as it is, or ``None``.
    """

    party: str
    acknowledged_s: float | None = None
    accepted_s: float | None = None
    accept_reason: str | None = None


@dataclass(frozen=True)
class ConflictLifecycle:
    """A conflict with its lifecycle.

    Attributes
    ----------
    conflict_id
        The conflict's stable id.
    conflict
        Its facts (both sides' identifiers: show it only through
        :func:`~deconflict.channel.disclosure.conflict_view`).
    side_a, side_b
        What ``conflict.party_a`` and ``conflict.party_b`` have done.
    resolution, resolved_by, resolved_s
        How, by whom and when it was resolved; ``None`` while it exists.
    """

    conflict_id: int
    conflict: Conflict
    side_a: Side
    side_b: Side
    resolution: Resolution | None = None
    resolved_by: str | None = None
    resolved_s: float | None = None

    @property
    def state(self) -> ConflictState:
        """The state the record amounts to."""
        sides = (self.side_a, self.side_b)
        if self.resolution is not None:
            return ConflictState.RESOLVED
        if all(s.accepted_s is not None for s in sides):
            return ConflictState.ACCEPTED
        if all(s.acknowledged_s is not None for s in sides):
            return ConflictState.ACKNOWLEDGED
        return ConflictState.OPEN

    @property
    def parties(self) -> tuple[str, str]:
        """The two parties, sorted (the audience of its audit entries)."""
        a, b = sorted((self.side_a.party, self.side_b.party))
        return a, b

    def side_of(self, party: str) -> Side:
        """The side of ``party``.

        Raises
        ------
        NotFoundError
            If ``party`` is on neither side: to it, the conflict does not exist.
        """
        if party == self.side_a.party:
            return self.side_a
        if party == self.side_b.party:
            return self.side_b
        raise NotFoundError(f"no conflict {self.conflict_id} for party {party!r}")

    def with_side(self, side: Side) -> ConflictLifecycle:
        """The record with ``side`` replacing the side of the same party."""
        if side.party == self.side_a.party:
            return replace(self, side_a=side)
        return replace(self, side_b=side)


def new_lifecycle(conflict_id: int, conflict: Conflict) -> ConflictLifecycle:
    """A conflict as just found: open, nothing done by either side.

    Examples
    --------
    >>> c = Conflict("b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL",
    ...              1.0, (0.0, 0.0, 1.0, 1.0))
    >>> new_lifecycle(7, c).state
    <ConflictState.OPEN: 'open'>
    """
    return ConflictLifecycle(conflict_id, conflict, Side(conflict.party_a), Side(conflict.party_b))


def stored_or_new(
    stored: ConflictLifecycle | None, conflict_id: int, conflict: Conflict | None
) -> ConflictLifecycle:
    """The record a :meth:`ConflictStateStore.update` changes: the ``stored`` one, else
    :func:`new_lifecycle` of ``conflict``.

    Raises
    ------
    NotFoundError
        If there is neither.
    """
    if stored is not None:
        return stored
    if conflict is None:
        raise NotFoundError(f"no conflict {conflict_id}")
    return new_lifecycle(conflict_id, conflict)


def _refuse_if_final(lifecycle: ConflictLifecycle, what: str) -> None:
    state = lifecycle.state
    if state is ConflictState.RESOLVED:
        raise TransitionError(
            f"conflict {lifecycle.conflict_id} is resolved ({lifecycle.resolution} by "
            f"{lifecycle.resolved_by}): it can no longer be {what}",
            current=str(state),
        )
    if state is ConflictState.ACCEPTED:
        raise TransitionError(
            f"conflict {lifecycle.conflict_id} is already accepted by both sides: it can no longer be {what}",
            current=str(state),
        )


def acknowledge_conflict(lifecycle: ConflictLifecycle, party: str, now_s: float) -> ConflictLifecycle:
    """``party`` acknowledges the conflict.

    Raises
    ------
    NotFoundError
        If ``party`` is on neither side.
    TransitionError
        If the conflict is resolved or accepted, or ``party`` already acknowledged it.

    Examples
    --------
    >>> c = Conflict("b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL",
    ...              1.0, (0.0, 0.0, 1.0, 1.0))
    >>> one = acknowledge_conflict(new_lifecycle(7, c), "red", 10.0)
    >>> one.state, one.side_b.acknowledged_s
    (<ConflictState.OPEN: 'open'>, 10.0)
    >>> acknowledge_conflict(one, "blue", 11.0).state
    <ConflictState.ACKNOWLEDGED: 'acknowledged'>
    """
    side = lifecycle.side_of(party)
    _refuse_if_final(lifecycle, "acknowledged")
    if side.acknowledged_s is not None:
        raise TransitionError(
            f"conflict {lifecycle.conflict_id} is already acknowledged by {party!r}",
            current=str(lifecycle.state),
        )
    return lifecycle.with_side(replace(side, acknowledged_s=float(now_s)))


def accept_conflict(lifecycle: ConflictLifecycle, party: str, reason: str, now_s: float) -> ConflictLifecycle:
    """``party`` accepts the conflict as it is, for ``reason``; accepted once both sides have.

    Raises
    ------
    NotFoundError
        If ``party`` is on neither side.
    InputError
        If ``reason`` is blank or longer than :data:`MAX_REASON_CHARS`.
    TransitionError
        If the conflict is resolved or accepted, ``party`` has not acknowledged
        it yet, or has already accepted it.
    """
    side = lifecycle.side_of(party)
    reason = reason.strip()
    if not reason:
        raise InputError([Problem("request", "accepting a conflict needs a reason", None, "reason")])
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(
            [Problem("request", f"{len(reason)} characters; at most {MAX_REASON_CHARS}", None, "reason")]
        )
    _refuse_if_final(lifecycle, "accepted")
    if side.acknowledged_s is None:
        raise TransitionError(
            f"conflict {lifecycle.conflict_id}: {party!r} must acknowledge it before accepting it",
            current=str(lifecycle.state),
        )
    if side.accepted_s is not None:
        raise TransitionError(
            f"conflict {lifecycle.conflict_id} is already accepted by {party!r}", current=str(lifecycle.state)
        )
    return lifecycle.with_side(replace(side, accepted_s=float(now_s), accept_reason=reason))


def resolve_conflict(
    lifecycle: ConflictLifecycle, party: str, resolution: Resolution, now_s: float
) -> ConflictLifecycle:
    """The conflict no longer exists: ``party`` amended or withdrew its operation.

    Raises
    ------
    NotFoundError
        If ``party`` is on neither side.
    TransitionError
        If the conflict is already resolved.
    """
    lifecycle.side_of(party)
    if lifecycle.resolution is not None:
        raise TransitionError(
            f"conflict {lifecycle.conflict_id} is already resolved ({lifecycle.resolution} by "
            f"{lifecycle.resolved_by})",
            current=str(lifecycle.state),
        )
    return replace(lifecycle, resolution=Resolution(resolution), resolved_by=party, resolved_s=float(now_s))


def current_lifecycles(
    open_records: Iterable[ConflictRecord], stored: Mapping[int, ConflictLifecycle]
) -> list[ConflictLifecycle]:
    """Every conflict of a party with its lifecycle, by id.

    Parameters
    ----------
    open_records
        The party's conflicts the operations store holds as open.
    stored
        The lifecycle records of the party's conflicts, by id (only conflicts
        something happened to have one).

    Returns
    -------
    list of ConflictLifecycle
        Each open conflict (with its record, or fresh), and each resolved one.
    """
    found = {r.id: stored.get(r.id) or new_lifecycle(r.id, r.conflict) for r in open_records}
    for conflict_id, lifecycle in stored.items():
        if lifecycle.resolution is not None:
            found[conflict_id] = lifecycle
    return [found[i] for i in sorted(found)]


@dataclass(frozen=True)
class LifecycleView:
    """The lifecycle of a conflict as one of its parties sees it: the same for both.

    Both sides' acknowledgements and reasons are part of the channel between
    them; nothing here names an operation, a volume or a coordinate.

    Attributes
    ----------
    state
        A :class:`ConflictState` value.
    acknowledgements
        ``(party, time_s)`` of each side that acknowledged, in time order.
    acceptances
        ``(party, reason, time_s)`` of each side that accepted, in time order.
    resolution, resolved_by, resolved_s
        How, by whom and when it was resolved, or ``None``.
    """

    state: str
    acknowledgements: tuple[tuple[str, float], ...]
    acceptances: tuple[tuple[str, str, float], ...]
    resolution: str | None
    resolved_by: str | None
    resolved_s: float | None


def lifecycle_view(lifecycle: ConflictLifecycle, viewer_party: str) -> LifecycleView:
    """The lifecycle ``viewer_party`` sees.

    Raises
    ------
    NotFoundError
        If the viewer is on neither side.
    """
    lifecycle.side_of(viewer_party)
    sides = (lifecycle.side_a, lifecycle.side_b)
    acks = sorted((s.party, s.acknowledged_s) for s in sides if s.acknowledged_s is not None)
    accepts = sorted(
        (s.party, s.accept_reason or "", s.accepted_s) for s in sides if s.accepted_s is not None
    )
    return LifecycleView(
        state=str(lifecycle.state),
        acknowledgements=tuple(sorted(acks, key=lambda a: (a[1], a[0]))),
        acceptances=tuple(sorted(accepts, key=lambda a: (a[2], a[0]))),
        resolution=None if lifecycle.resolution is None else str(lifecycle.resolution),
        resolved_by=lifecycle.resolved_by,
        resolved_s=lifecycle.resolved_s,
    )


class ConflictStateStore(Protocol):
    """Where lifecycle records are kept (storage implements it)."""

    def get(self, conflict_id: int) -> ConflictLifecycle | None:
        """The record of a conflict, or ``None`` when nothing has happened to it yet."""
        ...

    def list_for(self, party: str) -> dict[int, ConflictLifecycle]:
        """The records of every conflict ``party`` is on a side of, by id."""
        ...

    def update(
        self,
        conflict_id: int,
        conflict: Conflict | None,
        change: Callable[[ConflictLifecycle], ConflictLifecycle],
    ) -> ConflictLifecycle:
        """Apply ``change`` to the record atomically (read, change, write in one transaction).

        A conflict without a record starts from :func:`new_lifecycle` of
        ``conflict``. Exceptions of ``change`` propagate and nothing is written.

        Raises
        ------
        NotFoundError
            If there is no record and ``conflict`` is ``None``.
        """
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
