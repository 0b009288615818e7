"""The lifecycle store on both backends: round trips, atomic updates, a table of its own."""

from __future__ import annotations

import pytest

from deconflict.channel.conflicts import (
    ConflictLifecycle,
    Resolution,
    accept_conflict,
    acknowledge_conflict,
    resolve_conflict,
)
from deconflict.errors import NotFoundError, TransitionError
from deconflict.strategic.conflicts import Conflict
from tests.storage.backends import Backend

CONFLICT = Conflict(
    "b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL", 1.5, (0.0, 0.0, 1.0, 1.0), 3, 4
)


def test_a_record_survives_reopening_exactly(storage_backend: Backend) -> None:
    with storage_backend.store("operations"), storage_backend.store("conflict_states") as states:
        assert states.get(7) is None
        states.update(7, CONFLICT, lambda lc: acknowledge_conflict(lc, "red", 10.0))
        states.update(7, None, lambda lc: acknowledge_conflict(lc, "blue", 11.0))
        states.update(7, None, lambda lc: accept_conflict(lc, "blue", "fine — ок", 12.0))
        written = states.update(7, None, lambda lc: resolve_conflict(lc, "red", Resolution.WITHDRAWN, 13.0))
    with storage_backend.store("conflict_states") as states:
        assert states.get(7) == written
        assert written.conflict == CONFLICT
        assert states.list_for("red") == {7: written} == states.list_for("blue")
        assert states.list_for("green") == {}
        assert states.get(2**70) is None


def test_a_refused_change_writes_nothing(storage_backend: Backend) -> None:
    with storage_backend.store("conflict_states") as states:
        states.update(1, CONFLICT, lambda lc: acknowledge_conflict(lc, "red", 1.0))
        with pytest.raises(TransitionError):
            states.update(1, CONFLICT, lambda lc: acknowledge_conflict(lc, "red", 2.0))
        with pytest.raises(TransitionError):
            states.update(2, CONFLICT, lambda lc: accept_conflict(lc, "red", "x", 2.0))
        stored = states.get(1)
        assert stored is not None and stored.side_b.acknowledged_s == 1.0
        assert states.get(2) is None


def test_an_unknown_conflict_without_facts_is_not_found(storage_backend: Backend) -> None:
    def unchanged(lc: ConflictLifecycle) -> ConflictLifecycle:
        return lc

    with storage_backend.store("conflict_states") as states, pytest.raises(NotFoundError):
        states.update(5, None, unchanged)
