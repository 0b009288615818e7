"""Replay: cleaning rules, merging, and the shipped real sample against a brute-force count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deconflict.geometry.geodesy import WGS84
from deconflict.tactical import GroundFilter, States
from deconflict.tactical.replay import ReplaySettings, clean_tracks, replay
from deconflict.tactical.tracks import Tracks, read_tracks

SAMPLE = Path(__file__).parents[1] / "data" / "adsb" / "quickstart-slices.csv.gz"


def tracks(
    rows: list[tuple[float, str, float, float, float, float, float, float]],
    on_ground: list[bool] | None = None,
) -> Tracks:
    """Tracks from (time_s, id, lat, lon, alt_m, gs_mps, trk_deg, vs_mps) rows, with ground flags if given."""
    time_s, ids, lat, lon, alt, gs, trk, vs = (list(column) for column in zip(*rows, strict=True))
    return Tracks(
        source="test",
        row=np.arange(2, len(rows) + 2),
        ids=np.asarray(ids, dtype=np.str_),
        callsigns=np.asarray([f"CS{i}" for i in ids], dtype=np.str_),
        time_s=np.asarray(time_s, dtype=float),
        states=States(lat, lon, alt, gs, trk, vs),
        on_ground=None if on_ground is None else np.asarray(on_ground, dtype=bool),
    )


def level_pair(start_s: float, seconds: int, dalt_m: float, lat: float = 48.0) -> list:
    """Two aircraft 3 km apart flying east side by side at 200 m/s, reported every second."""
    rows = []
    for k in range(seconds):
        t = start_s + k
        lon = 2.0 + k * 200.0 / 74_600.0
        rows.append((t, "aaa", lat, lon, 3000.0, 200.0, 90.0, 0.0))
        rows.append((t, "bbb", lat + 0.027, lon, 3000.0 + dalt_m, 200.0, 90.0, 0.0))
    return rows


def test_level_pair_in_loss_of_separation_is_one_incident() -> None:
    report = replay(tracks(level_pair(0.0, 20, 100.0)))
    assert len(report.incidents) == 1
    incident = report.incidents[0]
    assert (incident.a, incident.b, incident.callsign_a, incident.callsign_b) == (
        "aaa",
        "bbb",
        "CSaaa",
        "CSbbb",
    )
    assert (incident.start_s, incident.end_s, incident.steps) == (0.0, 19.0, 20)
    assert incident.closest_horizontal.dist_m == pytest.approx(3002.0, abs=5.0)
    assert incident.closest_vertical.dalt_m == pytest.approx(100.0)
    assert 48.0 < incident.closest_horizontal.lat_deg < 48.027
    assert len(report.alerts) == 1 and report.alerts[0].min_time_to_los_s == 0.0


@pytest.mark.parametrize(
    ("dalt_ft", "quantum_m", "expected"),
    [(975, 7.62, 0), (950, 7.62, 1), (975, 0.0, 1), (1000, 0.0, 0), (1000, 7.62, 0)],
)
def test_quantised_altitudes_one_step_below_the_minimum_count_as_separated(
    dalt_ft: int, quantum_m: float, expected: int
) -> None:
    report = replay(tracks(level_pair(0.0, 10, dalt_ft * 0.3048)), ReplaySettings(alt_quantum_m=quantum_m))
    assert len(report.incidents) == expected


def test_same_icao24_hours_later_is_a_new_appearance_never_interpolated() -> None:
    early = level_pair(0.0, 10, 100.0)
    late = level_pair(7200.0, 10, 100.0, lat=49.0)
    report = replay(tracks(early + late))
    # Dead-reckoned for up to stale_s (30 s) after the last report, then dropped.
    assert [(i.start_s, i.end_s) for i in report.incidents] == [(0.0, 39.0), (7200.0, 7209.0)]
    assert len(report.alerts) == 2

    # A third aircraft sits halfway between aaa's two appearances: interpolating would meet it.
    parked = [(t, "ccc", 48.5, 2.0, 3000.0, 0.0, 0.0, 0.0) for t in np.arange(0.0, 7210.0, 20.0)]
    aaa_only = [r for r in early + late if r[1] == "aaa"]
    report = replay(tracks(aaa_only + parked))
    assert report.incidents == ()


def test_stale_aircraft_are_dropped() -> None:
    rows = level_pair(0.0, 5, 100.0)
    rows += [(100.0, "aaa", 48.0, 2.0, 3000.0, 0.0, 0.0, 0.0)]  # bbb last reported at t = 4
    report = replay(tracks(rows), ReplaySettings(stale_s=30.0))
    assert [(i.start_s, i.end_s) for i in report.incidents] == [(0.0, 34.0)]
    assert report.steps == 101


def test_cleaning_rejects_spikes_repeats_and_duplicates_but_keeps_ground_reports() -> None:
    rows = [
        (0.0, "x", 48.0, 2.0, 1000.0, 100.0, 90.0, 0.0),
        (1.0, "x", 48.0, 2.0, 1000.0, 100.0, 90.0, 0.0),  # repeated position while flying at 100 m/s
        (2.0, "x", 48.0, 2.003, 37520.0, 100.0, 90.0, 0.0),  # spike above the ceiling
        (3.0, "x", 48.0, 2.004, 9000.0, 100.0, 90.0, 0.0),  # jump of 8 km in 3 s
        (3.0, "x", 48.0, 2.004, 1000.0, 100.0, 90.0, 0.0),
        (4.0, "x", 48.0, 2.005, 1010.0, 100.0, 90.0, 0.0),
        (4.0, "x", 48.0, 2.0051, 1010.0, 100.0, 90.0, 0.0),  # a second report at the same time
        (0.0, "h", 47.0, 2.0, -30.0, 0.0, 0.0, 0.0),  # on the ground, not moving: kept
        (1.0, "h", 47.0, 2.0, -30.0, 0.0, 0.0, 0.0),  # same position at 0 kt: not a repeat
    ]
    clean = clean_tracks(tracks(rows), ReplaySettings())
    assert clean.rejected == {
        "duplicate_time": 1,
        "repeated_position": 1,
        "altitude_spike": 2,
        "implausible_speed": 0,
    }
    assert clean.time_s.tolist() == [0.0, 0.0, 1.0, 3.0, 4.0]
    assert np.all(np.diff(clean.time_s) >= 0)
    assert clean.states.alt_m.max() < 2000.0


def test_ground_reports_end_an_aircraft_s_part_in_detection() -> None:
    rows = [(t, "aaa", 48.0, 2.0, 400.0, 0.0, 0.0, 0.0) for t in range(5)]
    rows += [(t, "bbb", 48.01, 2.0, 500.0, 0.0, 0.0, 0.0) for t in range(10)]
    rows += [(5.0, "aaa", 48.0, 2.0, 290.0, 0.0, 0.0, 0.0)]  # aaa landed on a hill-top heliport
    landed = [False] * 15 + [True]
    report = replay(tracks(rows, landed))
    assert [(i.start_s, i.end_s) for i in report.incidents] == [(0.0, 4.0)]
    assert report.left_out == {"on_ground": 1, "below_min_alt": 0, "too_slow": 0}


def test_low_flyers_take_part_unless_a_floor_is_chosen() -> None:
    # Without a ground flag, 290 m is a low flyer (a helicopter, a drone): never on the ground by altitude.
    rows = [(t, "aaa", 48.0, 2.0, 400.0, 0.0, 0.0, 0.0) for t in range(5)]
    rows += [(t, "bbb", 48.01, 2.0, 500.0, 0.0, 0.0, 0.0) for t in range(10)]
    rows += [(5.0, "aaa", 48.0, 2.0, 290.0, 0.0, 0.0, 0.0)]
    report = replay(tracks(rows))
    assert [(i.start_s, i.end_s) for i in report.incidents] == [(0.0, 9.0)]
    assert sum(report.left_out.values()) == 0
    report = replay(tracks(rows), ReplaySettings(ground=GroundFilter(min_alt_m=304.8)))
    assert [(i.start_s, i.end_s) for i in report.incidents] == [(0.0, 4.0)]
    assert report.left_out["below_min_alt"] == 1


def test_alerts_merge_across_short_gaps_only() -> None:
    # A converging pair observed in three bursts.
    rows = []
    for t in [*range(0, 5), *range(10, 15), *range(55, 60)]:
        rows.append((float(t), "p", 48.0, 2.0, 3000.0, 0.0, 0.0, 0.0))
        rows.append((float(t), "q", 48.0, 2.3, 3000.0, 1.0, 270.0, 0.0))
    report = replay(tracks(rows), ReplaySettings(stale_s=2.0, detection=ReplaySettings().detection))
    assert report.incidents == ()
    # Far apart and closing slowly: alerts only when within the look-ahead, so use a long one.
    from deconflict.tactical import DetectionSettings

    report = replay(
        tracks(rows), ReplaySettings(stale_s=2.0, detection=DetectionSettings(lookahead_s=30_000.0))
    )
    # Dead-reckoned 2 s past each burst; the 3 s gap is bridged, the 38 s gap is not.
    assert [(a.first_s, a.last_s) for a in report.alerts] == [(0.0, 16.0), (55.0, 59.0)]


def brute_force_incidents(path: Path, settings: ReplaySettings) -> list[tuple[str, str, float, float]]:
    """Incidents computed without the detector: all pairs, geodesic distances, per step."""
    tr = read_tracks(path, require_time=True)
    clean = clean_tracks(tr, settings)  # the cleaning rules are tested on their own above
    start, end = clean.time_s[0], clean.time_s[-1]
    steps = start + settings.step_s * np.arange(int((end - start) / settings.step_s) + 1)
    n_aircraft = clean.ids.size
    latest = np.full((n_aircraft, steps.size), -1)
    for k in range(n_aircraft):
        rows = np.flatnonzero(clean.aircraft == k)
        at = np.searchsorted(clean.time_s[rows], steps, side="right") - 1
        latest[k] = np.where(at >= 0, rows[np.maximum(at, 0)], -1)
    s = clean.states
    episodes: list[tuple[str, str, float, float]] = []
    running: dict[tuple[str, str], float] = {}
    previous: set[tuple[str, str]] = set()
    for col, now in enumerate(steps):
        rows = latest[:, col]
        ok = rows >= 0
        rows_ok = rows[ok]
        floor_m = -np.inf if settings.ground.min_alt_m is None else settings.ground.min_alt_m
        fresh = (now - clean.time_s[rows_ok] <= settings.stale_s) & (s.alt_m[rows_ok] > floor_m)
        names = clean.ids[ok][fresh]
        rows_ok = rows_ok[fresh]
        dt = now - clean.time_s[rows_ok]
        lon, lat, _ = WGS84.fwd(
            s.lon_deg[rows_ok], s.lat_deg[rows_ok], s.trk_deg[rows_ok], s.gs_mps[rows_ok] * dt
        )
        alt = s.alt_m[rows_ok] + s.vs_mps[rows_ok] * dt
        current: set[tuple[str, str]] = set()
        i, j = np.triu_indices(names.size, 1)
        close = np.abs(alt[i] - alt[j]) < settings.vertical_minimum_m
        i, j = i[close], j[close]
        if i.size:
            _, _, dist = WGS84.inv(
                np.asarray(lon)[i], np.asarray(lat)[i], np.asarray(lon)[j], np.asarray(lat)[j]
            )
            for a, b in zip(
                i[dist < settings.detection.rpz_m], j[dist < settings.detection.rpz_m], strict=True
            ):
                current.add(tuple(sorted((str(names[a]), str(names[b])))))  # type: ignore[arg-type]
        for pair in current - previous:
            running[pair] = now
        for pair in previous - current:
            episodes.append((*pair, running.pop(pair), now - settings.step_s))
        previous = current
    episodes.extend((*pair, since, steps[-1]) for pair, since in running.items())
    return sorted(episodes)


@pytest.mark.parametrize("floor_m", [None, 304.8])
def test_shipped_real_sample_matches_brute_force_incident_count(floor_m: float | None) -> None:
    # The recording has no on_ground column: without a floor, aircraft on the ground at the
    # airports take part too (more incidents); with a 1000 ft floor only the airborne traffic does.
    settings = ReplaySettings(ground=GroundFilter(min_alt_m=floor_m))
    report = replay(read_tracks(SAMPLE, require_time=True), settings)
    expected = brute_force_incidents(SAMPLE, settings)
    got = sorted((i.a, i.b, i.start_s, i.end_s) for i in report.incidents)
    assert len(expected) >= 5
    assert got == expected
    assert report.rejected["altitude_spike"] >= 149
    assert report.rejected["repeated_position"] > 0
    # The returning icao24s: each appears in both slices but no incident or alert spans the gap.
    gap_start, gap_end = 1633609701.0, 1633615501.0
    for item in (*report.incidents, *report.alerts):
        first = getattr(item, "start_s", getattr(item, "first_s", None))
        last = getattr(item, "end_s", getattr(item, "last_s", None))
        assert not (first < gap_start and last > gap_end)
