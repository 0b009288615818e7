"""Each party's rate of requests: a sliding-window counter per key, on the app's clock.

The limiters live in :class:`~deconflict.api.deps.Services` (one per limit); the
dependencies and middleware of :mod:`deconflict.api.limits` consult them.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["RATE_WINDOW_S", "RateLimiter"]

RATE_WINDOW_S = 60.0
"""The window of ``messages_per_minute``."""


class RateLimiter:
    """At most ``limit`` events per key in any ``window_s`` seconds (a sliding window).

    Parameters
    ----------
    limit
        Events admitted per key within one window.
    window_s
        The window's length in seconds.

    Examples
    --------
    >>> limiter = RateLimiter(2, window_s=60.0)
    >>> limiter.admit("blue", 0.0), limiter.admit("blue", 1.0), limiter.admit("blue", 2.0)
    (None, None, 58.0)
    >>> limiter.admit("red", 2.0) is None
    True
    >>> limiter.admit("blue", 60.0) is None
    True
    """

    def __init__(self, limit: int, window_s: float = RATE_WINDOW_S) -> None:
        if limit < 1 or window_s <= 0.0:
            raise ValueError(f"limit must be at least 1 and window_s positive, got {limit}, {window_s}")
        self.limit = limit
        self.window_s = window_s
        self._lock = threading.Lock()
        self._times_s: dict[str, deque[float]] = {}

    def admit(self, key: str, now_s: float) -> float | None:
        """Count one event of ``key`` at ``now_s``: ``None`` if admitted, else seconds until one would be.

        A refused event is not counted.
        """
        with self._lock:
            times_s = self._times_s.setdefault(key, deque())
            while times_s and times_s[0] <= now_s - self.window_s:
                times_s.popleft()
            if len(times_s) >= self.limit:
                return times_s[0] + self.window_s - now_s
            times_s.append(now_s)
            return None

    def admit_many(self, key: str, count: int, now_s: float) -> tuple[int, float | None]:
        """Count up to ``count`` events of ``key`` at ``now_s``, as many :meth:`admit` calls would:
        how many were admitted, and for the rest the seconds until one would be (``None`` if none left).

        >>> RateLimiter(2).admit_many("blue", 3, 0.0)
        (2, 60.0)
        """
        admitted = 0
        for _ in range(count):
            wait_s = self.admit(key, now_s)
            if wait_s is not None:
                return admitted, wait_s
            admitted += 1
        return admitted, None
