"""Feed reading benchmark: BaseStation (SBS-1) lines per second, compiled scan against the reference.

Builds a capture from the real trajectories in tests/data/adsb (each track row as a
velocity ``MSG,4`` and a position ``MSG,3`` line, an ``MSG,1`` when the callsign
changes), repeated ``--copies`` times with the times shifted so that the aircraft
fly again, written to a temporary file; ``--garbage`` mixes in one malformed line
every that many lines. Times :func:`~deconflict.feeds.read_sbs` (file to states,
best of ``--repeat``, after one warm-up read that compiles the scan) and the
line-by-line reference :class:`~deconflict.feeds.SbsAssembler` on the same lines,
and checks that both give the same number of states. One core.

Beast: the same trajectories as Beast frames (the tests' DF17 encoder: an identification,
a velocity and an airborne position per row), ``--beast-copies`` times, one after the other in
time, each copy with its own aircraft addresses (so that no copy's messages repeat another's),
with a garbage run and a frame with a bad CRC between copies; times
:func:`~deconflict.feeds.read_beast` (frames to states, rs1090 decoding; best of ``--repeat``)
in frames per second of wall and of CPU time.

One-hour replay: a busy receiver's hour as Beast frames, the sample ``--hour-copies`` times
over the same hour, each copy with its own addresses and its times moved by a share of the
sample's span (wrapping around within it), about 300 aircraft at once for 100 copies; the
time ``deconflict replay`` takes on it, as a process of its own (reading, replay, report),
in times real time.

ASTERIX: the same trajectories as CAT021 and CAT062 records (the tests' encoder, libasterix),
``--asterix-copies`` times with garbage between copies; times :func:`~deconflict.feeds.read_asterix`
(data blocks to states, libasterix parsing; best of ``--repeat``) in records per second.

Usage::

    python benchmarks/feeds.py --copies 20 --beast-copies 5 --asterix-copies 1 --hour-copies 100 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from deconflict.feeds import Reading, SbsAssembler, read_asterix, read_beast, read_sbs
from deconflict.tactical.states import States
from deconflict.tactical.tracks import Tracks, read_tracks
from deconflict.units import FT_PER_MIN_TO_MPS, FT_TO_M, KT_TO_MPS

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "tests" / "data" / "adsb" / "quickstart-slices.csv.gz"
sys.path.insert(0, str(ROOT))  # the Beast and ASTERIX encoders live with the tests (not product code)
HOUR_S = 3600.0
GARBAGE = (
    "$GPGGA,123519,4807.038,N",
    "MSG,3,1,1,4CA2D6",
    "MSG,3,1,1,XYZ,1,2021/10/07,12:00:00.000,,,,1,,,a,b,,,,,,0",
)


def capture(copies: int, garbage_every: int) -> list[str]:
    tracks = read_tracks(SAMPLE, require_time=True)
    assert tracks.time_s is not None
    s = tracks.states
    span_s = float(tracks.time_s.max() - tracks.time_s.min()) + 1.0
    lines: list[str] = []
    for copy in range(copies):
        callsigns: dict[str, str] = {}
        for k in range(len(tracks)):
            moment = datetime.fromtimestamp(float(tracks.time_s[k]) + copy * span_s, tz=UTC)
            date, clock = moment.strftime("%Y/%m/%d"), moment.strftime("%H:%M:%S.000")
            ident = str(tracks.ids[k]).upper()
            head = f"MSG,{{}},1,1,{ident},1,{date},{clock},{date},{clock}"
            if callsigns.get(ident) != tracks.callsigns[k]:
                callsigns[ident] = str(tracks.callsigns[k])
                lines.append(head.format(1) + f",{tracks.callsigns[k]},,,,,,,,,,,0")
            gs_kt, vr = float(s.gs_mps[k]) / KT_TO_MPS, float(s.vs_mps[k]) / FT_PER_MIN_TO_MPS
            lines.append(head.format(4) + f",,,{gs_kt:.1f},{float(s.trk_deg[k]):.1f},,,{vr:.0f},,,,,0")
            alt_ft = float(s.alt_m[k]) / FT_TO_M
            lines.append(
                head.format(3)
                + f",,{alt_ft:.0f},,,{float(s.lat_deg[k]):.5f},{float(s.lon_deg[k]):.5f},,,0,0,0,0"
            )
    if garbage_every:
        for at in range(len(lines) - 1, 0, -garbage_every):
            lines.insert(at, GARBAGE[at % len(GARBAGE)])
    return lines


def shifted(tracks: Tracks, copy: int, shift_s: float) -> Tracks:
    """The tracks as another set of aircraft: addresses changed by ``copy`` (so that their
    messages differ from the original's), times moved by ``shift_s``."""
    ids = np.array([f"{int(str(i), 16) ^ (copy * 0x9E3779) & 0xFFFFFF:06x}" for i in tracks.ids.tolist()])
    assert tracks.time_s is not None
    return Tracks(tracks.source, tracks.row, ids, tracks.callsigns, tracks.time_s + shift_s, tracks.states)


def beast_copies(copies: int) -> bytes:
    """The sample as Beast frames ``copies`` times, each copy after the previous one in time and
    with its own addresses, a garbage run and a frame with a bad CRC between copies."""
    from tests.feeds.beast_encoder import CLOCK_HZ, beast_capture, beast_frame, position, scan_frames

    tracks = read_tracks(SAMPLE, require_time=True)
    assert tracks.time_s is not None
    span_s = float(tracks.time_s.max() - tracks.time_s.min()) + 1.0
    bad = bytearray(position(0x40621D, 48.0, 2.0, 30000.0, 0))
    bad[9] ^= 0x04
    out = bytearray()
    for copy in range(copies):
        offset = round(copy * span_s * CLOCK_HZ)
        if copy:
            out += b"\x00\xffgarbage" + beast_frame(bytes(bad), offset)
        for kind, body in scan_frames(beast_capture(shifted(tracks, copy, 0.0))):
            ticks = int.from_bytes(body[:6], "big") + offset
            out += b"\x1a" + kind + (ticks.to_bytes(6, "big") + body[6:]).replace(b"\x1a", b"\x1a\x1a")
    return bytes(out)


def timed(read: Callable[[], Reading], repeat: int) -> tuple[Reading, float, float]:
    """The reading, and the best wall and CPU (this process's) seconds of ``repeat`` reads."""
    best_s = best_cpu_s = float("inf")
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        reading = read()
        best_s = min(best_s, time.perf_counter() - started)
        best_cpu_s = min(best_cpu_s, time.process_time() - cpu)
    return reading, best_s, best_cpu_s


def beast(copies: int, repeat: int) -> dict[str, object]:
    """Frames per second of :func:`read_beast` on a capture of the real trajectories."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "capture.beast"
        path.write_bytes(beast_copies(copies))
        read_beast(path)  # compiles the scan (cached on disk afterwards)
        reading, best_s, cpu_s = timed(lambda: read_beast(path), repeat)
    return {
        "frames": reading.records,
        "states": len(reading.tracks),
        "dropped": dict(reading.drops.counts),
        "read_s": round(best_s, 3),
        "cpu_s": round(cpu_s, 3),
        "frames_per_s": round(reading.records / best_s),
        "frames_per_cpu_s": round(reading.records / cpu_s),
    }


def hour_capture(copies: int) -> tuple[bytes, float, int]:
    """One hour of a busy receiver as Beast frames: the sample ``copies`` times, each copy with its
    own addresses, its times moved by ``copy / copies`` of the sample's span (wrapping around
    within it) and its positions moved to a cell of a 10-column grid of 0.5 deg of latitude by
    0.8 deg of longitude (about 30 NM each way: a receiver's 150 NM around the sample's airspace,
    rather than every copy on the same routes a minute apart), the hour's rows kept. Returns the
    capture, its start time and its aircraft count."""
    from tests.feeds.beast_encoder import beast_capture

    tracks = read_tracks(SAMPLE, require_time=True)
    assert tracks.time_s is not None
    start_s = float(tracks.time_s.min())
    span_s = float(tracks.time_s.max()) - start_s + 1.0
    rows, ids, times, dlat, dlon = [], [], [], [], []
    rows_of_grid = -(-copies // 10)
    for copy in range(copies):
        time_s = start_s + (tracks.time_s - start_s + copy * span_s / copies) % span_s
        keep = np.flatnonzero(time_s < start_s + HOUR_S)
        rows.append(keep)
        ids.append(shifted(tracks, copy, 0.0).ids[keep])
        times.append(time_s[keep])
        dlat.append(np.full(keep.size, 0.5 * (copy // 10 - (rows_of_grid - 1) / 2)))
        dlon.append(np.full(keep.size, 0.8 * (copy % 10 - 4.5)))
    time_s = np.concatenate(times)
    order = np.argsort(time_s, kind="stable")
    source = np.concatenate(rows)[order]
    all_ids = np.concatenate(ids)[order]
    s = tracks.states.take(source)
    states = States(
        s.lat_deg + np.concatenate(dlat)[order],
        s.lon_deg + np.concatenate(dlon)[order],
        s.alt_m,
        s.gs_mps,
        s.trk_deg,
        s.vs_mps,
    )
    merged = Tracks(
        "hour", np.arange(1, order.size + 1), all_ids, tracks.callsigns[source], time_s[order], states
    )
    return beast_capture(merged), start_s, len(set(all_ids.tolist()))


def hour(copies: int) -> dict[str, object]:
    """``deconflict replay`` of a one-hour busy capture, end to end (a process of its own), in
    times real time."""
    from tests.feeds.beast_encoder import scan_frames

    data, start_s, aircraft = hour_capture(copies)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hour.beast"
        path.write_bytes(data)
        command = [
            sys.executable,
            "-m",
            "deconflict",
            "replay",
            "--format",
            "beast",
            "--start-time",
            str(start_s),
            "--json",
            str(path),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"replay failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    read = len(scan_frames(data))
    return {
        "copies": copies,
        "aircraft": aircraft,
        "frames": read,
        "frames_per_real_s": round(read / HOUR_S),
        "incidents": len(report.get("incidents", [])),
        "alerts": len(report.get("alerts", [])),
        "wall_s": round(wall_s, 1),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "x_real_time": round(HOUR_S / wall_s, 1),
    }


def asterix(copies: int, repeat: int) -> dict[str, object]:
    """Records per second of :func:`read_asterix` on CAT021 and CAT062 recordings of the real
    trajectories (one file of each category)."""
    from tests.feeds.asterix_encoder import recording

    tracks = read_tracks(SAMPLE, require_time=True)
    results: dict[str, object] = {}
    for category in (21, 62):
        data = b"\x00\xffgarbage".join([recording(tracks, category)] * copies)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"capture.cat{category:03d}"
            path.write_bytes(data)
            best_s = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                reading = read_asterix(path, start_s=1633564800.0)
                best_s = min(best_s, time.perf_counter() - started)
        results[f"cat{category:03d}"] = {
            "records": reading.records,
            "states": len(reading.tracks),
            "dropped": dict(reading.drops.counts),
            "read_s": round(best_s, 3),
            "records_per_s": round(reading.records / best_s),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--copies", type=int, default=20, help="copies of the sample (default 20: ~770,000 lines)"
    )
    parser.add_argument("--garbage", type=int, default=1000, metavar="N", help="a bad line every N (0: none)")
    parser.add_argument(
        "--beast-copies",
        type=int,
        default=5,
        help="copies of the sample as Beast (default 5: ~190,000 frames)",
    )
    parser.add_argument(
        "--asterix-copies",
        type=int,
        default=1,
        help="copies of the sample as CAT021 and as CAT062 (default 1: ~19,000 records each)",
    )
    parser.add_argument(
        "--hour-copies",
        type=int,
        default=100,
        help="copies of the sample in the one-hour busy capture replayed by `deconflict replay`"
        " (default 100: ~300 aircraft at once; 0: none)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    lines = capture(args.copies, args.garbage)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "capture.sbs"
        path.write_text("\n".join(lines) + "\n")
        read_sbs(path)  # compiles the scan (cached on disk afterwards)
        best_s = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            reading = read_sbs(path)
            best_s = min(best_s, time.perf_counter() - started)
    started = time.perf_counter()
    assembler = SbsAssembler("reference", forget_s=1e12)
    states = sum(1 for row, line in enumerate(lines, 1) if assembler.line(line, row) is not None)
    reference_s = time.perf_counter() - started
    result = {
        "lines": len(lines),
        "states": len(reading.tracks),
        "dropped": dict(reading.drops.counts),
        "read_s": round(best_s, 3),
        "lines_per_s": round(len(lines) / best_s),
        "reference_lines_per_s": round(len(lines) / reference_s),
        "speedup": round(reference_s / best_s, 1),
        "identical": states == len(reading.tracks)
        and dict(assembler.drops.counts) == dict(reading.drops.counts),
    }
    beast_result = beast(args.beast_copies, args.repeat) if args.beast_copies else None
    asterix_result = asterix(args.asterix_copies, args.repeat) if args.asterix_copies else None
    hour_result = hour(args.hour_copies) if args.hour_copies else None
    if args.json:
        document: dict[str, object] = dict(result)
        if beast_result is not None:
            document["beast"] = beast_result
        if asterix_result is not None:
            document["asterix"] = asterix_result
        if hour_result is not None:
            document["hour"] = hour_result
        print(json.dumps(document, indent=2))
    else:
        print(
            f"SBS: {result['lines']:,} lines -> {result['states']:,} states in {best_s:.2f} s: "
            f"{result['lines_per_s']:,} lines/s (reference {result['reference_lines_per_s']:,} lines/s, "
            f"x{result['speedup']}); dropped {sum(reading.drops.counts.values()):,}; "
            f"identical: {result['identical']}"
        )
        if beast_result is not None:
            b = beast_result
            print(
                f"Beast: {b['frames']:,} frames -> {b['states']:,} states in {b['read_s']:.2f} s: "
                f"{b['frames_per_s']:,} frames/s ({b['cpu_s']:.2f} s CPU: "
                f"{b['frames_per_cpu_s']:,} frames/CPU s); dropped {b['dropped']}"
            )
        for name, a in (asterix_result or {}).items():
            assert isinstance(a, dict)
            print(
                f"ASTERIX {name.upper()}: {a['records']:,} records -> {a['states']:,} states in "
                f"{a['read_s']:.2f} s: {a['records_per_s']:,} records/s; dropped {a['dropped']}"
            )
        if hour_result is not None:
            h = hour_result
            print(
                f"One-hour replay: {h['frames']:,} frames ({h['frames_per_real_s']:,}/s), "
                f"{h['aircraft']:,} aircraft, {h['incidents']:,} incidents, {h['alerts']:,} alerts: "
                f"`deconflict replay` in {h['wall_s']} s ({h['cpu_s']} s CPU): x{h['x_real_time']} real time"
            )
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
