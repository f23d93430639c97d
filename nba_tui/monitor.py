"""The poll loop's domain half: fetch coverage without ever blocking the caller for long.

`Monitor.poll()` runs the synchronous warehouse call in a thread with a deadline, keeps the last
good `Snapshot`, and turns failures into a one-line error the UI shows next to the data's age.
The dashboard awaits `poll()` from a worker and re-arms a one-shot timer afterwards, so polls never
overlap; the CLI calls `poll_once()`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from nba_tui import coverage
from nba_tui.config import Pipeline
from nba_tui.warehouse import Warehouse, WarehouseError, fetch, open_warehouse


@dataclass
class PollResult:
    snapshot: coverage.Snapshot | None
    """The newest good snapshot (possibly from an earlier poll: see `fresh`)."""
    fresh: bool
    error: str | None = None
    hint: str = ""
    next_in: float = 0.0
    """Seconds until the next poll should start (longer while backing off)."""

    @property
    def age(self) -> float | None:
        if self.snapshot is None:
            return None
        return max(0.0, time.time() - self.snapshot.taken_at)


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


class Monitor:
    def __init__(
        self,
        pipeline: Pipeline,
        warehouse_factory: Callable[[Pipeline], Warehouse] = open_warehouse,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        timeout: float | None = None,
    ) -> None:
        self.pipeline = pipeline
        self._factory = warehouse_factory
        self._warehouse: Warehouse | None = None
        self.start = start
        self.end = end
        if timeout is None:
            bq = pipeline.warehouse.bigquery
            timeout = bq.timeout if pipeline.warehouse.backend == "bigquery" else 30.0
        self.timeout = timeout
        self.last: coverage.Snapshot | None = None
        self.last_error: str | None = None
        self.polls = 0

    def _fetch(self) -> coverage.Snapshot:
        if self._warehouse is None:
            self._warehouse = self._factory(self.pipeline)
        counts = fetch(self.pipeline, self._warehouse)
        return coverage.snapshot(self.pipeline, counts, self.start, self.end)

    def _ok(self, snap: coverage.Snapshot) -> PollResult:
        self.last, self.last_error = snap, None
        return PollResult(snap, fresh=True, next_in=self.pipeline.poll.interval)

    def _failed(self, message: str, hint: str = "", retry_after: float | None = None) -> PollResult:
        self.last_error = message
        wait = retry_after if retry_after is not None else self.pipeline.poll.interval
        return PollResult(self.last, fresh=False, error=message, hint=hint, next_in=wait)

    def poll_once(self) -> PollResult:
        """Synchronous poll (CLI). Errors become a result, never an exception."""
        self.polls += 1
        try:
            return self._ok(self._fetch())
        except WarehouseError as e:
            return self._failed(str(e), e.hint, e.retry_after)

    async def poll(self) -> PollResult:
        """Poll in a thread with a deadline; the caller's event loop is never blocked."""
        self.polls += 1
        try:
            snap = await asyncio.wait_for(asyncio.to_thread(self._fetch), self.timeout)
        except TimeoutError:
            # The thread may still be stuck in the client; drop the connection so the next poll
            # starts clean instead of queueing behind it.
            self._warehouse = None
            return self._failed(f"warehouse did not answer within {self.timeout:.0f}s")
        except WarehouseError as e:
            return self._failed(str(e), e.hint, e.retry_after)
        except Exception as e:  # noqa: BLE001 - any backend bug must show as stale data
            return self._failed(f"{type(e).__name__}: {e}")
        return self._ok(snap)

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
