"""The report's page (``index.html``): plain HTML with inline CSS and relative image paths."""

from __future__ import annotations

import html
from collections.abc import Sequence

from deconflict.report.text import aircraft_name, duration_text, latlon_text, pair_label, utc_clock, utc_time
from deconflict.tactical.replay import Incident, ReplayReport
from deconflict.units import FT_TO_M, NM_TO_M

__all__ = ["CSS", "incident_html", "index_html", "overview_html", "summary_html"]

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


def summary_html(report: ReplayReport, timeline_rows: int, timeline_pairs: int) -> str:
    s = report.settings
    rejected = sum(report.rejected.values())
    kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.rejected.items() if n)
    if report.steps:
        span = (
            f"{_e(utc_time(report.start_s))} to {_e(utc_time(report.end_s))} "
            f"({_e(duration_text(report.end_s - report.start_s))}, {report.steps} steps of {s.step_s:g} s)"
        )
    else:
        span = "no usable reports"
    rows = [
        ("File replayed", f"<code>{_e(report.source)}</code>"),
        ("Time span", span),
        ("Aircraft", f"{report.aircraft} airborne at some time, at most {report.max_airborne} at once"),
        (
            "Rows read",
            f"{report.rows:,}" + (f" ({rejected:,} rejected: {_e(kinds)})" if rejected else ""),
        ),
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


def incident_html(number: int, incident: Incident, step_s: float, plan: str, profile: str) -> str:
    h = incident.closest_horizontal
    v = incident.closest_vertical
    lead = (
        "none (no alert before the incident)"
        if incident.alert_lead_s is None
        else f"{incident.alert_lead_s:.0f} s (the pair's alert started that long before the incident)"
    )
    rows = [
        ("Aircraft A", _e(aircraft_name(incident.a, incident.callsign_a))),
        ("Aircraft B", _e(aircraft_name(incident.b, incident.callsign_b))),
        ("Start", _e(utc_time(incident.start_s))),
        ("End", _e(utc_time(incident.end_s))),
        (
            "Duration",
            _e(f"{duration_text(incident.end_s - incident.start_s + step_s)} ({incident.steps} steps)"),
        ),
        (
            "Closest horizontal separation",
            _e(
                f"{h.dist_m / NM_TO_M:.2f} NM ({h.dist_m / 1000.0:.2f} km), "
                f"{h.dalt_m / FT_TO_M:.0f} ft vertically, at {utc_clock(h.time_s)} UTC, "
                f"near {latlon_text(h.lat_deg, h.lon_deg)}; "
                f"A at {h.alt_a_m / FT_TO_M:,.0f} ft, B at {h.alt_b_m / FT_TO_M:,.0f} ft"
            ),
        ),
        (
            "Closest vertical separation",
            _e(
                f"{v.dalt_m / FT_TO_M:.0f} ft at {v.dist_m / NM_TO_M:.2f} NM ({v.dist_m / 1000.0:.2f} km), "
                f"at {utc_clock(v.time_s)} UTC, near {latlon_text(v.lat_deg, v.lon_deg)}"
            ),
        ),
        ("Alert lead", _e(lead)),
    ]
    title = f"Incident {number}: {pair_label(incident)}"
    return (
        f'<section id="incident-{number}">\n<h3>{_e(title)}</h3>\n'
        f'<table>\n{_rows(rows)}\n</table>\n<div class="plots">\n'
        f'<img src="{_e(plan)}" alt="{_e(f"Plan view of incident {number}")}">\n'
        f'<img src="{_e(profile)}" alt="{_e(f"Altitude profile of incident {number}")}">\n'
        "</div>\n</section>"
    )


def overview_html(report: ReplayReport, shown: list[int]) -> str:
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
        duration = duration_text(incident.end_s - incident.start_s + report.settings.step_s)
        lines.append(
            f'<tr><td class="num"><a href="#incident-{k + 1}">{k + 1}</a></td>'
            f"<td>{_e(pair_label(incident))}</td><td>{_e(utc_clock(incident.start_s))}</td>"
            f'<td class="num">{_e(duration)}</td>'
            f'<td class="num">{h.dist_m / NM_TO_M:.2f} NM, {h.dalt_m / FT_TO_M:.0f} ft</td>'
            f'<td class="num">{_e(lead)}</td></tr>'
        )
    return f"<table>\n<tr>{header}</tr>\n" + "\n".join(lines) + "\n</table>"


def index_html(
    report: ReplayReport, shown: list[int], sections: list[str], timeline_rows: int, timeline_pairs: int
) -> str:
    """The report's page: the summary and timeline, the incidents' overview and ``sections``."""
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
        summary_html(report, timeline_rows, timeline_pairs),
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
            parts.append(overview_html(report, shown))
        parts.extend(sections)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
