"""Incidents, their comment threads and the alert log, in the same SQLite file as the other stores.

The store has its own connection, or shares one (and its transactions) with
the audit log through a :class:`~deconflict.storage.sqlite.database.Database`,
so an incident and its audit entry commit together.

Tables (created by :mod:`deconflict.storage.sqlite.migrations`, step 6):
``incidents`` (one row per incident, the closest approach in columns),
``incident_comments`` (append-only: a comment is never edited) and
``alert_log`` (one row per alert: parties, aircraft, start and end time) for
statistics; a non-conformance alert is its aircraft paired with itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.channel.live import Alert, Incident, IncidentComment
from deconflict.channel.paging import Page, page_by_key
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
from deconflict.storage.sqlite.database import DatabaseStore

__all__ = ["SQLiteIncidentStore"]


class SQLiteIncidentStore(DatabaseStore):
    """The default :class:`~deconflict.channel.live.IncidentStore` (and ``TacticalHistory``).

    Parameters
    ----------
    path
        Database file (created if missing), or ``":memory:"``; or a
        :class:`~deconflict.storage.sqlite.database.Database` to share with the other stores.
    """

    def next_ids(self) -> tuple[int, int]:
        """The next alert number and incident id (one more than any recorded)."""
        with self._lock:
            alert = self._db.execute("SELECT COALESCE(MAX(number), 0) FROM alert_log").fetchone()[0]
            incident = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM incidents").fetchone()[0]
        return int(alert) + 1, int(incident) + 1

    def _incidents(
        self, where: str, params: Sequence[object], order: str = "id", limit: int | None = None
    ) -> list[Incident]:
        """Incidents matching ``where``, by ``order``, with their comments (the lock is held)."""
        bounded = "" if limit is None else f" LIMIT {int(limit)}"
        rows = self._db.execute(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {where} ORDER BY {order}{bounded}", params
        ).fetchall()
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        marks = ",".join("?" * len(ids))
        comments = self._db.execute(
            f"SELECT incident_id, party, time_s, text FROM incident_comments WHERE incident_id IN ({marks}) "
            "ORDER BY seq",
            ids,
        )
        return incidents_from_rows(rows, comments)

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed yet."""
        with self._lock:
            return self._incidents("ended_s IS NULL", ())

    def record_opened(self, incidents: Sequence[Incident]) -> None:
        """Record new incidents, each under its id (one statement for all)."""
        with self.database.transaction():
            self._db.executemany(
                f"INSERT INTO incidents ({INCIDENT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [opened_row(i) for i in incidents],
            )

    def record_closest(self, incidents: Sequence[Incident]) -> None:
        """Record closer approaches of incidents (and whom each is withheld from), one statement for all."""
        with self.database.transaction():
            self._db.executemany(
                "UPDATE incidents SET closest_time_s = ?, closest_distance_m = ?, closest_vertical_m = ?, "
                "closest_lon_deg = ?, closest_lat_deg = ?, closest_alt_m = ?, withheld = ? WHERE id = ?",
                [closest_row(i) for i in incidents],
            )

    def record_closed(self, incident: Incident) -> Incident:
        """Record an incident's end and final closest approach; returns it as stored, with comments."""
        with self.database.transaction():
            self.record_closest([incident])
            self._db.execute("UPDATE incidents SET ended_s = ? WHERE id = ?", (incident.ended_s, incident.id))
            found = self._incidents("id = ?", (incident.id,))
        return found[0] if found else incident

    def get_incident(self, incident_id: int) -> Incident | None:
        """One incident with its comments, or ``None``."""
        if not is_row_id(incident_id):
            return None
        with self._lock:
            found = self._incidents("id = ?", (incident_id,))
        return found[0] if found else None

    def list_incidents(self, party: str) -> list[Incident]:
        """Every incident involving ``party``'s aircraft, oldest first, with comments."""
        with self._lock:
            return self._incidents("party_a = ? OR party_b = ?", (party, party))

    def page_incidents(
        self, party: str, limit: int, after: int | None = None, before: int | None = None
    ) -> Page[Incident]:
        """``limit`` incidents involving ``party``'s aircraft, oldest first, with comments.

        Those after the incident ``after``, or before ``before``, or from the first.
        """
        mine = "(party_a = ? OR party_b = ?)"

        def fetch(op: str, bound: int, count: int) -> list[Incident]:
            order = "id DESC" if op == "<" else "id"
            return self._incidents(f"{mine} AND id {op} ?", (party, party, bound), order, count)

        def exists(op: str, edge: int) -> bool:
            query = f"SELECT EXISTS (SELECT 1 FROM incidents WHERE {mine} AND id {op} ?)"
            return bool(self._db.execute(query, (party, party, edge)).fetchone()[0])

        with self._lock:
            return page_by_key(fetch, exists, _incident_id, limit, after, before)

    def add_comment(self, incident_id: int, comment: IncidentComment) -> None:
        """Append a comment to an incident's thread."""
        with self.database.transaction():
            self._db.execute(
                "INSERT INTO incident_comments (incident_id, party, time_s, text) VALUES (?, ?, ?, ?)",
                (incident_id, comment.party, comment.time_s, comment.text),
            )

    def log_alerts(self, started: Sequence[Alert], ended: Sequence[Alert]) -> None:
        """Record alerts that started, and the end (last time seen) of those that ended."""
        if not started and not ended:
            return
        with self.database.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO alert_log (number, party_a, aircraft_a, party_b, aircraft_b, start_s) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [alert_log_row(a) for a in started],
            )
            self._db.executemany(
                "UPDATE alert_log SET end_s = ? WHERE number = ?",
                [(a.last_s, alert_number(a)) for a in ended],
            )

    def monthly_counts(self, party: str) -> dict[tuple[str, str], tuple[int, int]]:
        """``(month "YYYY-MM", other_party) -> (alerts, incidents)`` involving ``party``'s aircraft (UTC)."""
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        with self._lock:
            for column, table, start in (
                (0, "alert_log", "start_s"),
                (1, "incidents", "started_s"),
            ):
                rows = self._db.execute(
                    f"SELECT strftime('%Y-%m', {start}, 'unixepoch') AS month, "
                    "CASE WHEN party_a = ? THEN party_b ELSE party_a END AS other, COUNT(*) AS n "
                    f"FROM {table} WHERE party_a = ? OR party_b = ? GROUP BY month, other",
                    (party, party, party),
                ).fetchall()
                add_monthly_counts(counts, column, rows)
        return counts


def _incident_id(incident: Incident) -> int:
    return incident.id
