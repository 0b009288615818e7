"""What the strategic engine needs from storage: the ``Store`` protocol.

The domain declares it; ``deconflict.storage`` implements it (embedded SQLite
by default, PostgreSQL/PostGIS later). Nothing here knows about a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.volume import Operation, OperationState, SearchBox, Volume
from deconflict.units import AltitudeMargins

__all__ = ["ConflictRecord", "Store", "StoreTransaction"]


@dataclass(frozen=True)
class ConflictRecord:
    """A stored conflict: its stable id, its state and its facts.

    Attributes
    ----------
    id
        The store's id of the conflict, stable for its whole life.
    state
        ``"open"`` while both operations stand as they were when it was found;
        ``"superseded"`` once either was amended or withdrawn.
    conflict
        The facts, as the engine found them (both sides: never shown as is to a party).
    """

    id: int
    state: str
    conflict: Conflict


class StoreTransaction(Protocol):
    """One atomic unit of work: everything read in it is consistent with what it writes.

    Implementations must serialise writers, so that two transactions that both
    read version ``n`` of an operation cannot both commit a change to it.
    """

    def current_version(self, party: str, operation_id: str) -> int | None:
        """The stored version of an operation, ``None`` if there is none."""
        ...

    def candidates(self, boxes: Sequence[SearchBox], exclude_party: str) -> list[list[Volume]]:
        """For each box, the live volumes of other parties whose index boxes meet it."""
        ...

    def save_operation(self, operation: Operation, conflicts: Sequence[Conflict]) -> list[int]:
        """Store (or replace) an operation with its volumes and the conflicts found.

        Returns the ids given to ``conflicts``, in order.
        """
        ...

    def set_state(self, party: str, operation_id: str, state: OperationState, version: int) -> None:
        """Change a stored operation's state and version only: its volumes and conflicts stay as they are."""
        ...


class Store(Protocol):
    """Persistent store of parties' operations and their conflicts.

    ``margins`` are the altitude-reference margins its index was built with;
    filing checks with the same ones, so the index never misses a candidate.
    """

    margins: AltitudeMargins

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """Begin a write transaction; it commits when the block ends without error."""
        ...

    def get_operation(self, party: str, operation_id: str) -> Operation | None:
        """One operation of ``party``, or ``None``."""
        ...

    def list_operations(self, party: str) -> list[Operation]:
        """All operations of ``party``, by id."""
        ...

    def list_conflicts(self, party: str) -> list[Conflict]:
        """Open conflicts that involve ``party``'s operations."""
        ...

    def list_conflict_records(self, party: str) -> list[ConflictRecord]:
        """Open conflicts that involve ``party``'s operations, with their ids, by id."""
        ...

    def count_volumes(self) -> int:
        """Number of live volumes stored (all parties)."""
        ...

    def conflict_detection_times(self, party: str) -> dict[int, float]:
        """When each conflict involving ``party`` (open or superseded) was detected, by id (seconds)."""
        ...

    def count_open_conflicts(self) -> int:
        """Number of conflicts that still stand (not superseded), all parties."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
