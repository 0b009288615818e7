"""A recorded track file replayed as a live feed: re-timed to now, posted in batches as it falls due.

What ``deconflict feed`` and ``deconflict demo --adsb`` post to ``POST /v1/tracks``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FeedSummary", "feed"]


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
    format: str | None = None,
) -> FeedSummary:
    """Replay ``path`` through ``post`` (which returns how many states were accepted).

    Parameters
    ----------
    path
        A track CSV with ``time_s``, or a BaseStation or OpenSky recording.
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
    format
        The file's format (see :data:`deconflict.feeds.FORMATS`); detected when ``None``.

    Raises
    ------
    InputError
        The file is unreadable or has bad rows (file, row and field named).
    """
    import numpy as np

    from deconflict.feeds import read_feed
    from deconflict.strategic.conflicts import format_time

    tracks = read_feed(path, format, require_time=True).tracks
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
