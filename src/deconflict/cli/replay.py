"""``deconflict replay``: alerts and incidents over recorded tracks, with a progress bar."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from deconflict.cli import EXIT_INTERRUPTED
from deconflict.cli.detect import (
    detection_settings,
    floor_text,
    ground_filter,
    json_number,
    left_out_text,
    plausible_ranges,
    report_drops,
)
from deconflict.cli.output import console as table_console
from deconflict.config import load_settings
from deconflict.feeds import read_feed
from deconflict.tactical.replay import Alert, Closest, Incident, ReplayReport, ReplaySettings, replay
from deconflict.tactical.tracks import Implausible, Tracks, implausible_values
from deconflict.units import FT_TO_M, NM_TO_M

if TYPE_CHECKING:  # matplotlib is only loaded with --report
    from deconflict.report import ReportFolder

__all__ = ["report_document", "run_replay"]

SHOWN_ALERTS = 20
"""Alerts listed in the human summary; ``--json`` has all of them."""
SHOWN_IMPLAUSIBLE = 3
"""Implausible rows warned about one by one on stderr; ``--json`` lists the first 20."""


def _utc(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).isoformat().replace("+00:00", "Z")


def _closest(moment: Closest) -> dict[str, Any]:
    return {
        "time": _utc(moment.time_s),
        "time_s": moment.time_s,
        "dist_m": json_number(moment.dist_m, 1),
        "dalt_m": json_number(moment.dalt_m, 1),
        "lat_deg": round(moment.lat_deg, 6),
        "lon_deg": round(moment.lon_deg, 6),
        "alt_a_m": json_number(moment.alt_a_m, 1),
        "alt_b_m": json_number(moment.alt_b_m, 1),
    }


def _alert(alert: Alert) -> dict[str, Any]:
    return {
        "a": alert.a,
        "b": alert.b,
        "callsign_a": alert.callsign_a,
        "callsign_b": alert.callsign_b,
        "first": _utc(alert.first_s),
        "last": _utc(alert.last_s),
        "first_s": alert.first_s,
        "last_s": alert.last_s,
        "steps": alert.steps,
        "min_dcpa_m": json_number(alert.min_dcpa_m, 1),
        "min_time_to_los_s": json_number(alert.min_time_to_los_s, 1),
    }


def _incident(incident: Incident) -> dict[str, Any]:
    return {
        "a": incident.a,
        "b": incident.b,
        "callsign_a": incident.callsign_a,
        "callsign_b": incident.callsign_b,
        "start": _utc(incident.start_s),
        "end": _utc(incident.end_s),
        "start_s": incident.start_s,
        "end_s": incident.end_s,
        "steps": incident.steps,
        "closest_horizontal": _closest(incident.closest_horizontal),
        "closest_vertical": _closest(incident.closest_vertical),
        "alert_lead_s": incident.alert_lead_s,
    }


def report_document(
    report: ReplayReport, replay_s: float, ground_flags: bool = True, implausible: Implausible | None = None
) -> dict[str, Any]:
    """The full replay report as a JSON-ready dictionary.

    ``ground_flags``: the file has an ``on_ground`` column; ``implausible``: its rows with
    values no aircraft can have (listed as messages naming file, row, field and range).
    """
    s = report.settings
    empty = report.steps == 0
    return {
        "source": report.source,
        "start": None if empty else _utc(report.start_s),
        "end": None if empty else _utc(report.end_s),
        "steps": report.steps,
        "rows": report.rows,
        "rejected": report.rejected,
        "implausible": [] if implausible is None else [str(p) for p in implausible.problems],
        "left_out": report.left_out,
        "ground_flags": ground_flags,
        "aircraft": report.aircraft,
        "max_airborne": report.max_airborne,
        "settings": {
            "step_s": s.step_s,
            "rpz_m": s.detection.rpz_m,
            "hpz_m": s.detection.hpz_m,
            "vertical_minimum_m": round(s.vertical_minimum_m, 3),
            "lookahead_s": s.detection.lookahead_s,
            "stale_s": s.stale_s,
            "min_alt_m": s.ground.min_alt_m,
            "min_gs_mps": s.ground.min_gs_mps,
            "max_alt_m": s.max_alt_m,
            "max_vs_mps": s.max_vs_mps,
            "max_gs_mps": s.max_gs_mps,
            "alt_quantum_m": s.alt_quantum_m,
            "alert_gap_s": s.alert_gap_s,
        },
        "alerts": [_alert(a) for a in report.alerts],
        "incidents": [_incident(i) for i in report.incidents],
        "detect_s": round(report.detect_s, 6),
        "replay_s": round(replay_s, 6),
    }


def _pair(a: str, callsign_a: str, b: str, callsign_b: str) -> str:
    return f"{callsign_a or a} / {callsign_b or b}"


def _clock(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%H:%M:%S")


def _incident_table(report: ReplayReport) -> Table:
    table = Table(title="Incidents (actual losses of separation)", title_justify="left")
    for header in (
        "#",
        "aircraft",
        "start (UTC)",
        "duration",
        "closest (NM, ft)",
        "where (lon, lat)",
        "warning",
    ):
        table.add_column(header, justify="left" if header in {"aircraft", "where (lon, lat)"} else "right")
    for k, incident in enumerate(report.incidents, start=1):
        h = incident.closest_horizontal
        v = incident.closest_vertical
        lead = "none" if incident.alert_lead_s is None else f"{incident.alert_lead_s:.0f} s"
        table.add_row(
            str(k),
            _pair(incident.a, incident.callsign_a, incident.b, incident.callsign_b),
            _clock(incident.start_s),
            f"{incident.end_s - incident.start_s + report.settings.step_s:.0f} s",
            f"{h.dist_m / NM_TO_M:.2f} NM at {h.dalt_m / FT_TO_M:.0f} ft; {v.dalt_m / FT_TO_M:.0f} ft "
            f"at {v.dist_m / NM_TO_M:.2f} NM",
            f"{h.lon_deg:.4f}, {h.lat_deg:.4f} at {max(h.alt_a_m, h.alt_b_m) / FT_TO_M:,.0f} ft",
            lead,
        )
    return table


def _alert_table(report: ReplayReport) -> Table:
    shown = sorted(report.alerts, key=lambda a: (a.min_time_to_los_s, a.min_dcpa_m))[:SHOWN_ALERTS]
    more = len(report.alerts) - len(shown)
    title = "Alerts (predicted losses of separation), most urgent first"
    if more:
        title += f"; {more} more in --json"
    table = Table(title=title, title_justify="left")
    for header in ("#", "aircraft", "first (UTC)", "last", "min CPA (NM)", "min time to LoS"):
        table.add_column(header, justify="left" if header == "aircraft" else "right")
    for k, alert in enumerate(shown, start=1):
        table.add_row(
            str(k),
            _pair(alert.a, alert.callsign_a, alert.b, alert.callsign_b),
            _clock(alert.first_s),
            _clock(alert.last_s),
            f"{alert.min_dcpa_m / NM_TO_M:.2f}",
            f"{alert.min_time_to_los_s:.0f} s",
        )
    return table


def _summary(report: ReplayReport, replay_s: float, ground_flags: bool) -> str:
    if report.steps == 0:
        return f"No usable reports in {report.source} ({report.rows} rows)."
    s = report.settings
    rejected = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.rejected.items() if n)
    left_out = left_out_text(report.left_out, s.ground)
    text = (
        f"{report.source}: {_utc(report.start_s)} to {_utc(report.end_s)}, {report.steps} steps of "
        f"{s.step_s:g} s, {report.aircraft} aircraft (at most {report.max_airborne} airborne at once), "
        f"{report.rows} rows"
        + (f" ({rejected} rejected)" if rejected else "")
        + "."
        + (f" Reports left out of detection: {left_out}." if left_out else "")
        + "\n"
        f"{len(report.incidents)} incident(s) and {len(report.alerts)} alert(s); minima "
        f"{s.detection.rpz_m / NM_TO_M:g} NM and {s.vertical_minimum_m / FT_TO_M:.1f} ft "
        f"(1000 ft less 1.5 altitude steps of {s.alt_quantum_m / FT_TO_M:g} ft), look-ahead "
        f"{s.detection.lookahead_s:g} s{floor_text(s.ground)}. "
        f"Detection {report.detect_s:.2f} s of {replay_s:.2f} s."
    )
    if not ground_flags and s.ground.min_alt_m is None:
        text += (
            "\nThe file has no on_ground column and no altitude floor is set: aircraft on the ground "
            "take part in detection (--min-alt-ft sets a floor)."
        )
    return text


def _write_html(report: ReplayReport, tracks: Tracks, folder: ReportFolder) -> Path:
    """The HTML report (``--report``), with a progress bar on stderr while the plots render."""
    from deconflict.report import write_report

    progress = Progress(
        TextColumn("report"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("plots"),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("report", total=None)

        def on_plot(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return write_report(report, tracks, folder, on_plot=on_plot)


def _warn(implausible: Implausible, source: str) -> None:
    """Warn on stderr of rows left out as implausible: the first few, then how many."""
    for problem in implausible.problems[:SHOWN_IMPLAUSIBLE]:
        print(f"warning: {problem}; row left out", file=sys.stderr)
    if len(implausible) > SHOWN_IMPLAUSIBLE:
        print(
            f"warning: {source}: {len(implausible)} rows with implausible values left out "
            f"(--json lists the first {len(implausible.problems)})",
            file=sys.stderr,
        )


def _replay(tracks: Tracks, settings: ReplaySettings, steps: list[int]) -> ReplayReport:
    """The replay with a progress bar on stderr; ``steps`` follows (done, total)."""
    progress = Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("replay", total=None)

        def on_step(done: int, total: int) -> None:
            steps[:] = [done, total]
            if done == 1 or done == total or done % 50 == 0:
                progress.update(task, completed=done, total=total)

        return replay(tracks, settings, on_step)


def run_replay(args: argparse.Namespace) -> int:
    """``deconflict replay``: exit 0 no incident, 1 incidents, 2 bad input, 130 interrupted (Ctrl-C)."""
    config = load_settings()
    settings = ReplaySettings(
        step_s=args.step_s,
        stale_s=config.tactical_stale_s,
        detection=detection_settings(config),
        ground=ground_filter(config, args.min_alt_ft),
        max_alt_m=config.tactical_max_alt_m,
        max_vs_mps=config.tactical_max_vs_mps,
        max_gs_mps=config.tactical_max_gs_mps,
        alt_quantum_m=config.tactical_alt_quantum_m,
        alert_gap_s=config.tactical_alert_gap_s,
    )
    if args.report:
        # Imported here: matplotlib is only needed with --report. Fail before a long replay.
        from deconflict.report import ReportFolder

        ReportFolder.check(args.report, force=args.force)
    started = time.perf_counter()
    folder: ReportFolder | None = None
    steps = [0, 0]  # done, total: what an interrupt reports
    try:
        reading = read_feed(
            Path(args.file), args.format, require_time=True, start_s=args.start_time, reference=args.reference
        )
        report_drops(reading)
        tracks = reading.tracks
        implausible = implausible_values(tracks, plausible_ranges(config))
        _warn(implausible, tracks.source)
        # Written into a temporary sibling, renamed into place at the end: never half a report.
        folder = ReportFolder.open(args.report, force=args.force) if args.report else None
        report = _replay(tracks, settings, steps)
        index = _write_html(report, tracks, folder) if folder is not None else None
    except KeyboardInterrupt:
        if folder is not None:
            folder.discard()
        done = f"replayed {steps[0]:,} of {steps[1]:,} steps" if steps[1] else "replayed no step"
        print(
            f"interrupted: {done}; " + ("no report written" if folder is not None else "nothing reported"),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except BaseException:
        if folder is not None:
            folder.discard()
        raise
    replay_s = time.perf_counter() - started
    if args.json:
        document = report_document(report, replay_s, tracks.on_ground is not None, implausible)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        console = table_console()
        if report.incidents:
            console.print(_incident_table(report))
        if report.alerts:
            console.print(_alert_table(report))
        console.print(_summary(report, replay_s, tracks.on_ground is not None))
    if index is not None:
        # stdout stays one JSON document under --json
        print(f"HTML report: {index}", file=sys.stderr if args.json else sys.stdout)
    return 1 if report.incidents else 0
