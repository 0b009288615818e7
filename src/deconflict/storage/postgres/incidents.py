"""Incidents, their comment threads and the alert log, in the PostgreSQL database.

The tables are those of SQLite's store (:mod:`deconflict.storage.sqlite.incidents`),
created by :mod:`deconflict.storage.postgres.migrations` (step 6). Shared with
the audit log through a :class:`~deconflict.storage.postgres.database.Database`,
an incident and its audit entry commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

from deconflict.channel.live import Alert, Incident, IncidentComment
from deconflict.channel.paging import Page, page_by_key
from deconflict.storage.postgres.database import Connection, DatabaseStore
from deconflict.storage.rows import (
    INCIDENT_COLUMNS,
    add_monthly_counts,
    alert_log_row,
    alert_number,
    closest_row,
    incidents_from_rows,
    is_row_id,
    opened_row,
)

__all__ = ["PostgresIncidentStore"]

_SMALLEST_ID, _LARGEST_ID = -(2**63) + 1, 2**63 - 2  # ids beyond a BIGINT bound nothing more


class PostgresIncidentStore(DatabaseStore):
    """An :class:`~deconflict.channel.live.IncidentStore` (and ``TacticalHistory``) in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the other stores.
    """

    def next_ids(self) -> tuple[int, int]:
        """The next alert number and incident id (one more than any recorded)."""
        with self.database.connection() as db:
            row = db.execute(
                "SELECT (SELECT coalesce(max(number), 0) FROM alert_log) AS alert, "
                "(SELECT coalesce(max(id), 0) FROM incidents) AS incident"
            ).fetchone()
        assert row is not None
        return int(row["alert"]) + 1, int(row["incident"]) + 1

    def _incidents(
        self,
        db: Connection,
        where: LiteralString,
        params: Sequence[object],
        order: LiteralString = "id",
        limit: int | None = None,
    ) -> list[Incident]:
        """Incidents matching ``where``, by ``order``, with their comments."""
        bounded: LiteralString = "" if limit is None else " LIMIT %s"
        values = [*params] if limit is None else [*params, limit]
        rows = db.execute(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {where} ORDER BY {order}{bounded}", values
        ).fetchall()
        if not rows:
            return []
        comments = db.execute(
            "SELECT incident_id, party, time_s, text FROM incident_comments WHERE incident_id = ANY(%s) "
            "ORDER BY seq",
            ([int(r["id"]) for r in rows],),
        ).fetchall()
        return incidents_from_rows(rows, comments)

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed yet."""
        with self.database.connection() as db:
            return self._incidents(db, "ended_s IS NULL", ())

    def record_opened(self, incidents: Sequence[Incident]) -> None:
        """Record new incidents, each under its id (one pipelined statement for all)."""
        if not incidents:
            return
        with self.database.transaction() as db, db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO incidents ({INCIDENT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [opened_row(i) for i in incidents],
            )

    def _record_closest(self, db: Connection, incidents: Sequence[Incident]) -> None:
        if not incidents:
            return
        with db.cursor() as cursor:
            cursor.executemany(
                "UPDATE incidents SET closest_time_s = %s, closest_distance_m = %s, closest_vertical_m = %s, "
                "closest_lon_deg = %s, closest_lat_deg = %s, closest_alt_m = %s, withheld = %s WHERE id = %s",
                [closest_row(i) for i in incidents],
            )

    def record_closest(self, incidents: Sequence[Incident]) -> None:
        """Record closer approaches of incidents (and whom each is withheld from), one pipelined statement."""
        with self.database.transaction() as db:
            self._record_closest(db, incidents)

    def record_closed(self, incident: Incident) -> Incident:
        """Record an incident's end and final closest approach; returns it as stored, with comments."""
        with self.database.transaction() as db:
            self._record_closest(db, [incident])
            db.execute("UPDATE incidents SET ended_s = %s WHERE id = %s", (incident.ended_s, incident.id))
            found = self._incidents(db, "id = %s", (incident.id,))
        return found[0] if found else incident

    def get_incident(self, incident_id: int) -> Incident | None:
        """One incident with its comments, or ``None``."""
        if not is_row_id(incident_id):
            return None
        with self.database.connection() as db:
            found = self._incidents(db, "id = %s", (incident_id,))
        return found[0] if found else None

    def list_incidents(self, party: str) -> list[Incident]:
        """Every incident involving ``party``'s aircraft, oldest first, with comments."""
        with self.database.connection() as db:
            return self._incidents(db, "party_a = %s OR party_b = %s", (party, party))

    def page_incidents(
        self, party: str, limit: int, after: int | None = None, before: int | None = None
    ) -> Page[Incident]:
        """``limit`` incidents involving ``party``'s aircraft, oldest first, with comments.

        Those after the incident ``after``, or before ``before``, or from the first.
        """
        mine: LiteralString = "(party_a = %s OR party_b = %s)"

        def fetch(op: str, bound: int, count: int) -> list[Incident]:
            where: LiteralString = f"{mine} AND id < %s" if op == "<" else f"{mine} AND id > %s"
            order: LiteralString = "id DESC" if op == "<" else "id"
            return self._incidents(db, where, (party, party, bound), order, count)

        def exists(op: str, edge: int) -> bool:
            query: LiteralString = (
                f"SELECT EXISTS (SELECT 1 FROM incidents WHERE {mine} AND id < %s)"
                if op == "<"
                else f"SELECT EXISTS (SELECT 1 FROM incidents WHERE {mine} AND id > %s)"
            )
            row = db.execute(query, (party, party, edge)).fetchone()
            return row is not None and bool(row["exists"])

        def clamp(key: int | None) -> int | None:
            return None if key is None else min(max(key, _SMALLEST_ID), _LARGEST_ID)

        with self.database.connection() as db:
            return page_by_key(fetch, exists, _incident_id, limit, clamp(after), clamp(before))

    def add_comment(self, incident_id: int, comment: IncidentComment) -> None:
        """Append a comment to an incident's thread."""
        with self.database.transaction() as db:
            db.execute(
                "INSERT INTO incident_comments (incident_id, party, time_s, text) VALUES (%s, %s, %s, %s)",
                (incident_id, comment.party, comment.time_s, comment.text),
            )

    def log_alerts(self, started: Sequence[Alert], ended: Sequence[Alert]) -> None:
        """Record alerts that started, and the end (last time seen) of those that ended."""
        if not started and not ended:
            return
        with self.database.transaction() as db, db.cursor() as cursor:
            if started:
                cursor.executemany(
                    "INSERT INTO alert_log (number, party_a, aircraft_a, party_b, aircraft_b, start_s) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [alert_log_row(a) for a in started],
                )
            if ended:
                cursor.executemany(
                    "UPDATE alert_log SET end_s = %s WHERE number = %s",
                    [(a.last_s, alert_number(a)) for a in ended],
                )

    def monthly_counts(self, party: str) -> dict[tuple[str, str], tuple[int, int]]:
        """``(month "YYYY-MM", other_party) -> (alerts, incidents)`` involving ``party``'s aircraft (UTC)."""
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        queries: tuple[tuple[int, LiteralString, LiteralString], ...] = (
            (0, "alert_log", "start_s"),
            (1, "incidents", "started_s"),
        )
        with self.database.connection() as db:
            for column, table, start in queries:
                rows = db.execute(
                    f"SELECT to_char(to_timestamp({start}) AT TIME ZONE 'UTC', 'YYYY-MM') AS month, "
                    "CASE WHEN party_a = %s THEN party_b ELSE party_a END AS other, count(*) AS n "
                    f"FROM {table} WHERE party_a = %s OR party_b = %s GROUP BY month, other",
                    (party, party, party),
                ).fetchall()
                add_monthly_counts(counts, column, rows)
        return counts


def _incident_id(incident: Incident) -> int:
    return incident.id
