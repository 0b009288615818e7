"""Geographical zones: applicability expanded into windows, and plans that enter restrictions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import evaluate_pairs, find_conflicts
from deconflict.strategic.zones import (
    Applicability,
    DailyPeriod,
    Zone,
    ZoneAuthority,
    ZoneLayer,
    ZoneRestriction,
    applicable_windows,
    zone_conflicts,
    zone_volumes,
)
from deconflict.units import Altitude, AltitudeReference
from tests.builders import box, volume

HOUR_S = 3600.0
DAY_S = 86_400.0
WORKDAYS = frozenset(range(5))


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def _hours(windows: list[tuple[float, float]], origin_s: float) -> list[tuple[float, float]]:
    return [((t0 - origin_s) / HOUR_S, (t1 - origin_s) / HOUR_S) for t0, t1 in windows]


def test_no_applicability_is_the_whole_horizon() -> None:
    assert applicable_windows([], 10.0, 20.0) == [(10.0, 20.0)]
    assert applicable_windows([Applicability()], 10.0, 20.0) == [(10.0, 20.0)]
    assert applicable_windows([], 20.0, 10.0) == []


def test_a_temporary_zone_is_clipped_to_its_dates_and_the_horizon() -> None:
    item = Applicability(start_s=100.0, end_s=200.0)
    assert applicable_windows([item], 0.0, 1000.0) == [(100.0, 200.0)]
    assert applicable_windows([item], 150.0, 1000.0) == [(150.0, 200.0)]
    assert applicable_windows([item], 200.0, 1000.0) == []
    assert applicable_windows([Applicability(end_s=50.0)], 0.0, 100.0) == [(0.0, 50.0)]


def test_working_days_in_utc() -> None:
    monday = _utc(2026, 3, 2)
    office = Applicability(schedule=(DailyPeriod(WORKDAYS, 8 * HOUR_S, 17 * HOUR_S),))
    windows = applicable_windows([office], monday, monday + 7 * DAY_S)
    assert _hours(windows, monday) == [(24 * d + 8, 24 * d + 17) for d in range(5)]


def test_an_offset_moves_the_clock_and_the_day() -> None:
    # 01:00-03:00 at +03:00 on Mondays is Sunday 22:00 to Monday 00:00 UTC.
    monday = _utc(2026, 3, 2)
    period = DailyPeriod(frozenset({0}), 1 * HOUR_S, 3 * HOUR_S, utc_offset_s=3 * HOUR_S)
    windows = applicable_windows([Applicability(schedule=(period,))], monday - DAY_S, monday + DAY_S)
    assert _hours(windows, monday) == [(-2.0, 0.0)]


def test_a_period_past_midnight_ends_the_next_day_and_is_clipped() -> None:
    monday = _utc(2026, 3, 2)
    night = DailyPeriod(frozenset({0}), 22 * HOUR_S, 2 * HOUR_S)
    item = Applicability(start_s=monday, end_s=monday + 23 * HOUR_S, schedule=(night,))
    assert _hours(applicable_windows([item], monday - DAY_S, monday + 7 * DAY_S), monday) == [(22.0, 23.0)]
    item = Applicability(schedule=(night,))
    assert _hours(applicable_windows([item], monday, monday + 7 * DAY_S), monday) == [(22.0, 26.0)]


def test_the_whole_day_and_overlapping_periods_merge() -> None:
    monday = _utc(2026, 3, 2)
    whole = DailyPeriod(frozenset({0, 1}), 0.0, 24 * HOUR_S)
    windows = applicable_windows([Applicability(schedule=(whole,))], monday, monday + 7 * DAY_S)
    assert _hours(windows, monday) == [(0.0, 48.0)]
    a = Applicability(schedule=(DailyPeriod(frozenset({0}), 8 * HOUR_S, 12 * HOUR_S),))
    b = Applicability(schedule=(DailyPeriod(frozenset({0}), 11 * HOUR_S, 14 * HOUR_S),))
    assert _hours(applicable_windows([a, b], monday, monday + DAY_S), monday) == [(8.0, 14.0)]


def test_no_daylight_saving_is_applied_to_a_fixed_offset() -> None:
    # Europe moves its clocks on 29 March 2026; a schedule at +01:00 stays at 07:00 UTC.
    before, after = _utc(2026, 3, 27), _utc(2026, 3, 30)  # a Friday and a Monday
    period = DailyPeriod(WORKDAYS, 8 * HOUR_S, 9 * HOUR_S, utc_offset_s=HOUR_S)
    windows = applicable_windows([Applicability(schedule=(period,))], before, after + DAY_S)
    assert _hours(windows, before) == [(7.0, 8.0), (79.0, 80.0)]


@settings(max_examples=200, deadline=None)
@given(
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start_min=st.integers(0, 24 * 60 - 1),
    length_min=st.integers(1, 24 * 60),
    offset_h=st.integers(-12, 14),
    horizon_start_h=st.integers(0, 24 * 30),
    horizon_h=st.integers(1, 24 * 20),
)
def test_windows_match_a_minute_by_minute_reference(
    days: frozenset[int], start_min: int, length_min: int, offset_h: int, horizon_start_h: int, horizon_h: int
) -> None:
    """Each minute of the horizon is in a window exactly when its local day and clock say so."""
    period = DailyPeriod(
        days, start_min * 60.0, ((start_min + length_min) % (24 * 60)) * 60.0, offset_h * HOUR_S
    )
    origin = _utc(2026, 1, 1) + horizon_start_h * HOUR_S
    end = origin + horizon_h * HOUR_S
    windows = applicable_windows([Applicability(schedule=(period,))], origin, end)
    assert all(a < b for a, b in windows)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(windows))
    for minute in range(0, horizon_h * 60, 7):
        t = origin + minute * 60.0 + 30.0
        local = datetime.fromtimestamp(t + offset_h * HOUR_S, tz=UTC)
        clock = local.hour * 60 + local.minute
        today = local.weekday() in days and start_min <= clock < start_min + length_min
        # A period that ends past midnight began on the day before.
        yesterday = (local.weekday() - 1) % 7 in days and clock < start_min + length_min - 24 * 60
        inside = any(a <= t < b for a, b in windows)
        assert inside == (today or yesterday), (t, windows)


def _zone(restriction: ZoneRestriction = ZoneRestriction.PROHIBITED, **kwargs: object) -> Zone:
    layer = ZoneLayer(
        box(36.0, 35.0, 36.2, 35.2),
        Altitude(0.0, AltitudeReference.AGL),
        Altitude(120.0, AltitudeReference.AGL),
    )
    return Zone(
        identifier="LX9",
        country="CYP",
        restriction=restriction,
        layers=(layer,),
        name="Harbour",
        reasons=("SENSITIVE",),
        message="Keep out",
        authorities=(ZoneAuthority(name="DCA", email="uas@dca.example"),),
        **kwargs,  # type: ignore[arg-type]
    )


T0 = _utc(2026, 3, 2, 10)  # a Monday


def _plan(lon: float, lat: float, lower_m: float = 0.0, upper_m: float = 100.0, start_s: float = T0) -> list:  # type: ignore[type-arg]
    return [
        volume(
            "v1",
            "blue",
            box(lon, lat, lon + 0.05, lat + 0.05),
            start_s=start_s,
            end_s=start_s + HOUR_S,
            lower_m=lower_m,
            upper_m=upper_m,
            reference="AGL",
        )
    ]


def test_a_plan_inside_a_prohibited_zone_conflicts_with_its_published_facts() -> None:
    [found] = zone_conflicts(_plan(36.05, 35.05), [("dca", _zone())])
    assert (found.conflict.party_a, found.conflict.a, found.conflict.party_b) == ("blue", "v1", "dca")
    assert found.conflict.b == "LX9/0/0"
    facts = found.to_json()["zone"]
    assert facts["name"] == "Harbour"  # type: ignore[index]
    assert facts["message"] == "Keep out"  # type: ignore[index]
    assert facts["authorities"][0]["email"] == "uas@dca.example"  # type: ignore[index]


def test_no_conflict_outside_above_or_with_no_restriction() -> None:
    assert zone_conflicts(_plan(37.0, 35.05), [("dca", _zone())]) == []
    assert zone_conflicts(_plan(36.05, 35.05, 200.0, 300.0), [("dca", _zone())]) == []
    assert zone_conflicts(_plan(36.05, 35.05), [("dca", _zone(ZoneRestriction.NO_RESTRICTION))]) == []
    assert zone_conflicts([], [("dca", _zone())]) == []


def test_only_when_the_zone_applies() -> None:
    monday_office = (Applicability(schedule=(DailyPeriod(frozenset({0}), 8 * HOUR_S, 9 * HOUR_S),)),)
    zone = _zone(applicability=monday_office)
    assert zone_conflicts(_plan(36.05, 35.05), [("dca", zone)]) == []  # 10:00-11:00
    [found] = zone_conflicts(_plan(36.05, 35.05, start_s=T0 - 1.5 * HOUR_S), [("dca", zone)])
    assert (found.conflict.time_start_s, found.conflict.time_end_s) == (T0 - 1.5 * HOUR_S, T0 - HOUR_S)
    # A time buffer reaches a window that ends half an hour before.
    assert (
        zone_conflicts(_plan(36.05, 35.05, start_s=T0 - 0.5 * HOUR_S), [("dca", zone)], Buffers(0, 0, 1800))
        != []
    )


def test_zone_conflicts_are_find_conflicts_restricted_to_plan_and_zone() -> None:
    plans = _plan(36.05, 35.05) + _plan(36.15, 35.15) + _plan(40.0, 35.0)
    zones = [("dca", _zone())]
    expected = [
        c
        for c in find_conflicts([*plans, *zone_volumes(zones[0][1], "dca", T0 - DAY_S, T0 + DAY_S)])
        if c.party_b == "dca" or c.party_a == "dca"
    ]
    found = zone_conflicts(plans, zones)
    assert sorted((c.conflict.a, c.conflict.b) for c in found) == sorted(
        (c.a, c.b) if c.party_b == "dca" else (c.b, c.a) for c in expected
    )


_boxes = st.tuples(
    st.floats(35.0, 36.0), st.floats(34.0, 35.0), st.floats(0.01, 0.5), st.floats(0.01, 0.5)
).map(lambda t: box(t[0], t[1], t[0] + t[2], t[1] + t[3]))


@settings(max_examples=60, deadline=None)
@given(
    plans=st.lists(
        st.tuples(_boxes, st.integers(0, 7 * 24), st.integers(1, 48), st.floats(0.0, 500.0)),
        min_size=1,
        max_size=6,
    ),
    zones=st.lists(
        st.tuples(
            _boxes, st.frozensets(st.integers(0, 6), min_size=1), st.integers(0, 23), st.floats(50.0, 1000.0)
        ),
        min_size=1,
        max_size=4,
    ),
    buffer_m=st.sampled_from([0.0, 2000.0]),
)
def test_zone_conflicts_are_every_pair_of_plan_and_zone_volume_that_conflicts(
    plans: list[tuple[Any, int, int, float]],
    zones: list[tuple[Any, frozenset[int], int, float]],
    buffer_m: float,
) -> None:
    """The indexed search misses nothing and adds nothing against all pairs tested exactly."""
    volumes = [
        volume(
            f"v{i}",
            "blue",
            fp,
            start_s=T0 + h * HOUR_S,
            end_s=T0 + (h + n) * HOUR_S,
            lower_m=low,
            upper_m=low + 100.0,
            reference="AGL",
        )
        for i, (fp, h, n, low) in enumerate(plans)
    ]
    published = [
        (
            "dca",
            Zone(
                f"Z{k}",
                "CYP",
                ZoneRestriction.CONDITIONAL,
                (ZoneLayer(fp, Altitude(0.0, AltitudeReference.AGL), Altitude(top, AltitudeReference.AGL)),),
                (Applicability(schedule=(DailyPeriod(days, hour * HOUR_S, (hour + 6) * HOUR_S % DAY_S),)),),
            ),
        )
        for k, (fp, days, hour, top) in enumerate(zones)
    ]
    buffers = Buffers(buffer_m, 0.0, 0.0)
    found = {(z.conflict.a, z.conflict.b) for z in zone_conflicts(volumes, published, buffers)}
    start = min(v.time_start_s for v in volumes)
    end = max(v.time_end_s for v in volumes)
    restricted = [v for _, zone in published for v in zone_volumes(zone, "dca", start, end)]
    pairs = [(a, b) for a in volumes for b in restricted]
    expected = {(c.a, c.b) for c in evaluate_pairs([a for a, _ in pairs], [b for _, b in pairs], buffers)}
    assert found == expected
