"""The one rate limiter of synchronous code: a token bucket shared by threads.

Used for BigQuery's free `tables.get` calls (warehouse/bq_meta.py: a burst, then a sustained
rate) and the Cloud Run Admin and Logging APIs (jobs/engines/cloudrun_driver.py: `per_minute`,
calls spread evenly). The dashboard's async poll keeps `asyncio_throttle` (monitor.py): it waits
in the event loop, where sleeping a thread is not an option.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TokenBucket:
    """At most `rate` calls per second on average, `burst` at once (thread-safe). A caller over
    the rate sleeps in its own thread for its slot; the lock is never held while sleeping."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.burst = rate, float(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    @classmethod
    def per_minute(cls, calls: int) -> TokenBucket:
        """At most `calls` a minute, spread evenly (no burst: one call, then one per interval)."""
        return cls(rate=max(1, calls) / 60.0, burst=1)

    def take(self) -> None:
        """Wait, if need be, until one more call keeps within the rate; then it is counted."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)  # the caller's own slot: pacing, not synchronisation

    def __call__(self, fn: Callable[[], T]) -> T:
        """`fn()` once its call keeps within the rate."""
        self.take()
        return fn()
