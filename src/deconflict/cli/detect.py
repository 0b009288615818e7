"""``deconflict detect``: tactical detection on one snapshot of aircraft states.

JSON: ``{"aircraft": n, "ignored": {"stale", "on_ground", "below_min_alt", "too_slow"},
"min_alt_m": floor or null, "conflicts": [{"a", "b", "tcpa_s", "dcpa_m", "tin_s", "tout_s",
"parallel"}],
"los": [{"a", "b", "dist_m", "dalt_m"}], "detect_s": engine time}``; ``ignored`` counts
the aircraft left out per reason (see :class:`~deconflict.tactical.snapshot.Snapshot`).
``tin_s``/``tout_s`` are ``null`` where the conflict window is unbounded (a pair at
constant distance and height difference, e.g. hovering or flying in formation, is in
conflict for all time); ``parallel`` is true when the window covers the whole look-ahead
and as long before now (see :meth:`~deconflict.tactical.detect.Conflicts.parallel`), as
for flights side by side at nearly the same speed, whose finite ends say nothing useful.
``detect_s`` excludes loading the compiled kernels, which happens once per process.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.table import Table

from deconflict.cli.output import console as table_console
from deconflict.config import Settings, load_settings
from deconflict.errors import InputError
from deconflict.feeds import Reading, latest_states, read_feed
from deconflict.tactical import Detection, DetectionSettings, GroundFilter, detect, warm_up
from deconflict.tactical.snapshot import Snapshot, take_snapshot
from deconflict.tactical.tracks import PlausibleRanges, Tracks, implausible_values
from deconflict.units import FT_TO_M, NM_TO_M

__all__ = [
    "detection_settings",
    "floor_text",
    "ground_filter",
    "json_number",
    "left_out_text",
    "plausible_ranges",
    "report_drops",
    "run_detect",
]


PARALLEL_NOTE = (
    "parallel: the pair keeps (nearly) its distance and height difference; "
    "in conflict now and beyond the look-ahead."
)


def detection_settings(settings: Settings) -> DetectionSettings:
    """The detector's minima and look-ahead from the process settings."""
    return DetectionSettings(settings.tactical_rpz_m, settings.tactical_hpz_m, settings.tactical_lookahead_s)


def ground_filter(settings: Settings, min_alt_ft: float | None = None) -> GroundFilter:
    """The ground filter from the process settings; a command's ``--min-alt-ft`` overrides the floor."""
    floor_m = settings.tactical_min_alt_m if min_alt_ft is None else min_alt_ft * FT_TO_M
    return GroundFilter(floor_m, settings.tactical_min_gs_mps)


def plausible_ranges(settings: Settings) -> PlausibleRanges:
    """The values an aircraft can report, from the process settings."""
    return PlausibleRanges(
        max_alt_m=settings.tactical_max_alt_m,
        max_gs_mps=settings.tactical_max_gs_mps,
        max_vs_mps=settings.tactical_max_vs_mps,
    )


def report_drops(reading: Reading) -> None:
    """Say on stderr what a receiver's file gave and what it dropped (nothing for a track CSV)."""
    if reading.format == "csv":
        return
    dropped = f"; {reading.drops.total:,} dropped ({reading.drops.summary()})" if reading.drops.total else ""
    print(
        f"{reading.tracks.source}: {reading.format}, {reading.records:,} records, "
        f"{len(reading.tracks):,} states{dropped}",
        file=sys.stderr,
    )
    for problem in reading.drops.examples[:3]:
        print(f"  e.g. {problem}", file=sys.stderr)


def floor_text(ground: GroundFilter) -> str:
    """The altitude floor for a summary, e.g. ``"; altitude floor 1,000 ft"``; empty without one."""
    return "" if ground.min_alt_m is None else f"; altitude floor {ground.min_alt_m / FT_TO_M:,.0f} ft"


def left_out_text(counts: dict[str, int], ground: GroundFilter) -> str:
    """What was left out and why, e.g. ``"3 on the ground, 1 stale"``; empty when nothing was."""
    labels = {
        "stale": "stale",
        "on_ground": "on the ground",
        "below_min_alt": f"at or below the {(ground.min_alt_m or 0.0) / FT_TO_M:,.0f} ft floor",
        "too_slow": f"slower than {ground.min_gs_mps:g} m/s",
    }
    return ", ".join(f"{n:,} {labels[reason]}" for reason, n in counts.items() if n)


def json_number(value: float, digits: int = 3) -> float | None:
    """A float for JSON: rounded, and ``None`` for an unbounded (infinite) time."""
    return round(value, digits) if math.isfinite(value) else None


def _document(
    snapshot: Snapshot, found: Detection, minima: DetectionSettings, ground: GroundFilter, detect_s: float
) -> dict[str, Any]:
    ids = snapshot.ids.tolist()
    c, los = found.conflicts, found.los
    return {
        "aircraft": len(snapshot.states),
        "ignored": snapshot.left_out,
        "min_alt_m": ground.min_alt_m,
        "conflicts": [
            {
                "a": ids[a],
                "b": ids[b],
                "tcpa_s": json_number(tcpa),
                "dcpa_m": json_number(dcpa, 1),
                "tin_s": json_number(tin),
                "tout_s": json_number(tout),
                "parallel": parallel,
            }
            for a, b, tcpa, dcpa, tin, tout, parallel in zip(
                c.a.tolist(),
                c.b.tolist(),
                c.tcpa_s.tolist(),
                c.dcpa_m.tolist(),
                c.tin_s.tolist(),
                c.tout_s.tolist(),
                c.parallel(minima.lookahead_s).tolist(),
                strict=True,
            )
        ],
        "los": [
            {"a": ids[a], "b": ids[b], "dist_m": json_number(dist, 1), "dalt_m": json_number(dalt, 1)}
            for a, b, dist, dalt in zip(
                los.a.tolist(), los.b.tolist(), los.dist_m.tolist(), los.dalt_m.tolist(), strict=True
            )
        ],
        "detect_s": round(detect_s, 6),
    }


def _seconds(value: float) -> str:
    if math.isinf(value):
        return "always" if value < 0 else "never"
    return f"{value:,.0f}"


def _name(snapshot: Snapshot, index: int) -> str:
    callsign = str(snapshot.callsigns[index])
    return f"{snapshot.ids[index]} [dim]{callsign}[/]" if callsign else str(snapshot.ids[index])


def _tables(snapshot: Snapshot, found: Detection, lookahead_s: float) -> list[Table]:
    c, los = found.conflicts, found.los
    parallel = c.parallel(lookahead_s)
    tables = []
    if len(c):
        caption = PARALLEL_NOTE if parallel.any() else None
        table = Table(
            title="Predicted conflicts", title_justify="left", caption=caption, caption_justify="left"
        )
        for header in ("#", "aircraft A", "aircraft B", "in (s)", "out (s)", "CPA in (s)", "CPA dist (NM)"):
            table.add_column(header, justify="left" if header.startswith("aircraft") else "right")
        for k in range(len(c)):
            table.add_row(
                str(k + 1),
                _name(snapshot, int(c.a[k])),
                _name(snapshot, int(c.b[k])),
                "parallel" if parallel[k] else _seconds(float(c.tin_s[k])),
                "-" if parallel[k] else _seconds(float(c.tout_s[k])),
                f"{round(float(c.tcpa_s[k])):,}",
                f"{c.dcpa_m[k] / NM_TO_M:.2f}",
            )
        tables.append(table)
    if len(los):
        table = Table(title="Loss of separation now", title_justify="left")
        for header in ("#", "aircraft A", "aircraft B", "distance (NM)", "height difference (ft)"):
            table.add_column(header, justify="left" if header.startswith("aircraft") else "right")
        for k in range(len(los)):
            table.add_row(
                str(k + 1),
                _name(snapshot, int(los.a[k])),
                _name(snapshot, int(los.b[k])),
                f"{los.dist_m[k] / NM_TO_M:.2f}",
                f"{los.dalt_m[k] / FT_TO_M:,.0f}",
            )
        tables.append(table)
    return tables


def _without(tracks: Tracks, drop: NDArray[np.bool_]) -> Tracks:
    keep = ~drop
    return Tracks(
        source=tracks.source,
        row=tracks.row[keep],
        ids=tracks.ids[keep],
        callsigns=tracks.callsigns[keep],
        time_s=None if tracks.time_s is None else tracks.time_s[keep],
        states=tracks.states.take(keep),
        on_ground=None if tracks.on_ground is None else tracks.on_ground[keep],
    )


def run_detect(args: argparse.Namespace) -> int:
    """``deconflict detect``: exit 0 no conflict, 1 conflicts or losses of separation, 2 bad input."""
    settings = load_settings()
    reading = read_feed(Path(args.file), args.format, start_s=args.start_time, reference=args.reference)
    report_drops(reading)
    tracks = reading.tracks
    implausible = implausible_values(tracks, plausible_ranges(settings))
    if reading.format == "csv":
        if implausible.problems:
            raise InputError(implausible.problems)
    else:
        # A receiver's recording: its glitches are left out, as replay does, and the latest
        # plausible state of each aircraft is the snapshot.
        tracks = latest_states(_without(tracks, implausible.altitude | implausible.speed))
        if len(implausible):
            print(
                f"warning: {tracks.source}: {len(implausible):,} states with implausible values left out, "
                f"e.g. {implausible.problems[0]}",
                file=sys.stderr,
            )
    ground = ground_filter(settings, args.min_alt_ft)
    snapshot = take_snapshot(tracks, settings.tactical_stale_s, ground)
    minima = detection_settings(settings)
    warm_up()
    started = time.perf_counter()
    found = detect(snapshot.states, minima)
    detect_s = time.perf_counter() - started
    if args.json:
        sys.stdout.write(json.dumps(_document(snapshot, found, minima, ground, detect_s), indent=2) + "\n")
    else:
        console = table_console()
        for table in _tables(snapshot, found, minima.lookahead_s):
            console.print(table)
        ignored = left_out_text(snapshot.left_out, ground)
        console.print(
            f"{len(found.conflicts)} conflict(s) within {minima.lookahead_s:g} s and "
            f"{len(found.los)} loss(es) of separation among {len(snapshot.states)} aircraft"
            + (f" ({ignored} left out)" if ignored else "")
            + f"; minima {minima.rpz_m / NM_TO_M:g} NM / {minima.hpz_m / FT_TO_M:g} ft{floor_text(ground)}; "
            f"detection took {detect_s * 1e3:.1f} ms."
        )
    return 1 if len(found.conflicts) or len(found.los) else 0
