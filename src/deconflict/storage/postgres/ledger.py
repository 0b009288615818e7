"""The disclosure ledger in the PostgreSQL database.

On the :class:`~deconflict.storage.postgres.database.Database` shared with the
operations store and the audit log, a filing's disclosures are written in the
filing's own transaction: a conflict is never stored without its entries. Each
subject's entries are numbered on their own (``max + 1`` inside the writing
transaction, which holds the writer lock).

Unlike SQLite's ledger, the burst count (:meth:`PostgresDisclosureLedger.filings_revealing`)
is read from the table each time, not kept in memory: other nodes file into the
same database, and a count in one process's memory would miss their filings.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.channel.ledger import Disclosure, DisclosureKind, LedgerEntry
from deconflict.storage.postgres.database import Connection, DatabaseStore
from deconflict.storage.rows import DISCLOSURE_COLUMNS, below_bound, disclosure_row, ledger_entry_from_row

__all__ = ["PostgresDisclosureLedger"]

_CONFLICT = str(DisclosureKind.CONFLICT)


class PostgresDisclosureLedger(DatabaseStore):
    """A :class:`~deconflict.channel.ledger.DisclosureLedger` in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the other stores.
    """

    def record(self, disclosures: Sequence[Disclosure]) -> list[LedgerEntry]:
        """Store the disclosures, numbered per subject; in the caller's transaction when there is one."""
        if not disclosures:
            return []
        with self.database.transaction() as db:
            return self._insert(db, disclosures)

    def _insert(self, db: Connection, disclosures: Sequence[Disclosure]) -> list[LedgerEntry]:
        subjects = sorted({d.subject for d in disclosures})
        rows = db.execute(
            "SELECT s.subject, (SELECT max(number) FROM disclosures d WHERE d.subject = s.subject) AS number "
            "FROM unnest(%s::text[]) AS s(subject)",
            (subjects,),
        ).fetchall()
        next_number = {str(r["subject"]): int(r["number"] or 0) + 1 for r in rows}
        entries = []
        for d in disclosures:
            number = next_number[d.subject]
            next_number[d.subject] = number + 1
            entries.append(LedgerEntry(number, d))
        with db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO disclosures ({DISCLOSURE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [disclosure_row(e) for e in entries],
            )
        return entries

    def list_for(self, subject: str, limit: int, before: int | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries of ``subject`` numbered below ``before``, oldest first."""
        bound = below_bound(before)
        with self.database.connection() as db:
            rows = db.execute(
                f"SELECT {DISCLOSURE_COLUMNS} FROM disclosures WHERE subject = %s AND number < %s "
                "ORDER BY number DESC LIMIT %s",
                (subject, bound, max(0, limit)),
            ).fetchall()
        return [ledger_entry_from_row(r) for r in reversed(rows)]

    def filings_revealing(
        self, subjects: Sequence[str], recipient: str, since_s: float, at_most: int
    ) -> dict[str, int]:
        """How many filings gave ``recipient`` conflict facts about each of ``subjects`` since ``since_s``.

        Filings are told apart by their time (one filing's disclosures share it);
        counting stops at ``at_most``.
        """
        if not subjects or at_most <= 0:
            return {}
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT s.subject, (SELECT count(*) FROM (SELECT DISTINCT time_s FROM disclosures d "
                "WHERE d.subject = s.subject AND d.recipient = %s AND d.kind = %s AND d.time_s > %s "
                "LIMIT %s) AS found) AS n FROM unnest(%s::text[]) AS s(subject)",
                (recipient, _CONFLICT, since_s, at_most, sorted(set(subjects))),
            ).fetchall()
        return {str(r["subject"]): int(r["n"]) for r in rows if r["n"]}

    def last_alarm_s(self, subject: str, recipient: str, note: str) -> float | None:
        """When the latest probe alarm about ``recipient`` with ``note`` went to ``subject``, or ``None``."""
        with self.database.connection() as db:
            # kind <> 'conflict' as the pair index's own condition, so the planner uses it.
            row = db.execute(
                "SELECT max(time_s) AS time_s FROM disclosures WHERE subject = %s AND recipient = %s "
                "AND kind = %s AND note = %s AND kind <> 'conflict'",
                (subject, recipient, str(DisclosureKind.PROBE_ALARM), note),
            ).fetchone()
        return None if row is None or row["time_s"] is None else float(row["time_s"])

    def conflicts_found_s(self, recipient: str, conflicts: Sequence[tuple[int, str]]) -> dict[int, float]:
        """When each conflict ``(id, subject)`` was disclosed to ``recipient`` (found), by id.

        Ids the ledger does not know are left out.
        """
        by_subject: dict[str, list[str]] = {}
        for conflict_id, subject in conflicts:
            by_subject.setdefault(subject, []).append(f"conflict:{conflict_id}")
        found: dict[int, float] = {}
        with self.database.connection() as db:
            for subject, refs in sorted(by_subject.items()):
                rows = db.execute(
                    "SELECT reason_ref, min(time_s) AS time_s FROM disclosures WHERE subject = %s "
                    "AND recipient = %s AND kind = %s AND reason_ref = ANY(%s) GROUP BY reason_ref",
                    (subject, recipient, _CONFLICT, refs),
                ).fetchall()
                found |= {
                    int(str(r["reason_ref"]).removeprefix("conflict:")): float(r["time_s"]) for r in rows
                }
        return found
