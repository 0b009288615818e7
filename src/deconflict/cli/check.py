"""``deconflict check``: strategic checks of plan files in any readable format (``demo --plans-only``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deconflict.cli import EXIT_INTERRUPTED
from deconflict.cli.output import console
from deconflict.config import load_settings
from deconflict.errors import InputError, Problem
from deconflict.formats import read_plan_or_zones
from deconflict.strategic import Conflict, Volume, find_conflicts
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.zones import Zone, ZoneConflict, zone_conflicts

__all__ = ["SHOWN_CONFLICTS", "check_files", "example_files", "run_check"]

SHOWN_CONFLICTS = 50
"""Conflicts listed in the table; ``--json`` has all of them (a table of thousands helps no one)."""


def _read_all(
    paths: Sequence[Path], stage: list[str], zone_paths: Sequence[Path] = ()
) -> tuple[list[Volume], list[tuple[str, Zone]]]:
    """Volumes of every plan file and zones (with their file's stem) of every zone file.

    All problems of all files are reported together.
    """
    limits = load_settings().limits()
    volumes: list[Volume] = []
    zones: list[tuple[str, Zone]] = []
    problems: list[Problem] = []
    first_file: dict[tuple[str, str], Path] = {}
    every = [(p, False) for p in paths] + [(p, True) for p in zone_paths]
    for number, (path, zones_only) in enumerate(every):
        stage[0] = f"while reading {path} ({number} of {len(every)} files read); nothing was checked"
        try:
            _format, found, found_zones = read_plan_or_zones(path, limits, zones_only=zones_only)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        zones.extend((path.stem.split(".")[0], zone) for zone in found_zones)
        for index, volume in enumerate(found):
            key = (volume.party, volume.id)
            if key in first_file:
                problems.append(
                    Problem(
                        str(path),
                        f"duplicate id {volume.id!r} of party {volume.party!r} (also in {first_file[key]})",
                        f"feature {index} (id {volume.id})",
                        "id",
                    )
                )
            first_file.setdefault(key, path)
        volumes.extend(found)
    if problems:
        raise InputError(problems)
    return volumes, zones


def _short_time(time_s: float) -> str:
    return format_time(time_s).replace("T", " ").removesuffix("Z")


def _table(volumes: Sequence[Volume], conflicts: Sequence[Conflict], sources: str) -> Table:
    table = Table(title=f"Strategic conflicts: {sources}", title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("volume A")
    table.add_column("volume B")
    table.add_column("time window (UTC)")
    table.add_column("altitude band", justify="right")
    table.add_column("overlap km²", justify="right")
    table.add_column("where (lon, lat)", justify="right")
    for number, c in enumerate(conflicts, start=1):
        west, east = c.overlap_bbox[0], c.overlap_bbox[2]
        lon = (west + east) / 2.0 if west <= east else (west + east + 360.0) / 2.0
        lon = (lon + 180.0) % 360.0 - 180.0
        lat = (c.overlap_bbox[1] + c.overlap_bbox[3]) / 2.0
        end = _short_time(c.time_end_s)
        start = _short_time(c.time_start_s)
        window = f"{start} → {end[11:] if end[:10] == start[:10] else end}"
        table.add_row(
            str(number),
            f"[bold]{c.party_a}[/] {c.a}",
            f"[bold]{c.party_b}[/] {c.b}",
            window,
            f"{c.altitude_lower_m:,.0f} to {c.altitude_upper_m:,.0f} m {c.altitude_reference}",
            f"{c.overlap_area_m2 / 1e6:,.3f}",
            f"{lon:.4f}, {lat:.4f}",
        )
    return table


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _summary(volumes: Sequence[Volume], conflicts: Sequence[Conflict]) -> str:
    parties = sorted({v.party for v in volumes})
    pairs = {tuple(sorted((c.party_a, c.party_b))) for c in conflicts}
    among = (
        f"among {_count(len(volumes), 'volume')} of {_count(len(parties), 'party', 'parties')} "
        f"({', '.join(parties)})"
    )
    if not conflicts:
        return f"No conflicts {among}."
    return f"{_count(len(conflicts), 'conflict')} {among}, between {_count(len(pairs), 'pair')} of parties."


def check_files(
    paths: Sequence[Path], buffers: Buffers, as_json: bool, console: Console, zone_paths: Sequence[Path] = ()
) -> int:
    """Check files and print the result; returns the exit code.

    0: no conflict and no restriction entered, 1: some, 130: Ctrl-C. Zone files
    among ``paths`` are told by their content; ``zone_paths`` must be zone files.
    """
    stage = ["before reading any file"]
    try:
        return _check(paths, buffers, as_json, console, stage, zone_paths)
    except KeyboardInterrupt:
        print(f"check: interrupted (Ctrl-C) {stage[0]}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _check(
    paths: Sequence[Path],
    buffers: Buffers,
    as_json: bool,
    console: Console,
    stage: list[str],
    zone_paths: Sequence[Path],
) -> int:
    volumes, zones = _read_all(paths, stage, zone_paths)
    settings = load_settings()
    stage[0] = f"while looking for conflicts among {len(volumes)} volumes; no result"
    conflicts = find_conflicts(volumes, buffers, settings.altitude_margins())
    stage[0] = f"while checking {len(volumes)} volumes against {len(zones)} zones; no result"
    entered = zone_conflicts(volumes, zones, buffers, settings.altitude_margins())
    stage[0] = f"while printing {len(conflicts)} conflicts: the output above is incomplete"
    if as_json:
        document: dict[str, object] = {"volumes": len(volumes), "conflicts": [c.to_json() for c in conflicts]}
        if zones:
            document["zones"] = len(zones)
            document["zone_conflicts"] = [z.to_json() for z in entered]
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        if conflicts:
            shown = conflicts[:SHOWN_CONFLICTS]
            console.print(_table(volumes, shown, ", ".join(p.name for p in paths)))
            if len(conflicts) > len(shown):
                more = len(conflicts) - len(shown)
                console.print(f"({more} more conflicts not shown: --json lists all {len(conflicts)})")
        console.print(_summary(volumes, conflicts))
        if zones:
            if entered:
                console.print(_zone_table(entered[:SHOWN_CONFLICTS]))
                if len(entered) > SHOWN_CONFLICTS:
                    more = len(entered) - SHOWN_CONFLICTS
                    console.print(
                        f"({more} more restrictions entered not shown: --json lists all {len(entered)})"
                    )
            console.print(_zone_summary(zones, entered))
    return 1 if conflicts or entered else 0


def _zone_table(entered: Sequence[ZoneConflict]) -> Table:
    table = Table(title="Restrictions entered", title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("volume")
    table.add_column("zone")
    table.add_column("restriction")
    table.add_column("time window (UTC)")
    table.add_column("altitude band", justify="right")
    table.add_column("reason and message")
    table.add_column("contact")
    for number, z in enumerate(entered, start=1):
        c = z.conflict
        end = _short_time(c.time_end_s)
        start = _short_time(c.time_start_s)
        window = f"{start} → {end[11:] if end[:10] == start[:10] else end}"
        zone = z.zone
        why = "; ".join(
            t for t in (", ".join(zone.reasons), zone.other_reason, zone.message, zone.conditions) if t
        )
        table.add_row(
            str(number),
            f"[bold]{c.party_a}[/] {c.a}",
            f"[bold]{c.party_b}[/] {zone.identifier}" + (f" {zone.name}" if zone.name else ""),
            str(zone.restriction),
            window,
            f"{c.altitude_lower_m:,.0f} to {c.altitude_upper_m:,.0f} m {c.altitude_reference}",
            why,
            "; ".join(a.contact() for a in zone.authorities if a.contact()),
        )
    return table


def _zone_summary(zones: Sequence[tuple[str, Zone]], entered: Sequence[ZoneConflict]) -> str:
    among = _count(len(zones), "zone")
    if not entered:
        return f"No restriction entered among {among}."
    hit = len({(c.conflict.party_b, c.zone.identifier) for c in entered})
    entries = _count(len(entered), "restriction entered", "restrictions entered")
    return f"{entries}, in {hit} of {among}."


def run_check(args: argparse.Namespace) -> int:
    """``deconflict check``."""
    buffers = Buffers(args.buffer_m, args.vertical_buffer_m, args.time_buffer_s)
    zone_paths = [Path(f) for f in args.zones]
    return check_files([Path(f) for f in args.files], buffers, args.json, console(), zone_paths)


def example_files() -> list[Path]:
    """The bundled example volume files (two parties over the Levant)."""
    folder = resources.files("deconflict") / "data" / "examples"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".geojson"))
