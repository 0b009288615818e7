"""The report's figures: each incident's plan view and altitude profile, and the timeline of all pairs.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: no global figure state, no display, PNG via the Agg canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch
from numpy.typing import NDArray

from deconflict.geometry.geodesy import aeqd_xy_m
from deconflict.report.text import aircraft_name, latlon_text, utc_clock
from deconflict.tactical.replay import CleanTracks, Incident, ReplayReport
from deconflict.units import FT_TO_M, NM_TO_M

__all__ = [
    "MAX_HALF_WINDOW_S",
    "WINDOW_MARGIN_S",
    "Track",
    "plan_figure",
    "plot_window_s",
    "profile_figure",
    "save_png",
    "timeline_figure",
    "track_in_window",
]

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
WINDOW_MARGIN_S = 120.0
"""Seconds of track plotted before an incident starts and after it ends."""
MAX_HALF_WINDOW_S = 600.0
"""Never more than this many seconds plotted either side of the closest approach (long incidents)."""


Float = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Track:
    """Accepted reports of one aircraft in a time window, sorted by time."""

    time_s: Float
    lat_deg: Float
    lon_deg: Float
    alt_m: Float


def _plain(text: str) -> str:
    """A label matplotlib shows as typed: cut to length, ``$`` not read as mathtext."""
    if len(text) > LABEL_CHARS:
        text = text[: LABEL_CHARS - 1] + "…"
    return text.replace("$", r"\$")


def _plot_pair(incident: Incident) -> str:
    """The pair for a plot title, each name cut to length on its own."""
    return f"{_plain(incident.callsign_a or incident.a)} / {_plain(incident.callsign_b or incident.b)}"


def plot_window_s(incident: Incident) -> tuple[float, float]:
    """The time window plotted around an incident: the incident plus margins, bounded around the CPA."""
    cpa_s = incident.closest_horizontal.time_s
    return (
        max(incident.start_s - WINDOW_MARGIN_S, cpa_s - MAX_HALF_WINDOW_S),
        min(incident.end_s + WINDOW_MARGIN_S, cpa_s + MAX_HALF_WINDOW_S),
    )


def track_in_window(clean: CleanTracks, aircraft_id: str, lo_s: float, hi_s: float) -> Track:
    """Accepted reports of ``aircraft_id`` between ``lo_s`` and ``hi_s`` (inclusive)."""
    index = int(np.searchsorted(clean.ids, aircraft_id))
    first = int(np.searchsorted(clean.time_s, lo_s, side="left"))
    last = int(np.searchsorted(clean.time_s, hi_s, side="right"))
    rows = first + np.flatnonzero(clean.aircraft[first:last] == index)
    if index >= clean.ids.size or clean.ids[index] != aircraft_id:
        rows = rows[:0]
    s = clean.states
    return Track(clean.time_s[rows], s.lat_deg[rows], s.lon_deg[rows], s.alt_m[rows])


def _broken(time_s: Float, values: Float, gap_s: float) -> tuple[Float, Float]:
    """``(time_s, values)`` with a NaN inserted in each gap longer than ``gap_s``, so lines break there."""
    gaps = np.flatnonzero(np.diff(time_s) > gap_s) + 1
    return np.insert(time_s, gaps, np.nan), np.insert(values, gaps, np.nan)


def save_png(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=DPI, format="png", metadata={"Software": None})


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


def plan_figure(
    number: int, incident: Incident, track_a: Track, track_b: Track, rpz_m: float, gap_s: float
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
        label = f"{letter}: {_plain(aircraft_name(aircraft_id, callsign))}"
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
        f"closest approach {utc_clock(h.time_s)} UTC near {latlon_text(h.lat_deg, h.lon_deg)}",
        fontsize=11,
    )
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return figure


def profile_figure(
    number: int, incident: Incident, track_a: Track, track_b: Track, gap_s: float, step_s: float
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
            label=f"{letter}: {_plain(aircraft_name(aircraft_id, callsign))}",
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
    ax.set_xlabel(f"time from closest approach (s; 0 = {utc_clock(cpa_s)} UTC)")
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


def timeline_figure(report: ReplayReport, max_pairs: int) -> tuple[Figure, int, int]:
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
