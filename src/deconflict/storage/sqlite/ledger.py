"""The disclosure ledger in the same SQLite file as the operations (own table, migration 8).

Opened on the :class:`~deconflict.storage.sqlite.database.Database` shared with
the operations store and the audit log, a filing's disclosures are written in
the filing's own transaction: a conflict is never stored without its entries.
Each subject's entries are numbered on their own (``max + 1`` inside the
writing transaction, which holds the database's write lock).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from functools import lru_cache

from deconflict.channel.ledger import Disclosure, DisclosureKind, LedgerEntry
from deconflict.storage.sqlite.database import DatabaseStore, is_row_id

__all__ = ["SQLiteDisclosureLedger"]

_COLUMNS = "subject, number, time_s, kind, recipient, subject_ref, fields, reason_ref, note"


@lru_cache(maxsize=64)
def _fields_json(fields: tuple[str, ...]) -> str:
    return json.dumps(list(fields))


def _entry(row: sqlite3.Row) -> LedgerEntry:
    return LedgerEntry(
        int(row["number"]),
        Disclosure(
            kind=DisclosureKind(row["kind"]),
            subject=row["subject"],
            recipient=row["recipient"],
            subject_ref=row["subject_ref"],
            fields=tuple(json.loads(row["fields"])),
            reason_ref=row["reason_ref"],
            time_s=float(row["time_s"]),
            note=row["note"],
        ),
    )


class SQLiteDisclosureLedger(DatabaseStore):
    """The default :class:`~deconflict.channel.ledger.DisclosureLedger`.

    Parameters
    ----------
    path
        Database file, or ``":memory:"``; or a
        :class:`~deconflict.storage.sqlite.database.Database` to share with the other stores.
    """

    def record(self, disclosures: Sequence[Disclosure]) -> list[LedgerEntry]:
        """Store the disclosures, numbered per subject; in the caller's transaction when there is one."""
        if not disclosures:
            return []
        with self._lock:
            if self.database.in_transaction:  # the filing's own: it commits or rolls back with it
                return self._insert(disclosures)
            with self.database.transaction():
                return self._insert(disclosures)

    def _insert(self, disclosures: Sequence[Disclosure]) -> list[LedgerEntry]:
        next_number: dict[str, int] = {}
        entries = []
        for d in disclosures:
            if d.subject not in next_number:
                # One query per subject: SQLite finds a max of the primary key at once, a GROUP BY scans.
                row = self._db.execute(
                    "SELECT max(number) FROM disclosures WHERE subject = ?", (d.subject,)
                ).fetchone()
                next_number[d.subject] = int(row[0] or 0) + 1
            number = next_number[d.subject]
            next_number[d.subject] = number + 1
            entries.append(LedgerEntry(number, d))
        self._db.executemany(
            f"INSERT INTO disclosures ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.disclosure.subject,
                    e.number,
                    e.disclosure.time_s,
                    str(e.disclosure.kind),
                    e.disclosure.recipient,
                    e.disclosure.subject_ref,
                    _fields_json(e.disclosure.fields),
                    e.disclosure.reason_ref,
                    e.disclosure.note,
                )
                for e in entries
            ],
        )
        return entries

    def list_for(self, subject: str, limit: int, before: int | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries of ``subject`` numbered below ``before``, oldest first."""
        bound = before if before is not None and is_row_id(before) else 2**63 - 1
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM disclosures WHERE subject = ? AND number < ? "
                "ORDER BY number DESC LIMIT ?",
                (subject, bound, max(0, limit)),
            ).fetchall()
        return [_entry(r) for r in reversed(rows)]

    def filings_revealing(
        self, subjects: Sequence[str], recipient: str, since_s: float, at_most: int
    ) -> dict[str, int]:
        """How many filings gave ``recipient`` conflict facts about each of ``subjects`` since ``since_s``.

        Filings are told apart by their time (one filing's disclosures share it);
        counting stops at ``at_most``, so the cost does not grow with a long burst.
        """
        counts: dict[str, int] = {}
        with self._lock:
            for subject in subjects:
                row = self._db.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT time_s FROM disclosures WHERE subject = ? "
                    "AND recipient = ? AND kind = ? AND time_s > ? ORDER BY time_s DESC LIMIT ?)",
                    (subject, recipient, str(DisclosureKind.CONFLICT), since_s, at_most),
                ).fetchone()
                if row[0]:
                    counts[subject] = int(row[0])
        return counts

    def last_alarm_s(self, subject: str, recipient: str, note: str) -> float | None:
        """When the latest probe alarm about ``recipient`` with ``note`` went to ``subject``, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT max(time_s) FROM disclosures WHERE subject = ? AND recipient = ? AND kind = ? "
                "AND note = ?",
                (subject, recipient, str(DisclosureKind.PROBE_ALARM), note),
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def conflicts_found_s(self, recipient: str, conflicts: Sequence[tuple[int, str]]) -> dict[int, float]:
        """When each conflict ``(id, subject)`` was disclosed to ``recipient`` (found), by id.

        Ids the ledger does not know are left out.
        """
        found: dict[int, float] = {}
        by_subject: dict[str, list[str]] = {}
        for conflict_id, subject in conflicts:
            by_subject.setdefault(subject, []).append(f"conflict:{conflict_id}")
        with self._lock:
            for subject, refs in sorted(by_subject.items()):
                for start in range(0, len(refs), 500):
                    chunk = refs[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        "SELECT reason_ref, min(time_s) FROM disclosures WHERE subject = ? AND recipient = ? "
                        f"AND kind = ? AND reason_ref IN ({marks}) GROUP BY reason_ref",
                        (subject, recipient, str(DisclosureKind.CONFLICT), *chunk),
                    ).fetchall()
                    found |= {int(str(r[0]).removeprefix("conflict:")): float(r[1]) for r in rows}
        return found
