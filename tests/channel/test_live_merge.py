"""The live picture's merge steps on their own: one cycle's alerts and incidents into the open ones."""

from __future__ import annotations

import dataclasses

from deconflict.channel.gating import Withheld
from deconflict.channel.live.alerts import Alert, AlertLevel, alert_level, merge_alerts
from deconflict.channel.live.incidents import ClosestApproach, Incident, merge_incidents
from deconflict.channel.live.tracks import Aircraft, Pair

BLUE, RED = Aircraft("blue", "B1"), Aircraft("red", "R1")
PAIR: Pair = (BLUE, RED)
HERE = (2.0, 48.0, 3000.0)


def seen(now_s: float, level: AlertLevel = AlertLevel.ADVISORY, withheld_a: Withheld | None = None) -> Alert:
    return Alert("", level, BLUE, RED, now_s, now_s, 60.0, 90.0, 1000.0, 0.0, HERE, HERE, withheld_a)


def test_alert_levels() -> None:
    assert alert_level(True, 0.0, 120.0) is AlertLevel.LOSS
    assert alert_level(False, 120.0, 120.0) is AlertLevel.WARNING
    assert alert_level(False, 120.5, 120.0) is AlertLevel.ADVISORY


def test_an_alert_keeps_its_id_and_start_changes_with_its_level_and_clears_after_the_gap() -> None:
    open_alerts: dict[Pair, Alert] = {}
    first = merge_alerts(open_alerts, [seen(100.0)], 7, 100.0, 10.0)
    assert [a.id for a in first.new] == ["a-7"] and first.next_number == 8
    assert [(s.party, s.ref) for s in first.shown] == [("blue", "a-7"), ("red", "a-7")]
    same = merge_alerts(open_alerts, [seen(101.0)], 8, 101.0, 10.0)
    assert (same.new, same.changed, same.next_number) == ((), (), 8)
    assert (same.open[0].id, same.open[0].since_s, same.open[0].last_s) == ("a-7", 100.0, 101.0)
    worse = merge_alerts(open_alerts, [seen(102.0, AlertLevel.WARNING)], 8, 102.0, 10.0)
    assert [a.level for a in worse.changed] == [AlertLevel.WARNING]
    assert merge_alerts(open_alerts, [], 8, 112.0, 10.0).cleared == ()
    gone = merge_alerts(open_alerts, [], 8, 112.5, 10.0)
    assert [a.id for a in gone.cleared] == ["a-7"] and gone.open == () and open_alerts == {}


def test_an_alert_withheld_from_one_side_shows_the_other_and_changes_when_it_vouches() -> None:
    open_alerts: dict[Pair, Alert] = {}
    first = merge_alerts(open_alerts, [seen(100.0, withheld_a=Withheld.PROBATION)], 1, 100.0, 10.0)
    assert [s.party for s in first.shown] == ["red"]
    later = merge_alerts(open_alerts, [seen(101.0)], 2, 101.0, 10.0)
    assert [a.id for a in later.changed] == ["a-1"] and [s.party for s in later.shown] == ["blue"]


def test_an_alert_changes_once_when_why_a_side_is_withheld_changes_and_shows_nothing() -> None:
    open_alerts: dict[Pair, Alert] = {}
    merge_alerts(open_alerts, [seen(100.0, withheld_a=Withheld.PROBATION)], 1, 100.0, 10.0)
    outside = merge_alerts(open_alerts, [seen(131.0, withheld_a=Withheld.OUTSIDE_PLANS)], 2, 131.0, 10.0)
    assert [(a.id, a.withheld_a) for a in outside.changed] == [("a-1", Withheld.OUTSIDE_PLANS)]
    assert outside.shown == ()
    again = merge_alerts(open_alerts, [seen(132.0, withheld_a=Withheld.OUTSIDE_PLANS)], 2, 132.0, 10.0)
    assert again.changed == ()


def in_loss(now_s: float, distance_m: float, withheld: tuple[str, ...] = ()) -> Incident:
    moment = ClosestApproach(now_s, distance_m, 100.0, 2.0, 48.0, 3000.0)
    return Incident(0, BLUE, RED, now_s, None, moment, withheld=withheld)


def test_an_incident_opens_keeps_its_closest_approach_and_closes_when_separated() -> None:
    open_incidents: dict[Pair, Incident] = {}
    first = merge_incidents(open_incidents, [in_loss(100.0, 900.0)], 5, 100.0)
    assert [i.id for i in first.opened] == [5] and first.next_id == 6
    nearer = merge_incidents(open_incidents, [in_loss(101.0, 500.0)], 6, 101.0)
    assert [i.closest.time_s for i in nearer.closer] == [101.0]
    farther = merge_incidents(open_incidents, [in_loss(102.0, 700.0)], 6, 102.0)
    assert farther.closer == () and open_incidents[PAIR].closest.distance_m == 500.0
    hidden = merge_incidents(open_incidents, [in_loss(103.0, 800.0, ("red",))], 6, 103.0)
    assert [(i.withheld, i.closest.distance_m) for i in hidden.closer] == [(("red",), 500.0)]
    over = merge_incidents(open_incidents, [], 6, 104.0)
    assert [(i.id, i.started_s, i.ended_s) for i in over.closed] == [(5, 100.0, 104.0)]
    assert open_incidents == {}
    assert dataclasses.replace(over.closed[0], ended_s=None) == hidden.closer[0]
