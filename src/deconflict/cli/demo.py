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
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# The parser is built for every command: heavy modules are imported only when the demo runs.
if TYPE_CHECKING:
    from deconflict.demo.scenario import Scenario

__all__ = ["DEMO_LADDER_S", "add_demo_parser", "run_demo"]

DEMO_LADDER_S = (0.0, 10.0, 20.0)
"""The demo's escalation ladder: seconds (scenario time) past a missed reply-by deadline."""

_DEMO_SWEEP_S = 1.0


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
        "--speed",
        type=arguments.speed,
        default=1.0,
        metavar="X",
        help="run the scenario X times faster (default 1)",
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
        print(f"  off plan:    {summary['non_conformance']} non-conformance alert(s)")
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


def run_demo(args: argparse.Namespace) -> int:
    """``deconflict demo``; returns 0 after a clean stop (``--duration`` or Ctrl-C)."""
    if args.plans_only:
        return _run_plans_only(args.json)

    from deconflict.api import create_app
    from deconflict.config import load_settings
    from deconflict.demo.adsb import AdsbReplay, check_recording
    from deconflict.demo.driver import DemoDriver, ScenarioClock, play
    from deconflict.demo.folder import prepare_folder, register_parties, write_marker, write_server_key
    from deconflict.demo.scenario import demo_overlays_path, load_scenario
    from deconflict.demo.server import listen, party_clients, server_url, start_server, stop_server

    recording = Path(args.adsb) if args.adsb else None
    if recording is not None:
        check_recording(recording)
    scenario = load_scenario()
    names = list(scenario.parties)
    db = Path(args.db) if args.db else Path("demo") / "deconflict.db"
    folder = prepare_folder(db, names)
    settings = load_settings(
        db_path=db,
        escalation_ladder_s=DEMO_LADDER_S,
        deadline_sweep_s=_DEMO_SWEEP_S,
        map_overlays=(demo_overlays_path(),),
    )
    # The marker first: whatever happens next, the next demo may replace these files.
    write_marker(folder, db, names)
    sock = listen(args.host, args.port)
    try:
        parties = register_parties(settings, folder, names)
        server_key = write_server_key(settings, folder)
        port = sock.getsockname()[1]
        url = server_url(args.host, port)
        clock = ScenarioClock(time.time(), args.speed)
        # With --json, stdout is the summary alone: what happens meanwhile goes to stderr.
        stream = sys.stderr if args.json else sys.stdout

        def log(line: str) -> None:
            print(f"[{clock.elapsed_s():6.1f} s] {line}", file=stream, flush=True)

        _print_header(scenario, folder, db, url, parties, args.duration, stream)
        server, thread = start_server(create_app(settings, clock=clock), sock)
        try:
            clients = party_clients(url, parties)
            driver = DemoDriver(scenario, clients, clock, log)
            replay = AdsbReplay(recording, clients["civil"], clock, log) if recording is not None else None
            if replay is not None:
                replay.start()
            try:
                play(driver, args.duration, log)
            finally:
                replayed = replay.stop() if replay is not None else None
            summary = driver.summary()
            summary["adsb"] = replayed
        finally:
            stop_server(server, thread)
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
