"""The disclosure ledger in the same SQLite file as the operations (own table, migration 8).

Opened on the :class:`~deconflict.storage.sqlite.database.Database` shared with
the operations store and the audit log, a filing's disclosures are written in
the filing's own transaction: a conflict is never stored without its entries.
Each subject's entries are numbered on their own (``max + 1`` inside the
writing transaction, which holds the database's write lock).

The burst count (:meth:`SQLiteDisclosureLedger.filings_revealing`) is kept in
memory, shared by the ledgers of one :class:`~deconflict.storage.sqlite.database.Database`:
conflict entries have no index but their primary key (migration 10), so a
filing writes no more pages than it must. Each subject's filing times are read
from the table the first time it is counted or recorded; those of a transaction
still open count for it until it commits, and are dropped if it rolls back.
Another process writing the same file is not seen (the server is the one writer).
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from deconflict.channel.ledger import Disclosure, DisclosureKind, LedgerEntry
from deconflict.storage.rows import DISCLOSURE_COLUMNS, below_bound, disclosure_row, ledger_entry_from_row
from deconflict.storage.sqlite.database import Database, DatabaseStore

__all__ = ["SQLiteDisclosureLedger"]


_KEEP = 1024
"""The newest filing times kept per subject and recipient; a longer burst is read off the table."""

_CONFLICT = str(DisclosureKind.CONFLICT)

_Pair = tuple[str, str]
"""(subject, recipient)."""


class _FilingTimes:
    """When filings gave each recipient conflict facts about each subject (distinct times, sorted)."""

    def __init__(self) -> None:
        self.committed: dict[_Pair, list[float]] = {}
        self.loaded: set[str] = set()
        # Times of transactions not yet committed, each with the after-commit callback that adds them.
        self.pending: list[tuple[Callable[[], None], dict[_Pair, set[float]]]] = []

    def add(self, pair: _Pair, times: Iterable[float]) -> None:
        kept = self.committed.setdefault(pair, [])
        for time_s in sorted(times):
            if not kept or time_s > kept[-1]:
                kept.append(time_s)  # the usual case: time goes forward
            else:
                at = bisect.bisect_left(kept, time_s)
                if kept[at] != time_s:
                    kept.insert(at, time_s)
        if len(kept) > 2 * _KEEP:
            del kept[:-_KEEP]


def _holds(kept: list[float], time_s: float) -> bool:
    at = bisect.bisect_left(kept, time_s)
    return at < len(kept) and kept[at] == time_s


_FILING_TIMES: weakref.WeakKeyDictionary[Database, _FilingTimes] = weakref.WeakKeyDictionary()


class SQLiteDisclosureLedger(DatabaseStore):
    """The default :class:`~deconflict.channel.ledger.DisclosureLedger`.

    Parameters
    ----------
    path
        Database file, or ``":memory:"``; or a
        :class:`~deconflict.storage.sqlite.database.Database` to share with the other stores.
    """

    def __init__(self, path: Path | str | Database) -> None:
        super().__init__(path)
        with self._lock:
            self._filings = _FILING_TIMES.setdefault(self.database, _FilingTimes())

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
        revealing: dict[_Pair, set[float]] = {}
        for d in disclosures:
            if d.kind == DisclosureKind.CONFLICT:
                revealing.setdefault((d.subject, d.recipient), set()).add(d.time_s)
        self._load({subject for subject, _ in revealing})
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
            f"INSERT INTO disclosures ({DISCLOSURE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [disclosure_row(e) for e in entries],
        )
        if revealing:
            self._pend(revealing)
        return entries

    def _pend(self, revealing: dict[_Pair, set[float]]) -> None:
        """Count ``revealing`` in this transaction now, and for good once it commits."""
        filings = self._filings

        def committed() -> None:
            filings.pending = [p for p in filings.pending if p[0] is not committed]
            for pair, times in revealing.items():
                filings.add(pair, times)

        self._forget_rolled_back()
        filings.pending.append((committed, revealing))
        self.database.after_commit(committed)

    def _forget_rolled_back(self) -> None:
        """Drop the times of transactions rolled back: their callbacks no longer wait for a commit."""
        filings = self._filings
        filings.pending = [p for p in filings.pending if self.database.awaits_commit(p[0])]

    def _load(self, subjects: set[str]) -> None:
        """Read the filing times of ``subjects`` not yet in memory from the table (its primary key)."""
        filings = self._filings
        for subject in sorted(subjects - filings.loaded):
            times: dict[str, set[float]] = {}
            rows = self._db.execute(
                "SELECT recipient, time_s FROM disclosures WHERE subject = ? AND kind = ?",
                (subject, _CONFLICT),
            )
            for recipient, time_s in rows:
                times.setdefault(str(recipient), set()).add(float(time_s))
            for recipient, found in times.items():
                filings.add((subject, recipient), found)
            filings.loaded.add(subject)

    def list_for(self, subject: str, limit: int, before: int | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries of ``subject`` numbered below ``before``, oldest first."""
        bound = below_bound(before)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {DISCLOSURE_COLUMNS} FROM disclosures WHERE subject = ? AND number < ? "
                "ORDER BY number DESC LIMIT ?",
                (subject, bound, max(0, limit)),
            ).fetchall()
        return [ledger_entry_from_row(r) for r in reversed(rows)]

    def filings_revealing(
        self, subjects: Sequence[str], recipient: str, since_s: float, at_most: int
    ) -> dict[str, int]:
        """How many filings gave ``recipient`` conflict facts about each of ``subjects`` since ``since_s``.

        Filings are told apart by their time (one filing's disclosures share it);
        counting stops at ``at_most``, so the cost does not grow with a long burst.
        """
        counts: dict[str, int] = {}
        with self._lock:
            self._load(set(subjects))
            filings = self._filings
            self._forget_rolled_back()
            for subject in subjects:
                pair = (subject, recipient)
                if at_most > _KEEP:
                    count = self._count_in_table(pair, since_s, at_most)
                else:
                    kept = filings.committed.get(pair, [])
                    count = len(kept) - bisect.bisect_right(kept, since_s)
                    if count < at_most:  # and the times of open transactions that memory does not hold yet
                        count += len(
                            {
                                t
                                for _, revealing in filings.pending
                                for t in revealing.get(pair, ())
                                if t > since_s and not _holds(kept, t)
                            }
                        )
                    count = min(count, at_most)
                if count:
                    counts[subject] = count
        return counts

    def _count_in_table(self, pair: _Pair, since_s: float, at_most: int) -> int:
        """The burst count of a bound beyond what memory keeps, from the table (the subject's entries)."""
        row = self._db.execute(
            "SELECT count(*) FROM (SELECT DISTINCT time_s FROM disclosures WHERE subject = ? "
            "AND recipient = ? AND kind = ? AND time_s > ? LIMIT ?)",
            (*pair, _CONFLICT, since_s, at_most),
        ).fetchone()
        return int(row[0])

    def last_alarm_s(self, subject: str, recipient: str, note: str) -> float | None:
        """When the latest probe alarm about ``recipient`` with ``note`` went to ``subject``, or ``None``."""
        with self._lock:
            # kind <> 'conflict' as the pair index's own condition, so the planner uses it.
            row = self._db.execute(
                "SELECT max(time_s) FROM disclosures WHERE subject = ? AND recipient = ? AND kind = ? "
                "AND note = ? AND kind <> 'conflict'",
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
