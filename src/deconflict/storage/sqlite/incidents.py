"""Incidents, their comment threads and the alert log, in the same SQLite file as the other stores.

The store has its own connection, or shares one (and its transactions) with
the audit log through a :class:`~deconflict.storage.sqlite.database.Database`,
so an incident and its audit entry commit together.

Tables (created by :mod:`deconflict.storage.sqlite.migrations`, step 6):
``incidents`` (one row per incident, the closest approach in columns),
``incident_comments`` (append-only: a comment is never edited) and
``alert_log`` (one row per alert: parties, aircraft, start and end time) for
statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.channel.live import Alert, Incident, IncidentComment
from deconflict.channel.paging import Page
from deconflict.storage.rows import alert_number, closest_row, incident_from_row, is_row_id, opened_row
from deconflict.storage.sqlite.database import DatabaseStore

__all__ = ["SQLiteIncidentStore"]

_COLUMNS = (
    "id, party_a, aircraft_a, party_b, aircraft_b, started_s, ended_s, closest_time_s, "
    "closest_distance_m, closest_vertical_m, closest_lon_deg, closest_lat_deg, closest_alt_m, withheld"
)


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
            f"SELECT {_COLUMNS} FROM incidents WHERE {where} ORDER BY {order}{bounded}", params
        ).fetchall()
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        comments: dict[int, list[IncidentComment]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for c in self._db.execute(
            f"SELECT incident_id, party, time_s, text FROM incident_comments WHERE incident_id IN ({marks}) "
            "ORDER BY seq",
            ids,
        ):
            comments[int(c["incident_id"])].append(IncidentComment(c["party"], float(c["time_s"]), c["text"]))
        return [incident_from_row(r, tuple(comments[int(r["id"])])) for r in rows]

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed yet."""
        with self._lock:
            return self._incidents("ended_s IS NULL", ())

    def record_opened(self, incidents: Sequence[Incident]) -> None:
        """Record new incidents, each under its id (one statement for all)."""
        with self.database.transaction():
            self._db.executemany(
                f"INSERT INTO incidents ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        mine = "(party_a = ? OR party_b = ?)"
        exists = f"SELECT EXISTS (SELECT 1 FROM incidents WHERE {mine} AND id {{}} ?)"
        with self._lock:
            if before is not None:
                found = self._incidents(f"{mine} AND id < ?", (party, party, before), "id DESC", limit + 1)
                more_before = len(found) > limit
                found = found[:limit][::-1]
                edge = found[-1].id if found else before - 1
                more_after = bool(self._db.execute(exists.format(">"), (party, party, edge)).fetchone()[0])
            else:
                start = 0 if after is None else after
                found = self._incidents(f"{mine} AND id > ?", (party, party, start), "id", limit + 1)
                more_after = len(found) > limit
                found = found[:limit]
                edge = found[0].id if found else start + 1
                more_before = bool(self._db.execute(exists.format("<"), (party, party, edge)).fetchone()[0])
        return Page(tuple(found), more_before, more_after)

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
                [(alert_number(a), a.a.party, a.a.id, a.b.party, a.b.id, a.since_s) for a in started],
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
                for row in rows:
                    key = (str(row["month"]), str(row["other"]))
                    alerts, incidents = counts.get(key, (0, 0))
                    n = int(row["n"])
                    counts[key] = (alerts + n, incidents) if column == 0 else (alerts, incidents + n)
        return counts
