"""``deconflict feed``: replay a recording, or relay a live receiver, to the channel service.

Reads a track CSV, a BaseStation or Beast capture, or OpenSky state vectors (optionally ``.gz``;
the format detected, or given with ``--format``) with :func:`~deconflict.feeds.read_feed`,
re-times it so that the recording's first time is the moment the feed starts (at ``--speed X``, X
recorded seconds pass per second), and posts the states that are due to
``POST /v1/tracks`` every ``--batch-s`` seconds, as the party the token
belongs to. Exit 0 when the file (or ``--max-seconds`` of it) was fed, 2 for a
bad file (naming file, row and field), a service that cannot be reached
(naming the URL) or one that refuses the states.

With ``--source sbs://HOST:PORT`` (or ``beast://HOST:PORT``, ``asterix+udp://HOST:PORT``) it
relays a live BaseStation (or Beast receiver, or ASTERIX datagrams received on HOST:PORT) instead
(:mod:`deconflict.feeds.live`): states at their messages' own times (Beast: their
receive times; ASTERIX: their times of day on the receive date), posted every
``--batch-s``, stale ones dropped and counted, reconnecting when the receiver drops,
until ``--max-seconds`` or Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

from deconflict.cli import EXIT_INTERRUPTED, add_beast_options, arguments
from deconflict.cli.ops import add_server_arguments, client_from_args
from deconflict.config import load_settings
from deconflict.demo.feed import feed, feed_live
from deconflict.errors import InputError, Problem
from deconflict.feeds import FORMATS
from deconflict.feeds.live import LiveCounts, open_source

__all__ = ["add_feed_parser", "run_feed"]


def add_feed_parser(sub: Any) -> None:
    """Add ``feed`` to the ``deconflict`` subcommands."""
    parser = sub.add_parser(
        "feed",
        help="replay a track file, or relay a live receiver, to the channel service (POST /v1/tracks)",
        description=(
            "Replays a recording (track CSV with time_s, BaseStation capture or OpenSky state vectors; "
            "optionally .gz) to the service at real or accelerated speed, re-timed to now; or, with "
            "--source sbs://HOST:PORT, beast://HOST:PORT or asterix+udp://HOST:PORT, relays a live receiver. "
            "Exit 0: fed, 2: bad file or source, service unreachable or refusing."
        ),
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="recording: track CSV with time_s, SBS, Beast, ASTERIX or OpenSky, optionally gzip",
    )
    parser.add_argument(
        "--source",
        metavar="SOURCE",
        help="sbs://HOST:PORT (a live BaseStation receiver, e.g. dump1090 port 30003), beast://HOST:PORT "
        "(Beast binary, port 30005), asterix+udp://HOST:PORT (ASTERIX CAT021/CAT062 datagrams received on "
        "HOST:PORT, a multicast group joined) or a recording FILE",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="the recording's format (csv, sbs, opensky, beast, asterix); default: detected from its content",
    )
    add_beast_options(parser)
    add_server_arguments(parser)
    parser.add_argument(
        "--speed",
        type=arguments.positive_finite,
        default=1.0,
        metavar="X",
        help="recorded seconds per second (default 1)",
    )
    parser.add_argument(
        "--batch-s",
        type=arguments.positive_finite,
        default=1.0,
        metavar="S",
        help="seconds between posts (default 1)",
    )
    parser.add_argument(
        "--max-seconds",
        type=arguments.positive_finite,
        default=None,
        metavar="S",
        help="stop after S seconds of feeding (default: the whole file)",
    )


def run_feed(args: argparse.Namespace) -> int:
    """``deconflict feed``: exit 0 when fed, 2 for a bad file or a service that cannot be reached."""
    if (args.file is None) == (args.source is None):
        raise InputError([Problem("command line", "give one of a recording FILE and --source", None, "FILE")])
    if args.source is not None and args.source.startswith(("sbs://", "beast://", "asterix+udp://")):
        return _run_live(args)
    if args.source is not None:
        args.file = args.source
    client = client_from_args(args)
    interactive = sys.stderr.isatty()
    last_line = [0.0]

    def on_progress(posted: int, total: int, elapsed_s: float) -> None:
        line = f"feed: {posted}/{total} states posted, {elapsed_s:.1f} s (x{args.speed:g})"
        if interactive:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        elif elapsed_s - last_line[0] >= 5.0 or posted == total:
            last_line[0] = elapsed_s
            print(line, file=sys.stderr, flush=True)

    refused: collections.Counter[str] = collections.Counter()

    def post(batch: list[dict[str, Any]]) -> int:
        answer = client.post_tracks(batch)
        refused.update({str(reason): int(n) for reason, n in answer.get("refused", {}).items()})
        return int(answer["accepted"])

    summary = feed(
        Path(args.file),
        post,
        speed=args.speed,
        batch_s=args.batch_s,
        max_seconds=args.max_seconds,
        on_progress=on_progress,
        format=args.format,
        start_s=args.start_time,
        reference=args.reference,
    )
    if interactive:
        print(file=sys.stderr)
    if summary.interrupted:
        until = " (interrupted by Ctrl-C; a post then under way may or may not have been stored)"
    elif not summary.complete:
        until = f" (stopped after --max-seconds {args.max_seconds:g})"
    else:
        until = ""
    if refused:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(refused.items()))
        until = f"; {refused.total()} refused ({reasons}){until}"
    print(
        f"fed {summary.posted} of {summary.rows} states from {args.file} to {client.url} "
        f"in {summary.posts} posts over {summary.elapsed_s:.1f} s; {summary.accepted} accepted{until}"
    )
    return EXIT_INTERRUPTED if summary.interrupted else 0


def _run_live(args: argparse.Namespace) -> int:
    """``deconflict feed --source sbs://HOST:PORT`` (or ``beast://``, ``asterix+udp://``): relay until
    --max-seconds or Ctrl-C."""
    options: dict[str, Any] = {"reference": args.reference} if args.source.startswith("beast://") else {}
    source = open_source(args.source, **options)
    unit = {"sbs": "lines", "beast": "frames"}.get(args.source.split(":", 1)[0], "records")
    udp = args.source.startswith("asterix+udp://")  # no connection: a bound socket
    client = client_from_args(args)
    stale_s = load_settings().tactical_stale_s
    interactive = sys.stderr.isatty()
    last_line = [0.0]

    def progress_text(counts: LiveCounts, posted: int) -> str:
        if udp:
            state = "listening" if counts.connected else "binding"
        else:
            state = "connected" if counts.connected else "reconnecting"
        dropped = sum(counts.dropped.values())
        return (
            f"feed: {args.source} {state}, {counts.lines:,} {unit}, {posted:,} states posted, "
            f"{counts.stale:,} stale, {dropped:,} {unit} dropped"
        )

    def on_progress(counts: LiveCounts, posted: int, elapsed_s: float) -> None:
        if interactive:
            print(f"\r{progress_text(counts, posted)}", end="", file=sys.stderr, flush=True)
        elif elapsed_s - last_line[0] >= 5.0:
            last_line[0] = elapsed_s
            print(progress_text(counts, posted), file=sys.stderr, flush=True)
        if counts.stale and elapsed_s - last_line[0] >= 5.0:
            print(
                f"warning: {args.source}: {counts.stale:,} states older than {stale_s:g} s dropped "
                "(the feed falls behind, or the receiver's clock is not UTC)",
                file=sys.stderr,
            )

    refused: collections.Counter[str] = collections.Counter()

    def post(batch: list[dict[str, Any]]) -> int:
        answer = client.post_tracks(batch)
        refused.update({str(reason): int(n) for reason, n in answer.get("refused", {}).items()})
        return int(answer["accepted"])

    summary = feed_live(
        source,
        post,
        stale_s=stale_s,
        batch_s=args.batch_s,
        max_seconds=args.max_seconds,
        on_progress=on_progress,
    )
    if interactive:
        print(file=sys.stderr)
    c = summary.counts
    dropped = ", ".join(f"{reason} {n:,}" for reason, n in sorted(c.dropped.items()))
    notes = [
        f"{c.lines:,} {unit} over {c.connects} {'bind(s)' if udp else 'connection(s)'}",
        f"{c.stale:,} stale and {c.superseded:,} superseded states not posted",
    ]
    if dropped:
        notes.append(f"{unit} dropped: {dropped}")
    if refused:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(refused.items()))
        notes.append(f"{refused.total()} refused ({reasons})")
    if summary.interrupted:
        notes.append("interrupted by Ctrl-C")
    print(
        f"fed {summary.posted:,} states from {args.source} to {client.url} in {summary.posts} posts "
        f"over {summary.elapsed_s:.1f} s; {summary.accepted:,} accepted; " + "; ".join(notes)
    )
    return EXIT_INTERRUPTED if summary.interrupted else 0
