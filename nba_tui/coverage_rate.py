"""Dates per minute of a table, from the present-count of successive polls (`coverage.Rate`)."""

from __future__ import annotations

from collections import deque


class Rate:
    """Dates per minute for a table, from the present-count of successive polls (sliding window)."""

    def __init__(self, window_s: float = 300.0) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, t: float, present: int) -> None:
        if self.samples and present < self.samples[-1][1]:
            self.samples.clear()  # data was deleted/reset: start over
        self.samples.append((t, present))
        while len(self.samples) > 2 and t - self.samples[0][0] > self.window_s:
            self.samples.popleft()

    def per_minute(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, p0), (t1, p1) = self.samples[0], self.samples[-1]
        if t1 - t0 <= 0:
            return None
        return (p1 - p0) / (t1 - t0) * 60

    def eta_seconds(self, remaining: int) -> float | None:
        rate = self.per_minute()
        if not rate or rate <= 0:
            return None
        return remaining / rate * 60
