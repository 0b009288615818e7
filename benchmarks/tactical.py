"""Tactical detection benchmark: our pruned detector against BlueSky's state-based detector.

Generates N aircraft at constant density (seeded): uniform over a spherical cap
of ``N * --km2-per-aircraft`` centred on the equator at ``--lon0``, altitudes
uniform from 1,000 ft to 41,000 ft, ground speeds 60-260 m/s, a third of them
climbing or descending. Our detector runs in this process (engine time, states
already in memory, best of ``--repeat``); BlueSky 1.1's C++ and NumPy
``StateBased.detect`` run on the same states in a separate process from the
environment ``--bluesky-python`` (``.venv-bench``), never imported here. The
NumPy version is skipped where its N x N matrices would not fit in
``--numpy-max-gib``.

``identical`` is true when the conflict pair sets agree except on pairs at the
boundary (issue 4): CPA distance within 3 % of ``rpz_m``, entry within 2 s of
the look-ahead, exit within 2 s of now, or a conflict window shorter than 2 s,
where the earth models differ (BlueSky is flat-earth per pair). The cap is
centred at longitude 0 by default because BlueSky's C++ detector does not wrap
longitudes: with ``--lon0 180`` it misses every conflict across the antimeridian
(its NumPy version and ours find them).

Usage::

    python benchmarks/tactical.py --n 10000 --json
    python benchmarks/tactical.py --n 1000 5000 10000 100000
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from deconflict.tactical import DetectionSettings, States, detect, warm_up
from deconflict.tactical.cpa import conflict_windows
from deconflict.tactical.frames import relative_motion, surface_frame

EARTH_RADIUS_KM = 6371.0
RUNNER = Path(__file__).with_name("bluesky_statebased.py")
DEFAULT_BLUESKY = Path(__file__).parents[1] / ".venv-bench" / "bin" / "python"
NUMPY_MATRICES = 30
"""About how many N x N float64 matrices BlueSky's NumPy detector holds at once."""


def traffic(n: int, seed: int, km2_per_aircraft: float, lon0_deg: float = 0.0) -> States:
    """N aircraft uniformly over a spherical cap of N * km2_per_aircraft (constant density)."""
    rng = np.random.default_rng(seed)
    cap_km2 = n * km2_per_aircraft
    cos_max = 1.0 - cap_km2 / (2.0 * math.pi * EARTH_RADIUS_KM**2)
    if cos_max <= -1.0:
        raise ValueError("the traffic would cover more than the whole Earth")
    polar = np.arccos(rng.uniform(cos_max, 1.0, n))
    azimuth = rng.uniform(0.0, 2.0 * math.pi, n)
    # Cap around the x axis (lat 0, lon 0), then turned to lon0_deg.
    x = np.cos(polar)
    y = np.sin(polar) * np.cos(azimuth)
    z = np.sin(polar) * np.sin(azimuth)
    lat = np.degrees(np.arcsin(z))
    lon = (np.degrees(np.arctan2(y, x)) + lon0_deg + 180.0) % 360.0 - 180.0
    alt = rng.uniform(304.8, 12_496.8, n)
    gs = rng.uniform(60.0, 260.0, n)
    trk = rng.uniform(0.0, 360.0, n)
    vs = np.where(rng.random(n) < 1.0 / 3.0, rng.uniform(-15.0, 15.0, n), 0.0)
    return States(lat, lon, alt, gs, trk, vs)


def _best_of(repeat: int, states: States, settings: DetectionSettings) -> tuple[float, Any]:
    best = math.inf
    found = None
    for _ in range(repeat):
        started = time.perf_counter()
        found = detect(states, settings)
        best = min(best, time.perf_counter() - started)
    return best, found


def _bluesky(python: Path, states_file: Path, impl: str) -> dict[str, Any]:
    completed = subprocess.run(
        [str(python), str(RUNNER), str(states_file), impl], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"BlueSky {impl} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _on_boundary(states: States, pairs: list[tuple[int, int]], settings: DetectionSettings) -> list[bool]:
    """Issue 4's boundary rule, evaluated with our earth model."""
    if not pairs:
        return []
    i = np.array([p[0] for p in pairs])
    j = np.array([p[1] for p in pairs])
    frame = surface_frame(states.lat_deg, states.lon_deg, states.gs_mps, states.trk_deg)
    d2, dw, w2 = relative_motion(frame, i, j)
    w = conflict_windows(
        d2,
        dw,
        w2,
        states.alt_m[j] - states.alt_m[i],
        states.vs_mps[j] - states.vs_mps[i],
        settings.rpz_m,
        settings.hpz_m,
    )
    with np.errstate(invalid="ignore"):
        boundary = (
            (np.abs(w.dcpa_m - settings.rpz_m) <= 0.03 * settings.rpz_m)
            | (np.abs(w.tin_s - settings.lookahead_s) <= 2.0)
            | (np.abs(w.tout_s) <= 2.0)
            | (w.tout_s - w.tin_s < 2.0)
        )
    return [bool(b) for b in boundary]


def _compare(
    states: States, ours: set[tuple[int, int]], theirs: set[tuple[int, int]], settings: DetectionSettings
) -> dict[str, Any]:
    differ = sorted(ours ^ theirs)
    boundary = _on_boundary(states, differ, settings)
    unexplained = [p for p, b in zip(differ, boundary, strict=True) if not b]
    return {
        "identical": not unexplained,
        "boundary_pairs": len(differ) - len(unexplained),
        "unexplained_pairs": [list(p) for p in unexplained[:10]],
    }


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    settings = DetectionSettings()
    states = traffic(n, args.seed, args.km2_per_aircraft, args.lon0)
    warm_up()
    ours_s, found = _best_of(args.repeat, states, settings)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ours = set(zip(found.conflicts.a.tolist(), found.conflicts.b.tolist(), strict=True))
    report: dict[str, Any] = {
        "n": n,
        "km2_per_aircraft": args.km2_per_aircraft,
        "ours_s": round(ours_s, 6),
        "ours_peak_mib": round(peak_mib, 1),
        "pairs_ours": len(ours),
        "los_ours": len(found.los),
        "bluesky_cpp_s": None,
        "bluesky_numpy_s": None,
    }
    python = Path(args.bluesky_python)
    if args.no_bluesky or not python.exists():
        report["bluesky"] = "skipped" if args.no_bluesky else f"no BlueSky environment at {python}"
        return report
    with tempfile.TemporaryDirectory() as folder:
        states_file = Path(folder) / "states.npz"
        np.savez(
            states_file,
            lat_deg=states.lat_deg,
            lon_deg=states.lon_deg,
            alt_m=states.alt_m,
            gs_mps=states.gs_mps,
            trk_deg=states.trk_deg,
            vs_mps=states.vs_mps,
            rpz_m=settings.rpz_m,
            hpz_m=settings.hpz_m,
            lookahead_s=settings.lookahead_s,
        )
        impls = ["cpp"]
        if NUMPY_MATRICES * 8 * n * n <= args.numpy_max_gib * 2**30:
            impls.append("numpy")
        identical = True
        for impl in impls:
            result = _bluesky(python, states_file, impl)
            theirs = {(a, b) for a, b in result["conflicts"]}
            comparison = _compare(states, ours, theirs, settings)
            identical &= comparison["identical"]
            report[f"bluesky_{impl}_s"] = round(result["seconds"], 6)
            report[f"pairs_bluesky_{impl}"] = len(theirs)
            report[f"boundary_pairs_{impl}"] = comparison["boundary_pairs"]
            if comparison["unexplained_pairs"]:
                report[f"unexplained_pairs_{impl}"] = comparison["unexplained_pairs"]
            report[f"speedup_vs_{impl}"] = round(result["seconds"] / ours_s, 1)
        report["identical"] = identical
    return report


def _table(reports: list[dict[str, Any]]) -> Table:
    table = Table(title="Tactical detection: ours vs BlueSky StateBased (engine time)", title_justify="left")
    for header in (
        "N",
        "ours",
        "BlueSky C++",
        "ratio",
        "BlueSky NumPy",
        "ratio",
        "pairs",
        "identical",
        "peak",
    ):
        table.add_column(header, justify="right")

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f} s"

    for r in reports:
        table.add_row(
            f"{r['n']:,}",
            seconds(r["ours_s"]),
            seconds(r["bluesky_cpp_s"]),
            f"{r['speedup_vs_cpp']:,.0f}x" if "speedup_vs_cpp" in r else "-",
            seconds(r["bluesky_numpy_s"]),
            f"{r['speedup_vs_numpy']:,.0f}x" if "speedup_vs_numpy" in r else "-",
            f"{r['pairs_ours']:,}",
            str(r.get("identical", "-")),
            f"{r['ours_peak_mib']:,.0f} MiB",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000], help="numbers of aircraft")
    parser.add_argument("--json", action="store_true", help="print JSON (one object per N)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--km2-per-aircraft", type=float, default=1000.0, help="traffic density")
    parser.add_argument("--lon0", type=float, default=0.0, help="longitude of the traffic's centre")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs of ours")
    parser.add_argument("--bluesky-python", default=str(DEFAULT_BLUESKY), help="python of .venv-bench")
    parser.add_argument("--no-bluesky", action="store_true", help="time ours only")
    parser.add_argument("--numpy-max-gib", type=float, default=8.0, help="skip BlueSky NumPy above this")
    args = parser.parse_args(argv)
    reports = [run_one(n, args) for n in args.n]
    if args.json:
        document: Any = reports[0] if len(reports) == 1 else reports
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        Console(width=None if sys.stdout.isatty() else 120).print(_table(reports))
    return 0 if all(r.get("identical", True) for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
