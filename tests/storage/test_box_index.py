"""The volume boxes' copy in memory: the compiled search against plain references, and in step with the file.

The references: a brute-force NumPy comparison of every box (for :class:`BoxIndex`)
and a SQL scan of ``volume_index`` as the file says now (for the copy a store
keeps through commits, rollbacks, group commits, other connections' commits,
reopening and a killed process).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.storage import SQLiteStore
from deconflict.storage.rows import PARTS_PER_VOLUME
from deconflict.storage.sqlite.box_index import BoxIndex, _brute_force
from deconflict.storage.sqlite.database import GroupCommitError
from deconflict.strategic import file_operation, find_conflicts, withdraw_operation
from deconflict.strategic.volume import Operation, Volume
from tests.builders import T0_S, box, conflict_pairs, volume

# --- BoxIndex: compiled, plain and brute force agree -----------------------------------------------


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random boxes over a small space, so that many meet; durations from seconds to weeks."""
    lo = rng.uniform(0.0, 10.0, (n, 4))
    size = rng.uniform(0.0, 3.0, (n, 4))
    size[:, 3] = np.exp(rng.uniform(0.0, np.log(2e6), n)) / 3600.0  # hours
    out = np.empty((n, 8))
    out[:, 0::2] = lo
    out[:, 1::2] = lo + size
    out[:, 6:] *= 3600.0
    return out


def _pairs(q: np.ndarray, rowids: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(q.tolist(), rowids.tolist(), strict=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    steps=st.lists(st.sampled_from(["add", "remove", "search"]), max_size=12),
)
def test_search_finds_every_meeting_box_through_adds_removes_and_merges(
    seed: int, n: int, steps: list[str]
) -> None:
    rng = np.random.default_rng(seed)
    rowids = np.arange(n, dtype=np.int64)
    parties = rng.integers(0, 3, n).astype(np.int64)
    boxes = _boxes(rng, n)
    indexes = [
        BoxIndex(rowids, parties, boxes, compiled=True),
        BoxIndex(rowids, parties, boxes, compiled=False),
    ]
    live = {int(r): (int(p), b) for r, p, b in zip(rowids, parties, boxes, strict=True)}
    next_rowid = n
    for step in [*steps, "search"]:
        if step == "add":
            k = int(rng.integers(1, 3000))  # past the tail's length at times: the next search merges
            new = np.arange(next_rowid, next_rowid + k, dtype=np.int64)
            if live and rng.random() < 0.3:  # a rowid used again once its volume is gone
                reused = int(rng.choice(list(live)))
                for index in indexes:
                    index.remove(np.array([reused]))
                del live[reused]
                new[0] = reused
            next_rowid += k
            new_parties = rng.integers(0, 3, k).astype(np.int64)
            new_boxes = _boxes(rng, k)
            for index in indexes:
                index.add(new, new_parties, new_boxes)
            live.update({int(r): (int(p), b) for r, p, b in zip(new, new_parties, new_boxes, strict=True)})
        elif step == "remove" and live:
            gone = rng.choice(list(live), size=min(len(live), int(rng.integers(1, 50))), replace=False)
            for index in indexes:
                index.remove(gone.astype(np.int64))
            for r in gone.tolist():
                del live[r]
        else:
            queries = _boxes(rng, int(rng.integers(1, 6)))
            exclude = int(rng.integers(0, 4))
            keys = np.array(list(live), dtype=np.int64)
            expected = _brute_force(
                keys,
                np.array([live[k][0] for k in keys.tolist()], dtype=np.int64),
                np.array([live[k][1] for k in keys.tolist()]).reshape(-1, 8),
                queries,
                exclude,
            )
            for index in indexes:
                assert _pairs(*index.search(queries, exclude)) == _pairs(*expected)
                assert len(index) == len(live)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400))
def test_boxes_of_any_width_anywhere_in_longitude_are_found(seed: int, n: int) -> None:
    # Widths from a metre to the whole globe, on both sides of the antimeridian and on it:
    # every width class and longitude cell, the first and the last.
    rng = np.random.default_rng(seed)

    def boxes(k: int) -> np.ndarray:
        out = _boxes(rng, k)
        width = np.exp(rng.uniform(np.log(1e-5), np.log(360.0), k))
        west = rng.uniform(-180.0, 180.0, k)
        west[rng.random(k) < 0.1] = -180.0
        out[:, 0], out[:, 1] = west, np.minimum(west + width, 180.0)
        return out

    rowids = np.arange(n, dtype=np.int64)
    parties = rng.integers(0, 3, n).astype(np.int64)
    stored = boxes(n)
    queries = boxes(8)
    expected = _pairs(*_brute_force(rowids, parties, stored, queries, 1))
    for compiled in (True, False):
        index = BoxIndex(rowids, parties, stored, compiled=compiled)
        assert _pairs(*index.search(queries, 1)) == expected


def test_boxes_that_only_touch_meet() -> None:
    boxes = np.array([[0.0, 1.0, 0.0, 1.0, 0.0, 100.0, 0.0, 60.0]])
    index = BoxIndex(np.array([7]), np.array([0]), boxes)
    touching = np.array([[1.0, 2.0, 1.0, 2.0, 100.0, 200.0, 60.0, 120.0]])
    apart = touching + np.array([1e-9, 0, 0, 0, 0, 0, 0, 0])
    assert _pairs(*index.search(touching, exclude_party=1)) == {(0, 7)}
    assert _pairs(*index.search(apart, exclude_party=1)) == set()
    assert _pairs(*index.search(touching, exclude_party=0)) == set()


# --- the store's copy against the file -----------------------------------------------------------


def _table_pairs(store: SQLiteStore, queries: np.ndarray, exclude: str) -> set[tuple[int, int]]:
    """What a SQL scan of volume_index (as this connection sees it now) finds."""
    out: set[tuple[int, int]] = set()
    for q, b in enumerate(queries.tolist()):
        rows = store.database.connection.execute(
            "SELECT i.id / ? FROM volume_index i JOIN volumes v ON v.rowid = i.id / ? WHERE v.party != ? "
            "AND lon0 <= ? AND lon1 >= ? AND lat0 <= ? AND lat1 >= ? AND alt0 <= ? AND alt1 >= ? "
            "AND t0 <= ? AND t1 >= ?",
            (PARTS_PER_VOLUME, PARTS_PER_VOLUME, exclude, b[1], b[0], b[3], b[2], b[5], b[4], b[7], b[6]),
        )
        out |= {(q, int(r[0])) for r in rows}
    return out


def _copy_pairs(store: SQLiteStore, queries: np.ndarray, exclude: str) -> set[tuple[int, int]]:
    with store.database.lock:
        return _pairs(*store._boxes.search(queries, exclude))


WORLD = np.array([[-180.0, 180.0, -90.0, 90.0, -1e6, 1e6, -1e12, 1e12]])


def _agrees(store: SQLiteStore, exclude: str = "nobody") -> bool:
    return _copy_pairs(store, WORLD, exclude) == _table_pairs(store, WORLD, exclude)


class _RolledBack(Exception):
    pass


def _square(k: int) -> Volume:
    lon = 36.0 + 0.1 * k
    return volume(f"v{k}", "blue" if k % 2 else "red", box(lon, 35.0, lon + 0.5, 35.5))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.sampled_from(["file", "amend", "withdraw", "rollback", "other", "reopen", "inner", "import"]),
        min_size=1,
        max_size=10,
    )
)
def test_the_copy_answers_as_the_table_through_commits_rollbacks_other_writers_and_reopening(
    steps: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deconflict.db"
        store = SQLiteStore(path)
        filed: dict[str, tuple[str, int]] = {}  # operation -> (party, version)
        try:
            for k, step in enumerate(steps):
                v = _square(k)
                if step in ("amend", "withdraw") and filed:
                    op = sorted(filed)[k % len(filed)]
                    party, version = filed[op]
                    if step == "amend":
                        moved = volume(f"v{k}", party, _square(k + 7).footprint)
                        result = file_operation(store, party, op, [moved], replaces_version=version)
                        filed[op] = (party, result.operation.version)
                    else:
                        filed[op] = (party, withdraw_operation(store, party, op, version).version)
                elif step == "rollback":
                    # Filed or imported, and searched, in a transaction that rolls back: never served after.
                    with contextlib.suppress(_RolledBack), store.database.transaction():
                        file_operation(store, "ghost", f"ghost{k}", [volume(f"g{k}", "ghost", v.footprint)])
                        ghost = volume(f"h{k}", "ghost", v.footprint, operation=f"hidden{k}")
                        store.import_operations([Operation(f"hidden{k}", "ghost", (ghost,))])
                        assert _agrees(store)
                        raise _RolledBack
                elif step == "import":
                    # A bulk import: a new operation and, when one is filed, a new version of it.
                    ops = [
                        Operation(
                            f"op{k}", v.party, (volume(f"v{k}", v.party, v.footprint, operation=f"op{k}"),)
                        )
                    ]
                    if filed:
                        op = sorted(filed)[k % len(filed)]
                        party, version = filed[op]
                        moved = volume(f"v{k}r", party, _square(k + 3).footprint, operation=op)
                        ops.append(Operation(op, party, (moved,), version=version + 1))
                        filed[op] = (party, version + 1)
                    store.import_operations(ops)
                    filed[f"op{k}"] = (v.party, 1)
                elif step == "inner":
                    # Two filings in one caller's transaction: the second sees the first (pending).
                    with store.database.transaction():
                        file_operation(store, "green", f"g{k}a", [volume(f"g{k}a", "green", v.footprint)])
                        result = file_operation(
                            store, "yellow", f"g{k}b", [volume(f"g{k}b", "yellow", v.footprint)]
                        )
                        assert ("green", f"g{k}a") in {(c.party_b, c.operation_b) for c in result.conflicts}
                        assert _agrees(store)
                elif step == "other":
                    # Another connection (another process would do the same) files: the copy is rebuilt.
                    with SQLiteStore(path) as other:
                        file_operation(other, "white", f"w{k}", [volume(f"w{k}", "white", v.footprint)])
                elif step == "reopen":
                    store.close()
                    store = SQLiteStore(path)
                else:
                    filed[f"op{k}"] = (
                        v.party,
                        file_operation(store, v.party, f"op{k}", [v]).operation.version,
                    )
                assert _agrees(store)
                assert _agrees(store, "red")
        finally:
            store.close()


def test_a_failed_group_commit_leaves_nothing_in_the_copy(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "deconflict.db") as store:
        file_operation(store, "red", "r", [_square(0)])
        assert _agrees(store)
        connection = store.database.connection
        with pytest.raises(GroupCommitError), store.database.lock:
            with store.database.transaction():
                file_operation(store, "blue", "b", [_square(1)])
                assert _copy_pairs(store, WORLD, "red")  # pending: seen inside the transaction
            # The commit (at the lock's release) fails; SQLite rolls the whole transaction back.
            store.database.connection = _FailingCommit(connection)  # type: ignore[assignment]
        store.database.connection = connection
        assert store.get_operation("blue", "b") is None
        assert _agrees(store)
        assert _copy_pairs(store, WORLD, "red") == set()


class _FailingCommit:
    """A connection whose COMMIT fails (as a full disk would make it)."""

    def __init__(self, connection: object) -> None:
        self._connection = connection

    def execute(self, sql: str, *args: object) -> object:
        if sql == "COMMIT":
            raise OSError("disk full")
        return self._connection.execute(sql, *args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)


def test_group_commit_writers_see_each_others_pending_volumes(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "deconflict.db") as store:
        file_operation(store, "red", "warm", [_square(50)])
        results: dict[str, set[str]] = {}

        def file(party: str) -> None:
            result = file_operation(store, party, party, [volume(party, party, box(36.0, 35.0, 36.5, 35.5))])
            results[party] = {c.party_b for c in result.conflicts}

        threads = [threading.Thread(target=file, args=(p,)) for p in ("red", "blue", "green", "white")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Whoever filed later found everyone filed before it, whether committed or pending in the group.
        assert sorted(len(found) for found in results.values()) == [0, 1, 2, 3]
        assert _agrees(store)


_CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from deconflict.storage import SQLiteStore
    from deconflict.strategic import file_operation
    from tests.storage.test_box_index import _square
    from tests.builders import volume
    store = SQLiteStore(sys.argv[1])
    for k in range(6):
        file_operation(store, _square(k).party, f"op{k}", [_square(k)])
    with store.database.transaction():
        file_operation(store, "ghost", "ghost", [volume("g", "ghost", _square(2).footprint)])
        os.kill(os.getpid(), signal.SIGKILL)  # before the commit
    """
)


def test_a_reopened_file_after_kill_9_files_as_find_conflicts_says(tmp_path: Path) -> None:
    path = tmp_path / "deconflict.db"
    done = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(path)],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    stored = [_square(k) for k in range(6)]
    newcomer = volume("n", "green", box(36.2, 35.2, 36.6, 35.4), start_s=T0_S + 600.0)
    with SQLiteStore(path) as store:
        assert store.get_operation("ghost", "ghost") is None
        assert _agrees(store)
        result = file_operation(store, "green", "n", [newcomer])
        expected = {p for p in conflict_pairs(find_conflicts([*stored, newcomer])) if ("green", "n") in p}
        assert conflict_pairs(result.conflicts) == expected
        assert expected  # the test means something


def test_a_filing_of_many_volumes_pairs_each_with_its_own_candidates(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "deconflict.db") as store:
        file_operation(store, "red", "wide", [volume("w", "red", box(36.0, 35.0, 37.0, 35.05))])
        file_operation(store, "red", "far", [volume("f", "red", box(38.0, 35.0, 38.1, 35.1))])
        small = [
            volume(f"s{k}", "blue", box(36.0 + 0.01 * k, 35.0, 36.005 + 0.01 * k, 35.2)) for k in range(90)
        ]
        result = file_operation(store, "blue", "many", small)
        assert sorted((c.a, c.b) for c in result.conflicts) == sorted((f"s{k}", "w") for k in range(90))


def test_the_rebuild_reads_around_the_memory_map_and_restores_it(tmp_path: Path) -> None:
    path = tmp_path / "deconflict.db"
    with SQLiteStore(path) as store:
        file_operation(store, "red", "r", [_square(0)])
    with SQLiteStore(path) as store, SQLiteStore(":memory:") as in_memory:
        mapped = store.database.connection.execute("PRAGMA mmap_size").fetchone()[0]
        assert mapped > 0
        assert _agrees(store)  # rebuilt from the file
        assert store.database.connection.execute("PRAGMA mmap_size").fetchone()[0] == mapped
        file_operation(in_memory, "red", "r", [_square(0)])  # no memory map to turn off
        assert _agrees(in_memory)
