"""``deconflict demo``: the live demo, three parties over the Euphrates valley, end to end.

Creates a fresh embedded database in a demo folder, registers ``blue``,
``red`` and ``civil`` (their tokens and private keys go into the folder),
starts the channel service in-process and drives the built-in scenario
against it over loopback HTTP (:mod:`deconflict.demo`). Runs until Ctrl-C, or
``--duration`` seconds, then prints a summary. ``--plans-only`` keeps the
strategic check of the bundled example plans.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from deconflict.errors import InputError, Problem

# The parser is built for every command: heavy modules are imported only when the demo runs.
if TYPE_CHECKING:
    import uvicorn

    from deconflict.client import ChannelClient
    from deconflict.config import Settings
    from deconflict.demo.driver import DemoDriver, ScenarioClock
    from deconflict.demo.scenario import Scenario

__all__ = ["DEMO_LADDER_S", "DEMO_MARKER", "add_demo_parser", "prepare_folder", "run_demo"]

DEMO_MARKER = "demo.json"
"""The file in the demo folder that names the demo's database (only such a database is replaced)."""

DEMO_LADDER_S = (0.0, 10.0, 20.0)
"""The demo's escalation ladder: seconds (scenario time) past a missed reply-by deadline."""

_DEMO_SWEEP_S = 1.0
_TICK_S = 1.0
_STARTUP_S = 30.0


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 100, got {text!r}")
    return value


def add_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``deconflict`` parser."""
    from deconflict.cli import arguments

    demo = sub.add_parser(
        "demo",
        help="run the live three-party scenario against a real channel service",
        description=(
            "Creates a fresh database in a demo folder, registers the parties blue, red and civil, "
            "serves the channel and the web map, and plays a scenario over the Euphrates valley: plans "
            "with conflicts, aircraft (some straying across the line), hotline messages, a missed "
            "deadline that escalates. Runs until Ctrl-C, or --duration seconds; then prints a summary."
        ),
    )
    demo.add_argument(
        "--db",
        metavar="PATH",
        help="the demo's database (default demo/deconflict.db; its folder gets tokens and keys)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    demo.add_argument(
        "--port", type=arguments.port, default=8000, help="port (default 8000; 0: any free port)"
    )
    demo.add_argument(
        "--duration",
        type=arguments.positive,
        metavar="S",
        help="stop after S seconds (default: run until Ctrl-C)",
    )
    demo.add_argument(
        "--speed", type=_speed, default=1.0, metavar="X", help="run the scenario X times faster (default 1)"
    )
    demo.add_argument(
        "--adsb",
        metavar="FILE",
        help="also replay a recorded track CSV (e.g. ADS-B, with time_s) as the civil party's traffic",
    )
    demo.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    demo.add_argument(
        "--plans-only",
        action="store_true",
        help="only the strategic check of the bundled example plans (no server)",
    )


def _run_plans_only(as_json: bool) -> int:
    """The strategic check of the bundled example plans; exit 0 even though it has conflicts."""
    from deconflict.cli.check import check_files, example_files
    from deconflict.cli.output import console as table_console
    from deconflict.strategic.buffers import Buffers

    files = example_files()
    console = table_console()
    if not as_json:
        console.print(f"[bold]deconflict demo[/]: strategic check of the bundled plans in {files[0].parent}")
    check_files(files, Buffers(), as_json, console)
    if not as_json:
        console.print("Try: deconflict check --json " + " ".join(str(f) for f in files))
    return 0


# --- the demo folder ---------------------------------------------------------------------


def _demo_files(db: Path, parties: list[str]) -> list[str]:
    """Names of the files a demo writes into its folder (the database's own files included)."""
    from deconflict.storage.sqlite.audit import audit_key_path

    database = [db.name, f"{db.name}-wal", f"{db.name}-shm", audit_key_path(db).name, SERVER_KEY_FILE]
    return database + [f"{p}.token" for p in parties] + [f"{p}.ed25519.pem" for p in parties]


SERVER_KEY_FILE = "server-audit-key.pub.pem"
"""The server's audit public key, written into the demo folder: what `audit verify --key` checks with."""


def _write_server_key(settings: Settings, folder: Path) -> Path:
    """Write the server's audit public key into ``folder`` (the key exists once a party is registered)."""
    from deconflict.storage import open_audit_log

    path = folder / SERVER_KEY_FILE
    with open_audit_log(settings) as audit:
        path.write_text(audit.public_key_pem, encoding="ascii")
    return path


def prepare_folder(db: Path, parties: list[str]) -> Path:
    """Make ``db``'s folder ready for a fresh demo; returns the folder.

    A previous demo's database and files (named by :data:`DEMO_MARKER`) are
    removed; anything else is never overwritten.

    Raises
    ------
    InputError
        If ``db`` (or another file the demo writes) exists and is not a previous demo's.
    """
    folder = db.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = Problem(str(folder), f"cannot create the demo folder: {exc.strerror or exc}")
        raise InputError([problem]) from exc
    marker = folder / DEMO_MARKER
    previous: dict[str, Any] = {}
    if marker.is_file():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
    ours = set(previous.get("files", [])) if previous.get("database") == db.name else set()
    names = _demo_files(db, parties)
    for name in names:
        path = folder / name
        if path.exists() and name not in ours:
            what = "database" if name == db.name else "file"
            raise InputError(
                [
                    Problem(
                        str(path),
                        f"exists and is not a demo {what} (no {DEMO_MARKER} names it): "
                        "choose another --db; the demo never overwrites other data",
                    )
                ]
            )
    for name in names:  # only what this demo writes, whatever else the marker lists
        (folder / name).unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return folder


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _register(settings: Settings, folder: Path, parties: list[str]) -> dict[str, dict[str, str]]:
    """Register the parties; write each one's token and private key into ``folder``."""
    from deconflict.channel.service import add_party
    from deconflict.storage import open_audit_log, open_party_store

    found: dict[str, dict[str, str]] = {}
    store = open_party_store(settings)
    try:
        with open_audit_log(settings) as audit:
            for name in parties:
                registration = add_party(store, audit, name, None, time.time())
                assert registration.private_key_pem is not None
                token_path, key_path = folder / f"{name}.token", folder / f"{name}.ed25519.pem"
                _write_secret(token_path, registration.token.encode("ascii") + b"\n")
                _write_secret(key_path, registration.private_key_pem)
                found[name] = {
                    "token": registration.token,
                    "token_file": str(token_path.resolve()),
                    "key_file": str(key_path.resolve()),
                }
    finally:
        store.close()
    return found


# --- the server -----------------------------------------------------------------------------


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(
            [Problem("--port", f"cannot listen on {host}:{port}: {exc.strerror or exc} (try --port 0)")]
        ) from exc
    sock.listen(128)
    return sock


def _url(host: str, port: int) -> str:
    """The URL clients and people use: a wildcard address is reached on loopback."""
    reach = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{reach}]:{port}" if ":" in reach else f"http://{reach}:{port}"


def _start_server(app: Any, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve ``app`` on ``sock`` in a thread (no signal handlers: the main thread keeps Ctrl-C)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise InputError([Problem("demo", "the channel service did not start (see the messages above)")])
        time.sleep(0.05)
    return server, thread


def _stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=15.0)


# --- the run ------------------------------------------------------------------------------


class _Stopped(Exception):
    """Raised in the replay thread when the demo stops."""


class _Replay:
    """``--adsb``: the recording fed to the service as the civil party's traffic, in a thread.

    Reuses :func:`deconflict.cli.feed.feed` on the scenario clock (so ``--speed`` applies).
    """

    def __init__(self, path: Path, client: ChannelClient, clock: ScenarioClock, log: Callable[[str], None]):
        self.path = path
        self.client = client
        self.clock = clock
        self.log = log
        self.posted = 0
        self.accepted = 0
        self.error: str | None = None
        self.complete = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-adsb", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _post(self, batch: list[dict[str, Any]]) -> int:
        if self._stop.is_set():
            raise _Stopped
        accepted = int(self.client.post_tracks(batch)["accepted"])
        self.posted += len(batch)
        self.accepted += accepted
        return accepted

    def _sleep(self, seconds: float) -> None:
        # feed() waits in scenario seconds; real time runs `speed` times slower.
        if self._stop.wait(seconds / self.clock.speed):
            raise _Stopped

    def _run(self) -> None:
        from deconflict.cli.feed import feed
        from deconflict.errors import DeconflictError

        try:
            feed(self.path, self._post, clock=self.clock.now_s, sleep=self._sleep)
            self.complete = True
            self.log(f"replay of {self.path.name} done: {self.posted} states posted as civil")
        except _Stopped:
            pass
        except DeconflictError as exc:
            self.error = str(exc)
            self.log(f"replay of {self.path.name} stopped: {exc}")

    def stop(self) -> dict[str, Any]:
        """Stop the thread; what it posted."""
        self._stop.set()
        self._thread.join(timeout=15.0)
        return {
            "file": str(self.path),
            "states_posted": self.posted,
            "accepted": self.accepted,
            "complete": self.complete,
            "error": self.error,
        }


def _check_recording(path: Path) -> None:
    """Read the recording once up front, so a bad file is exit 2 before anything starts."""
    from deconflict.tactical.tracks import read_tracks

    read_tracks(path, require_time=True)


def _clients(url: str, parties: dict[str, dict[str, str]]) -> dict[str, ChannelClient]:
    from deconflict.client import ChannelClient

    # The demo's own server, on an address of this machine (its --host): nothing crosses a network.
    return {
        name: ChannelClient(url, p["token"], private_key_pem=Path(p["key_file"]).read_bytes(), insecure=True)
        for name, p in parties.items()
    }


def _print_header(
    scenario: Scenario,
    folder: Path,
    db: Path,
    url: str,
    parties: dict[str, dict[str, str]],
    duration_s: float | None,
    stream: TextIO,
) -> None:
    def say(line: str) -> None:
        stream.write(line + "\n")

    say(f"deconflict demo: {len(scenario.parties)} parties over the Euphrates valley")
    say(f"  demo folder: {folder.resolve()}")
    say(f"  database:    {db.resolve()}")
    say(f"  map:         {url}/  (paste a token below into the page)")
    for name, p in parties.items():
        say(f"  {name:<5} ({scenario.parties[name]}): token {p['token']}")
        say(f"        token file {p['token_file']}, private key {p['key_file']}")
    say(f"Stops after {duration_s:g} s." if duration_s is not None else "Ctrl-C stops the demo.")
    stream.flush()


def _print_summary(summary: dict[str, Any]) -> None:
    def states(counts: dict[str, int]) -> str:
        return ", ".join(f"{n} {state}" for state, n in counts.items()) or "none"

    print("Summary")
    print(f"  ran {summary['elapsed_s']:g} s of scenario time at speed {summary['speed']:g}")
    print(f"  parties:     {', '.join(summary['parties'])}")
    print(
        f"  operations:  {summary['operations']['filed']} filed ({states(summary['operations']['by_state'])})"
    )
    c = summary["conflicts"]
    print(f"  conflicts:   {c['total']} ({states(c['by_state'])})")
    m = summary["messages"]
    print(f"  messages:    {m['total']} ({states(m['by_state'])}), {m['overdue']} overdue")
    print(f"  escalations: {summary['escalations']}")
    t = summary["tracks"]
    if t["available"]:
        print(f"  aircraft:    {t['aircraft']}, {t['states_posted']} states posted")
        print(f"  alerts:      {summary['alerts']['total']} ({states(summary['alerts']['by_level'])})")
        i = summary["incidents"]
        print(f"  incidents:   {i['total']} ({i['open']} still open)")
    else:
        print("  aircraft:    not shown (the service has no /v1/tracks)")
    s = summary["script"]
    print(f"  script:      {s['done']} of {s['steps']} steps done")
    for line in s["skipped"] + s["failed"]:
        print(f"    {line}")
    replayed = summary["adsb"]
    if replayed is not None:
        done = "whole file" if replayed["complete"] else "stopped with the demo"
        print(f"  replay:      {replayed['states_posted']} states of {replayed['file']} posted ({done})")
    print(f"  check it:    deconflict audit verify --db {summary['database']} --key {summary['audit_key']}")


def _play(driver: DemoDriver, duration_s: float | None, log: Callable[[str], None]) -> None:
    """File the plans, then tick the driver every second until ``duration_s`` (real seconds) or Ctrl-C."""
    started = time.monotonic()
    next_tick = started
    try:
        driver.file_plans()
        while duration_s is None or time.monotonic() - started < duration_s:
            driver.tick()
            next_tick += _TICK_S
            time.sleep(max(0.0, next_tick - time.monotonic()))
    except KeyboardInterrupt:
        log("interrupted: stopping")


def run_demo(args: argparse.Namespace) -> int:
    """``deconflict demo``; returns 0 after a clean stop (``--duration`` or Ctrl-C)."""
    if args.plans_only:
        return _run_plans_only(args.json)

    from deconflict.api import create_app
    from deconflict.config import load_settings
    from deconflict.demo.driver import DemoDriver, ScenarioClock
    from deconflict.demo.scenario import load_scenario

    recording = Path(args.adsb) if args.adsb else None
    if recording is not None:
        _check_recording(recording)
    scenario = load_scenario()
    names = list(scenario.parties)
    db = Path(args.db) if args.db else Path("demo") / "deconflict.db"
    folder = prepare_folder(db, names)
    settings = load_settings(db_path=db, escalation_ladder_s=DEMO_LADDER_S, deadline_sweep_s=_DEMO_SWEEP_S)
    # The marker first: whatever happens next, the next demo may replace these files.
    marker = {"database": db.name, "files": _demo_files(db, names)}
    (folder / DEMO_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    sock = _listen(args.host, args.port)
    try:
        parties = _register(settings, folder, names)
        server_key = _write_server_key(settings, folder)
        port = sock.getsockname()[1]
        url = _url(args.host, port)
        clock = ScenarioClock(time.time(), args.speed)
        # With --json, stdout is the summary alone: what happens meanwhile goes to stderr.
        stream = sys.stderr if args.json else sys.stdout

        def log(line: str) -> None:
            print(f"[{clock.elapsed_s():6.1f} s] {line}", file=stream, flush=True)

        _print_header(scenario, folder, db, url, parties, args.duration, stream)
        server, thread = _start_server(create_app(settings, clock=clock), sock)
        try:
            clients = _clients(url, parties)
            driver = DemoDriver(scenario, clients, clock, log)
            replay = _Replay(recording, clients["civil"], clock, log) if recording is not None else None
            if replay is not None:
                replay.start()
            try:
                _play(driver, args.duration, log)
            finally:
                replayed = replay.stop() if replay is not None else None
            summary = driver.summary()
            summary["adsb"] = replayed
        finally:
            _stop_server(server, thread)
    finally:
        sock.close()
    summary = {
        "url": url,
        "database": str(db.resolve()),
        "audit_key": str(server_key.resolve()),
        "folder": str(folder.resolve()),
        "speed": args.speed,
        "credentials": parties,
        **summary,
    }
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        _print_summary(summary)
    return 0
