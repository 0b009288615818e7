"""Replay of recorded tracks: alerts (predicted losses of separation) and incidents (actual ones).

The replay steps through time at a fixed step. At each step every aircraft is
dead-reckoned from its latest accepted report (straight line along its track,
ground speed and vertical speed), the detector runs on all airborne aircraft,
and the steps are merged per pair into alerts and incidents.

Recorded ADS-B is dirty; these are the choices, each counted in the report:

- **Never interpolate**, only extrapolate from the latest report, and drop an
  aircraft once that report is older than ``stale_s``. So the same ``icao24``
  returning hours later is simply a new appearance: nothing joins the two
  flights, and alerts and incidents never span the gap.
- **Implausible values**: a report whose ground speed exceeds ``max_gs_mps`` or
  whose vertical speed exceeds ``max_vs_mps`` either way is rejected whole.
- **Altitude spikes** (single reports tens of km high, or a transponder stuck on
  an impossible level): a report outside the plausible altitudes (see
  :class:`~deconflict.tactical.tracks.PlausibleRanges`; above ``max_alt_m``), or
  whose altitude jumps from the previous accepted report of the aircraft (within
  ``stale_s``) by more than ``max_vs_mps`` times the elapsed time plus
  :data:`~deconflict.tactical.tracks.ALT_JUMP_TOLERANCE_M`
  (:func:`~deconflict.tactical.tracks.altitude_jumps`), is rejected whole; the
  aircraft keeps being dead-reckoned from its last good report and goes stale if
  no good one follows.
- **Ground**: ground status comes from the data (a track's ``on_ground``
  flag), never from altitude alone: low flyers (helicopters, drones, low-level
  routes) take part in detection. Reports flagged on the ground, and those the
  ground filter leaves out (an altitude floor chosen for a recording without a
  ground flag, a minimum speed), are kept as reports, so that a landed aircraft
  stops being extrapolated, but the aircraft takes no part in detection while
  its latest report is left out; the report counts them per reason.
- **Repeated positions** (a receiver carrying the last position forward with a
  new time stamp): a report at exactly the previous report's position although
  its ground speed says it moved more than a metre is rejected, so dead reckoning
  continues from the true fix time instead of restarting from a stale position.
- **Duplicate time stamps** of one aircraft: the first report is kept.
- **Altitude quantisation**: ADS-B reports altitude in 25 ft steps, so two
  aircraft level 1000 ft apart often read 975 ft apart. An operator does not want
  every such pair reported as a loss of separation, so the replay applies a
  vertical minimum of ``hpz_m - 1.5 * alt_quantum_m`` (962.5 ft by default):
  readings one step below the minimum count as separated, two steps below
  (950 ft) as a loss. Set ``alt_quantum_m`` to 0 for the strict minimum.
- **Merging**: an incident is a run of consecutive steps in loss of separation;
  an alert is a run of steps in conflict whose gaps do not exceed ``alert_gap_s``
  (predictions on noisy tracks flicker at the look-ahead boundary).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from deconflict.geometry.geodesy import midpoint
from deconflict.tactical.detect import DetectionSettings, detect
from deconflict.tactical.states import GroundFilter, States, dead_reckon, left_out
from deconflict.tactical.tracks import PlausibleRanges, Tracks, altitude_jumps, implausible_values

__all__ = [
    "Alert",
    "CleanTracks",
    "Closest",
    "Incident",
    "ReplayReport",
    "ReplaySettings",
    "clean_tracks",
    "replay",
]

MOVED_M = 1.0
"""A report at the previous position is a repeat if the aircraft should have moved more than this."""

Float = NDArray[np.float64]
Int = NDArray[np.int64]


@dataclass(frozen=True)
class ReplaySettings:
    """How a replay steps, cleans and merges (see the module docstring for each choice)."""

    step_s: float = 1.0
    stale_s: float = 30.0
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    ground: GroundFilter = field(default_factory=GroundFilter)
    max_alt_m: float = 16_000.0
    max_vs_mps: float = 100.0
    alt_quantum_m: float = 7.62
    alert_gap_s: float = 10.0
    max_gs_mps: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("step_s", "stale_s", "max_alt_m", "max_vs_mps", "max_gs_mps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        for name in ("alt_quantum_m", "alert_gap_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.vertical_minimum_m <= 0.0:
            raise ValueError("alt_quantum_m is too large for the vertical minimum")

    def plausible(self) -> PlausibleRanges:
        """The ranges outside which a report is rejected as implausible."""
        return PlausibleRanges(
            max_alt_m=self.max_alt_m, max_gs_mps=self.max_gs_mps, max_vs_mps=self.max_vs_mps
        )

    @property
    def vertical_minimum_m(self) -> float:
        """The vertical minimum the replay applies (the strict one less 1.5 altitude steps)."""
        return self.detection.hpz_m - 1.5 * self.alt_quantum_m


@dataclass(frozen=True, eq=False)
class CleanTracks:
    """Accepted reports sorted by time, and how many reports each rule rejected.

    Attributes
    ----------
    aircraft
        Index of each report's aircraft into ``ids``.
    ids, callsigns
        Per report: ``ids[aircraft]`` is the identifier; ``callsigns`` per report.
    on_ground
        Per report, the data's ground flag (all false when the data has none).
    """

    ids: NDArray[np.str_]
    aircraft: Int
    callsigns: NDArray[np.str_]
    time_s: Float
    states: States
    rejected: dict[str, int]
    on_ground: NDArray[np.bool_]


@dataclass(frozen=True)
class Closest:
    """The pair at one moment of an incident: separation, where (midpoint) and when.

    ``lat_a_deg`` .. ``lon_b_deg`` are each aircraft's dead-reckoned position at ``time_s``
    (what the detector measured), for plotting the two points of the closest approach.
    """

    time_s: float
    dist_m: float
    dalt_m: float
    lat_deg: float
    lon_deg: float
    alt_a_m: float
    alt_b_m: float
    lat_a_deg: float
    lon_a_deg: float
    lat_b_deg: float
    lon_b_deg: float


@dataclass(frozen=True)
class Alert:
    """A predicted loss of separation of one pair, merged over consecutive steps."""

    a: str
    b: str
    callsign_a: str
    callsign_b: str
    first_s: float
    last_s: float
    steps: int
    min_dcpa_m: float
    """Smallest predicted CPA distance over the alert."""
    min_time_to_los_s: float
    """Shortest predicted time to loss of separation (0 once in loss)."""


@dataclass(frozen=True)
class Incident:
    """An actual loss of separation of one pair: consecutive steps below both minima."""

    a: str
    b: str
    callsign_a: str
    callsign_b: str
    start_s: float
    end_s: float
    steps: int
    closest_horizontal: Closest
    closest_vertical: Closest
    alert_lead_s: float | None
    """How long before the incident the pair's alert started (``None``: no alert before)."""


@dataclass(frozen=True)
class ReplayReport:
    """Everything a replay found, with the settings and data counts behind it."""

    source: str
    settings: ReplaySettings
    start_s: float
    end_s: float
    steps: int
    rows: int
    rejected: dict[str, int]
    aircraft: int
    max_airborne: int
    alerts: tuple[Alert, ...]
    incidents: tuple[Incident, ...]
    detect_s: float
    left_out: dict[str, int] = field(default_factory=dict)
    """Accepted reports that took no part in detection, per reason of
    :data:`~deconflict.tactical.states.LEFT_OUT_REASONS`."""


def clean_tracks(tracks: Tracks, settings: ReplaySettings) -> CleanTracks:
    """Reject duplicate, repeated-position and altitude-spike reports; sort the rest by time.

    Raises
    ------
    ValueError
        The tracks have no ``time_s``.
    """
    if tracks.time_s is None:
        raise ValueError("replay needs report times (a time_s column)")
    ids, aircraft = np.unique(tracks.ids, return_inverse=True)
    aircraft = aircraft.astype(np.int64)
    order = np.lexsort((tracks.time_s, aircraft))
    keep = np.zeros(len(tracks), dtype=bool)
    rejected = {"duplicate_time": 0, "repeated_position": 0, "altitude_spike": 0, "implausible_speed": 0}
    s = tracks.states
    times = tracks.time_s
    implausible = implausible_values(tracks, settings.plausible())
    previous = -1
    for row in order.tolist():
        if previous >= 0 and aircraft[previous] != aircraft[row]:
            previous = -1
        if implausible.altitude[row]:
            rejected["altitude_spike"] += 1
            continue
        if implausible.speed[row]:
            rejected["implausible_speed"] += 1
            continue
        if previous >= 0:
            dt = times[row] - times[previous]
            if dt == 0.0:
                rejected["duplicate_time"] += 1
                continue
            if dt <= settings.stale_s:
                if (
                    s.lat_deg[row] == s.lat_deg[previous]
                    and s.lon_deg[row] == s.lon_deg[previous]
                    and s.gs_mps[row] * dt > MOVED_M
                ):
                    rejected["repeated_position"] += 1
                    continue
                max_vs_mps = settings.max_vs_mps
                if altitude_jumps(s.alt_m[row], s.alt_m[previous], s.vs_mps[previous], dt, max_vs_mps):
                    rejected["altitude_spike"] += 1
                    continue
        keep[row] = True
        previous = row
    accepted = np.flatnonzero(keep)
    by_time = accepted[np.argsort(times[accepted], kind="stable")]
    return CleanTracks(
        ids=ids,
        aircraft=aircraft[by_time],
        callsigns=tracks.callsigns[by_time],
        time_s=times[by_time],
        states=s.take(by_time),
        rejected=rejected,
        on_ground=np.zeros(by_time.size, dtype=bool)
        if tracks.on_ground is None
        else tracks.on_ground[by_time],
    )


@dataclass
class _OpenAlert:
    first_s: float
    last_s: float
    steps: int
    min_dcpa_m: float
    min_time_to_los_s: float
    callsigns: tuple[str, str]


@dataclass
class _OpenIncident:
    start_s: float
    end_s: float
    steps: int
    horizontal: Closest
    vertical: Closest
    callsigns: tuple[str, str]


def replay(
    tracks: Tracks,
    settings: ReplaySettings | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Replay tracks and merge the detections of every step into alerts and incidents.

    Parameters
    ----------
    tracks
        Tracks with report times.
    settings
        Step, cleaning and merging rules; the defaults suit 1 s ADS-B data.
    on_step
        Called as ``on_step(done, total)`` before the first step and after each step
        (progress display).
    """
    settings = settings or ReplaySettings()
    clean = clean_tracks(tracks, settings)
    detection = DetectionSettings(
        settings.detection.rpz_m, settings.vertical_minimum_m, settings.detection.lookahead_s
    )
    n_reports = clean.time_s.size
    reasons = left_out(clean.states, settings.ground, clean.on_ground)
    counts = {reason: int(mask.sum()) for reason, mask in reasons.items()}
    if n_reports == 0:
        return ReplayReport(
            tracks.source,
            settings,
            math.nan,
            math.nan,
            0,
            len(tracks),
            clean.rejected,
            0,
            0,
            (),
            (),
            0.0,
            counts,
        )
    start_s = float(clean.time_s[0])
    end_s = float(clean.time_s[-1])
    total = math.floor((end_s - start_s) / settings.step_s + 1e-9) + 1
    latest = np.full(clean.ids.size, -1, dtype=np.int64)
    flying = ~np.logical_or.reduce(list(reasons.values()))
    seen = np.zeros(clean.ids.size, dtype=bool)
    next_report = 0
    max_airborne = 0
    detect_s = 0.0
    open_alerts: dict[tuple[int, int], _OpenAlert] = {}
    open_incidents: dict[tuple[int, int], _OpenIncident] = {}
    alerts: list[Alert] = []
    incidents: list[Incident] = []
    ids = clean.ids.tolist()

    def close_alert(pair: tuple[int, int], alert: _OpenAlert) -> None:
        alerts.append(
            Alert(
                ids[pair[0]],
                ids[pair[1]],
                *alert.callsigns,
                alert.first_s,
                alert.last_s,
                alert.steps,
                alert.min_dcpa_m,
                alert.min_time_to_los_s,
            )
        )

    def close_incident(pair: tuple[int, int], incident: _OpenIncident) -> None:
        incidents.append(
            Incident(
                ids[pair[0]],
                ids[pair[1]],
                *incident.callsigns,
                incident.start_s,
                incident.end_s,
                incident.steps,
                incident.horizontal,
                incident.vertical,
                None,
            )
        )

    if on_step is not None:
        on_step(0, total)
    step = 0
    while step < total:
        now_s = start_s + step * settings.step_s
        while next_report < n_reports and clean.time_s[next_report] <= now_s + 1e-9:
            latest[clean.aircraft[next_report]] = next_report
            next_report += 1
        has = latest >= 0
        report = latest[has]
        fresh = (now_s - clean.time_s[report] <= settings.stale_s) & flying[report]
        active = np.flatnonzero(has)[fresh]  # aircraft indices
        rows = report[fresh]
        seen[active] = True
        max_airborne = max(max_airborne, int(active.size))
        states = dead_reckon(clean.states.take(rows), now_s - clean.time_s[rows])
        started = time.perf_counter()
        found = detect(states, detection)
        detect_s += time.perf_counter() - started

        c = found.conflicts
        for k in range(len(c)):
            ia, ib = int(active[c.a[k]]), int(active[c.b[k]])
            pair = (ia, ib) if ids[ia] < ids[ib] else (ib, ia)
            to_los = max(float(c.tin_s[k]), 0.0)
            alert = open_alerts.get(pair)
            if alert is not None and now_s - alert.last_s > settings.alert_gap_s + settings.step_s + 1e-9:
                close_alert(pair, open_alerts.pop(pair))
                alert = None
            if alert is None:
                calls = (str(clean.callsigns[rows[c.a[k]]]), str(clean.callsigns[rows[c.b[k]]]))
                if pair[0] != ia:
                    calls = (calls[1], calls[0])
                open_alerts[pair] = _OpenAlert(now_s, now_s, 1, float(c.dcpa_m[k]), to_los, calls)
            else:
                alert.last_s = now_s
                alert.steps += 1
                alert.min_dcpa_m = min(alert.min_dcpa_m, float(c.dcpa_m[k]))
                alert.min_time_to_los_s = min(alert.min_time_to_los_s, to_los)

        los = found.los
        in_los: set[tuple[int, int]] = set()
        for k in range(len(los)):
            ka, kb = int(los.a[k]), int(los.b[k])
            ia, ib = int(active[ka]), int(active[kb])
            if ids[ia] > ids[ib]:
                ka, kb, ia, ib = kb, ka, ib, ia
            pair = (ia, ib)
            in_los.add(pair)
            lat_a, lon_a = float(states.lat_deg[ka]), float(states.lon_deg[ka])
            lat_b, lon_b = float(states.lat_deg[kb]), float(states.lon_deg[kb])
            lon, lat = midpoint(lon_a, lat_a, lon_b, lat_b)
            moment = Closest(
                now_s,
                float(los.dist_m[k]),
                float(los.dalt_m[k]),
                lat,
                lon,
                float(states.alt_m[ka]),
                float(states.alt_m[kb]),
                lat_a,
                lon_a,
                lat_b,
                lon_b,
            )
            incident = open_incidents.get(pair)
            if incident is None:
                calls = (str(clean.callsigns[rows[ka]]), str(clean.callsigns[rows[kb]]))
                open_incidents[pair] = _OpenIncident(now_s, now_s, 1, moment, moment, calls)
            else:
                incident.end_s = now_s
                incident.steps += 1
                if moment.dist_m < incident.horizontal.dist_m:
                    incident.horizontal = moment
                if moment.dalt_m < incident.vertical.dalt_m:
                    incident.vertical = moment
        for pair in [p for p in open_incidents if p not in in_los]:
            close_incident(pair, open_incidents.pop(pair))
        step += 1
        if active.size == 0 and not open_incidents and next_report < n_reports:
            # Nobody airborne: nothing can happen before the next report; skip the idle steps.
            step = max(step, math.ceil((float(clean.time_s[next_report]) - start_s) / settings.step_s - 1e-9))
        if on_step is not None:
            on_step(step, total)

    for pair, alert in open_alerts.items():
        close_alert(pair, alert)
    for pair, incident in open_incidents.items():
        close_incident(pair, incident)
    alerts.sort(key=lambda x: (x.first_s, x.a, x.b))
    incidents = _with_leads(incidents, alerts)
    incidents.sort(key=lambda x: (x.start_s, x.a, x.b))
    return ReplayReport(
        source=tracks.source,
        settings=settings,
        start_s=start_s,
        end_s=start_s + (total - 1) * settings.step_s,
        steps=total,
        rows=len(tracks),
        rejected=clean.rejected,
        aircraft=int(seen.sum()),
        max_airborne=max_airborne,
        alerts=tuple(alerts),
        incidents=tuple(incidents),
        detect_s=detect_s,
        left_out=counts,
    )


def _with_leads(incidents: list[Incident], alerts: list[Alert]) -> list[Incident]:
    """Each incident with the lead time of the alert of the same pair that covers its start."""
    by_pair: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        by_pair.setdefault((alert.a, alert.b), []).append(alert)
    result = []
    for incident in incidents:
        lead = None
        for alert in by_pair.get((incident.a, incident.b), []):
            if alert.first_s <= incident.start_s <= alert.last_s:
                lead = incident.start_s - alert.first_s
        result.append(dataclasses.replace(incident, alert_lead_s=lead))
    return result
