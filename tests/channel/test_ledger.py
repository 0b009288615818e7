"""The disclosure ledger's rules: what each conflict discloses to whom, and when filings look like probes."""

from __future__ import annotations

from pathlib import Path

from deconflict.channel.ledger import (
    CONFLICT_FIELDS,
    DisclosureKind,
    conflict_disclosures,
    probe_alarm_on_burst,
    probe_alarms_on_withdrawal,
)
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.strategic.conflicts import Conflict


def conflict(prober_volume: str, victim: str, victim_operation: str) -> Conflict:
    return Conflict(
        prober_volume, f"{victim_operation}/v", "blue", victim, "probe", victim_operation,
        0.0, 60.0, 0.0, 100.0, "MSL", 1.0, (0.0, 0.0, 1.0, 1.0),
    )  # fmt: skip


def test_a_conflict_discloses_each_side_to_the_other_with_its_own_ids() -> None:
    (to_red, to_blue) = conflict_disclosures(conflict("p1", "red", "red-op"), 12, 100.0)
    assert (to_red.subject, to_red.recipient, to_red.subject_ref) == ("blue", "red", "probe/p1")
    assert (to_blue.subject, to_blue.recipient, to_blue.subject_ref) == ("red", "blue", "red-op/red-op/v")
    for d in (to_red, to_blue):
        assert (d.kind, d.fields, d.reason_ref, d.time_s) == (
            DisclosureKind.CONFLICT,
            CONFLICT_FIELDS,
            "conflict:12",
            100.0,
        )


def test_a_withdrawal_within_the_window_alarms_each_party_it_revealed_once() -> None:
    found = [
        (1, conflict("p1", "red", "r-a")),
        (2, conflict("p1", "red", "r-b")),
        (3, conflict("p1", "civil", "c")),
    ]
    alarms = probe_alarms_on_withdrawal("blue", found, {1: 100.0, 2: 100.0, 3: 100.0}, 160.0, 600.0)
    assert [(a.subject, a.recipient, a.subject_ref, a.reason_ref, a.note) for a in alarms] == [
        ("civil", "blue", "c", "conflict:3", "withdrawn"),
        ("red", "blue", "r-a,r-b", "conflict:1,2", "withdrawn"),
    ]
    assert all(a.kind is DisclosureKind.PROBE_ALARM and a.time_s == 160.0 for a in alarms)


def test_a_plan_that_stood_longer_than_the_window_is_withdrawn_without_alarm() -> None:
    found = [(1, conflict("p1", "red", "r-a")), (2, conflict("p2", "red", "r-b"))]
    alarms = probe_alarms_on_withdrawal("blue", found, {1: 100.0, 2: 500.0}, 700.0, 600.0)
    # Conflict 1 stood 600 s (not less than the window): only conflict 2 counts.
    assert [(a.subject, a.reason_ref) for a in alarms] == [("red", "conflict:2")]
    # A conflict the ledger does not know (found before it existed) raises nothing.
    assert probe_alarms_on_withdrawal("blue", found, {}, 700.0, 600.0) == []


def test_a_burst_of_revealing_filings_alarms_once_per_window(tmp_path: Path) -> None:
    with SQLiteDisclosureLedger(tmp_path / "ledger.db") as ledger:
        alarms = []
        for k in range(12):
            now_s = 1000.0 + 10.0 * k
            found = [(k + 1, conflict(f"p{k}", "red", "r-a"))]
            ledger.record([d for i, c in found for d in conflict_disclosures(c, i, now_s)])
            raised = probe_alarm_on_burst(ledger, "blue", found, now_s, 600.0, 10)
            ledger.record(raised)
            alarms.append(len(raised))
        # The 10th filing within the window raises it; the 11th and 12th do not raise it again.
        assert alarms == [0] * 9 + [1, 0, 0]
        later = [(99, conflict("p99", "red", "r-a"))]
        ledger.record([d for i, c in later for d in conflict_disclosures(c, i, 1700.0)])
        # 600 s on, the earlier alarm is out of the window, but so are most filings: no burst.
        assert probe_alarm_on_burst(ledger, "blue", later, 1700.0, 600.0, 10) == []
        (entry,) = [e for e in ledger.list_for("red", 100) if e.disclosure.kind is DisclosureKind.PROBE_ALARM]
        assert (entry.disclosure.recipient, entry.disclosure.note, entry.disclosure.reason_ref) == (
            "blue",
            "burst",
            "conflict:10",
        )
