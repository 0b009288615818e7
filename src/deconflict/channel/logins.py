"""Failed logins: aggregated per source for the audit log, and limited per source.

Every request with a bad token used to add one signed audit entry: a flood of
them filled the log (1,000 entries in 0.9 s). :class:`LoginFailures` keeps, per
source (the client's address) and kind of failure (the reason, and the party a
revoked or rotated-out token belongs to), a window of ``interval_s``: the first
failure of a window is recorded at once, with what was presented; the others
are only counted, and recorded as one entry with their count when the window
has passed (noticed at the next failure from anywhere, or at shutdown). So a
source adds at most two entries per kind and interval, however fast it fails.

A source with ``per_minute`` failures in the last 60 s is told to wait (HTTP
429 with ``Retry-After``) instead of being told why its token is bad. A valid
token is never refused on account of its address: parties behind one proxy or
NAT share it with whoever floods. In a cluster the limit holds for the cluster:
a failure this node would admit is also counted in a
:class:`~deconflict.channel.cluster.SharedRate` over every node (so a source
spreading its tries over the nodes gets ``per_minute`` in all, not per node),
while one this node already refuses costs the database nothing. The audit
entries stay per node: a source adds at most two per kind, interval and node.

Times are seconds by the caller's clock; nothing here reads the time.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from deconflict.channel.cluster import SharedRate

__all__ = ["FailureCount", "LoginFailures"]

MINUTE_S = 60.0


@dataclass(frozen=True)
class FailureCount:
    """Failures of one source and kind beyond the first of their window, to record as one entry."""

    source: str
    reason: str
    audience: tuple[str, ...]
    count: int
    first_s: float
    last_s: float


@dataclass
class _Window:
    started_s: float
    count: int = 0
    first_s: float = 0.0
    last_s: float = 0.0


class LoginFailures:
    """Per-source failure windows and rates (thread-safe).

    Parameters
    ----------
    interval_s
        Length of an aggregation window, seconds (> 0).
    per_minute
        Failures per source in any 60 s after which it gets 429 (>= 1).
    shared
        Given (nodes sharing a database), the failures this node admits are counted there
        too, per source over 60 s, and the limit is ``shared.limit`` for the cluster.
    """

    def __init__(
        self, interval_s: float = 60.0, per_minute: int = 30, shared: SharedRate | None = None
    ) -> None:
        if not interval_s > 0.0 or per_minute < 1:
            raise ValueError(f"need interval_s > 0 and per_minute >= 1, got {interval_s}, {per_minute}")
        self.interval_s = interval_s
        self.per_minute = per_minute
        self.shared = shared
        self._windows: dict[tuple[str, str, tuple[str, ...]], _Window] = {}
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def failed(
        self, source: str, reason: str, audience: tuple[str, ...], now_s: float
    ) -> tuple[bool, float | None, list[FailureCount]]:
        """Count one failure.

        Returns
        -------
        record_now : bool
            Whether this failure opens a window (record it at once, with its details).
        retry_after_s : float or None
            Seconds the source should wait when it is over ``per_minute``, else ``None``.
        due : list of FailureCount
            Windows (of any source) that have passed with failures beyond their first: record them.
        """
        with self._lock:
            due = self._take_due(now_s)
            key = (source, reason, audience)
            window = self._windows.get(key)
            record_now = window is None
            if window is None:
                self._windows[key] = _Window(now_s)
            else:
                if window.count == 0:
                    window.first_s = now_s
                window.count += 1
                window.last_s = now_s
            recent = self._recent.setdefault(source, deque())
            while recent and recent[0] <= now_s - MINUTE_S:
                recent.popleft()
            recent.append(now_s)
            over = len(recent) > self.per_minute
            retry_after_s = recent[-self.per_minute - 1] + MINUTE_S - now_s if over else None
            while len(recent) > self.per_minute + 1:  # only the oldest that matters is kept
                recent.popleft()
        if retry_after_s is None and self.shared is not None:  # outside the lock: a database round trip
            retry_after_s = self.shared.admit(source, now_s)
        return record_now, retry_after_s, due

    def due(self, now_s: float, *, everything: bool = False) -> list[FailureCount]:
        """Windows that have passed (all of them with ``everything``, e.g. at shutdown), taken out."""
        with self._lock:
            return self._take_due(now_s, everything=everything)

    def _take_due(self, now_s: float, *, everything: bool = False) -> list[FailureCount]:
        # Windows are kept in the order they opened: the passed ones come first.
        ended = []
        for key, window in self._windows.items():
            if not everything and now_s - window.started_s < self.interval_s:
                break
            ended.append(key)
        counts = []
        for key in ended:
            window = self._windows.pop(key)
            if window.count:
                counts.append(FailureCount(*key, window.count, window.first_s, window.last_s))
            recent = self._recent.get(key[0])
            if recent is not None and (not recent or recent[-1] <= now_s - MINUTE_S):
                del self._recent[key[0]]
        return counts
