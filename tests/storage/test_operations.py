"""The operations store on both backends: durable, atomic, versioned, its index never loses a candidate."""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
import pytest

from deconflict.config import load_settings
from deconflict.errors import StaleVersionError
from deconflict.geometry.footprint import polygon_footprint
from deconflict.storage import SQLiteStore, open_storage
from deconflict.strategic import file_operation, withdraw_operation
from deconflict.strategic.store import Store
from deconflict.strategic.volume import Operation, OperationState, SearchBox
from deconflict.units import AltitudeMargins
from tests.builders import T0_S, box, circle, volume
from tests.storage.backends import Backend

SQUARE = box(36.0, 35.0, 36.5, 35.5)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "deconflict.db"


def test_data_survives_reopening(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
        file_operation(
            store,
            "blue",
            "b",
            [volume("b1", "blue", SQUARE), volume("b2", "blue", circle(38.0, 35.0, 5000.0))],
        )
    with storage_backend.store("operations") as store:
        assert store.count_volumes() == 3
        blue = store.get_operation("blue", "b")
        assert blue is not None and blue.version == 1 and len(blue.volumes) == 2
        assert [(c.a, c.b) for c in store.list_conflicts("red")] == [("b1", "r1")]
        # The reopened index still finds candidates.
        result = file_operation(store, "green", "g", [volume("g1", "green", box(36.1, 35.1, 36.2, 35.2))])
        assert sorted(c.b for c in result.conflicts) == ["b1", "r1"]


def test_volumes_round_trip_exactly(storage_backend: Backend) -> None:
    polygon_volume = volume(
        "p", "blue", box(179.0, -17.0, 181.0, -16.0), lower_m=914.4, upper_m=7620.0, upper_reference="STD"
    )
    circle_volume = volume("c", "blue", circle(36.123456789, 35.987654321, 1234.5), reference="AGL")
    with storage_backend.store("operations") as store:
        file_operation(store, "blue", "op", [polygon_volume, circle_volume], priority=4)
    with storage_backend.store("operations") as store:
        op = store.get_operation("blue", "op")
    assert op is not None
    p, c = op.volumes
    assert p.footprint.shape.equals_exact(polygon_volume.footprint.shape, tolerance=0.0)
    assert p.footprint.part_bounds() == polygon_volume.footprint.part_bounds()
    assert (p.lower, p.upper) == (polygon_volume.lower, polygon_volume.upper)
    assert (p.time_start_s, p.time_end_s, p.priority, p.operation) == (T0_S, T0_S + 3600.0, 4, "op")
    assert c.footprint.is_circle
    assert (c.footprint.centre_lon_deg, c.footprint.centre_lat_deg, c.footprint.radius_m) == (
        36.123456789,
        35.987654321,
        1234.5,
    )
    assert c.footprint.outer.equals_exact(circle_volume.footprint.outer, tolerance=0.0)
    assert c.footprint.inner is not None and c.footprint.inner.equals_exact(
        circle_volume.footprint.inner, tolerance=0.0
    )


def test_missing_operation_and_listing(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        assert store.get_operation("blue", "nope") is None
        assert store.list_operations("blue") == []
        for op_id in ("op-b", "op-a", "op-c"):
            file_operation(store, "blue", op_id, [volume(op_id + "/v", "blue", box(0, 0, 1, 1))])
        file_operation(store, "red", "op-z", [volume("z", "red", box(5, 5, 6, 6))])
        assert [o.id for o in store.list_operations("blue")] == ["op-a", "op-b", "op-c"]
        assert [o.id for o in store.list_operations("red")] == ["op-z"]


def test_conflicts_are_listed_per_party_with_their_facts(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE, lower_m=500.0, upper_m=3000.0)])
        file_operation(store, "green", "g", [volume("g1", "green", box(50, 50, 51, 51))])
        result = file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
        (conflict,) = result.conflicts
        assert store.list_conflicts("blue") == [conflict]
        assert store.list_conflicts("red") == [conflict]
        assert store.list_conflicts("green") == []
        assert (conflict.altitude_lower_m, conflict.altitude_upper_m) == (500.0, 1000.0)


def test_filing_is_atomic_when_saving_fails(
    storage_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
        file_operation(store, "blue", "b", [volume("b1", "blue", box(0, 0, 1, 1))])

        def explode(conflict: object) -> str:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(sys.modules[type(store).__module__], "conflict_to_json", explode)
        # Volumes and version are written before the conflicts: all must roll back.
        with pytest.raises(RuntimeError, match="disk on fire"):
            file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)], replaces_version=1)
        monkeypatch.undo()
        op = store.get_operation("blue", "b")
        assert op is not None and op.version == 1
        assert op.volumes[0].footprint.shape.equals(box(0, 0, 1, 1).shape)
        assert store.list_conflicts("red") == []
        assert store.count_volumes() == 2
        # And the store is usable afterwards (no transaction left open).
        assert file_operation(
            store, "blue", "b", [volume("b1", "blue", SQUARE)], replaces_version=1
        ).conflicts


def test_transaction_rolls_back_on_error(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        with pytest.raises(KeyError), store.transaction() as tx:
            tx.save_operation(Operation("op", "blue", (volume("v", "blue", SQUARE),)), [])
            raise KeyError("abort")
        assert store.get_operation("blue", "op") is None
        assert store.count_volumes() == 0


def test_withdrawn_volumes_leave_the_index(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
        withdraw_operation(store, "red", "r", version=1)
        with store.transaction() as tx:
            (hits,) = tx.candidates(
                [SearchBox(-180, -90, 180, 90, -1e6, 1e6, 0.0, 4e9)], exclude_party="blue"
            )
        assert hits == []
        op = store.get_operation("red", "r")
        assert op is not None and op.state is OperationState.WITHDRAWN


def test_candidates_exclude_the_party_and_touching_boxes_are_found(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
        file_operation(store, "blue", "b", [volume("b1", "blue", box(40, 40, 41, 41))])
        margins = AltitudeMargins()
        touching = volume(
            "x", "green", box(36.5, 35.5, 37.0, 36.0), start_s=T0_S + 3600.0, end_s=T0_S + 7200.0
        )
        with store.transaction() as tx:
            (hits,) = tx.candidates(touching.search_boxes(margins), exclude_party="green")
            assert [v.id for v in hits] == ["r1"]
            (hits,) = tx.candidates(touching.search_boxes(margins), exclude_party="red")
            assert hits == []


def test_import_operations_stores_without_checking(storage_backend: Backend) -> None:
    ops = [
        Operation("a", "red", (volume("a1", "red", SQUARE),)),
        Operation("b", "blue", (volume("b1", "blue", SQUARE), volume("b2", "blue", SQUARE))),
    ]
    with storage_backend.store("operations") as store:
        assert store.import_operations(ops) == 3
        assert store.count_volumes() == 3
        assert store.list_conflicts("red") == []


def test_an_imported_operation_replaces_the_stored_one_and_supersedes_its_conflicts(
    storage_backend: Backend,
) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
        file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
        assert len(store.list_conflicts("red")) == 1
        moved = volume("r2", "red", box(38.0, 35.0, 38.5, 35.5), operation="r")
        new = volume("g1", "green", box(38.0, 35.0, 38.5, 35.5), operation="g")
        assert store.import_operations(
            [Operation("r", "red", (moved,), version=2), Operation("g", "green", (new,))]
        )
        stored = store.get_operation("red", "r")
        assert stored is not None
        assert ([v.id for v in stored.volumes], stored.version) == (["r2"], 2)
        assert store.count_volumes() == 3
        assert store.list_conflicts("red") == []  # the replaced version's conflict is superseded
        # The index has the new volumes, not the replaced one.
        found = file_operation(store, "white", "w", [volume("w1", "white", SQUARE)]).conflicts
        assert sorted(c.b for c in found) == ["b1"]
        found = file_operation(store, "white", "w2", [volume("w2", "white", box(38.1, 35.1, 38.2, 35.2))])
        assert sorted(c.b for c in found.conflicts) == ["g1", "r2"]


def test_an_import_keeps_the_later_of_two_operations_with_one_party_and_id(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        first = Operation(
            "r",
            "red",
            (volume("r1", "red", SQUARE, operation="r"), volume("r2", "red", SQUARE, operation="r")),
        )
        later = Operation(
            "r", "red", (volume("r3", "red", box(38.0, 35.0, 38.5, 35.5), operation="r"),), version=2
        )
        assert store.import_operations([first, later]) == 3  # the volumes given
        stored = store.get_operation("red", "r")
        assert stored is not None
        assert ([v.id for v in stored.volumes], stored.version) == (["r3"], 2)
        assert store.count_volumes() == 1
        found = file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)]).conflicts
        assert found == ()


def test_an_import_writes_all_or_nothing(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "red", "r", [volume("r1", "red", SQUARE)])
        file_operation(store, "blue", "b", [volume("b1", "blue", SQUARE)])
        moved = volume("r2", "red", box(38.0, 35.0, 38.5, 35.5), operation="r")
        new = volume("g1", "green", SQUARE, operation="g")
        unstorable = Operation(
            "y", "yellow", (volume("y1", "yellow", SQUARE, operation="y"),), priority=2**63
        )
        with pytest.raises((OverflowError, psycopg.DataError)):  # no 64-bit integer (SQLite, PostgreSQL)
            store.import_operations(
                [Operation("r", "red", (moved,), version=2), Operation("g", "green", (new,)), unstorable]
            )
        stored = store.get_operation("red", "r")
        assert stored is not None
        assert ([v.id for v in stored.volumes], stored.version) == (["r1"], 1)
        assert store.get_operation("green", "g") is None
        assert store.get_operation("yellow", "y") is None
        assert store.count_volumes() == 2
        assert len(store.list_conflicts("red")) == 1  # not superseded
        # The index has what was stored before, not the import's volumes.
        found = file_operation(store, "white", "w", [volume("w1", "white", SQUARE)]).conflicts
        assert sorted(c.b for c in found) == ["b1", "r1"]


def test_imported_volumes_round_trip_exactly(storage_backend: Backend) -> None:
    polygon_volume = volume(
        "p",
        "blue",
        box(179.0, -17.0, 181.0, -16.0),
        lower_m=914.4,
        upper_m=7620.0,
        upper_reference="STD",
        operation="op",
    )
    circle_volume = volume(
        "c", "blue", circle(36.123456789, 35.987654321, 1234.5), reference="AGL", operation="op"
    )
    given = Operation("op", "blue", (polygon_volume, circle_volume), priority=4, version=3)
    with storage_backend.store("operations") as store:
        store.import_operations([given])
        stored = store.get_operation("blue", "op")
        assert stored is not None
        assert (stored.version, stored.priority, stored.state) == (3, 4, given.state)
        for got, put in zip(stored.volumes, given.volumes, strict=True):
            assert got.footprint.shape.equals_exact(put.footprint.shape, tolerance=0.0)
            assert (got.lower, got.upper, got.time_start_s, got.time_end_s) == (
                put.lower,
                put.upper,
                put.time_start_s,
                put.time_end_s,
            )
            assert (got.id, got.operation, got.priority) == (put.id, put.operation, put.priority)
        # Both parts of the polygon across the antimeridian are indexed.
        for lon in (179.5, -179.5):
            hit = volume("w", "white", box(lon, -16.8, lon + 0.1, -16.7))
            assert [c.b for c in file_operation(store, "white", f"w{lon}", [hit]).conflicts] == ["p"]


def test_an_imported_footprint_of_many_parts_is_indexed_by_at_most_64_boxes(storage_backend: Backend) -> None:
    rings = [
        [np.array([(lon, 35.0), (lon + 0.01, 35.0), (lon + 0.01, 35.01), (lon, 35.01), (lon, 35.0)])]
        for lon in (36.0 + 0.02 * k for k in range(70))
    ]
    footprint = polygon_footprint(rings)
    with storage_backend.store("operations") as store:
        store.import_operations([Operation("m", "red", (volume("m1", "red", footprint, operation="m"),))])
        assert storage_backend.query("SELECT index_parts FROM volumes") == [(64,)]
        assert storage_backend.query("SELECT count(*) FROM volume_index") == [(64,)]
        # A square past the 63rd is found through the last box, which covers the rest.
        last = volume("b1", "blue", box(36.0 + 0.02 * 69, 35.0, 36.01 + 0.02 * 69, 35.01))
        assert [c.b for c in file_operation(store, "blue", "b", [last]).conflicts] == ["m1"]


def test_a_volume_is_stored_with_the_same_boxes_filed_alone_or_imported_among_many(tmp_path: Path) -> None:
    # Alone, a volume is boxed by search_boxes_of; in a batch of many, by search_box_array.
    two_parts = polygon_footprint(
        [[np.array([(36.0, 35.0), (36.1, 35.0), (36.1, 35.1), (36.0, 35.0)])],
         [np.array([(37.0, 35.0), (37.1, 35.0), (37.1, 35.1), (37.0, 35.0)])]]
    )  # fmt: skip
    many_parts = polygon_footprint(
        [[np.array([(lon, 35.0), (lon + 0.01, 35.0), (lon + 0.01, 35.01), (lon, 35.0)])] for lon in
         (36.0 + 0.02 * k for k in range(70))]
    )  # fmt: skip
    footprints = [SQUARE, circle(36.3, 35.2, 1500.0), two_parts, many_parts, box(179.5, -10.0, 180.0, -9.5)]
    references = ["MSL", "STD", "W84", "AGL"]
    volumes = [
        volume(
            f"v{k}", "red", footprints[k % len(footprints)], start_s=T0_S + 61.7 * k,
            lower_m=12.3 * k, upper_m=900.0 + k, reference=references[k % len(references)], operation="all",
        )
        for k in range(20)
    ]  # fmt: skip

    def stored_boxes(store: SQLiteStore) -> list[tuple[float, ...]]:
        rows = store.database.connection.execute(
            "SELECT v.volume_id, i.id % 64, i.lon0, i.lon1, i.lat0, i.lat1, i.alt0, i.alt1, i.t0, i.t1 "
            "FROM volume_index i JOIN volumes v ON v.rowid = i.id / 64"
        )
        return sorted(tuple(r) for r in rows)

    with SQLiteStore(tmp_path / "batch.db") as batch, SQLiteStore(tmp_path / "alone.db") as alone:
        batch.import_operations([Operation("all", "red", tuple(volumes))])
        for v in volumes:
            file_operation(alone, "red", v.id, [v])
        in_batch = stored_boxes(batch)
        assert len(in_batch) == 4 * 1 + 4 * 2 + 4 * 64 + 4 * 1 + 4 * 1
        assert stored_boxes(alone) == in_batch


def test_open_storage_uses_the_settings_path(tmp_path: Path) -> None:
    path = tmp_path / "from-settings.db"
    with open_storage(load_settings(db_path=path)) as storage:
        file_operation(storage.operations, "red", "r", [volume("r1", "red", SQUARE)])
    assert path.exists()
    with SQLiteStore(path) as again:
        assert again.count_volumes() == 1


def test_file_database_uses_wal(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


# --- two parties racing ------------------------------------------------------------


def _race_two_connections(storage_backend: Backend, current: int) -> tuple[list[object], list[Store]]:
    """Two connections update from ``current`` at the same moment; returns each one's outcome."""
    stores: list[Store] = [storage_backend.store("operations"), storage_backend.store("operations")]
    barrier = threading.Barrier(2)
    outcome: list[object] = [None, None]

    def run(k: int) -> None:
        barrier.wait()
        try:
            result = file_operation(
                stores[k], "blue", "op", [volume("v", "blue", box(k, 0, k + 1, 1))], replaces_version=current
            )
            outcome[k] = result.operation.version
        except StaleVersionError as exc:
            outcome[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcome, stores


def test_two_connections_racing_from_the_same_version_exactly_one_wins(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as setup:
        file_operation(setup, "blue", "op", [volume("v", "blue", SQUARE)])
    for current in range(1, 9):
        outcome, stores = _race_two_connections(storage_backend, current)
        try:
            winners = [k for k in range(2) if outcome[k] == current + 1]
            losers = [k for k in range(2) if isinstance(outcome[k], StaleVersionError)]
            assert len(winners) == 1 and len(losers) == 1, outcome
            error = outcome[losers[0]]
            assert isinstance(error, StaleVersionError) and error.current_version == current + 1
            assert f"is at version {current + 1}, not {current}" in str(error)
            stored = stores[losers[0]].get_operation("blue", "op")
            assert stored is not None and stored.version == current + 1
            assert stored.volumes[0].footprint.shape.equals(box(winners[0], 0, winners[0] + 1, 1).shape)
        finally:
            for s in stores:
                s.close()


class _PausingStore:
    """Wraps a store so that a filing pauses inside its transaction, after reading the version."""

    def __init__(self, inner: Store, inside: threading.Event, proceed: threading.Event) -> None:
        self._inner, self._inside, self._proceed = inner, inside, proceed
        self.margins = inner.margins

    def __getattr__(self, name: str) -> object:
        # Everything but the transaction is the store's own (an amendment reads the operation first).
        return getattr(self._inner, name)

    @contextmanager
    def transaction(self) -> Iterator[object]:
        with self._inner.transaction() as tx:
            read = tx.current_version

            def current_version(party: str, operation_id: str) -> int | None:
                version = read(party, operation_id)
                self._inside.set()
                self._proceed.wait(timeout=10)
                return version

            tx.current_version = current_version  # type: ignore[method-assign]
            yield tx


def _race_in_one_store(store: Store, second: Store) -> dict[str, object]:
    inside, proceed = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            pausing = _PausingStore(store, inside, proceed)
            file_operation(pausing, "blue", "op", [volume("v", "blue", box(1, 0, 2, 1))], replaces_version=1)  # type: ignore[arg-type]
            outcome["first"] = "won"
        except Exception as exc:
            outcome["first"] = exc

    def other() -> None:
        try:
            file_operation(second, "blue", "op", [volume("v", "blue", box(2, 0, 3, 1))], replaces_version=1)
            outcome["second"] = "won"
        except Exception as exc:
            outcome["second"] = exc

    t1 = threading.Thread(target=first)
    t1.start()
    assert inside.wait(timeout=10)
    t2 = threading.Thread(target=other)
    t2.start()
    t2.join(timeout=0.5)  # the second writer must wait for the first (or fail cleanly)
    proceed.set()
    t1.join(timeout=30)
    t2.join(timeout=30)
    return outcome


def test_a_writer_waits_for_another_connection_inside_its_transaction(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as a, storage_backend.store("operations") as b:
        file_operation(a, "blue", "op", [volume("v", "blue", SQUARE)])
        outcome = _race_in_one_store(a, b)
        assert outcome["first"] == "won"
        assert isinstance(outcome["second"], StaleVersionError)
        op = b.get_operation("blue", "op")
        assert op is not None and op.version == 2


def test_two_threads_sharing_one_store_exactly_one_wins(storage_backend: Backend) -> None:
    with storage_backend.store("operations") as store:
        file_operation(store, "blue", "op", [volume("v", "blue", SQUARE)])
        outcome = _race_in_one_store(store, store)
        assert outcome["first"] == "won"
        assert isinstance(outcome["second"], StaleVersionError), outcome["second"]
