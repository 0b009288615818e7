"""Non-conformance alerts over cycles: raised at once, cleared on re-entry, told to the right parties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from deconflict.channel.gating import StorePlanAreas
from deconflict.channel.live import (
    AlertKind,
    AlertLevel,
    ConformanceSettings,
    LivePicture,
    LiveSettings,
    NonConformance,
    TrackState,
    find_strays,
)
from deconflict.channel.live.tracks import Aircraft
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.volume import Operation, OperationState, Volume
from deconflict.units import Altitude, AltitudeReference
from tests.builders import box, circle

T0_S = 1_790_000_000.0
MSL = AltitudeReference.MSL


def plan(party: str, footprint, low_m: float = 0.0, high_m: float = 3000.0, t1: float = T0_S + 3600):  # type: ignore[no-untyped-def]
    return Volume(
        f"{party}-v", party, f"{party}-op", footprint, Altitude(low_m, MSL), Altitude(high_m, MSL), T0_S, t1
    )


@dataclass
class Plans:
    """:class:`~deconflict.channel.live.PlanVolumes` over given volumes."""

    volumes: dict[str, list[Volume]] = field(default_factory=dict)

    def live_volumes(self, party: str) -> Sequence[Volume]:
        return self.volumes.get(party, [])

    def planning_parties(self) -> Sequence[str]:
        return [p for p, v in self.volumes.items() if v]


def at(aircraft_id: str, time_s: float, lon_deg: float, lat_deg: float, alt_m: float = 1000.0) -> TrackState:
    return TrackState(aircraft_id, "", time_s, lat_deg, lon_deg, alt_m, 60.0, 90.0, 0.0)


def picture(plans: Plans, **kw: object) -> LivePicture:
    return LivePicture(LiveSettings(conformance=ConformanceSettings(**kw)), volumes=plans)  # type: ignore[arg-type]


def test_a_stray_raises_at_once_and_clears_when_back_inside() -> None:
    plans = Plans({"blue": [plan("blue", box(2.0, 48.0, 2.2, 48.2))]})
    live = picture(plans)
    live.post("blue", [at("B1", T0_S, 2.1, 48.1), at("B2", T0_S, 2.5, 48.1)], T0_S)
    first = live.cycle(T0_S)
    assert [s.aircraft for s in first.new_strays] == [Aircraft("blue", "B2")]
    (view,) = live.alerts_for("blue")
    assert (view.kind, view.level, view.own_id, view.other_party, view.other) == (
        AlertKind.NON_CONFORMANCE,
        AlertLevel.WARNING,
        "B2",
        None,
        None,
    )
    assert view.own == (2.5, 48.1, 1000.0)
    live.post("blue", [at("B2", T0_S + 1, 2.5, 48.1)], T0_S + 1)
    again = live.cycle(T0_S + 1)
    assert again.new_strays == () and [s.id for s in again.strays] == [view.id]
    # Back inside (after a gap: a jump of 26 km in a second would be refused as implausible).
    live.post("blue", [at("B2", T0_S + 100, 2.15, 48.1)], T0_S + 100)
    back = live.cycle(T0_S + 100)
    assert [s.id for s in back.cleared_strays] == [view.id] and live.alerts_for("blue") == []


def test_one_aircraft_alone_is_monitored() -> None:
    live = picture(Plans({"blue": [plan("blue", box(2.0, 48.0, 2.2, 48.2))]}))
    live.post("blue", [at("B1", T0_S, 3.0, 48.1)], T0_S)
    assert len(live.cycle(T0_S).new_strays) == 1


def test_margins_altitude_and_window() -> None:
    plans = Plans(
        {
            "blue": [
                plan("blue", box(2.0, 48.0, 2.2, 48.2), 500.0, 1500.0, T0_S + 60),
                plan("blue", box(9.0, 48.0, 9.2, 48.2)),  # active for an hour: blue stays monitored
            ]
        }
    )
    live = picture(plans, margin_m=1852.0, vertical_margin_m=152.4)
    # 1 km east of the edge (inside the margin), 100 m above the band (inside), 200 m below (outside).
    east = 2.2 + 1000.0 / 74_400.0
    live.post(
        "blue",
        [at("IN", T0_S, east, 48.1), at("HIGH", T0_S, 2.1, 48.1, 1600.0), at("LOW", T0_S, 2.1, 48.1, 290.0)],
        T0_S,
    )
    assert {s.aircraft.id for s in live.cycle(T0_S).new_strays} == {"LOW"}
    # The first window ends at T0_S + 60: from then on "IN" is outside all active plans.
    live.post("blue", [at("IN", T0_S + 60, east, 48.1)], T0_S + 60)
    assert {s.aircraft.id for s in live.cycle(T0_S + 60).new_strays} == {"IN"}


def test_a_party_without_plans_is_not_monitored() -> None:
    live = picture(Plans({"blue": [plan("blue", box(2.0, 48.0, 2.2, 48.2))]}))
    live.post("civil", [at("C1", T0_S, 9.0, 48.1), at("C2", T0_S, 9.5, 48.1)], T0_S)
    assert live.cycle(T0_S).new_strays == ()


def test_a_party_whose_plans_are_not_active_now_is_not_monitored() -> None:
    # Plans that ended or have not started: the aircraft fly under some other arrangement.
    ended = plan("blue", box(2.0, 48.0, 2.2, 48.2), t1=T0_S + 60)
    live = picture(Plans({"blue": [ended]}))
    live.post("blue", [at("B1", T0_S + 60, 9.0, 48.1)], T0_S + 60)
    assert live.cycle(T0_S + 60).new_strays == ()
    early = picture(Plans({"blue": [ended]}))
    early.post("blue", [at("B1", T0_S + 59, 9.0, 48.1)], T0_S + 59)
    assert len(early.cycle(T0_S + 59).new_strays) == 1


def test_another_party_is_told_only_while_the_stray_is_in_its_space() -> None:
    plans = Plans(
        {
            "blue": [plan("blue", box(2.0, 48.0, 2.2, 48.2))],
            "red": [plan("red", circle(3.0, 48.1, 5000.0))],
            "green": [plan("green", box(5.0, 48.0, 5.2, 48.2))],
        }
    )
    live = LivePicture(
        LiveSettings(conformance=ConformanceSettings(other_buffers=Buffers(1000.0, 0.0, 0.0))), volumes=plans
    )
    live.post("blue", [at("B1", T0_S, 2.6, 48.1)], T0_S)
    live.cycle(T0_S)
    assert live.alerts_for("red") == [] and live.picture_for("red", T0_S).foreign == ()
    # Into red's circle grown by the 1 km buffer (5.5 km from its centre).
    inside_lon = 3.0 + 5500.0 / 74_400.0
    live.post("blue", [at("B1", T0_S + 100, inside_lon, 48.1)], T0_S + 100)
    changes = live.cycle(T0_S + 100)
    ((before, after),) = changes.moved_strays
    assert (before.entered, after.entered) == ((), ("red",))
    assert [(s.party, s.subject_party, s.subject_id, s.ref) for s in changes.shown] == [
        ("red", "blue", "B1", after.id)
    ]
    (seen,) = live.alerts_for("red")
    assert (seen.own_id, seen.own, seen.other_party, seen.other_ref) == (None, None, "blue", after.id)
    assert seen.other == (inside_lon, 48.1, 1000.0)
    (foreign,) = live.picture_for("red", T0_S + 100).foreign
    assert (foreign.ref, foreign.party) == (after.id, "blue")
    assert live.alerts_for("green") == [] and live.picture_for("green", T0_S + 100).foreign == ()
    # The owner's view never says whose space it is in.
    (own,) = live.alerts_for("blue")
    assert own.other_party is None and own.other_ref is None
    live.post("blue", [at("B1", T0_S + 200, 2.6, 48.1)], T0_S + 200)
    left = live.cycle(T0_S + 200)
    assert [(b.entered, a.entered) for b, a in left.moved_strays] == [(("red",), ())]
    assert live.alerts_for("red") == []


def test_numbered_with_the_separation_alerts() -> None:
    live = picture(Plans({"blue": [plan("blue", box(2.0, 48.0, 2.2, 48.2))]}))
    live.post("blue", [at("B1", T0_S, 3.0, 48.1)], T0_S)
    (stray,) = live.cycle(T0_S).new_strays
    live.post("blue", [at("B2", T0_S + 1, 3.5, 48.1)], T0_S + 1)
    (second,) = live.cycle(T0_S + 1).new_strays
    assert (stray.id, second.id) == ("a-1", "a-2")


def test_a_stale_aircraft_clears_its_alert() -> None:
    live = picture(Plans({"blue": [plan("blue", box(2.0, 48.0, 2.2, 48.2))]}))
    live.post("blue", [at("B1", T0_S, 3.0, 48.1)], T0_S)
    live.cycle(T0_S)
    later = live.cycle(T0_S + 120)
    assert [s.aircraft.id for s in later.cleared_strays] == ["B1"]


def test_find_strays_vectorised_matches_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    plans = Plans(
        {
            "blue": [
                plan("blue", box(2.0, 48.0, 2.2, 48.2)),
                plan("blue", circle(2.5, 48.1, 8000.0), 0.0, 2000.0),
            ],
            "red": [plan("red", box(2.3, 48.0, 2.4, 48.3), 1000.0, 4000.0)],
        }
    )
    n = 300
    owners = rng.choice(["blue", "red", "civil"], n).tolist()
    lon, lat, alt = rng.uniform(1.9, 2.7, n), rng.uniform(47.9, 48.3, n), rng.uniform(0.0, 4500.0, n)
    settings = ConformanceSettings(other_buffers=Buffers(500.0, 100.0, 0.0))
    rows, entered = find_strays(plans, settings, owners, lon, lat, alt, T0_S + 5)
    alone = []
    for k in range(n):
        r, e = find_strays(
            plans, settings, [owners[k]], lon[k : k + 1], lat[k : k + 1], alt[k : k + 1], T0_S + 5
        )
        if r.size:
            alone.append((k, e[0]))
    assert list(zip(rows.tolist(), entered, strict=True)) == alone
    assert {owners[k] for k in rows.tolist()} <= {"blue", "red"} and 0 < rows.size < n


def test_store_plan_areas_monitors_parties_with_live_plans(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from deconflict.storage.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "plans.db") as store:
        volume = plan("blue", box(2.0, 48.0, 2.2, 48.2))
        ended = plan("red", box(2.0, 48.0, 2.2, 48.2))
        store.import_operations(
            [
                Operation("blue-op", "blue", (volume,)),
                Operation("red-op", "red", (ended,), state=OperationState.ENDED),
            ]
        )
        areas = StorePlanAreas(store, parties=lambda: ["blue", "red", "civil"])
        assert list(areas.planning_parties()) == ["blue"]
        assert [v.id for v in areas.live_volumes("blue")] == ["blue-v"]
        assert StorePlanAreas(store).planning_parties() == ()


def test_the_owner_and_entered_views_of_a_stray() -> None:
    stray = NonConformance("a-9", Aircraft("blue", "B1"), 1.0, 2.0, (2.0, 48.0, 900.0), ("red",))
    assert stray.parties == ("blue", "red") and stray.involves("red") and not stray.involves("green")
    logged = stray.as_logged()
    assert (logged.a, logged.b, logged.since_s, logged.last_s) == (stray.aircraft, stray.aircraft, 1.0, 2.0)
