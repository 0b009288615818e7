"""``deconflict demo --adsb``: a recorded track file fed to the service as the civil party's traffic."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deconflict.client import ChannelClient
    from deconflict.demo.driver import ScenarioClock

__all__ = ["AdsbReplay", "check_recording"]


class _Stopped(Exception):
    """Raised in the replay thread when the demo stops."""


class AdsbReplay:
    """``--adsb``: the recording fed to the service as the civil party's traffic, in a thread.

    Reuses :func:`deconflict.demo.feed.feed` on the scenario clock (so ``--speed`` applies).
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
        from deconflict.demo.feed import feed
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


def check_recording(path: Path) -> None:
    """Read the recording once up front, so a bad file is exit 2 before anything starts."""
    from deconflict.tactical.tracks import read_tracks

    read_tracks(path, require_time=True)
