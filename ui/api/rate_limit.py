"""Sliding-window request counting for the per-key and per-session rate limits.

In-process and in-memory: one ``recbot serve`` is one process, and a restart forgetting the last
minute of counts is harmless.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimitedError(Exception):
    """Too many requests in the window; ``retry_after`` says how many seconds to wait."""

    def __init__(self, what: str, limit: int, retry_after: int) -> None:
        super().__init__(
            f"rate limit exceeded for {what}: {limit} requests per minute; retry in {retry_after} s"
        )
        self.retry_after = retry_after


class RateLimiter:
    """Counts hits per bucket over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, limit: int, what: str) -> None:
        """Record one request in ``bucket``; :class:`RateLimitedError` if it would pass ``limit``."""
        if limit <= 0:
            return
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= limit:
                retry_after = max(1, int(hits[0] + self.window_s - now + 0.999))
                raise RateLimitedError(what, limit, retry_after)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle buckets so memory stays bounded
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window_s}
