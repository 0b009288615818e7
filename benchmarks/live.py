"""Live picture benchmark: N aircraft over 4 parties at 1 Hz through a real server, with planted encounters.

Starts ``deconflict serve`` on 127.0.0.1 (an ephemeral port, a fresh SQLite
database in a temporary folder) and registers 4 parties. Each party (one
process of its own, so the client's JSON work does not share an interpreter
with the measurements) posts every one of its aircraft once a second through
``POST /v1/tracks``, in JSON batches of ``--batch`` states. The aircraft fly
straight and level at 120-250 m/s between 1,000 and 11,000 m, spread evenly
over a square of 1 aircraft per 1,000 km² (sparse, the default) or over
1,000 x 1,000 km (``--dense``).

Planted encounters: ``--planted`` pairs of two parties' aircraft appear one
after another during the run, 15 km apart, head-on at 150 m/s each, at
12,500 m (above the other traffic, so that no other alert stands in for
them): loss of separation in 29 s, closest approach in 50 s, an urgent alert.
Each party listens on its ``/v1/events`` socket; a planted pair's delay is
from the moment both its first states were sent to the ``alerts`` frame
bringing the new alert, on each side's socket.

Reported as one JSON document, over the measured window (after ``--warmup``
seconds): ``states_per_s`` accepted, ``post_p50_ms`` / ``post_p99_ms``,
``cycle_p50_s`` / ``cycle_p99_s`` (each cycle's time from the server's
``deconflict_tactical_cycle_seconds``, its sum and count scraped four times a
second), ``alert_delay_p50_s`` / ``alert_delay_p99_s`` and
``planted_alerts`` / ``planted_expected`` (one per side of each pair),
``socket_closes``, ``peak_rss_mib`` (the server's ``VmHWM``),
``health_p50_ms`` / ``health_p99_ms`` (``GET /v1/health`` five times a
second), and the CPU seconds the server and the client used.

Usage::

    python benchmarks/live.py --aircraft 10000 --duration 30
    python benchmarks/live.py --aircraft 50000 --dense --duration 60

To profile the server, set ``DECONFLICT_BENCH_WRAP`` to a command that runs
the server's command line given after it, e.g.
``DECONFLICT_BENCH_WRAP="py-spy record -o server.txt -f raw --"``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import http.client
import json
import math
import os
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from deconflict.channel.parties import register_party
from deconflict.storage import open_storage

PARTIES = 4
STARTUP_S = 60.0
SPARSE_KM2_PER_AIRCRAFT = 1000.0
DENSE_SIDE_KM = 1000.0
PLANTED_ALT_M = 12_500.0
PLANTED_GAP_M = 15_000.0
PLANTED_GS_MPS = 150.0
M_PER_DEG = 111_320.0
_RUNNING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")


@dataclass(frozen=True)
class Plan:
    """Everything a party's poster needs: who it is, its aircraft and planted ones, when to post."""

    port: int
    token: str
    party: int
    aircraft: int
    dense: bool
    batch: int
    seed: int
    stop_after_s: float
    planted: list[dict[str, Any]]
    """Planted pairs, ``at_s`` counted from the start (which the poster reads once it is ready)."""


def area_deg(aircraft: int, dense: bool) -> tuple[float, float, float]:
    """Centre latitude, and half the square's side in degrees of latitude and of longitude."""
    side_km = DENSE_SIDE_KM if dense else math.sqrt(aircraft * SPARSE_KM2_PER_AIRCRAFT)
    centre_lat = 45.0 if dense else 0.0
    half_lat = min(side_km / 2.0 / (M_PER_DEG / 1000.0), 60.0)
    half_lon = min(half_lat / math.cos(math.radians(centre_lat)), 179.0)
    return centre_lat, half_lat, half_lon


def planted_pairs(
    count: int, aircraft: int, dense: bool, first_s: float, last_s: float, seed: int
) -> list[dict[str, Any]]:
    """``count`` head-on pairs of two parties' aircraft, each with the time it first appears (``at_s``)."""
    rng = np.random.default_rng(seed + 99)
    centre_lat, half_lat, half_lon = area_deg(aircraft, dense)
    pairs = []
    for k in range(count):
        lat = centre_lat + rng.uniform(-0.8, 0.8) * half_lat
        lon = rng.uniform(-0.8, 0.8) * half_lon
        trk = float(rng.uniform(0.0, 180.0))
        half_m = PLANTED_GAP_M / 2.0
        dn, de = half_m * math.cos(math.radians(trk)), half_m * math.sin(math.radians(trk))
        dlat, dlon = dn / M_PER_DEG, de / (M_PER_DEG * math.cos(math.radians(lat)))
        at_s = first_s + (last_s - first_s) * k / max(count, 1)
        a, b = k % PARTIES, (k + 1) % PARTIES
        pairs.append(
            {
                "k": k,
                "at_s": at_s,
                # each side: party, id, start position, track (each flies towards the other)
                "sides": [
                    [a, f"planted-{k}-a", lat - dlat, lon - dlon, trk],
                    [b, f"planted-{k}-b", lat + dlat, lon + dlon, (trk + 180.0) % 360.0],
                ],
            }
        )
    return pairs


def _time_text(wall_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall_s)) + f".{int(wall_s % 1 * 1000):03d}Z"


def poster(plan: Plan) -> dict[str, Any]:
    """Post a party's aircraft once a second until ``stop_after_s`` after the start: each batch's figures.

    Says ``ready`` on stdout once its aircraft are made, then reads the start
    (wall-clock seconds) from stdin: every party starts together, however
    long each took to start on a loaded machine.
    """
    rng = np.random.default_rng(plan.seed + plan.party)
    n = plan.aircraft // PARTIES + (1 if plan.party < plan.aircraft % PARTIES else 0)
    centre_lat, half_lat, half_lon = area_deg(plan.aircraft, plan.dense)
    lat0 = centre_lat + rng.uniform(-half_lat, half_lat, n)
    lon0 = rng.uniform(-half_lon, half_lon, n)
    alt_m = np.round(rng.uniform(1000.0, 11_000.0, n), 1)
    gs_mps = np.round(rng.uniform(120.0, 250.0, n), 1)
    trk_deg = np.round(rng.uniform(0.0, 360.0, n), 1)
    v_north = gs_mps * np.cos(np.radians(trk_deg)) / M_PER_DEG
    v_east = gs_mps * np.sin(np.radians(trk_deg)) / (M_PER_DEG * np.cos(np.radians(lat0)))
    ids = [f"p{plan.party}-{i}" for i in range(n)]
    print("ready", flush=True)
    start_s = float(sys.stdin.readline())
    stop_s = start_s + plan.stop_after_s
    mine = [(start_s + p["at_s"], side) for p in plan.planted for side in p["sides"] if side[0] == plan.party]
    connection = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=120)
    headers = {"Authorization": f"Bearer {plan.token}", "Content-Type": "application/json"}
    batches: list[list[float]] = []  # [sent, answered, states, accepted]
    first_sent: dict[str, float] = {}
    errors: collections.Counter[str] = collections.Counter()
    tick_s = start_s
    last_state_s = 0.0
    while tick_s < stop_s:
        delay_s = tick_s - time.time()
        if delay_s > 0:
            time.sleep(delay_s)
        now_s = max(time.time(), last_state_s + 0.001)
        last_state_s = now_s
        dt_s = now_s - start_s
        when = _time_text(now_s)
        lat = lat0 + v_north * dt_s
        lon = lon0 + v_east * dt_s
        states = [
            f'{{"id":"{i}","time":"{when}","lat_deg":{la:.6f},"lon_deg":{lo:.6f},"alt_m":{al},'
            f'"gs_mps":{gs},"trk_deg":{tr},"vs_mps":0.0}}'
            for i, la, lo, al, gs, tr in zip(
                ids,
                lat.tolist(),
                lon.tolist(),
                alt_m.tolist(),
                gs_mps.tolist(),
                trk_deg.tolist(),
                strict=True,
            )
        ]
        planted_now = []
        for at_s, (_, aircraft_id, plat, plon, ptrk) in mine:
            if now_s < at_s:
                continue
            flown_m = PLANTED_GS_MPS * (now_s - at_s)
            north_m, east_m = flown_m * math.cos(math.radians(ptrk)), flown_m * math.sin(math.radians(ptrk))
            la = plat + north_m / M_PER_DEG
            lo = plon + east_m / (M_PER_DEG * math.cos(math.radians(plat)))
            planted_now.append(aircraft_id)
            states.insert(
                0,
                f'{{"id":"{aircraft_id}","time":"{when}","lat_deg":{la:.6f},"lon_deg":{lo:.6f},'
                f'"alt_m":{PLANTED_ALT_M},"gs_mps":{PLANTED_GS_MPS},"trk_deg":{ptrk:.3f},"vs_mps":0.0}}',
            )
        for start in range(0, len(states), plan.batch):
            chunk = states[start : start + plan.batch]
            body = ('{"states":[' + ",".join(chunk) + "]}").encode()
            sent_s = time.time()
            if start == 0:
                for aircraft_id in planted_now:
                    first_sent.setdefault(aircraft_id, sent_s)
            try:
                connection.request("POST", "/v1/tracks", body=body, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=120)
                continue
            answered_s = time.time()
            accepted = 0
            if response.status == 202:
                accepted = int(json.loads(raw)["accepted"])
            else:
                errors[f"HTTP {response.status}"] += 1
                if errors[f"HTTP {response.status}"] == 1:
                    print(f"party {plan.party}: HTTP {response.status}: {raw[:300]!r}", file=sys.stderr)
            batches.append([sent_s, answered_s, len(chunk), accepted])
        tick_s += 1.0
        while tick_s < time.time() - 1.0:  # fallen behind by more than a tick: skip, never burst
            tick_s += 1.0
    connection.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "batches": batches,
        "first_sent": first_sent,
        "errors": dict(errors),
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


@dataclass
class Listener:
    """Every party's ``/v1/events`` socket: when each planted aircraft's new alert arrived, and closes."""

    port: int
    tokens: list[str]
    planted_ids: set[str]
    arrived: dict[str, float] = field(default_factory=dict)
    closes: collections.Counter[str] = field(default_factory=collections.Counter)
    frames: int = 0
    changes: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        asyncio.run(self._all())

    async def _all(self) -> None:
        connected = [asyncio.Event() for _ in self.tokens]
        tasks = [
            asyncio.create_task(self._one(token, up))
            for token, up in zip(self.tokens, connected, strict=True)
        ]
        await asyncio.gather(*(up.wait() for up in connected))
        self.ready.set()
        while not self.stop.is_set():
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, token: str, up: asyncio.Event) -> None:
        url = f"ws://127.0.0.1:{self.port}/v1/events"
        decoder = msgspec.json.Decoder()
        while not self.stop.is_set():
            try:
                async with connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    max_size=None,
                    open_timeout=60,
                ) as socket:
                    async for raw in socket:
                        frame = decoder.decode(raw)
                        if frame.get("type") == "ready":
                            up.set()
                        elif frame.get("type") == "alerts":
                            received_s = time.time()
                            self.frames += 1
                            self.changes += len(frame["changes"])
                            for change in frame["changes"]:
                                own = change.get("own_id")
                                if change.get("state") == "new" and own in self.planted_ids:
                                    self.arrived.setdefault(own, received_s)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else "none"
                self.closes[str(code)] += 1
            except OSError as exc:
                self.closes[type(exc).__name__] += 1
                await asyncio.sleep(0.5)


class Server:
    """``deconflict serve`` in a subprocess, its log in a file; always stopped (SIGINT, then SIGKILL)."""

    def __init__(self, db: Path, log: Path, aircraft: int, metrics_token: str) -> None:
        command = [sys.executable, "-m", "deconflict", "serve", "--db", str(db), "--init", "--port", "0"]
        wrapper = os.environ.get("DECONFLICT_BENCH_WRAP")  # e.g. "py-spy record -o prof.txt -f raw --"
        if wrapper:
            command = [*wrapper.split(), *command]
        env = {
            **os.environ,
            "DECONFLICT_TRACKS_MAX_AIRCRAFT_PER_PARTY": str(max(aircraft, 1000)),
            "DECONFLICT_METRICS_TOKEN": metrics_token,
            "DECONFLICT_EVENTS_MAX_QUEUED": "100000",
        }
        self.log = log
        with log.open("wb") as out:  # a file, never a pipe that could fill up
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out, env=env)
        deadline = time.monotonic() + STARTUP_S
        while (match := _RUNNING.search(log.read_text(errors="replace"))) is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start:\n" + log.read_text(errors="replace"))
            time.sleep(0.05)
        self.port = int(match.group(1))
        self.pid = self._server_pid()

    def _server_pid(self) -> int:
        """The Python process serving (the wrapper's child when a profiler wraps it)."""
        if not os.environ.get("DECONFLICT_BENCH_WRAP"):
            return self.process.pid
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return int(children[0]) if children else self.process.pid

    def status_kib(self, key: str) -> int:
        """A ``VmRSS`` / ``VmHWM`` figure of the server, KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def cpu_s(self) -> float:
        """User plus system CPU seconds the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def register(db: Path) -> list[str]:
    """The parties' tokens, on the server's database."""
    tokens = []
    with open_storage(db) as storage:
        for number in range(PARTIES):
            registration = register_party(storage.parties, f"party-{number + 1}", None, time.time())
            tokens.append(registration.token)
    return tokens


@dataclass
class Probes:
    """``GET /v1/health`` latencies, and each cycle's time from the metrics' sum and count."""

    port: int
    metrics_token: str
    health_s: list[tuple[float, float]] = field(default_factory=list)  # (when, latency)
    cycles_s: list[tuple[float, float]] = field(default_factory=list)  # (when, one cycle's time)
    stop: threading.Event = field(default_factory=threading.Event)

    def health(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop.wait(0.2):
            started = time.perf_counter()
            connection.request("GET", "/v1/health")
            connection.getresponse().read()
            self.health_s.append((time.time(), time.perf_counter() - started))
        connection.close()

    def cycles(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.metrics_token}"}
        before: tuple[float, float] | None = None
        while not self.stop.wait(0.25):
            connection.request("GET", "/metrics", headers=headers)
            text = connection.getresponse().read().decode()
            found = dict(
                re.findall(r"^deconflict_tactical_cycle_seconds_(sum|count) (\S+)$", text, re.MULTILINE)
            )
            if "sum" not in found:
                continue
            now = (float(found["sum"]), float(found["count"]))
            if before is not None and now[1] > before[1]:
                ran = int(now[1] - before[1])
                each_s = (now[0] - before[0]) / ran
                self.cycles_s += [(time.time(), each_s)] * ran
            before = now
        connection.close()


def _quantiles(values: list[float], scale: float = 1.0, digits: int = 3) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    data = np.asarray(values) * scale
    return round(float(np.percentile(data, 50)), digits), round(float(np.percentile(data, 99)), digits)


def run(
    aircraft: int,
    dense: bool,
    duration_s: float,
    warmup_s: float,
    planted: int,
    batch: int,
    seed: int = 20261207,
) -> dict[str, Any]:
    """One run against a fresh server; the figures."""
    metrics_token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="deconflict-live-") as folder:
        root = Path(folder)
        db = root / "channel.db"
        tokens = register(db)
        server = Server(db, root / "serve.log", aircraft + 2 * planted, metrics_token)
        try:
            return _measure(
                server,
                root,
                tokens,
                metrics_token,
                aircraft,
                dense,
                duration_s,
                warmup_s,
                planted,
                batch,
                seed,
            )
        finally:
            server.stop()


def _measure(
    server: Server,
    root: Path,
    tokens: list[str],
    metrics_token: str,
    aircraft: int,
    dense: bool,
    duration_s: float,
    warmup_s: float,
    planted: int,
    batch: int,
    seed: int,
) -> dict[str, Any]:
    # The planted pairs appear within the measured window, the last one with 8 s to spare.
    pairs = planted_pairs(
        planted, aircraft, dense, warmup_s, max(warmup_s, warmup_s + duration_s - 8.0), seed
    )
    listener = Listener(server.port, tokens, {side[1] for p in pairs for side in p["sides"]})
    listening = threading.Thread(target=listener.run, daemon=True)
    listening.start()
    if not listener.ready.wait(60):
        raise RuntimeError("the event sockets did not open")
    posters = []
    for party, token in enumerate(tokens):
        plan = Plan(server.port, token, party, aircraft, dense, batch, seed, warmup_s + duration_s, pairs)
        plan_file = root / f"plan-{party}.json"
        plan_file.write_text(json.dumps(plan.__dict__))
        posters.append(
            subprocess.Popen(
                [sys.executable, __file__, "--poster", str(plan_file)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for process in posters:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("a poster did not start")
    probes = Probes(server.port, metrics_token)
    threads = [threading.Thread(target=probes.health), threading.Thread(target=probes.cycles)]
    for thread in threads:
        thread.start()
    cpu_before_s = server.cpu_s()
    start_s = time.time() + 0.5
    measure_s = start_s + warmup_s
    stop_s = measure_s + duration_s
    for process in posters:
        assert process.stdin is not None
        process.stdin.write(f"{start_s!r}\n")
        process.stdin.flush()
    results = []
    for process in posters:
        out, _ = process.communicate(timeout=duration_s + warmup_s + 300)
        results.append(json.loads(out))
    server_cpu_s = server.cpu_s() - cpu_before_s
    time.sleep(2.0)  # the last cycle's alerts
    probes.stop.set()
    listener.stop.set()
    for thread in threads:
        thread.join(timeout=30)
    listening.join(timeout=30)
    peak_rss_kib = server.status_kib("VmHWM")

    window = [b for r in results for b in r["batches"] if measure_s <= b[0] < stop_s]
    accepted = sum(int(b[3]) for b in window)
    posted = sum(int(b[2]) for b in window)
    post_p50, post_p99 = _quantiles([b[1] - b[0] for b in window], 1000.0, 1)
    cycle_p50, cycle_p99 = _quantiles([c for when, c in probes.cycles_s if when >= measure_s])
    health_p50, health_p99 = _quantiles([h for when, h in probes.health_s if when >= measure_s], 1000.0, 1)
    first_sent: dict[str, float] = {k: v for r in results for k, v in r["first_sent"].items()}
    delays = []
    for pair in pairs:
        ids = [side[1] for side in pair["sides"]]
        if not all(i in first_sent for i in ids):
            continue
        both_s = max(first_sent[i] for i in ids)
        delays += [listener.arrived[i] - both_s for i in ids if i in listener.arrived]
    delay_p50, delay_p99 = _quantiles(delays, 1.0, 2)
    errors: collections.Counter[str] = collections.Counter()
    for r in results:
        errors.update(r["errors"])
    return {
        "aircraft": aircraft,
        "traffic": "dense" if dense else "sparse",
        "parties": PARTIES,
        "seconds": duration_s,
        "states_posted": posted,
        "states_per_s": round(accepted / duration_s, 1),
        "post_p50_ms": post_p50,
        "post_p99_ms": post_p99,
        "cycle_p50_s": cycle_p50,
        "cycle_p99_s": cycle_p99,
        "cycles": sum(1 for when, _ in probes.cycles_s if when >= measure_s),
        "alert_delay_p50_s": delay_p50,
        "alert_delay_p99_s": delay_p99,
        "planted_alerts": len(delays),
        "planted_expected": 2 * sum(1 for p in pairs if all(side[1] in first_sent for side in p["sides"])),
        "alert_frames": listener.frames,
        "alert_changes": listener.changes,
        "socket_closes": sum(listener.closes.values()),
        "socket_close_codes": dict(listener.closes),
        "peak_rss_mib": round(peak_rss_kib / 1024.0, 1),
        "health_p50_ms": health_p50,
        "health_p99_ms": health_p99,
        "server_cpu_s": round(server_cpu_s, 1),
        "client_cpu_s": round(sum(r["cpu_s"] for r in results), 1),
        "errors": dict(errors),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aircraft", type=int, default=10_000, help="aircraft over the 4 parties")
    parser.add_argument(
        "--dense", action="store_true", help="over 1,000 x 1,000 km (sparse: 1 per 1,000 km²)"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of posting before measuring")
    parser.add_argument("--planted", type=int, default=20, help="planted head-on pairs")
    parser.add_argument("--batch", type=int, default=10_000, help="states per POST")
    parser.add_argument("--json", action="store_true", help="print only the JSON document")
    parser.add_argument("--poster", type=Path, help=argparse.SUPPRESS)  # a party's poster process
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args(argv)
    if args.poster is not None:
        print(json.dumps(poster(Plan(**json.loads(args.poster.read_text())))))
        return 0
    figures = run(args.aircraft, args.dense, args.duration, args.warmup, args.planted, args.batch, args.seed)
    if not args.json:
        print(
            f"live picture: {args.aircraft} aircraft ({figures['traffic']}), 4 parties at 1 Hz",
            file=sys.stderr,
        )
    print(json.dumps(figures, indent=2))
    ok = not figures["errors"] and figures["planted_alerts"] == figures["planted_expected"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
