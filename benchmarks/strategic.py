"""Strategic filing benchmark: the SQLite (or PostgreSQL) store against an in-memory STRtree baseline.

Builds a store of N random, realistic volumes (polygons and geodesic circles of
1-50 km, mixed altitude bands and references, time windows over several weeks,
over a region the size of Syria, several parties), then files ``--operations``
new operations of 1-10 volumes each, timing check + durable commit. The same
checks are then done by a plain baseline: one shapely STRtree over all stored
volumes in memory, then the same exact checks. Both must find the same conflicts.

After them come ``--wide`` filings of one large volume (1.5-3 degrees a side,
12-48 h: hundreds of conflicts each) and one filing over the whole region whose
window is chosen to meet about ``--worst-meets`` stored volumes. Filing times
are reported by conflicts found (0, 1-10, 11-50, more than 50); ``file_p50_ms``
and ``file_p99_ms`` are those of the ``--operations`` random filings. ``cpu``
figures are this process's CPU time per filing (no waiting for the disk or for
other processes: comparable on a busy machine).

Usage::

    python benchmarks/strategic.py --volumes 100000 --json
    python benchmarks/strategic.py --volumes 100000 --store sqlite postgres --json

With ``--store sqlite postgres`` the same generated volumes and filings go into
both stores, one after the other (PostgreSQL with PostGIS started on 127.0.0.1 by
``tests/cluster/servers.py``, stopped at the end), and the JSON is one document
with an object per store (each as the single-store output) and ``ratio``: the
second store's p50 and p99 over the first's, and whether both found the same
conflicts.

With ``--channel`` each operation is filed as the server files it: through
``deconflict.channel.service.operations.file_plan`` (the extent check, the
audit entries and the disclosure ledger with its burst check, in one
transaction on the shared database).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rich.console import Console
from rich.progress import Progress

from deconflict.channel.service.operations import file_plan
from deconflict.geometry.footprint import circle_footprint, polygon_footprint
from deconflict.storage import open_storage
from deconflict.strategic import Operation, OperationState, Volume, evaluate_pairs, file_operation
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.limits import Limits
from deconflict.units import FL_TO_M, Altitude, AltitudeMargins, AltitudeReference

# A box over the Levant of about Syria's area (185,000 km^2).
LON_RANGE = (36.0, 40.6)
LAT_RANGE = (33.0, 37.0)
T0_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STORES = ("sqlite", "postgres")
ROOT = Path(__file__).resolve().parents[1]
PARTIES = ("blue", "red", "green", "civil", "yellow", "white")
M_PER_DEG_LAT = 110_900.0


# The random operations span weeks: the channel's extent limits are computed (and timed), not enforced.
CHECKED_NOT_ENFORCED = Limits(
    max_operation_area_m2=math.inf, max_operation_window_s=math.inf, max_operation_band_m=math.inf
)


def random_volume(rng: np.random.Generator, party: str, operation: str, vid: str, days: float) -> Volume:
    """One realistic volume: a 1-50 km polygon or circle, a band and a window."""
    lon = rng.uniform(*LON_RANGE)
    lat = rng.uniform(*LAT_RANGE)
    size_m = float(np.exp(rng.uniform(math.log(1_000.0), math.log(50_000.0))))
    if rng.random() < 0.4:
        footprint = circle_footprint(lon, lat, size_m / 2.0)
    else:
        corners = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0.0, 2.0 * math.pi, corners))
        radii = size_m / 2.0 * rng.uniform(0.5, 1.0, corners)
        dx = radii * np.cos(angles) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
        dy = radii * np.sin(angles) / M_PER_DEG_LAT
        ring = np.column_stack([lon + dx, lat + dy])
        ring = np.vstack([ring, ring[:1]])
        try:
            footprint = polygon_footprint([[ring]])
        except ValueError:  # a degenerate random polygon: use its bounding box
            lo, hi = ring.min(axis=0), ring.max(axis=0)
            box = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [lo[0], lo[1]]])
            footprint = polygon_footprint([[box]])
    lower_m = float(rng.uniform(0.0, 12_000.0))
    upper_m = lower_m + float(rng.uniform(300.0, 3_000.0))
    kind = rng.random()
    if kind < 0.45:
        lower = Altitude(lower_m, AltitudeReference.MSL)
        upper = Altitude(upper_m, AltitudeReference.MSL)
    elif kind < 0.85:
        lower = Altitude(round(lower_m / FL_TO_M) * FL_TO_M, AltitudeReference.STD)
        upper = Altitude(
            max(round(upper_m / FL_TO_M), round(lower_m / FL_TO_M) + 1) * FL_TO_M, AltitudeReference.STD
        )
    elif kind < 0.95:
        lower = Altitude(lower_m, AltitudeReference.W84)
        upper = Altitude(upper_m, AltitudeReference.W84)
    else:
        lower = Altitude(lower_m / 4.0, AltitudeReference.AGL)
        upper = Altitude(upper_m / 4.0, AltitudeReference.AGL)
    start = T0_S + float(rng.uniform(0.0, days * 86_400.0))
    end = start + float(rng.uniform(1_800.0, 6 * 3_600.0))
    return Volume(vid, party, operation, footprint, lower, upper, start, end, int(rng.integers(0, 4)))


def random_operations(
    rng: np.random.Generator, count: int, days: float, parties: tuple[str, ...], prefix: str
) -> Iterator[Operation]:
    """Operations of 1-10 volumes until ``count`` volumes are made."""
    made = 0
    number = 0
    while made < count:
        party = parties[number % len(parties)]
        size = min(int(rng.integers(1, 11)), count - made)
        op_id = f"{prefix}{number}"
        volumes = tuple(random_volume(rng, party, op_id, f"{op_id}/v{k}", days) for k in range(size))
        yield Operation(op_id, party, volumes, 0, OperationState.PROPOSED, 1)
        made += size
        number += 1


# Run in a new process: open the stored file, file one operation; time both and the peak memory.
REOPEN_SCRIPT = """
import json, os, sys, time
from pathlib import Path
t = time.perf_counter()
from deconflict.storage import open_storage
from deconflict.strategic import file_operation
from strategic import one_box_operation, T0_S
storage = open_storage(sys.argv[1], audit_key_path=Path(sys.argv[2]) if len(sys.argv) > 2 else None)
op = one_box_operation(f"reopen{os.getpid()}", 37.0, 34.0, 37.1, 34.1, T0_S + 86400.0, T0_S + 90000.0)
found = file_operation(storage.operations, op.party, op.id, op.volumes).conflicts
first_s = time.perf_counter() - t
t = time.perf_counter()
op = one_box_operation(f"reopen{os.getpid()}b", 38.0, 35.0, 38.1, 35.1, T0_S + 86400.0, T0_S + 90000.0)
file_operation(storage.operations, op.party, op.id, op.volumes)
second_s = time.perf_counter() - t
storage.close()
# VmHWM: this process's own peak (ru_maxrss would keep the parent's, inherited through fork and exec).
status = open("/proc/self/status").read()
rss_mib = int(status.split("VmHWM:")[1].split()[0]) / 1024.0
print(json.dumps({"open_and_first_filing_s": round(first_s, 2), "second_filing_ms": round(second_s * 1e3, 2),
                  "peak_rss_mib": round(rss_mib), "conflicts": len(found)}))
"""


def reopen(db: Path | str, audit_key: Path | None = None) -> dict[str, object]:
    """Open ``db`` in a new process and file one operation: the restart a server goes through."""
    done = subprocess.run(
        [sys.executable, "-c", REOPEN_SCRIPT, str(db), *([str(audit_key)] if audit_key else [])],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


class Baseline:
    """All stored volumes in memory under one shapely STRtree, then the exact checks."""

    def __init__(self, volumes: list[Volume]) -> None:
        self.volumes = volumes
        self.tree = shapely.STRtree([v.footprint.outer for v in volumes])
        self.start = np.array([v.time_start_s for v in volumes])
        self.end = np.array([v.time_end_s for v in volumes])

    def check(self, operation: Operation, margins: AltitudeMargins) -> list[tuple[str, str]]:
        left: list[Volume] = []
        right: list[Volume] = []
        for volume in operation.volumes:
            hits = self.tree.query(volume.footprint.outer)
            hits = hits[(self.start[hits] < volume.time_end_s) & (self.end[hits] > volume.time_start_s)]
            for k in hits.tolist():
                if self.volumes[k].party != volume.party:
                    left.append(volume)
                    right.append(self.volumes[k])
        return sorted((c.a, c.b) for c in evaluate_pairs(left, right, Buffers(), margins))


def percentile_ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values), q)) * 1e3, 3) if values else None


def wide_operation(rng: np.random.Generator, name: str, days: float) -> Operation:
    """One volume 1.5-3 degrees a side over 12-48 h, the whole altitude range: many conflicts."""
    lon = rng.uniform(*LON_RANGE)
    lat = rng.uniform(*LAT_RANGE)
    half = rng.uniform(0.75, 1.5)
    start = T0_S + float(rng.uniform(0.0, days * 86_400.0))
    return one_box_operation(
        name, lon - half, lat - half, lon + half, lat + half, start, start + rng.uniform(12, 48) * 3600
    )


def one_box_operation(
    name: str, lon0: float, lat0: float, lon1: float, lat1: float, start_s: float, end_s: float
) -> Operation:
    ring = np.array([[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]])
    footprint = polygon_footprint([[ring]])
    volume = Volume(
        f"{name}/v0", "filer", name, footprint, Altitude(-500.0, AltitudeReference.MSL),
        Altitude(20_000.0, AltitudeReference.MSL), start_s, end_s,
    )  # fmt: skip
    return Operation(name, "filer", (volume,), 0, OperationState.PROPOSED, 1)


CONFLICT_CLASSES = (("0", 0, 0), ("1-10", 1, 10), ("11-50", 11, 50), (">50", 51, None))


def generate(
    args: argparse.Namespace, rng: np.random.Generator, console: Console
) -> tuple[list[Operation], list[Operation], float]:
    """The stored operations (in time order, as imported) and the ones to file; seconds taken."""
    t_generate = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("generating volumes", total=args.volumes)
        existing: list[Operation] = []
        for op in random_operations(rng, args.volumes, args.days, PARTIES, "op"):
            existing.append(op)
            progress.advance(task, len(op.volumes))
    generate_s = time.perf_counter() - t_generate
    # A bulk import in time order, as a restore or a migration would do it.
    existing.sort(key=lambda op: min(v.time_start_s for v in op.volumes))
    new_ops = list(random_operations(rng, 10 * args.operations, args.days, ("filer",), "new"))
    new_ops = new_ops[: args.operations]
    new_ops += [wide_operation(rng, f"wide{k}", args.days) for k in range(args.wide)]
    # The whole region over a window holding about --worst-meets of the stored volumes.
    window_s = args.days * 86_400.0 * min(1.0, args.worst_meets / max(args.volumes, 1))
    start_s = T0_S + args.days * 86_400.0 / 2.0
    new_ops.append(
        one_box_operation(
            "worst", *LON_RANGE[:1], LAT_RANGE[0], LON_RANGE[1], LAT_RANGE[1], start_s, start_s + window_s
        )
    )
    return existing, new_ops, generate_s


def file_on(
    db: Path | str,
    audit_key: Path | None,
    args: argparse.Namespace,
    existing: list[Operation],
    new_ops: list[Operation],
    console: Console,
) -> dict[str, Any]:
    """Import ``existing`` into the store at ``db`` and file ``new_ops`` there: times and conflicts found."""
    storage = open_storage(db, audit_key_path=audit_key)  # the server's: every store on one connection
    store, audit, ledger = storage.operations, storage.audit, storage.ledger
    t_load = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("loading volumes", total=args.volumes)
        for start in range(0, len(existing), 5_000):
            batch = existing[start : start + 5_000]
            progress.advance(task, store.import_operations(batch))
    load_s = time.perf_counter() - t_load
    stored_volumes = store.count_volumes()
    file_s: list[float] = []
    cpu_s: list[float] = []  # this process's CPU time: what the filing cost, whatever else the machine runs
    ours: list[list[tuple[str, str]]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("filing operations", total=len(new_ops))
        for op in new_ops:
            t = time.perf_counter()
            c = time.process_time()
            if args.channel:
                result = file_plan(
                    store,
                    audit,
                    op.party,
                    op.id,
                    op.volumes,
                    document=None,
                    priority=0,
                    replaces_version=None,
                    buffers=Buffers(),
                    limits=CHECKED_NOT_ENFORCED,
                    now_s=time.time(),
                    ledger=ledger,
                )
            else:
                result = file_operation(store, op.party, op.id, op.volumes)
            file_s.append(time.perf_counter() - t)
            cpu_s.append(time.process_time() - c)
            ours.append(sorted((c.a, c.b) for c in result.conflicts))
            progress.advance(task)
    storage.close()
    return {
        "load_s": load_s,
        "stored_volumes": stored_volumes,
        "file_s": file_s,
        "cpu_s": cpu_s,
        "ours": ours,
        "reopened": reopen(db, audit_key),
    }


def report_of(
    args: argparse.Namespace,
    filed: dict[str, Any],
    generate_s: float,
    baseline_build_s: float,
    base_s: list[float],
    theirs: list[list[tuple[str, str]]],
) -> dict[str, Any]:
    """One store's figures, against the baseline's."""
    file_s, cpu_s, ours = filed["file_s"], filed["cpu_s"], filed["ours"]
    random_s = file_s[: args.operations]
    counts = [len(c) for c in ours]
    by_class = {}
    for label, low, high in CONFLICT_CLASSES:
        members = [k for k, n in enumerate(counts) if n >= low and (high is None or n <= high)]
        times = [file_s[k] for k in members]
        cpu = [cpu_s[k] for k in members]
        by_class[label] = {
            "filings": len(times),
            "p50_ms": percentile_ms(times, 50),
            "p99_ms": percentile_ms(times, 99),
            "cpu_p50_ms": percentile_ms(cpu, 50),
            "cpu_p99_ms": percentile_ms(cpu, 99),
        }
    return {
        "volumes": args.volumes,
        "stored_volumes": filed["stored_volumes"],
        "path": "channel" if args.channel else "store",
        "operations": args.operations,
        "wide_operations": args.wide,
        "generate_s": round(generate_s, 2),
        "load_s": round(filed["load_s"], 2),
        "file_p50_ms": percentile_ms(random_s, 50),
        "file_p99_ms": percentile_ms(random_s, 99),
        "file_cpu_p50_ms": percentile_ms(cpu_s[: args.operations], 50),
        "file_cpu_p99_ms": percentile_ms(cpu_s[: args.operations], 99),
        "file_by_conflicts": by_class,
        "worst_filing_ms": round(file_s[-1] * 1e3, 3),
        "worst_filing_cpu_ms": round(cpu_s[-1] * 1e3, 3),
        "worst_filing_conflicts": counts[-1],
        "conflicts_found": sum(counts),
        "conflicts_per_filing": {
            "mean": round(float(np.mean(counts[: args.operations])), 3),
            "max": max(counts[: args.operations]),
            "wide_mean": round(float(np.mean(counts[args.operations : -1])), 1) if args.wide else None,
        },
        "baseline_build_s": round(baseline_build_s, 2),
        "baseline_p50_ms": percentile_ms(base_s[: args.operations], 50),
        "baseline_p99_ms": percentile_ms(base_s[: args.operations], 99),
        "p50_ratio_store_to_baseline": round(
            float(np.median(random_s) / np.median(base_s[: args.operations])), 3
        ),
        "reopened": filed["reopened"],
        "agree": ours == theirs,
    }


@contextlib.contextmanager
def postgres_database(tmp: Path) -> Iterator[tuple[str, Path]]:
    """A new PostgreSQL server with PostGIS (tests/cluster/servers.py): its URL and an audit key file."""
    sys.path.insert(0, str(ROOT))  # the servers' helpers live with the tests (they are not product code)
    from tests.cluster.servers import postgres_server

    with postgres_server() as server:
        yield server.url(), tmp / "audit-key.pem"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=100_000, help="stored volumes (default 100000)")
    parser.add_argument("--operations", type=int, default=1000, help="operations to file (default 1000)")
    parser.add_argument("--days", type=float, default=40.0, help="span of the time windows (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wide", type=int, default=20, help="filings of one large volume (default 20)")
    parser.add_argument(
        "--worst-meets",
        type=int,
        default=10_000,
        help="stored volumes the last filing meets (about; default 10000)",
    )
    parser.add_argument("--db", type=Path, help="SQLite database file (default: a temporary one)")
    parser.add_argument(
        "--store",
        nargs="+",
        choices=STORES,
        default=["sqlite"],
        help="the stores to file on, the same volumes and filings on each (default sqlite; "
        "postgres starts a PostgreSQL server with PostGIS on 127.0.0.1)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--channel", action="store_true", help="file through the channel service (audit entries, ledger)"
    )
    args = parser.parse_args(argv)
    stores = list(dict.fromkeys(args.store))
    console = Console(stderr=True)
    rng = np.random.default_rng(args.seed)
    margins = AltitudeMargins()
    existing, new_ops, generate_s = generate(args, rng, console)
    stored = [v for op in existing for v in op.volumes]
    # The generated volumes live to the end (the baseline needs them): kept out of the garbage
    # collector's full passes, which would otherwise walk all of them again and again during the
    # import and the filings (a million volumes: seconds), a cost of this benchmark's heap that a
    # server, which holds none of them, does not pay.
    gc.freeze()
    filed: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in stores:
            if name == "sqlite":
                filed[name] = file_on(
                    args.db or Path(tmp) / "bench.db", None, args, existing, new_ops, console
                )
            else:
                with postgres_database(Path(tmp)) as (url, audit_key):
                    filed[name] = file_on(url, audit_key, args, existing, new_ops, console)

    t = time.perf_counter()
    baseline = Baseline(stored)
    baseline_build_s = time.perf_counter() - t
    base_s: list[float] = []
    theirs: list[list[tuple[str, str]]] = []
    for op in new_ops:
        t = time.perf_counter()
        theirs.append(baseline.check(op, margins))
        base_s.append(time.perf_counter() - t)

    reports = {
        name: report_of(args, filed[name], generate_s, baseline_build_s, base_s, theirs) for name in stores
    }
    document: dict[str, Any] = reports[stores[0]] if len(stores) == 1 else dict(reports)
    if len(stores) > 1:
        first, second = stores[0], stores[1]
        document["ratio"] = {
            f"file_p50_{second}_to_{first}": round(
                reports[second]["file_p50_ms"] / reports[first]["file_p50_ms"], 3
            ),
            f"file_p99_{second}_to_{first}": round(
                reports[second]["file_p99_ms"] / reports[first]["file_p99_ms"], 3
            ),
            "same_conflicts": filed[first]["ours"] == filed[second]["ours"],
        }
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif len(stores) == 1:
        for key, value in document.items():
            console.print(f"{key:>30}: {value}")
    else:
        for name in stores:
            console.print(f"[bold]{name}[/bold]")
            for key, value in reports[name].items():
                console.print(f"{key:>30}: {value}")
        console.print(f"{'ratio':>30}: {document['ratio']}")
    return 0 if all(r["agree"] for r in reports.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
