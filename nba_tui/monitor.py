"""The poll loop's domain half: fetch coverage without ever blocking the caller for long.

`Monitor.poll()` runs the synchronous warehouse call in a thread with a deadline, keeps the last
good `Snapshot`, and turns failures into a one-line error the UI shows next to the data's age.
The dashboard awaits `poll()` from a worker and re-arms a one-shot timer afterwards, so polls never
overlap; the CLI calls `poll_once()`.

Against BigQuery every poll is a billed query job under rate limits and quotas, so polls are also:

* **throttled** with `asyncio_throttle.Throttler` (`warehouse.bigquery.max_queries_per_minute`);
* **never concurrent**: one dedicated worker thread runs the query; a caller that polls while a
  poll is running shares its result, and a poll that timed out but whose thread is still stuck in
  the client blocks new queries until it returns (no pile-up behind a dead endpoint);
* **backed off**: `rateLimitExceeded` doubles the wait on each repeat, `quotaExceeded` waits
  minutes, and the error text says how long. A good poll resets both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from asyncio_throttle import Throttler

from nba_tui import coverage, fmt
from nba_tui.config import Pipeline
from nba_tui.warehouse import Warehouse, WarehouseError, fetch, open_warehouse
from nba_tui.warehouse.bq_errors import QuotaExceeded, RateLimited

#: Longest wait after repeated rate limits (seconds).
MAX_RATE_BACKOFF = 600.0
#: Longest wait after repeated quota errors (seconds).
MAX_QUOTA_BACKOFF = 3600.0


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


class Monitor:
    def __init__(
        self,
        pipeline: Pipeline,
        warehouse_factory: Callable[[Pipeline], Warehouse] = open_warehouse,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        timeout: float | None = None,
        max_queries_per_minute: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self._factory = warehouse_factory
        self._warehouse: Warehouse | None = None
        self.start = start
        self.end = end
        bigquery = pipeline.warehouse.backend == "bigquery"
        bq = pipeline.warehouse.bigquery
        if timeout is None:
            timeout = bq.timeout if bigquery else 30.0
        self.timeout = timeout
        if max_queries_per_minute is None and bigquery:
            max_queries_per_minute = bq.max_queries_per_minute
        #: None for the embedded backend: local reads cost nothing and need no throttle.
        self.throttler = (
            Throttler(rate_limit=max_queries_per_minute, period=60.0, retry_interval=0.05)
            if max_queries_per_minute
            else None
        )
        self.min_interval = 60.0 / max_queries_per_minute if max_queries_per_minute else 0.0
        self.last: coverage.Snapshot | None = None
        self.last_error: str | None = None
        self.polls = 0
        self.rate_limited = 0
        """Consecutive rate-limit errors (drives the exponential back-off)."""
        self.quota_errors = 0
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._running: concurrent.futures.Future | None = None
        self._running_since = 0.0
        self._inflight: asyncio.Future[PollResult] | None = None

    def _fetch(self) -> coverage.Snapshot:
        if self._warehouse is None:
            self._warehouse = self._factory(self.pipeline)
        counts = fetch(self.pipeline, self._warehouse)
        return coverage.snapshot(self.pipeline, counts, self.start, self.end)

    def _interval(self) -> float:
        return max(self.pipeline.poll.interval, self.min_interval)

    def _ok(self, snap: coverage.Snapshot) -> PollResult:
        self.last, self.last_error = snap, None
        self.rate_limited = self.quota_errors = 0
        return PollResult(snap, fresh=True, next_in=self._interval())

    def _failed(self, message: str, hint: str = "", retry_after: float | None = None) -> PollResult:
        self.last_error = message
        wait = retry_after if retry_after is not None else self._interval()
        return PollResult(self.last, fresh=False, error=message, hint=hint, next_in=wait)

    def _warehouse_failed(self, e: WarehouseError) -> PollResult:
        """Turn a warehouse error into a result, with back-off for rate limits and quotas."""
        message = str(e)
        if isinstance(e, RateLimited):
            self.rate_limited += 1
            base = e.retry_after or 5.0
            wait = min(base * 2 ** (self.rate_limited - 1), MAX_RATE_BACKOFF)
            wait *= 1 + random.uniform(0, 0.1)  # noqa: S311 - jitter, not crypto
            message += f"; backing off {fmt.age(wait)} (rate limited {self.rate_limited}x)"
            return self._failed(message, e.hint, max(wait, self._interval()))
        if isinstance(e, QuotaExceeded):
            self.quota_errors += 1
            base = e.retry_after or 300.0
            wait = min(base * 2 ** (self.quota_errors - 1), MAX_QUOTA_BACKOFF)
            message += f"; backing off for {wait / 60:.0f} min"
            if self.quota_errors > 1:
                message += f" (quota exceeded {self.quota_errors}x in a row)"
            return self._failed(message, e.hint, max(wait, self._interval()))
        return self._failed(message, e.hint, e.retry_after)

    def poll_once(self) -> PollResult:
        """Synchronous poll (CLI). Errors become a result, never an exception."""
        self.polls += 1
        try:
            return self._ok(self._fetch())
        except WarehouseError as e:
            return self._warehouse_failed(e)

    async def poll(self) -> PollResult:
        """Poll in a thread with a deadline; the caller's event loop is never blocked.

        Concurrent callers share one poll: at most one query is ever in flight.
        """
        if self._inflight is not None and not self._inflight.done():
            return await asyncio.shield(self._inflight)
        self._inflight = asyncio.get_running_loop().create_future()
        try:
            result = await self._poll()
        except asyncio.CancelledError:
            self._inflight.cancel()
            raise
        except BaseException as e:
            self._inflight.set_exception(e)
            self._inflight.exception()  # mark retrieved: nobody else may be waiting
            raise
        self._inflight.set_result(result)
        return result

    async def _poll(self) -> PollResult:
        self.polls += 1
        if self._running is not None and not self._running.done():
            stuck = time.monotonic() - self._running_since
            return self._failed(
                f"previous poll still waiting for the warehouse ({fmt.age(stuck)})",
                "showing the last good data; it is retried when that request ends",
                retry_after=min(self._interval(), max(1.0, self.timeout / 2)),
            )
        if self.throttler is not None:
            await self.throttler.acquire()
        if self._executor is None:
            # One worker: a second query can never run beside a stuck one.
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nba-poll")
        self._running_since = time.monotonic()
        self._running = self._executor.submit(self._fetch)
        try:
            snap = await asyncio.wait_for(asyncio.wrap_future(self._running), self.timeout)
        except TimeoutError:
            # The thread may still be stuck in the client; drop the connection so the next poll
            # starts clean once that thread returns (it is bounded by the client's own deadlines).
            self._warehouse = None
            return self._failed(
                f"warehouse did not answer within {self.timeout:g}s",
                "showing the last good data with its age",
            )
        except WarehouseError as e:
            return self._warehouse_failed(e)
        except Exception as e:  # noqa: BLE001 - any backend bug must show as stale data
            return self._failed(f"{type(e).__name__}: {e}")
        return self._ok(snap)

    def estimate_cost(self) -> str | None:
        """The start-up line "bytes per poll / per night" for BigQuery (None elsewhere).

        Runs a dry run (free, no rows read). Errors come back as the text to show.
        """
        if self.pipeline.warehouse.backend != "bigquery":
            return None
        from nba_tui.warehouse import specs
        from nba_tui.warehouse.bigquery import describe_cost

        try:
            if self._warehouse is None:
                self._warehouse = self._factory(self.pipeline)
            estimate = getattr(self._warehouse, "estimate_bytes", None)
            if estimate is None:
                return None
            expected, tables = specs(self.pipeline)
            start = self.start or self.pipeline.range.start
            end = self.end or self.pipeline.range.end
            nbytes = estimate(expected, tables, start, end)
        except WarehouseError as e:
            return f"cost estimate unavailable: {e}"
        return describe_cost(nbytes, self._interval(), tables=len(tables) + 1)

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def snapshot_once(
    pipeline: Pipeline, start: dt.date | None = None, end: dt.date | None = None
) -> coverage.Snapshot:
    """One synchronous poll over `start..end` (default: the pipeline's range), for the CLI and the
    plan runner. A warehouse that cannot answer raises `WarehouseError` with the hint appended."""
    mon = Monitor(pipeline, start=start, end=end)
    try:
        result = mon.poll_once()
    finally:
        mon.close()
    if result.snapshot is None:
        hint = f" ({result.hint})" if result.hint else ""
        raise WarehouseError(f"{result.error}{hint}")
    return result.snapshot
