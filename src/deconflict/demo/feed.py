"""Feeding ``POST /v1/tracks``: a recording replayed as a live feed, or a live source relayed.

:func:`feed`: a recorded file re-timed to now, posted in batches as it falls due (what
``deconflict feed FILE`` and ``deconflict demo --adsb`` post). :func:`feed_live`: a live
BaseStation source's states, at their own times (``deconflict feed --source sbs://...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deconflict.feeds.live import LiveCounts, LiveSource
from deconflict.feeds.sbs import FeedState

__all__ = ["FeedSummary", "LiveSummary", "feed", "feed_live", "live_state"]


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
    start_s: float = 0.0,
    reference: tuple[float, float] | None = None,
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
    start_s, reference
        A Beast capture's first frame time and receiver position (see :func:`deconflict.feeds.read_feed`).

    Raises
    ------
    InputError
        The file is unreadable or has bad rows (file, row and field named).
    """
    import numpy as np

    from deconflict.feeds import read_feed
    from deconflict.strategic.conflicts import format_time

    tracks = read_feed(path, format, require_time=True, start_s=start_s, reference=reference).tracks
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


@dataclass(frozen=True)
class LiveSummary:
    """What a live feed posted, and what its source counted (:class:`~deconflict.feeds.live.LiveCounts`)."""

    posted: int
    accepted: int
    posts: int
    elapsed_s: float
    counts: LiveCounts
    interrupted: bool = False


def live_state(state: FeedState) -> dict[str, Any]:
    """A ``POST /v1/tracks`` item of a live state, at its message's own time."""
    from deconflict.strategic.conflicts import format_time

    item: dict[str, Any] = {
        "id": state.id,
        "time": format_time(state.time_s),
        "lat_deg": state.lat_deg,
        "lon_deg": state.lon_deg,
        "alt_m": state.alt_m,
        "gs_mps": state.gs_mps,
        "trk_deg": state.trk_deg,
        "vs_mps": state.vs_mps,
    }
    if state.callsign:
        item["callsign"] = state.callsign
    if state.on_ground:
        item["on_ground"] = True
    return item


def feed_live(
    source: LiveSource,
    post: Callable[[list[dict[str, Any]]], int],
    *,
    stale_s: float,
    batch_s: float = 1.0,
    max_seconds: float | None = None,
    max_batch: int = 10_000,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[LiveCounts, int, float], None] | None = None,
) -> LiveSummary:
    """Post what a live source assembles every ``batch_s`` seconds until ``max_seconds`` or Ctrl-C.

    The source reads on its own thread, so a slow post never stalls it; states older than
    ``stale_s`` when collected are dropped (counted as ``stale``), never posted.
    """
    start_s = clock()
    posted = accepted = posts = 0
    interrupted = False
    source.start()
    try:
        while max_seconds is None or clock() - start_s < max_seconds:
            left_s = batch_s if max_seconds is None else min(batch_s, start_s + max_seconds - clock())
            sleep(max(left_s, 1e-3))
            states = source.take(clock(), stale_s)
            for begin in range(0, len(states), max_batch):
                batch = [live_state(s) for s in states[begin : begin + max_batch]]
                accepted += post(batch)
                posted += len(batch)
                posts += 1
            if on_progress is not None:
                on_progress(source.counts(), posted, clock() - start_s)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        source.stop()
    return LiveSummary(posted, accepted, posts, clock() - start_s, source.counts(), interrupted)
