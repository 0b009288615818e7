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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deconflict.cli import EXIT_INTERRUPTED, arguments
from deconflict.cli.ops import add_server_arguments, client_from_args

__all__ = ["FeedSummary", "add_feed_parser", "feed", "run_feed"]


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


@dataclass(frozen=True)
class FeedSummary:
    """What a feed posted."""

    rows: int
    posted: int
    accepted: int
    posts: int
    elapsed_s: float
    complete: bool
    interrupted: bool = False
    """Stopped by Ctrl-C; a post then in flight may or may not have been stored (not counted)."""


def feed(
    path: Path,
    post: Callable[[list[dict[str, Any]]], int],
    *,
    speed: float = 1.0,
    batch_s: float = 1.0,
    max_seconds: float | None = None,
    max_batch: int = 10_000,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[int, int, float], None] | None = None,
) -> FeedSummary:
    """Replay ``path`` through ``post`` (which returns how many states were accepted).

    Parameters
    ----------
    path
        A track CSV with ``time_s``.
    post
        Posts one batch of states (``POST /v1/tracks`` bodies' items).
    speed, batch_s, max_seconds
        Recorded seconds per second; seconds between posts; stop after this long.
    max_batch
        At most this many states per post (the service's ``tracks_max_batch``).
    clock, sleep
        Wall-clock time and sleeping (tests pass fakes).
    on_progress
        Called as ``on_progress(posted, total, elapsed_s)`` after each round.

    Raises
    ------
    InputError
        The file is unreadable or has bad rows (file, row and field named).
    """
    import numpy as np

    from deconflict.strategic.conflicts import format_time
    from deconflict.tactical.tracks import read_tracks

    tracks = read_tracks(path, require_time=True)
    times = tracks.time_s
    assert times is not None  # required above
    order = np.argsort(times, kind="stable")
    recorded_s = times[order]
    total = int(order.size)
    start_s = clock()
    first_s = float(recorded_s[0]) if total else 0.0
    retimed_s = start_s + (recorded_s - first_s) / speed
    s = tracks.states
    ground = tracks.on_ground

    def state_of(row: int) -> dict[str, Any]:
        state: dict[str, Any] = {
            "id": str(tracks.ids[row]),
            "time": format_time(start_s + (float(times[row]) - first_s) / speed),
            "lat_deg": float(s.lat_deg[row]),
            "lon_deg": float(s.lon_deg[row]),
            "alt_m": float(s.alt_m[row]),
            "gs_mps": float(s.gs_mps[row]),
            "trk_deg": float(s.trk_deg[row]),
            "vs_mps": float(s.vs_mps[row]),
        }
        if tracks.callsigns[row]:
            state["callsign"] = str(tracks.callsigns[row])
        if ground is not None and ground[row]:
            state["on_ground"] = True  # ground status travels with the data, never guessed
        return state

    done = posted = accepted = posts = 0
    complete = True
    interrupted = False
    try:
        while done < total:
            now_s = clock()
            elapsed_s = now_s - start_s
            if max_seconds is not None and elapsed_s > max_seconds:
                complete = False
                break
            due = int(np.searchsorted(retimed_s, now_s, side="right"))
            for begin in range(done, due, max_batch):
                rows = order[begin : min(due, begin + max_batch)].tolist()
                batch = [state_of(row) for row in rows]
                accepted += post(batch)
                posted += len(batch)
                posts += 1
            done = max(done, due)
            if on_progress is not None:
                on_progress(posted, total, elapsed_s)
            if done < total:
                next_due_s = float(retimed_s[done])
                wait_s = min(batch_s, max(next_due_s - clock(), 0.0))
                if max_seconds is not None:
                    wait_s = min(wait_s, max(start_s + max_seconds - clock(), 0.0) + 1e-3)
                sleep(max(wait_s, 1e-3))
    except KeyboardInterrupt:  # stop where we are; the caller says what was fed
        complete, interrupted = False, True
    return FeedSummary(total, posted, accepted, posts, clock() - start_s, complete, interrupted)


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
