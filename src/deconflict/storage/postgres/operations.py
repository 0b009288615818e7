"""Operations, volumes and conflicts in PostgreSQL, with candidates from a PostGIS n-D GiST index.

Each live volume's search boxes (longitude, latitude, MSL altitude, time
relative to 2020; at most 64 per volume, as in SQLite) are rows of
``volume_index``, whose ``box`` column is the box as an ``XYZM`` line under a
``gist_geometry_ops_nd`` index. A filing's candidates are the boxes that
``&&&`` (n-D bounding boxes intersect) its own, checked again against the
exact double-precision bounds; the engine's exact test then decides, as with
SQLite's boxes (searched there in memory). Volumes keep their footprint as a PostGIS geometry too
(``volumes.footprint``, GiST-indexed) for spatial queries by operators.

Volumes and conflicts are encoded as the SQLite store encodes them (WKB
shapes, conflicts as JSON lists of their fields): one format on both backends.
Write transactions hold the database's writer lock
(:class:`~deconflict.storage.postgres.database.Database`), so two filings never
both read version ``n`` of an operation, nor miss each other's volumes. A bulk
import writes a batch's volumes and boxes by binary ``COPY`` (shapes as WKB: the
geometry columns are generated from them), which measured faster than
``executemany`` or one ``INSERT`` over arrays.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from deconflict.storage.postgres.database import Connection, Database
from deconflict.storage.rows import (
    PARTS_PER_VOLUME,
    TIME_ORIGIN_S,
    conflict_from_json,
    conflict_to_json,
    index_box_rows,
    index_boxes,
    volume_row,
    volume_rows,
    volumes_from_rows,
)
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.store import ConflictRecord
from deconflict.strategic.volume import Operation, OperationState, SearchBox, Volume
from deconflict.units import AltitudeMargins

__all__ = ["PostgresStore"]

_VOLUME_COLUMNS = (
    "rowid, party, operation_id, volume_id, priority, lower_m, lower_ref, upper_m, upper_ref, "
    "time_start_s, time_end_s, centre_lon_deg, centre_lat_deg, radius_m, shape_wkb, outer_wkb, inner_wkb"
)

_VOLUME_COPY_TYPES = [
    "int8",
    *["text"] * 3,
    "int8",
    "float8",
    "text",
    "float8",
    "text",
    *["float8"] * 5,
    *["bytea"] * 3,
    "int8",
    "int8",
]
"""The types of the columns ``_copy_volumes`` writes, ``rowid`` to ``index_parts``."""

_CANDIDATES = (
    "SELECT DISTINCT id / 64 AS rowid FROM volume_index "
    "WHERE box &&& ST_SetSRID(ST_MakeLine(ST_MakePoint(%(lon0)s, %(lat0)s, %(alt0)s, %(t0)s), "
    "ST_MakePoint(%(lon1)s, %(lat1)s, %(alt1)s, %(t1)s)), 4326) "
    "AND lon0 <= %(lon1)s AND lon1 >= %(lon0)s AND lat0 <= %(lat1)s AND lat1 >= %(lat0)s "
    "AND alt0 <= %(alt1)s AND alt1 >= %(alt0)s AND t0 <= %(t1)s AND t1 >= %(t0)s "
    "ORDER BY 1"
)


def _index_row(box: SearchBox) -> dict[str, float]:
    return {
        "lon0": box.lon_min_deg,
        "lon1": box.lon_max_deg,
        "lat0": box.lat_min_deg,
        "lat1": box.lat_max_deg,
        "alt0": box.alt_min_m,
        "alt1": box.alt_max_m,
        "t0": box.time_min_s - TIME_ORIGIN_S,
        "t1": box.time_max_s - TIME_ORIGIN_S,
    }


class _Transaction:
    """A write transaction on one connection (holding the writer lock)."""

    def __init__(self, store: PostgresStore, db: Connection) -> None:
        self._store = store
        self._db = db
        self._decoded: dict[int, Volume] = {}

    def current_version(self, party: str, operation_id: str) -> int | None:
        row = self._db.execute(
            "SELECT version FROM operations WHERE party = %s AND id = %s", (party, operation_id)
        ).fetchone()
        return None if row is None else int(row["version"])

    def candidates(self, boxes: Sequence[SearchBox], exclude_party: str) -> list[list[Volume]]:
        out: list[list[Volume]] = []
        for box in boxes:
            ids = [int(r["rowid"]) for r in self._db.execute(_CANDIDATES, _index_row(box)).fetchall()]
            missing = [i for i in ids if i not in self._decoded]
            if missing:
                fetched = self._db.execute(
                    f"SELECT {_VOLUME_COLUMNS} FROM volumes WHERE rowid = ANY(%s)", (missing,)
                ).fetchall()
                for row, volume in zip(fetched, volumes_from_rows(fetched), strict=True):
                    self._decoded[int(row["rowid"])] = volume
            out.append([v for i in ids if (v := self._decoded[i]).party != exclude_party])
        return out

    def save_operation(self, operation: Operation, conflicts: Sequence[Conflict]) -> list[int]:
        return self._store._save(self._db, operation, conflicts)

    def set_state(self, party: str, operation_id: str, state: OperationState, version: int) -> None:
        self._db.execute(
            "UPDATE operations SET state = %s, version = %s, updated_s = %s WHERE party = %s AND id = %s",
            (str(state), version, time.time(), party, operation_id),
        )


class PostgresStore:
    """A :class:`~deconflict.strategic.store.Store` in PostgreSQL with PostGIS.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the audit log.
    margins
        Altitude-reference margins used to index altitude bands.
    """

    def __init__(self, url: str | Database, margins: AltitudeMargins = AltitudeMargins()) -> None:
        self.database = url.acquire() if isinstance(url, Database) else Database(url)
        self.where = self.database.where
        self.margins = margins

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        # Inside a caller's transaction on a shared Database this is a savepoint.
        with self.database.transaction() as db:
            yield _Transaction(self, db)

    def _insert_volumes(self, db: Connection, volumes: Sequence[Volume], live: bool) -> None:
        for volume in volumes:
            boxes = index_boxes(volume.search_boxes(self.margins)) if live else []
            row = db.execute(
                "INSERT INTO volumes (party, operation_id, volume_id, priority, lower_m, lower_ref, upper_m, "
                "upper_ref, time_start_s, time_end_s, centre_lon_deg, centre_lat_deg, radius_m, shape_wkb, "
                "outer_wkb, inner_wkb, live, index_parts) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING rowid",
                (*volume_row(volume), int(live), len(boxes)),
            ).fetchone()
            assert row is not None
            first = int(row["rowid"]) * PARTS_PER_VOLUME
            if boxes:
                with db.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO volume_index (id, lon0, lon1, lat0, lat1, alt0, alt1, t0, t1) "
                        "VALUES (%(id)s, %(lon0)s, %(lon1)s, %(lat0)s, %(lat1)s, "
                        "%(alt0)s, %(alt1)s, %(t0)s, %(t1)s)",
                        [{"id": first + part, **_index_row(box)} for part, box in enumerate(boxes)],
                    )

    def _save(self, db: Connection, operation: Operation, conflicts: Sequence[Conflict]) -> list[int]:
        now = time.time()
        db.execute(
            "INSERT INTO operations (party, id, version, state, priority, updated_s) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (party, id) DO UPDATE SET version = excluded.version, state = excluded.state, "
            "priority = excluded.priority, updated_s = excluded.updated_s",
            (operation.party, operation.id, operation.version, str(operation.state), operation.priority, now),
        )
        db.execute(
            "DELETE FROM volume_index i USING volumes v WHERE v.party = %s AND v.operation_id = %s "
            "AND i.id BETWEEN v.rowid * 64 AND v.rowid * 64 + 63",
            (operation.party, operation.id),
        )
        db.execute(
            "DELETE FROM volumes WHERE party = %s AND operation_id = %s", (operation.party, operation.id)
        )
        self._insert_volumes(db, operation.volumes, operation.state.is_live)
        # Conflicts of the replaced version are superseded by those found now.
        db.execute(
            "UPDATE conflicts SET state = 'superseded' WHERE state = 'open' AND "
            "((party_a = %s AND operation_a = %s) OR (party_b = %s AND operation_b = %s))",
            (operation.party, operation.id, operation.party, operation.id),
        )
        ids: list[int] = []
        for c in conflicts:
            row = db.execute(
                "INSERT INTO conflicts (party_a, operation_a, party_b, operation_b, state, facts, created_s) "
                "VALUES (%s, %s, %s, %s, 'open', %s, %s) RETURNING id",
                (c.party_a, c.operation_a, c.party_b, c.operation_b, conflict_to_json(c), now),
            ).fetchone()
            assert row is not None
            ids.append(int(row["id"]))
        return ids

    def import_operations(self, operations: Iterable[Operation]) -> int:
        """Store operations as they are, without checking conflicts (restores, benchmarks).

        Each replaces the stored operation of its party and id, as filing it would
        (its volumes, and its open conflicts superseded); of two with the same
        party and id, the later is kept. Returns the number of volumes given.
        Commits once at the end (all or nothing); the rows of each kind are written
        in one statement, the volumes and their boxes by ``COPY``.
        """
        given = list(operations)
        latest = list({(op.party, op.id): op for op in given}.values())
        if latest:
            with self.database.transaction() as db:
                self._import(db, latest)
        return sum(len(op.volumes) for op in given)

    def _import(self, db: Connection, operations: Sequence[Operation]) -> None:
        """Write ``operations`` (one per party and id) in place of any stored with their party and id."""
        now = time.time()
        keys = ([op.party for op in operations], [op.id for op in operations])
        stored = db.execute(
            "SELECT k.party, k.id FROM unnest(%s::text[], %s::text[]) AS k (party, id) "
            "JOIN operations o ON o.party = k.party AND o.id = k.id",
            keys,
        ).fetchall()
        if stored:
            self._replace(db, ([str(r["party"]) for r in stored], [str(r["id"]) for r in stored]))
        db.execute(
            "INSERT INTO operations (party, id, version, state, priority, updated_s) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::bigint[], "
            "%s::double precision[]) "
            "ON CONFLICT (party, id) DO UPDATE SET version = excluded.version, state = excluded.state, "
            "priority = excluded.priority, updated_s = excluded.updated_s",
            (
                *keys,
                [op.version for op in operations],
                [str(op.state) for op in operations],
                [op.priority for op in operations],
                [now] * len(operations),
            ),
        )
        volumes = [v for op in operations for v in op.volumes]
        if volumes:
            live = [op.state.is_live for op in operations for _ in op.volumes]
            self._copy_volumes(db, volumes, live)

    def _replace(self, db: Connection, keys: tuple[list[str], list[str]]) -> None:
        """Delete the volumes and boxes of the operations ``keys`` (parties, ids) and supersede their
        open conflicts, as :meth:`_save` does for one."""
        db.execute(
            "DELETE FROM volume_index i USING volumes v, unnest(%s::text[], %s::text[]) AS k (party, id) "
            "WHERE v.party = k.party AND v.operation_id = k.id "
            "AND i.id BETWEEN v.rowid * 64 AND v.rowid * 64 + 63",
            keys,
        )
        db.execute(
            "DELETE FROM volumes v USING unnest(%s::text[], %s::text[]) AS k (party, id) "
            "WHERE v.party = k.party AND v.operation_id = k.id",
            keys,
        )
        for party, operation in (("party_a", "operation_a"), ("party_b", "operation_b")):
            db.execute(
                f"UPDATE conflicts c SET state = 'superseded' "
                f"FROM unnest(%s::text[], %s::text[]) AS k (party, id) "
                f"WHERE c.state = 'open' AND c.{party} = k.party AND c.{operation} = k.id",
                keys,
            )

    def _copy_volumes(self, db: Connection, volumes: Sequence[Volume], live: Sequence[bool]) -> None:
        """Write the volumes, and the boxes of those ``live``, each kind by one ``COPY``.

        Their rowids are drawn from the table's identity sequence first, so that
        each box's id (rowid * 64 + part) is known before either is written.
        """
        drawn = db.execute(
            "SELECT array_agg(nextval(pg_get_serial_sequence('volumes', 'rowid'))) AS rowids "
            "FROM generate_series(1, %s)",
            (len(volumes),),
        ).fetchone()
        assert drawn is not None
        rowids = np.array(drawn["rowids"], np.int64)
        listed, rows = index_box_rows(volumes, live, self.margins)
        owners = np.array(listed, np.int64)
        boxes = np.array(rows, np.float64).reshape(-1, 8)
        counts = np.bincount(owners, minlength=len(volumes)).tolist()
        with db.cursor() as cursor:
            with cursor.copy(
                "COPY volumes (rowid, party, operation_id, volume_id, priority, lower_m, lower_ref, upper_m, "
                "upper_ref, time_start_s, time_end_s, centre_lon_deg, centre_lat_deg, radius_m, shape_wkb, "
                "outer_wkb, inner_wkb, live, index_parts) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_VOLUME_COPY_TYPES)
                for rowid, row, is_live, count in zip(
                    rowids.tolist(), volume_rows(volumes), live, counts, strict=True
                ):
                    copy.write_row((rowid, *row, int(is_live), count))
            if owners.size:
                # Owners are ascending, each volume's boxes together: a box's part is its rank among them.
                parts = np.arange(owners.size) - np.searchsorted(owners, owners)
                ids = rowids[owners] * PARTS_PER_VOLUME + parts
                with cursor.copy(
                    "COPY volume_index (id, lon0, lon1, lat0, lat1, alt0, alt1, t0, t1) "
                    "FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["int8", *["float8"] * 8])
                    for row in zip(ids.tolist(), *boxes.T.tolist(), strict=True):
                        copy.write_row(row)

    def _get(self, db: Connection, party: str, operation_id: str) -> Operation | None:
        row = db.execute(
            "SELECT version, state, priority FROM operations WHERE party = %s AND id = %s",
            (party, operation_id),
        ).fetchone()
        if row is None:
            return None
        rows = db.execute(
            f"SELECT {_VOLUME_COLUMNS} FROM volumes WHERE party = %s AND operation_id = %s ORDER BY rowid",
            (party, operation_id),
        ).fetchall()
        return Operation(
            id=operation_id,
            party=party,
            volumes=tuple(volumes_from_rows(rows)),
            priority=row["priority"],
            state=OperationState(row["state"]),
            version=row["version"],
        )

    def get_operation(self, party: str, operation_id: str) -> Operation | None:
        with self.database.connection() as db:
            return self._get(db, party, operation_id)

    def list_operations(self, party: str) -> list[Operation]:
        with self.database.connection() as db:
            ids = [
                str(r["id"])
                for r in db.execute(
                    'SELECT id FROM operations WHERE party = %s ORDER BY id COLLATE "C"', (party,)
                ).fetchall()
            ]
            return [op for i in ids if (op := self._get(db, party, i)) is not None]

    def list_conflicts(self, party: str) -> list[Conflict]:
        return [record.conflict for record in self.list_conflict_records(party)]

    def list_conflict_records(self, party: str) -> list[ConflictRecord]:
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT id, state, facts FROM conflicts "
                "WHERE state = 'open' AND (party_a = %s OR party_b = %s) ORDER BY id",
                (party, party),
            ).fetchall()
        return [ConflictRecord(int(r["id"]), str(r["state"]), conflict_from_json(r["facts"])) for r in rows]

    def count_volumes(self) -> int:
        return self._count("SELECT count(*) AS n FROM volumes WHERE live = 1")

    def conflict_detection_times(self, party: str) -> dict[int, float]:
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT id, created_s FROM conflicts WHERE party_a = %s OR party_b = %s", (party, party)
            ).fetchall()
        return {int(r["id"]): float(r["created_s"]) for r in rows}

    def count_open_conflicts(self) -> int:
        return self._count("SELECT count(*) AS n FROM conflicts WHERE state = 'open'")

    def _count(self, query: Any) -> int:
        with self.database.connection() as db:
            row = db.execute(query).fetchone()
        return 0 if row is None else int(row["n"])
