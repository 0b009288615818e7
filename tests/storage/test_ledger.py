"""The disclosure ledger on both backends: numbered per subject, paged, in the caller's transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from deconflict.channel.ledger import Disclosure, DisclosureKind
from deconflict.storage.sqlite.database import Database
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from tests.storage.backends import Backend


def told(subject: str, recipient: str, time_s: float, reason: str = "conflict:1") -> Disclosure:
    fields = ("overlap_bbox", "altitude_band")
    return Disclosure(DisclosureKind.CONFLICT, subject, recipient, "op/v1", fields, reason, time_s)


def test_each_subject_counts_its_own_entries_only(storage_backend: Backend) -> None:
    with storage_backend.store("ledger") as ledger:
        entries = ledger.record(
            [told("red", "blue", 1.0), told("civil", "blue", 1.0), told("red", "blue", 2.0)]
        )
        assert [(e.number, e.disclosure.subject) for e in entries] == [(1, "red"), (1, "civil"), (2, "red")]
        ledger.record([told("civil", "blue", 3.0) for _ in range(5)])
        # Red's numbers do not move with what others are told: no gaps to read the channel's activity in.
        (third,) = ledger.record([told("red", "blue", 4.0)])
        assert third.number == 3
        assert [e.number for e in ledger.list_for("civil", 100)] == [1, 2, 3, 4, 5, 6]
        assert ledger.list_for("blue", 100) == []


def test_pages_back_from_the_newest(storage_backend: Backend) -> None:
    with storage_backend.store("ledger") as ledger:
        ledger.record([told("red", "blue", float(k)) for k in range(7)])
        newest = ledger.list_for("red", 3)
        assert [e.number for e in newest] == [5, 6, 7]
        assert [e.number for e in ledger.list_for("red", 3, before=newest[0].number)] == [2, 3, 4]
        assert [e.number for e in ledger.list_for("red", 3, before=2)] == [1]
        assert ledger.list_for("red", 3, before=2**70) == newest  # beyond any row id: from the newest
        (first,) = ledger.list_for("red", 1, before=2)
        assert first.disclosure == told("red", "blue", 0.0)


def test_an_entry_is_rolled_back_with_the_change_it_records(storage_backend: Backend) -> None:
    database = storage_backend.database()
    with storage_backend.store("ledger", database) as ledger:
        with pytest.raises(RuntimeError), database.transaction():
            ledger.record([told("red", "blue", 1.0)])
            raise RuntimeError("the filing failed after its disclosures were written")
        assert ledger.list_for("red", 10) == []
    database.close()


def test_when_conflicts_were_found_and_how_often(storage_backend: Backend) -> None:
    with storage_backend.store("ledger") as ledger:
        ledger.record([told("red", "blue", 10.0, "conflict:4"), told("red", "blue", 10.0, "conflict:5")])
        ledger.record([told("red", "blue", 20.0, "conflict:6"), told("blue", "red", 20.0, "conflict:6")])
        assert ledger.conflicts_found_s("blue", [(4, "red"), (6, "red"), (7, "red")]) == {4: 10.0, 6: 20.0}
        assert ledger.conflicts_found_s("red", [(4, "blue"), (6, "blue")]) == {6: 20.0}
        # Two filings told blue about red since t=5; one since t=15.
        assert ledger.filings_revealing(["red", "civil"], "blue", 5.0, 10) == {"red": 2}
        assert ledger.filings_revealing(["red"], "blue", 15.0, 10) == {"red": 1}
        assert ledger.filings_revealing(["red"], "blue", 5.0, 1) == {"red": 1}  # counted up to at_most
        assert ledger.last_alarm_s("red", "blue", "burst") is None


def _statements_of(database: Database) -> list[str]:
    """Every statement the connection runs from now on (the list grows as they run)."""
    seen: list[str] = []
    database.connection.set_trace_callback(seen.append)
    return seen


def test_the_burst_count_reads_no_table_once_a_subject_is_known(tmp_path: Path) -> None:
    database = Database(tmp_path / "ledger.db")
    with SQLiteDisclosureLedger(database) as ledger:
        ledger.record([told("red", "blue", 10.0), told("civil", "blue", 10.0)])
        seen = _statements_of(database)
        with database.transaction():
            ledger.record([told("red", "blue", 20.0), told("blue", "red", 20.0)])
            assert ledger.filings_revealing(["red", "civil"], "blue", 5.0, 10) == {"red": 2, "civil": 1}
        # Recording reads the numbers, writes the rows; counting the burst is done in memory.
        assert not [s for s in seen if "count(" in s or "DISTINCT" in s]
    database.close()


def test_the_burst_count_forgets_a_rolled_back_filing_and_keeps_a_committed_one(
    storage_backend: Backend,
) -> None:
    database = storage_backend.database()
    with storage_backend.store("ledger", database) as ledger:
        ledger.record([told("red", "blue", 10.0)])
        with pytest.raises(RuntimeError), database.transaction():
            ledger.record([told("red", "blue", 20.0)])
            # The filing in progress counts for its own burst check.
            assert ledger.filings_revealing(["red"], "blue", 5.0, 10) == {"red": 2}
            raise RuntimeError("the filing failed after its disclosures were written")
        assert ledger.filings_revealing(["red"], "blue", 5.0, 10) == {"red": 1}
        with database.transaction(), database.transaction():  # a savepoint inside a filing
            ledger.record([told("red", "blue", 30.0)])
        assert ledger.filings_revealing(["red"], "blue", 5.0, 10) == {"red": 2}
    database.close()


def test_the_burst_count_is_rebuilt_from_the_table_and_shared_on_one_database(
    storage_backend: Backend,
) -> None:
    with storage_backend.store("ledger") as ledger:
        ledger.record([told("red", "blue", 10.0), told("red", "blue", 20.0), told("red", "civil", 20.0)])
    database = storage_backend.database()  # a restart: memory starts empty
    with (
        storage_backend.store("ledger", database) as first,
        storage_backend.store("ledger", database) as second,
    ):
        assert first.filings_revealing(["red"], "blue", 5.0, 10) == {"red": 2}
        second.record([told("red", "blue", 30.0)])
        assert first.filings_revealing(["red"], "blue", 5.0, 10) == {"red": 3}
        assert first.filings_revealing(["red"], "civil", 5.0, 10) == {"red": 1}
    database.close()


def test_a_burst_longer_than_memory_keeps_is_counted_in_full(storage_backend: Backend) -> None:
    with storage_backend.store("ledger") as ledger:
        ledger.record([told("red", "blue", float(k)) for k in range(3000)])
        assert ledger.filings_revealing(["red"], "blue", -1.0, 2500) == {"red": 2500}
        assert ledger.filings_revealing(["red"], "blue", 2989.0, 2500) == {"red": 10}
