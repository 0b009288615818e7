"""The disclosure ledger's rules: what each conflict discloses to whom, and when filings look like probes."""

from __future__ import annotations

from pathlib import Path

from deconflict.channel.events import EventKind
from deconflict.channel.ledger import (
    ALERT_FIELDS,
    CONFLICT_FIELDS,
    SWEEP_FIELDS,
    Disclosure,
    DisclosureKind,
    conflict_disclosures,
    probe_alarm_on_burst,
    probe_alarms_on_withdrawal,
)
from deconflict.channel.live import LivePicture, TrackState
from deconflict.channel.service.tracks import run_tactical_cycle
from deconflict.config import Settings
from deconflict.storage import open_storage
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.strategic.conflicts import Conflict
from tests.builders import T0_S, box, moved
from tests.channel.conftest import PLANS, sweep, victims
from tests.fakes import EventList, FootprintPlans

PARTIES = ("blue", "red", "civil")


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


def test_a_foreign_aircraft_shown_in_an_alert_is_in_its_owners_ledger(tmp_path: Path) -> None:
    # The genuine head-on encounter of the gating tests: shown to both sides once past probation.
    settings = Settings(db_path=tmp_path / "channel.db")
    plans = FootprintPlans({"blue": [box(-1.0, -1.0, 1.0, 1.0)], "red": [box(-1.0, -1.0, 1.0, 1.0)]})
    live = LivePicture(plans=plans)
    blue = TrackState("BLU101", "VIPER1", T0_S, 0.0, 0.0, 3000.0, 100.0, 90.0, 0.0)
    red = TrackState("RED707", "REDCAP", T0_S, 0.0, 60_000.0 / 111_319.49, 3000.0, 100.0, 270.0, 0.0)
    with open_storage(settings) as storage:
        incidents, audit, ledger = storage.incidents, storage.audit, storage.ledger
        shown_at = []
        for k in range(40):
            live.post("blue", [moved(blue, float(k))], T0_S + k)
            live.post("red", [moved(red, float(k))], T0_S + k)
            changes = run_tactical_cycle(live, incidents, audit, T0_S + k, ledger=ledger)
            shown_at += [k for _ in changes.shown]
        (about_red,) = ledger.list_for("red", 10)
        (about_blue,) = ledger.list_for("blue", 10)
    assert shown_at == [30, 30]  # once each, when probation ended: not again every cycle
    (alert,) = live.alerts_for("red")
    assert about_red.disclosure == Disclosure(
        DisclosureKind.ALERT, "red", "blue", "RED707", ALERT_FIELDS, f"alert:{alert.id}", T0_S + 30
    )
    assert (about_blue.disclosure.recipient, about_blue.disclosure.subject_ref) == ("red", "BLU101")


def test_a_sweep_alarms_each_victim_once_in_its_ledger_and_on_its_socket_even_after_a_restart(
    tmp_path: Path,
) -> None:
    # The 1000 m/s sweep of the gating tests (every state refused): red and civil are swept at once.
    settings = Settings(db_path=tmp_path / "channel.db")
    traffic = victims(T0_S)
    invented = sweep(T0_S, 1000.0)
    events = EventList()
    with open_storage(settings) as storage:
        incidents, audit, ledger = storage.incidents, storage.audit, storage.ledger
        for restart in range(2):  # a new live picture (a restarted server) forgets its own count
            live = LivePicture(plans=PLANS)
            for k in range(10):
                now_s = T0_S + 20 * restart + k
                for party, s in traffic:
                    live.post(party, [moved(s, now_s - T0_S)], now_s)
                live.take("blue", [moved(s, now_s - T0_S) for s in invented], now_s)
                run_tactical_cycle(live, incidents, audit, now_s, events, ledger)
        stored = {p: [e for e in ledger.list_for(p, 100) if e.disclosure.note == "sweep"] for p in PARTIES}
    pushed = [e for e in events.events if e.kind is EventKind.PROBE_ALARM]
    assert sorted(e.party for e in pushed) == ["civil", "red"]  # once each, never blue
    assert {p: len(found) for p, found in stored.items()} == {"blue": 0, "civil": 1, "red": 1}
    for event in pushed:
        (entry,) = stored[event.party]
        assert event.subject == entry
        assert (entry.disclosure.kind, entry.disclosure.recipient) == (DisclosureKind.PROBE_ALARM, "blue")
        assert entry.disclosure.fields == SWEEP_FIELDS and entry.disclosure.time_s == T0_S
