"""Blind deconfliction benchmark: cover sizes, bytes, seconds per phase, false positives.

1. Cells per volume (p50 / p95 / max) at three grid resolutions, for 10 km circles
   (2 h, 5,000 ft) and 100 km corridors (2 km wide, any heading; 2 h, 5,000 ft),
   placed at random between 60 S and 60 N.
2. A whole session (both parties, in this one process, so the two parties' work adds
   up) of ``--volumes`` volumes each (circles of 1-20 km, 100 km corridors, windows
   over a week, a region the size of Syria) at the coarsest resolution: seconds per
   phase, bytes each party sends, cells, and the volumes flagged.
3. False positives against the exact engine: on ``--exact`` volumes a side, the
   blind result compared with ``find_conflicts``; no conflict may be missed, and
   the largest gap (horizontal metres, seconds, metres of altitude) that still
   produced a match is printed.

Usage::

    python benchmarks/blind.py --volumes 10000 --exact 2000 --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console

from deconflict.blind.cover import cover_volume, cover_volumes
from deconflict.blind.grid import GridParameters
from deconflict.blind.protocol import BlindParty, Phase
from deconflict.geometry.footprint import circle_footprint, polygon_footprint
from deconflict.geometry.geodesy import destination
from deconflict.geometry.overlap import gap_m
from deconflict.strategic import Volume, find_conflicts
from deconflict.units import FT_TO_M, Altitude, AltitudeReference

T0_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LON_RANGE = (36.0, 40.6)
LAT_RANGE = (33.0, 37.0)
MSL = AltitudeReference.MSL
RESOLUTIONS = (
    # cell degrees, slot seconds, band metres
    (0.01, 900.0, 500 * FT_TO_M),
    (0.05, 1800.0, 1000 * FT_TO_M),
    (0.1, 3600.0, 2000 * FT_TO_M),
)


def corridor(lon: float, lat: float, heading_deg: float, length_m: float, width_m: float):  # type: ignore[no-untyped-def]
    """A straight corridor from (lon, lat), as a 4-corner lon/lat polygon footprint."""
    end_lon, end_lat = destination(lon, lat, heading_deg, length_m)
    corners = []
    for x, y, side in (
        (lon, lat, 1),
        (float(end_lon), float(end_lat), 1),
        (float(end_lon), float(end_lat), -1),
        (lon, lat, -1),
    ):
        cx, cy = destination(x, y, heading_deg + 90.0 * side, width_m / 2.0)
        corners.append((float(cx), float(cy)))
    corners.append(corners[0])
    return polygon_footprint([[np.asarray(corners)]])


def make_volume(
    rng: np.random.Generator,
    name: str,
    party: str,
    kind: str,
    region: tuple[tuple[float, float], tuple[float, float]],
    span_s: float,
) -> Volume:
    lon = float(rng.uniform(*region[0]))
    lat = float(rng.uniform(*region[1]))
    if kind == "circle":
        footprint = circle_footprint(lon, lat, float(rng.uniform(1_000.0, 20_000.0)))
    elif kind == "circle10":
        footprint = circle_footprint(lon, lat, 10_000.0)
    else:
        footprint = corridor(lon, lat, float(rng.uniform(0, 360)), 100_000.0, 2_000.0)
    t0 = T0_S + float(rng.uniform(0.0, span_s))
    a0 = float(rng.uniform(0.0, 8_000.0))
    return Volume(
        name,
        party,
        f"op-{name}",
        footprint,
        Altitude(a0, MSL),
        Altitude(a0 + 5000 * FT_TO_M, MSL),
        t0,
        t0 + 7200.0,
    )


def cells_per_volume(rng: np.random.Generator, samples: int) -> list[dict[str, object]]:
    rows = []
    world = ((-180.0, 180.0), (-60.0, 60.0))
    for kind in ("circle10", "corridor"):
        volumes = [make_volume(rng, f"v{k}", "blue", kind, world, 0.0) for k in range(samples)]
        for cell_deg, slot_s, band_m in RESOLUTIONS:
            params = GridParameters("bench", cell_deg, slot_s, band_m, cap=10_000_000)
            counts = np.array([cover_volume(v, params).shape[0] for v in volumes])
            rows.append(
                {
                    "volume": "10 km circle" if kind == "circle10" else "100 km corridor",
                    "cell_deg": cell_deg,
                    "slot_s": slot_s,
                    "band_ft": round(band_m / FT_TO_M),
                    "p50": int(np.percentile(counts, 50)),
                    "p95": int(np.percentile(counts, 95)),
                    "max": int(counts.max()),
                }
            )
    return rows


def session(blue: Sequence[Volume], red: Sequence[Volume], params: GridParameters) -> dict[str, object]:
    """A whole session in this process; seconds per phase are both parties' together."""
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    start, start_cpu = time.perf_counter(), time.process_time()
    cover_b, cover_r = cover_volumes(blue, params), cover_volumes(red, params)
    seconds["cover"] = time.perf_counter() - start
    cpu["cover"] = time.process_time() - start_cpu
    kb, kr = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    a = BlindParty(params, "blue", "red", kb, kr.public_key(), cover_b)
    b = BlindParty(params, "red", "blue", kr, kb.public_key(), cover_r)
    sent = {"blue": 0, "red": 0}
    for phase in Phase:
        start, start_cpu = time.perf_counter(), time.process_time()
        ea, eb = getattr(a, phase.value)(), getattr(b, phase.value)()
        sent["blue"] += len(ea.to_bytes())
        sent["red"] += len(eb.to_bytes())
        ra, rb = a.receive(eb.to_bytes()), b.receive(ea.to_bytes())
        seconds[phase.value] = time.perf_counter() - start
        cpu[phase.value] = time.process_time() - start_cpu
    assert ra is not None and rb is not None
    return {
        "cells": [int(cover_b.cells.shape[0]), int(cover_r.cells.shape[0])],
        "cap": params.cap,
        "bytes_sent_per_party": sent["blue"],
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "seconds_total": round(sum(seconds.values()), 1),
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_seconds_total": round(sum(cpu.values()), 1),
        "matched_cells": int(ra.cells.shape[0]),
        "flagged": [ra.volumes.tolist(), rb.volumes.tolist()],
    }


def false_positives(rng: np.random.Generator, n: int, params: GridParameters) -> dict[str, object]:
    region = (LON_RANGE, LAT_RANGE)
    kinds = ("circle", "corridor")
    blue = [make_volume(rng, f"b{k}", "blue", kinds[k % 2], region, 7 * 86_400.0) for k in range(n)]
    red = [make_volume(rng, f"r{k}", "red", kinds[k % 2], region, 7 * 86_400.0) for k in range(n)]
    cap = cover_volumes(blue, uncapped(params)).cells.shape[0]
    cap = max(cap, cover_volumes(red, uncapped(params)).cells.shape[0])
    result = session(blue, red, dataclasses.replace(params, cap=cap))
    flagged_b, flagged_r = (set(x) for x in result["flagged"])  # type: ignore[attr-defined]
    conflicts = find_conflicts([*blue, *red])
    index = {v.id: k for k, v in enumerate(blue)} | {v.id: k for k, v in enumerate(red)}
    true_b = {index[c.a if c.party_a == "blue" else c.b] for c in conflicts}
    true_r = {index[c.b if c.party_b == "red" else c.a] for c in conflicts}
    missed = len(true_b - flagged_b) + len(true_r - flagged_r)
    extra_b = sorted(flagged_b - true_b)
    # The largest gap that still matched: over the flagged blue volumes with no conflict, the nearest red one.
    worst = {"horizontal_m": 0.0, "time_s": 0.0, "altitude_m": 0.0}
    loose = uncapped(params)
    red_cells = [set(map(tuple, cover_volume(y, loose).tolist())) for y in red]
    for i in extra_b:
        x = blue[i]
        x_cells = set(map(tuple, cover_volume(x, loose).tolist()))
        for y, y_cells in zip(red, red_cells, strict=True):
            if x_cells.isdisjoint(y_cells):
                continue
            time_gap = max(x.time_start_s, y.time_start_s) - min(x.time_end_s, y.time_end_s)
            alt_gap = max(x.lower.value_m, y.lower.value_m) - min(x.upper.value_m, y.upper.value_m)
            worst["time_s"] = max(worst["time_s"], time_gap)
            worst["altitude_m"] = max(worst["altitude_m"], alt_gap)
            worst["horizontal_m"] = max(worst["horizontal_m"], gap_m(x.footprint, y.footprint))
    return {
        "volumes_per_party": n,
        "exact_conflicts": len(conflicts),
        "flagged_blue": len(flagged_b),
        "true_blue": len(true_b),
        "missed": missed,
        "false_positive_volumes_blue": len(extra_b),
        "largest_gap": {k: round(v, 1) for k, v in worst.items()},
        "session": {k: v for k, v in result.items() if k != "flagged"},
    }


def uncapped(params: GridParameters) -> GridParameters:
    return dataclasses.replace(params, cap=10_000_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=10_000, help="volumes per party, end to end")
    parser.add_argument(
        "--exact", type=int, default=1_000, help="volumes per party for the false-positive count"
    )
    parser.add_argument("--samples", type=int, default=300, help="volumes per kind for cells per volume")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    console = Console(stderr=True)
    out: dict[str, object] = {}
    console.print("cells per volume ...")
    out["cells_per_volume"] = cells_per_volume(rng, args.samples)
    coarse = GridParameters("bench", *RESOLUTIONS[-1], cap=1)
    console.print(f"false positives on {args.exact} x {args.exact} ...")
    out["false_positives"] = false_positives(rng, args.exact, coarse)
    console.print(f"end to end {args.volumes} x {args.volumes} ...")
    region = (LON_RANGE, LAT_RANGE)
    blue = [
        make_volume(rng, f"b{k}", "blue", ("circle", "corridor")[k % 2], region, 7 * 86_400.0)
        for k in range(args.volumes)
    ]
    red = [
        make_volume(rng, f"r{k}", "red", ("circle", "corridor")[k % 2], region, 7 * 86_400.0)
        for k in range(args.volumes)
    ]
    cap = max(cover_volumes(v, uncapped(coarse)).cells.shape[0] for v in (blue, red))
    cap = math.ceil(cap * 1.05)
    end = session(blue, red, GridParameters("bench", *RESOLUTIONS[-1], cap=cap))
    end["flagged"] = [len(f) for f in end["flagged"]]  # type: ignore[attr-defined]
    out["end_to_end"] = {"volumes_per_party": args.volumes, **end}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        console = Console()
        for row in out["cells_per_volume"]:  # type: ignore[attr-defined]
            console.print(row)
        console.print(out["false_positives"])
        console.print(out["end_to_end"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
