"""An HTML report of a replay for an analyst: summary, timeline, and plots of each incident.

:func:`write_report` writes ``index.html`` and PNG files beside it into one
directory. The page needs no network: plain HTML with inline CSS and relative
image paths, so the directory can be zipped and mailed.

- **Summary**: the file replayed, its time span, aircraft, rows, alerts and incidents.
- **Timeline** (``timeline.png``): one row per aircraft pair, alerts as light
  bars and incidents as red bars over UTC time.
- **Per incident**: the facts (pair, start/end, closest horizontal and vertical
  separation with where and when), a plan view (``incident-NNN-plan.png``) of
  both aircraft's reported positions around the closest approach in a local
  east/north frame with the two closest-approach points joined and the
  separation annotated, and an altitude-time profile
  (``incident-NNN-profile.png``) with the 1000 ft band around aircraft A.

The plots show the **accepted** reports (:func:`~deconflict.tactical.replay.clean_tracks`
with the replay's own settings, so rejected altitude spikes do not reappear) and
lines are broken where an aircraft went unreported for longer than ``stale_s``:
nothing is interpolated across a gap. The closest-approach points are the
dead-reckoned positions the detector measured.

The folder appears whole or not at all: the report is written into a hidden
temporary sibling (``.NAME.*.partial``) and renamed into place at the end, so
an interrupted or failed run leaves no half-written report. An existing folder
is replaced only when asked (``force``).

A big replay stays bounded: at most ``max_incidents`` incident sections (the
closest by horizontal separation; the page says when it shows fewer than all)
and ``max_timeline_pairs`` rows in the timeline.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: no global figure state, no display, PNG via the Agg canvas.
"""

from __future__ import annotations

import html
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch
from numpy.typing import NDArray

from deconflict.errors import InputError, Problem
from deconflict.geometry.geodesy import aeqd_xy_m
from deconflict.tactical.replay import CleanTracks, Incident, ReplayReport, clean_tracks
from deconflict.tactical.tracks import Tracks
from deconflict.units import FT_TO_M, NM_TO_M

__all__ = [
    "MAX_HALF_WINDOW_S",
    "MAX_INCIDENTS",
    "MAX_TIMELINE_PAIRS",
    "WINDOW_MARGIN_S",
    "ReportFolder",
    "incident_order",
    "write_report",
]

MAX_INCIDENTS = 50
"""Incident sections on the page by default (the closest ones)."""
MAX_TIMELINE_PAIRS = 40
"""Rows (aircraft pairs) in the timeline by default."""
WINDOW_MARGIN_S = 120.0
"""Seconds of track plotted before an incident starts and after it ends."""
MAX_HALF_WINDOW_S = 600.0
"""Never more than this many seconds plotted either side of the closest approach (long incidents)."""

DPI = 100
COLOR_A = "tab:blue"
COLOR_B = "tab:orange"
COLOR_ALERT = "#f2b84b"
COLOR_INCIDENT = "#c0392b"
STRICT_VERTICAL_M = 1000.0 * FT_TO_M
"""The 1000 ft band drawn around aircraft A in the profile."""
MAX_TIMELINE_PANELS = 4
"""The timeline's time axis is broken into at most this many panels (bursts of activity)."""
TIMELINE_QUIET_S = 600.0
"""Quiet spells longer than this (or a tenth of the replay's span) are cut out of the timeline's axis."""
LABEL_CHARS = 24
"""Identifiers and callsigns are cut to this length in plot labels (the page has them whole)."""

Float = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class _Track:
    """Accepted reports of one aircraft in a time window, sorted by time."""

    time_s: Float
    lat_deg: Float
    lon_deg: Float
    alt_m: Float


def _utc(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%H:%M:%S")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _plain(text: str) -> str:
    """A label matplotlib shows as typed: cut to length, ``$`` not read as mathtext."""
    if len(text) > LABEL_CHARS:
        text = text[: LABEL_CHARS - 1] + "…"
    return text.replace("$", r"\$")


def _name(aircraft_id: str, callsign: str) -> str:
    """``CALLSIGN (id)``, or just the id when there is no callsign."""
    return f"{callsign} ({aircraft_id})" if callsign.strip() else aircraft_id


def _pair(incident: Incident) -> str:
    return f"{incident.callsign_a or incident.a} / {incident.callsign_b or incident.b}"


def _plot_pair(incident: Incident) -> str:
    """The pair for a plot title, each name cut to length on its own."""
    return f"{_plain(incident.callsign_a or incident.a)} / {_plain(incident.callsign_b or incident.b)}"


def incident_order(report: ReplayReport, max_incidents: int = MAX_INCIDENTS) -> list[int]:
    """Indices into ``report.incidents`` of the incidents the report shows, in time order.

    The closest ``max_incidents`` by horizontal separation at their closest
    approach (ties: smaller vertical separation first).

    Raises
    ------
    ValueError
        ``max_incidents`` is negative.
    """
    if max_incidents < 0:
        raise ValueError(f"max_incidents must be >= 0, got {max_incidents}")
    incidents = report.incidents
    closest = sorted(
        range(len(incidents)),
        key=lambda k: (incidents[k].closest_horizontal.dist_m, incidents[k].closest_horizontal.dalt_m, k),
    )
    return sorted(closest[:max_incidents])


def _window_s(incident: Incident) -> tuple[float, float]:
    """The time window plotted around an incident: the incident plus margins, bounded around the CPA."""
    cpa_s = incident.closest_horizontal.time_s
    return (
        max(incident.start_s - WINDOW_MARGIN_S, cpa_s - MAX_HALF_WINDOW_S),
        min(incident.end_s + WINDOW_MARGIN_S, cpa_s + MAX_HALF_WINDOW_S),
    )


def _track(clean: CleanTracks, aircraft_id: str, lo_s: float, hi_s: float) -> _Track:
    """Accepted reports of ``aircraft_id`` between ``lo_s`` and ``hi_s`` (inclusive)."""
    index = int(np.searchsorted(clean.ids, aircraft_id))
    first = int(np.searchsorted(clean.time_s, lo_s, side="left"))
    last = int(np.searchsorted(clean.time_s, hi_s, side="right"))
    rows = first + np.flatnonzero(clean.aircraft[first:last] == index)
    if index >= clean.ids.size or clean.ids[index] != aircraft_id:
        rows = rows[:0]
    s = clean.states
    return _Track(clean.time_s[rows], s.lat_deg[rows], s.lon_deg[rows], s.alt_m[rows])


def _broken(time_s: Float, values: Float, gap_s: float) -> tuple[Float, Float]:
    """``(time_s, values)`` with a NaN inserted in each gap longer than ``gap_s``, so lines break there."""
    gaps = np.flatnonzero(np.diff(time_s) > gap_s) + 1
    return np.insert(time_s, gaps, np.nan), np.insert(values, gaps, np.nan)


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=DPI, format="png", metadata={"Software": None})


def _latlon(lat_deg: float, lon_deg: float) -> str:
    """``48.9920° N, 3.0507° E``."""
    north = "N" if lat_deg >= 0.0 else "S"
    east = "E" if lon_deg >= 0.0 else "W"
    return f"{abs(lat_deg):.4f}° {north}, {abs(lon_deg):.4f}° {east}"


def _emptiest_corner(x: Float, y: Float) -> tuple[float, float]:
    """The corner (axes fraction) of the points' bounding box with the fewest points near it, for a label."""
    corners = ((0.03, 0.97), (0.97, 0.97), (0.03, 0.03), (0.97, 0.03))
    if x.size == 0:
        return corners[0]
    span_x = max(float(np.ptp(x)), 1e-9)
    span_y = max(float(np.ptp(y)), 1e-9)
    u = (x - x.min()) / span_x
    v = (y - y.min()) / span_y
    crowding = [int(np.count_nonzero((np.abs(u - cu) < 0.4) & (np.abs(v - cv) < 0.3))) for cu, cv in corners]
    return corners[int(np.argmin(crowding))]


def _plan_figure(
    number: int, incident: Incident, track_a: _Track, track_b: _Track, rpz_m: float, gap_s: float
) -> Figure:
    """Plan view in a local east/north km frame centred on the midpoint of the closest approach."""
    h = incident.closest_horizontal
    figure = Figure(figsize=(6.4, 6.6), layout="constrained")
    ax = figure.add_subplot()
    legs = (
        (track_a, incident.a, incident.callsign_a, COLOR_A, h.lat_a_deg, h.lon_a_deg, "A"),
        (track_b, incident.b, incident.callsign_b, COLOR_B, h.lat_b_deg, h.lon_b_deg, "B"),
    )
    cpa_km: list[tuple[float, float]] = []
    tracks_km: list[tuple[Float, Float]] = []
    for track, aircraft_id, callsign, color, cpa_lat, cpa_lon, letter in legs:
        x_m, y_m = aeqd_xy_m(
            h.lon_deg, h.lat_deg, np.append(track.lon_deg, cpa_lon), [*track.lat_deg, cpa_lat]
        )
        x_km, y_km = x_m / 1000.0, y_m / 1000.0
        cpa_km.append((float(x_km[-1]), float(y_km[-1])))
        x_km, y_km = x_km[:-1], y_km[:-1]
        tracks_km.append((x_km, y_km))
        label = f"{letter}: {_plain(_name(aircraft_id, callsign))}"
        _, line_x = _broken(track.time_s, x_km, gap_s)
        _, line_y = _broken(track.time_s, y_km, gap_s)
        ax.plot(line_x, line_y, "-", color=color, lw=1.2, marker=".", ms=3, label=label)
        during = (track.time_s >= incident.start_s) & (track.time_s <= incident.end_s)
        ax.plot(x_km[during], y_km[during], "-", color=color, lw=6, alpha=0.35, solid_capstyle="round")
        if x_km.size >= 2:  # direction of flight
            ax.annotate(
                "",
                xy=(x_km[-1], y_km[-1]),
                xytext=(x_km[-2], y_km[-2]),
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.5, "mutation_scale": 18},
            )
        if x_km.size:
            ax.plot(x_km[0], y_km[0], "o", color=color, mfc="white", ms=6)
    (xa, ya), (xb, yb) = cpa_km
    track_a_km, track_b_km = tracks_km
    ax.add_patch(
        Circle(
            (xa, ya),
            rpz_m / 1000.0,
            fill=False,
            ls=":",
            lw=1.0,
            color=COLOR_A,
            label=f"{rpz_m / NM_TO_M:g} NM around A at closest approach",
        )
    )
    ax.plot([xa, xb], [ya, yb], "--", color="black", lw=1.2)
    ax.plot([xa], [ya], "o", color=COLOR_A, mec="black", ms=9, zorder=5)
    ax.plot([xb], [yb], "o", color=COLOR_B, mec="black", ms=9, zorder=5)
    corner = _emptiest_corner(
        np.concatenate([track_a_km[0], track_b_km[0], [xa, xb]]),
        np.concatenate([track_a_km[1], track_b_km[1], [ya, yb]]),
    )
    ax.text(
        *corner,
        f"closest approach (- - -)\n{h.dist_m / NM_TO_M:.2f} NM ({h.dist_m / 1000.0:.2f} km)\n"
        f"{h.dalt_m / FT_TO_M:.0f} ft vertical",
        transform=ax.transAxes,
        ha="left" if corner[0] < 0.5 else "right",
        va="bottom" if corner[1] < 0.5 else "top",
        fontsize=9,
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.5", "alpha": 0.95},
        zorder=6,
    )
    ax.plot([], [], "o", color="white", mec="black", ms=9, label="closest approach (joined)")
    ax.plot([], [], "-", color="0.5", lw=6, alpha=0.35, label="in loss of separation")
    ax.plot([], [], "o", color="0.5", mfc="white", ms=6, label="first report shown")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("east of closest approach (km)")
    ax.set_ylabel("north of closest approach (km)")
    ax.set_title(
        f"Incident {number}: {_plot_pair(incident)}, plan view\n"
        f"closest approach {_clock(h.time_s)} UTC near {_latlon(h.lat_deg, h.lon_deg)}",
        fontsize=11,
    )
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return figure


def _profile_figure(
    number: int, incident: Incident, track_a: _Track, track_b: _Track, gap_s: float, step_s: float
) -> Figure:
    """Altitude (ft) against time from the closest approach (s), with the 1000 ft band around A."""
    h = incident.closest_horizontal
    cpa_s = h.time_s
    figure = Figure(figsize=(7.6, 6.0), layout="constrained")
    ax = figure.add_subplot()
    ax.axvspan(
        incident.start_s - cpa_s,
        incident.end_s + step_s - cpa_s,
        color=COLOR_INCIDENT,
        alpha=0.12,
        lw=0,
        label="loss of separation",
    )
    if track_a.time_s.size:
        band_t, band_alt = _broken(track_a.time_s - cpa_s, track_a.alt_m / FT_TO_M, gap_s)
        band_ft = STRICT_VERTICAL_M / FT_TO_M
        ax.fill_between(
            band_t,
            band_alt - band_ft,
            band_alt + band_ft,
            color=COLOR_A,
            alpha=0.12,
            lw=0,
            label="A ± 1000 ft",
        )
    for track, aircraft_id, callsign, color, letter in (
        (track_a, incident.a, incident.callsign_a, COLOR_A, "A"),
        (track_b, incident.b, incident.callsign_b, COLOR_B, "B"),
    ):
        line_t, line_alt = _broken(track.time_s - cpa_s, track.alt_m / FT_TO_M, gap_s)
        ax.plot(
            line_t,
            line_alt,
            "-",
            color=color,
            lw=1.5,
            marker=".",
            ms=3,
            label=f"{letter}: {_plain(_name(aircraft_id, callsign))}",
        )
    alt_a_ft, alt_b_ft = h.alt_a_m / FT_TO_M, h.alt_b_m / FT_TO_M
    ax.plot([0.0, 0.0], [alt_a_ft, alt_b_ft], "--", color="black", lw=1.2)
    ax.plot([0.0], [alt_a_ft], "o", color=COLOR_A, mec="black", ms=8, zorder=5)
    ax.plot([0.0], [alt_b_ft], "o", color=COLOR_B, mec="black", ms=8, zorder=5)
    ax.plot([], [], "o", color="white", mec="black", ms=8, label="closest approach (joined)")
    ax.annotate(
        f"{h.dalt_m / FT_TO_M:.0f} ft at {h.dist_m / NM_TO_M:.2f} NM",
        xy=(0.0, (alt_a_ft + alt_b_ft) / 2.0),
        xytext=(10, 0),
        textcoords="offset points",
        va="center",
        fontsize=9,
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.6", "alpha": 0.9},
        zorder=6,
    )
    ax.grid(True, alpha=0.3)
    ax.set_xlabel(f"time from closest approach (s; 0 = {_clock(cpa_s)} UTC)")
    ax.set_ylabel("altitude (ft)")
    ax.set_title(f"Incident {number}: {_plot_pair(incident)}, altitude profile", fontsize=11)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return figure


def _timeline_pairs(report: ReplayReport, max_pairs: int) -> tuple[list[tuple[str, str]], int]:
    """The pairs shown in the timeline (incident pairs first, then most urgent alerts) and how many exist."""
    rank: dict[tuple[str, str], tuple[int, float, float]] = {}
    for incident in report.incidents:
        key = (incident.a, incident.b)
        value = (0, incident.closest_horizontal.dist_m, 0.0)
        rank[key] = min(rank.get(key, value), value)
    for alert in report.alerts:
        key = (alert.a, alert.b)
        value = (1, alert.min_time_to_los_s, alert.min_dcpa_m)
        rank[key] = min(rank.get(key, value), value)
    chosen = sorted(rank, key=lambda key: (*rank[key], key))[:max_pairs]
    return chosen, len(rank)


def _activity_spans(intervals: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    """Intervals merged where less than ``gap_s`` apart, sorted by time."""
    spans: list[tuple[float, float]] = []
    for lo_s, hi_s in sorted(intervals):
        if spans and lo_s - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi_s))
        else:
            spans.append((lo_s, hi_s))
    return spans


def _quiet_s(report: ReplayReport) -> float:
    """Quiet spells longer than this are cut out of the timeline's axis."""
    return max(TIMELINE_QUIET_S, 0.1 * (report.end_s - report.start_s))


def _timeline_panels(report: ReplayReport, intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The time ranges of the timeline's panels: the whole replay, or bursts of activity between quiet spells.

    Recorded samples are often slices hours apart; one axis over the whole span
    would squeeze every bar into a sliver, so quiet spells longer than
    :data:`TIMELINE_QUIET_S` (or a tenth of the span) are cut out, for at most
    :data:`MAX_TIMELINE_PANELS` panels.
    """
    whole = [(report.start_s, report.end_s + report.settings.step_s)]
    if not intervals:
        return whole
    span_s = whole[0][1] - whole[0][0]
    spans = _activity_spans(intervals, _quiet_s(report))
    if len(spans) > MAX_TIMELINE_PANELS or sum(hi - lo for lo, hi in spans) > 0.5 * span_s:
        return whole
    padded = []
    for lo_s, hi_s in spans:
        pad_s = max(30.0, 0.05 * (hi_s - lo_s))
        padded.append((lo_s - pad_s, hi_s + pad_s))
    return padded


def _day(time_s: float) -> float:
    """Epoch seconds as matplotlib's date number (days)."""
    # matplotlib.dates has no type annotations (hence the ignores); it picks round UTC clock ticks.
    return float(mdates.date2num(datetime.fromtimestamp(time_s, UTC)))  # type: ignore[no-untyped-call]


def _timeline_figure(report: ReplayReport, max_pairs: int) -> tuple[Figure, int, int]:
    """Alerts and incidents per pair over UTC time; returns the figure, pairs shown and pairs in all."""
    chosen, n_pairs = _timeline_pairs(report, max_pairs)
    step_s = report.settings.step_s
    first_s: dict[tuple[str, str], float] = {}
    names: dict[tuple[str, str], str] = {}
    starts = [(a, a.first_s) for a in report.alerts] + [(i, i.start_s) for i in report.incidents]
    for item, start_s in starts:
        key = (item.a, item.b)
        first_s[key] = min(first_s.get(key, math.inf), start_s)
        names[key] = f"{_plain(item.callsign_a or item.a)} / {_plain(item.callsign_b or item.b)}"
    rows = sorted(chosen, key=lambda key: (first_s[key], key))
    row_of = {key: k for k, key in enumerate(rows)}
    alerts = [
        (row_of[(a.a, a.b)], a.first_s, a.last_s + step_s) for a in report.alerts if (a.a, a.b) in row_of
    ]
    incidents = [
        (row_of[(i.a, i.b)], i.start_s, i.end_s + step_s) for i in report.incidents if (i.a, i.b) in row_of
    ]
    panels = (
        _timeline_panels(report, [(lo, hi) for _, lo, hi in (*alerts, *incidents)]) if report.steps else []
    )

    height_in = max(2.8, 1.6 + 0.3 * len(rows))
    figure = Figure(figsize=(11.0, height_in), layout="constrained")
    widths = [max(hi - lo, 0.15 * sum(h - lo_ for lo_, h in panels)) for lo, hi in panels] or [1.0]
    axes = figure.subplots(1, len(widths), sharey=True, squeeze=False, width_ratios=widths)[0]
    seconds_per_day = 86_400.0
    for k, ax in enumerate(axes):
        for row, lo_s, hi_s in alerts:
            ax.broken_barh(
                [(_day(lo_s), (hi_s - lo_s) / seconds_per_day)], (row - 0.35, 0.7), color=COLOR_ALERT
            )
        for row, lo_s, hi_s in incidents:
            ax.broken_barh(
                [(_day(lo_s), (hi_s - lo_s) / seconds_per_day)], (row - 0.2, 0.4), color=COLOR_INCIDENT
            )
            # Incidents of a few seconds are thinner than a pixel on a span of hours: mark them too.
            ax.plot([_day(lo_s)], [row], "d", color=COLOR_INCIDENT, ms=6, mec="white", mew=0.5)
        ax.grid(True, axis="x", alpha=0.3)
        if not panels:
            ax.set_xticks([])
            continue
        lo_s, hi_s = panels[k]
        ax.set_xlim(_day(lo_s), _day(hi_s))
        locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
        formatter = mdates.ConciseDateFormatter(locator, tz=UTC, show_offset=False)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(formatter)
        ax.tick_params(axis="x", labelsize=8)
        if k > 0:  # break marks between panels, as in matplotlib's broken-axis example
            ax.spines["left"].set_visible(False)
            ax.tick_params(axis="y", left=False)
        if k < len(axes) - 1:
            ax.spines["right"].set_visible(False)
        marks = {"marker": [(-1, -2), (1, 2)], "ms": 10, "ls": "none", "color": "0.3", "mec": "0.3", "mew": 1}
        for side, needed in ((0.0, k > 0), (1.0, k < len(axes) - 1)):
            if needed:
                ax.plot([side, side], [0.0, 1.0], transform=ax.transAxes, clip_on=False, **marks)
    first = axes[0]
    if rows:
        first.set_yticks(range(len(rows)), [names[key] for key in rows], fontsize=8)
        first.set_ylim(len(rows) - 0.5, -0.5)
        figure.legend(
            handles=[
                Patch(color=COLOR_ALERT, label="alert\n(predicted loss\nof separation)"),
                Patch(color=COLOR_INCIDENT, label="incident\n(actual loss\nof separation)"),
            ],
            loc="outside right upper",
            fontsize=8,
            frameon=False,
        )
    else:
        first.set_yticks([])
        first.text(0.5, 0.5, "No alerts or incidents", ha="center", va="center", transform=first.transAxes)
    if report.steps:
        days = sorted(
            {datetime.fromtimestamp(t, UTC).date().isoformat() for t in (report.start_s, report.end_s)}
        )
        label = f"time (UTC) on {' to '.join(days)}"
        if len(panels) > 1:
            label += f"; axis cut where nothing happened for more than {_quiet_s(report) / 60.0:.0f} min"
        figure.supxlabel(label, fontsize=10)
    title = "Alerts and incidents per aircraft pair"
    if len(rows) < n_pairs:
        title += f" ({len(rows)} of {n_pairs} pairs: incident pairs and the most urgent alerts)"
    figure.suptitle(title, fontsize=11)
    return figure, len(rows), n_pairs


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1300px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
section { border-top: 2px solid #ddd; margin-top: 2em; padding-top: 0.5em; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
.plots img, img.timeline { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #555; font-style: italic; }
"""


def _e(value: object) -> str:
    """``value`` as text escaped for HTML (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def _rows(rows: Sequence[tuple[str, str]]) -> str:
    """Table rows of (header, already escaped HTML value)."""
    return "\n".join(f"<tr><th>{_e(name)}</th><td>{value}</td></tr>" for name, value in rows)


def _left_out(report: ReplayReport) -> str:
    """Reports left out of detection per reason, and the altitude floor if one was chosen."""
    floor_m = report.settings.ground.min_alt_m
    labels = {"on_ground": "on the ground", "below_min_alt": "at or below the floor", "too_slow": "too slow"}
    text = ", ".join(f"{n:,} {labels.get(k, k)}" for k, n in report.left_out.items() if n) or "none"
    return text + ("" if floor_m is None else f" (altitude floor {floor_m / FT_TO_M:,.0f} ft)")


def _summary_html(report: ReplayReport, timeline_rows: int, timeline_pairs: int) -> str:
    s = report.settings
    rejected = sum(report.rejected.values())
    kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.rejected.items() if n)
    if report.steps:
        span = (
            f"{_e(_utc(report.start_s))} to {_e(_utc(report.end_s))} "
            f"({_e(_duration(report.end_s - report.start_s))}, {report.steps} steps of {s.step_s:g} s)"
        )
    else:
        span = "no usable reports"
    rows = [
        ("File replayed", f"<code>{_e(report.source)}</code>"),
        ("Time span", span),
        ("Aircraft", f"{report.aircraft} airborne at some time, at most {report.max_airborne} at once"),
        ("Rows read", f"{report.rows:,}" + (f" ({rejected:,} rejected: {_e(kinds)})" if rejected else "")),
        ("Left out of detection", _e(_left_out(report))),
        ("Alerts", f"{len(report.alerts)} (predicted losses of separation)"),
        ("Incidents", f"{len(report.incidents)} (actual losses of separation)"),
        (
            "Minima",
            _e(
                f"{s.detection.rpz_m / NM_TO_M:g} NM horizontally, {s.vertical_minimum_m / FT_TO_M:.1f} ft "
                f"vertically (1000 ft less 1.5 altitude steps of {s.alt_quantum_m / FT_TO_M:g} ft); "
                f"look-ahead {s.detection.lookahead_s:g} s"
            ),
        ),
    ]
    parts = [f'<table class="summary">\n{_rows(rows)}\n</table>']
    parts.append("<h2>Timeline</h2>")
    if timeline_rows < timeline_pairs:
        parts.append(
            f'<p class="note">The timeline shows {timeline_rows} of {timeline_pairs} aircraft pairs: '
            "those with incidents first, then those with the most urgent alerts.</p>"
        )
    parts.append(
        '<img class="timeline" src="timeline.png" alt="Timeline of alerts and incidents per aircraft pair">'
    )
    return "\n".join(parts)


def _incident_html(number: int, incident: Incident, step_s: float, plan: str, profile: str) -> str:
    h = incident.closest_horizontal
    v = incident.closest_vertical
    lead = (
        "none (no alert before the incident)"
        if incident.alert_lead_s is None
        else f"{incident.alert_lead_s:.0f} s (the pair's alert started that long before the incident)"
    )
    rows = [
        ("Aircraft A", _e(_name(incident.a, incident.callsign_a))),
        ("Aircraft B", _e(_name(incident.b, incident.callsign_b))),
        ("Start", _e(_utc(incident.start_s))),
        ("End", _e(_utc(incident.end_s))),
        ("Duration", _e(f"{_duration(incident.end_s - incident.start_s + step_s)} ({incident.steps} steps)")),
        (
            "Closest horizontal separation",
            _e(
                f"{h.dist_m / NM_TO_M:.2f} NM ({h.dist_m / 1000.0:.2f} km), "
                f"{h.dalt_m / FT_TO_M:.0f} ft vertically, at {_clock(h.time_s)} UTC, "
                f"near {_latlon(h.lat_deg, h.lon_deg)}; "
                f"A at {h.alt_a_m / FT_TO_M:,.0f} ft, B at {h.alt_b_m / FT_TO_M:,.0f} ft"
            ),
        ),
        (
            "Closest vertical separation",
            _e(
                f"{v.dalt_m / FT_TO_M:.0f} ft at {v.dist_m / NM_TO_M:.2f} NM ({v.dist_m / 1000.0:.2f} km), "
                f"at {_clock(v.time_s)} UTC, near {_latlon(v.lat_deg, v.lon_deg)}"
            ),
        ),
        ("Alert lead", _e(lead)),
    ]
    title = f"Incident {number}: {_pair(incident)}"
    return (
        f'<section id="incident-{number}">\n<h3>{_e(title)}</h3>\n'
        f'<table>\n{_rows(rows)}\n</table>\n<div class="plots">\n'
        f'<img src="{_e(plan)}" alt="{_e(f"Plan view of incident {number}")}">\n'
        f'<img src="{_e(profile)}" alt="{_e(f"Altitude profile of incident {number}")}">\n'
        "</div>\n</section>"
    )


def _overview_html(report: ReplayReport, shown: list[int]) -> str:
    """A table of the incidents shown, each linking to its section."""
    header = "".join(
        f"<th>{name}</th>"
        for name in ("#", "aircraft", "start (UTC)", "duration", "closest (NM, ft)", "alert lead")
    )
    lines = []
    for k in shown:
        incident = report.incidents[k]
        h = incident.closest_horizontal
        lead = "none" if incident.alert_lead_s is None else f"{incident.alert_lead_s:.0f} s"
        duration = _duration(incident.end_s - incident.start_s + report.settings.step_s)
        lines.append(
            f'<tr><td class="num"><a href="#incident-{k + 1}">{k + 1}</a></td>'
            f"<td>{_e(_pair(incident))}</td><td>{_e(_clock(incident.start_s))}</td>"
            f'<td class="num">{_e(duration)}</td>'
            f'<td class="num">{h.dist_m / NM_TO_M:.2f} NM, {h.dalt_m / FT_TO_M:.0f} ft</td>'
            f'<td class="num">{_e(lead)}</td></tr>'
        )
    return f"<table>\n<tr>{header}</tr>\n" + "\n".join(lines) + "\n</table>"


def write_report(
    report: ReplayReport,
    tracks: Tracks,
    directory: str | Path | ReportFolder,
    *,
    force: bool = False,
    max_incidents: int = MAX_INCIDENTS,
    max_timeline_pairs: int = MAX_TIMELINE_PAIRS,
    on_plot: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the HTML report of a replay (``index.html`` and PNG plots) into ``directory``.

    Parameters
    ----------
    report
        What :func:`~deconflict.tactical.replay.replay` returned for ``tracks``.
    tracks
        The tracks replayed; cleaned again with ``report.settings`` for the plots.
    directory
        The report folder, created with its parents; or a :class:`ReportFolder` opened
        before a long replay. Written atomically (see the module docstring).
    force
        Replace an existing folder (with a path for ``directory``).
    max_incidents
        Incident sections at most: the closest by horizontal separation, shown in
        time order and numbered as in ``report.incidents`` (1-based).
    max_timeline_pairs
        Rows of the timeline at most (incident pairs first, then the most urgent alerts).
    on_plot
        Called as ``on_plot(done, total)`` after each figure (progress display).

    Returns
    -------
    Path
        The path of ``index.html``.

    Raises
    ------
    InputError
        The folder exists (without ``force``), is a file, or cannot be created or written.
    ValueError
        ``max_incidents`` is negative or ``max_timeline_pairs`` is not positive.
    """
    if max_timeline_pairs < 1:
        raise ValueError(f"max_timeline_pairs must be >= 1, got {max_timeline_pairs}")
    shown = incident_order(report, max_incidents)
    folder = directory if isinstance(directory, ReportFolder) else ReportFolder.open(directory, force=force)
    try:
        _write(report, tracks, folder.partial, shown, max_timeline_pairs, on_plot)
        folder.commit()
    except OSError as exc:
        folder.discard()
        raise _write_error(exc, folder.target) from exc
    except BaseException:  # an interrupt, too: no half-written report stays behind
        folder.discard()
        raise
    return folder.target / "index.html"


def _write_error(exc: OSError, directory: Path) -> InputError:
    where = exc.filename if exc.filename is not None else directory
    return InputError([Problem(str(where), f"cannot write the report: {exc.strerror or exc}")])


@dataclass(frozen=True)
class ReportFolder:
    """A report folder being written: ``partial``, a hidden sibling of ``target``, renamed into place.

    Open it before a long replay to fail early (an existing folder, a file in the
    way, no permission); :func:`write_report` writes into ``partial``, then
    :meth:`commit` renames it to ``target``, or :meth:`discard` removes it.
    """

    target: Path
    partial: Path
    force: bool = False

    @staticmethod
    def check(directory: str | Path, *, force: bool = False) -> Path:
        """The target folder, if a report may be written there (nothing is created).

        Raises
        ------
        InputError
            The folder exists and ``force`` is false, or the path is a file.
        """
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise InputError([Problem(str(target), "cannot write the report: not a directory")])
        if target.exists() and not force:
            raise InputError(
                [Problem(str(target), "the report folder already exists; use --force to replace it")]
            )
        return target

    @classmethod
    def open(cls, directory: str | Path, *, force: bool = False) -> ReportFolder:
        """Check the target (see :meth:`check`), create its parents and the temporary folder.

        Raises
        ------
        InputError
            As :meth:`check`, or the folders cannot be created.
        """
        target = cls.check(directory, force=force)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
            mask = os.umask(0o022)
            os.umask(mask)
            partial.chmod(0o777 & ~mask)  # as a plain mkdir would (mkdtemp makes it private)
        except OSError as exc:
            raise _write_error(exc, target) from exc
        return cls(target, partial, force)

    def commit(self) -> Path:
        """Rename the written folder into place, replacing an existing one when forced."""
        if self.target.exists() and self.force:
            aside = Path(
                tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=".old", dir=self.target.parent)
            )
            self.target.rename(aside / self.target.name)
            self.partial.rename(self.target)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            self.partial.rename(self.target)  # refused if a non-empty folder appeared meanwhile
        return self.target

    def discard(self) -> None:
        """Remove the temporary folder and whatever was written into it."""
        shutil.rmtree(self.partial, ignore_errors=True)


def _write(
    report: ReplayReport,
    tracks: Tracks,
    out: Path,
    shown: list[int],
    max_timeline_pairs: int,
    on_plot: Callable[[int, int], None] | None,
) -> Path:
    s = report.settings
    total = 1 + 2 * len(shown)
    figure, timeline_rows, timeline_pairs = _timeline_figure(report, max_timeline_pairs)
    _save(figure, out / "timeline.png")
    if on_plot is not None:
        on_plot(1, total)

    sections = []
    if shown:
        clean = clean_tracks(tracks, s)
        for k in shown:
            number = k + 1
            incident = report.incidents[k]
            lo_s, hi_s = _window_s(incident)
            track_a = _track(clean, incident.a, lo_s, hi_s)
            track_b = _track(clean, incident.b, lo_s, hi_s)
            plan = f"incident-{number:03d}-plan.png"
            profile = f"incident-{number:03d}-profile.png"
            _save(_plan_figure(number, incident, track_a, track_b, s.detection.rpz_m, s.stale_s), out / plan)
            _save(_profile_figure(number, incident, track_a, track_b, s.stale_s, s.step_s), out / profile)
            sections.append(_incident_html(number, incident, s.step_s, plan, profile))
            if on_plot is not None:
                on_plot(1 + 2 * len(sections), total)

    n = len(report.incidents)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(f'Replay report: {report.source}')}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<h1>Replay report</h1>",
        _summary_html(report, timeline_rows, timeline_pairs),
        "<h2>Incidents</h2>",
    ]
    if n == 0:
        parts.append("<p>No incident: no pair was below both minima at any step.</p>")
    else:
        if len(shown) < n:
            parts.append(
                f'<p class="note">Showing the {len(shown)} closest of {n} incidents (smallest horizontal '
                "separation at closest approach), in time order; <code>--json</code> lists all of them.</p>"
            )
        if shown:
            parts.append(_overview_html(report, shown))
        parts.extend(sections)
    parts += ["</body>", "</html>", ""]
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
