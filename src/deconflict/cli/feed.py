"""``deconflict feed``: replay a recorded track file to the channel service as a live feed.

Reads a PRODUCT.md track CSV (optionally ``.gz``) with
:func:`~deconflict.tactical.tracks.read_tracks`, re-times it so that the
recording's first time is the moment the feed starts (at ``--speed X``, X
recorded seconds pass per second), and posts the states that are due to
``POST /v1/tracks`` every ``--batch-s`` seconds, as the party the token
belongs to. Exit 0 when the file (or ``--max-seconds`` of it) was fed, 2 for a
bad file (naming file, row and field), a service that cannot be reached
(naming the URL) or one that refuses the states.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

from deconflict.cli import EXIT_INTERRUPTED, arguments
from deconflict.cli.ops import add_server_arguments, client_from_args
from deconflict.demo.feed import feed

__all__ = ["add_feed_parser", "run_feed"]


def add_feed_parser(sub: Any) -> None:
    """Add ``feed`` to the ``deconflict`` subcommands."""
    parser = sub.add_parser(
        "feed",
        help="replay a track file to the channel service as a live feed (POST /v1/tracks)",
        description=(
            "Replays a track CSV (time_s, id, lat_deg, lon_deg, alt_m, gs_mps, trk_deg, vs_mps; "
            "optionally .gz) to the service at real or accelerated speed, re-timed to now. "
            "Exit 0: fed, 2: bad file, service unreachable or refusing."
        ),
    )
    parser.add_argument("file", metavar="FILE.csv[.gz]", help="track CSV with time_s, optionally gzip")
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
