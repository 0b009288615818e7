"""The incident store on both backends: incidents, comments, alert log survive reopening; monthly counts."""

from __future__ import annotations

import dataclasses

from deconflict.channel.live import (
    Aircraft,
    Alert,
    AlertLevel,
    ClosestApproach,
    Incident,
    IncidentComment,
    LivePicture,
    LiveSettings,
    TrackState,
)
from deconflict.channel.live.alerts import alert_number
from tests.storage.backends import Backend

NOV_S = 1_795_600_000.0  # 2026-11-25
DEC_S = 1_796_300_000.0  # 2026-12-03

BLUE = Aircraft("blue", "BLU101")
RED = Aircraft("red", "RED707")
GREEN = Aircraft("green", "G1")


def incident(incident_id: int, a: Aircraft, b: Aircraft, started_s: float) -> Incident:
    closest = ClosestApproach(started_s + 5, 4000.0, 100.0, 36.2, 35.0, 3050.0)
    return Incident(incident_id, a, b, started_s, None, closest)


def alert(number: int, a: Aircraft, b: Aircraft, since_s: float) -> Alert:
    return Alert(
        f"a-{number}",
        AlertLevel.ADVISORY,
        a,
        b,
        since_s,
        since_s,
        100.0,
        150.0,
        10.0,
        0.0,
        (0, 0, 0),
        (0, 0, 0),
    )


def test_incidents_and_comments_survive_reopening(storage_backend: Backend) -> None:
    first = incident(1, BLUE, RED, NOV_S)
    with storage_backend.store("incidents") as store:
        assert store.next_ids() == (1, 1)
        store.record_opened([first])
        closer = dataclasses.replace(
            first, closest=ClosestApproach(NOV_S + 9, 1500.0, 20.0, 36.21, 35.01, 3010.0)
        )
        store.record_closest([closer])
        store.add_comment(1, IncidentComment("red", NOV_S + 60, "blue turned into us"))
        store.add_comment(1, IncidentComment("blue", NOV_S + 90, "red did not answer the hotline"))
        store.record_opened([incident(2, RED, GREEN, NOV_S + 100)])
        store.log_alerts([alert(1, BLUE, RED, NOV_S - 50)], [])
    with storage_backend.store("incidents") as reopened:
        assert reopened.next_ids() == (2, 3)
        assert [i.id for i in reopened.open_incidents()] == [1, 2]
        got = reopened.get_incident(1)
        assert got is not None
        assert got.closest == closer.closest
        assert [(c.party, c.text) for c in got.comments] == [
            ("red", "blue turned into us"),
            ("blue", "red did not answer the hotline"),
        ]
        ended = reopened.record_closed(dataclasses.replace(closer, ended_s=NOV_S + 40))
        assert ended.ended_s == NOV_S + 40 and len(ended.comments) == 2
    with storage_backend.store("incidents") as again:
        assert [i.id for i in again.open_incidents()] == [2]
        assert [i.id for i in again.list_incidents("blue")] == [1]
        assert [i.id for i in again.list_incidents("red")] == [1, 2]
        assert again.get_incident(99) is None
        # A live picture resuming from the store continues numbering and the open incident.
        live = LivePicture.resume(LiveSettings(), again)
        assert [i.id for i in live.open_incidents()] == [2]
        changes = live.cycle(NOV_S + 200)
        assert [i.id for i in changes.closed] == [2]


def test_a_picture_taking_over_continues_from_the_store(storage_backend: Backend) -> None:
    # A node that takes the scheduler's lease after another ran the cycle (and recorded these).
    with storage_backend.store("incidents") as store:
        live = LivePicture.resume(LiveSettings(), store)  # started while the other node held it
        store.record_opened([incident(4, BLUE, RED, NOV_S)])
        store.record_opened([incident(5, RED, GREEN, NOV_S + 1)])
        store.record_closed(dataclasses.replace(incident(4, BLUE, RED, NOV_S), ended_s=NOV_S + 5))
        store.log_alerts([alert(9, BLUE, RED, NOV_S - 50)], [])
        assert live.open_incidents() == []
        live.take_over(store)
        assert [i.id for i in live.open_incidents()] == [5]
        # Numbering goes on after what the other node recorded: the next incident is 6.
        here = TrackState("B1", "", NOV_S + 10, 35.0, 36.2, 3000.0, 100.0, 90.0, 0.0)
        there = TrackState("G1", "", NOV_S + 10, 35.0, 36.2, 3000.0, 100.0, 270.0, 0.0)
        live.post("blue", [here], NOV_S + 10)
        live.post("green", [there], NOV_S + 10)
        changes = live.cycle(NOV_S + 10)
        assert [i.id for i in changes.opened] == [6]
        assert [alert_number(a) for a in changes.new_alerts] == [10]
        assert [i.id for i in changes.closed] == [5]  # red's aircraft is gone: the pair is separated
        # What another node mirrors shows the same alerts and incidents.
        state = live.state()
        mirror = LivePicture.resume(LiveSettings(), store)
        mirror.post("blue", [here], NOV_S + 10)
        mirror.post("green", [there], NOV_S + 10)
        mirror.mirror(state)
        assert mirror.alerts_for("green") == live.alerts_for("green") != []
        assert mirror.open_incidents() == live.open_incidents() != []
        assert mirror.picture_for("blue", NOV_S + 10) == live.picture_for("blue", NOV_S + 10)
        # Another node takes the lease: this one shows no alerts or incidents, keeps the tracks.
        live.step_down()
        assert live.open_incidents() == [] and live.alerts_for("blue") == []
        assert live.picture_for("blue", NOV_S + 10).foreign == ()
        assert [t.state.id for t in live.picture_for("blue", NOV_S + 10).own] == ["B1"]


def test_monthly_counts_by_other_party_and_utc_month(storage_backend: Backend) -> None:
    with storage_backend.store("incidents") as store:
        store.log_alerts(
            [
                alert(1, BLUE, RED, NOV_S),
                alert(2, BLUE, RED, NOV_S + 10),
                alert(3, RED, BLUE, DEC_S),
                alert(4, GREEN, RED, DEC_S),
            ],
            [],
        )
        store.log_alerts([], [dataclasses.replace(alert(1, BLUE, RED, NOV_S), last_s=NOV_S + 30)])
        store.record_opened([incident(1, BLUE, RED, NOV_S + 20)])
        store.record_opened([incident(2, GREEN, RED, DEC_S + 5)])
        assert store.monthly_counts("blue") == {("2026-11", "red"): (2, 1), ("2026-12", "red"): (1, 0)}
        assert store.monthly_counts("red") == {
            ("2026-11", "blue"): (2, 1),
            ("2026-12", "blue"): (1, 0),
            ("2026-12", "green"): (1, 1),
        }
        assert store.monthly_counts("green") == {("2026-12", "red"): (1, 1)}
        assert store.monthly_counts("nobody") == {}
        assert storage_backend.query("SELECT end_s FROM alert_log WHERE number = 1") == [(NOV_S + 30,)]


def test_non_conformance_alerts_count_as_the_partys_own(storage_backend: Backend) -> None:
    from deconflict.channel.live import NonConformance

    stray = NonConformance("a-5", BLUE, DEC_S, DEC_S + 20, (2.0, 48.0, 900.0), ("red",))
    with storage_backend.store("incidents") as store:
        store.log_alerts([alert(4, BLUE, RED, DEC_S), stray.as_logged()], [stray.as_logged()])
        assert store.monthly_counts("blue") == {("2026-12", "red"): (1, 0), ("2026-12", "blue"): (1, 0)}
        assert store.monthly_counts("red") == {("2026-12", "blue"): (1, 0)}  # never red's to count
        assert store.next_ids()[0] == 6
        assert storage_backend.query("SELECT end_s FROM alert_log WHERE number = 5") == [(DEC_S + 20,)]


def test_incidents_page_forward_and_back_for_one_party(storage_backend: Backend) -> None:
    with storage_backend.store("incidents") as store:
        for n in range(1, 8):  # blue is in 1, 2, 4, 5, 7; green and red alone in 3 and 6
            a, b = (GREEN, RED) if n in (3, 6) else (BLUE, RED)
            store.record_opened([incident(n, a, b, NOV_S + n)])

        def ids(page: object) -> tuple[list[int], bool, bool]:
            return [i.id for i in page.items], page.more_before, page.more_after  # type: ignore[attr-defined]

        assert ids(store.page_incidents("blue", 2)) == ([1, 2], False, True)
        assert ids(store.page_incidents("blue", 2, after=2)) == ([4, 5], True, True)
        assert ids(store.page_incidents("blue", 2, after=5)) == ([7], True, False)
        assert ids(store.page_incidents("blue", 2, before=7)) == ([4, 5], True, True)
        assert ids(store.page_incidents("blue", 3, before=4)) == ([1, 2], False, True)
        assert ids(store.page_incidents("blue", 9)) == ([1, 2, 4, 5, 7], False, False)
        assert ids(store.page_incidents("nobody", 2)) == ([], False, False)
        assert ids(store.page_incidents("blue", 2, after=2**62)) == ([], True, False)


def test_a_cycles_incidents_and_closer_approaches_are_recorded_together(storage_backend: Backend) -> None:
    opened = [incident(n, BLUE if n % 2 else GREEN, RED, NOV_S + n) for n in range(1, 41)]
    nearer = [
        dataclasses.replace(
            i,
            closest=ClosestApproach(NOV_S + 50, 1000.0 + i.id, 10.0 * i.id, 36.3, 35.1, 2900.0),
            withheld=("red",) if i.id % 3 == 0 else (),
        )
        for i in opened
        if i.id % 4 != 0
    ]
    with storage_backend.store("incidents") as store:
        store.record_opened(opened)
        store.record_closest(nearer)
        store.record_opened([])
        store.record_closest([])
    with storage_backend.store("incidents") as reopened:
        expected = {i.id: i for i in opened} | {i.id: i for i in nearer}
        assert reopened.open_incidents() == [expected[n] for n in range(1, 41)]
