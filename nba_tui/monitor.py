"""The poll loop's domain half: fetch coverage without ever blocking the caller for long.

`Monitor.poll()` (the dashboard, awaited from a worker) and `Monitor.poll_once()` (the CLI and
the plan runner) run the synchronous warehouse call in a daemon thread with ONE deadline
(`timeout`): whatever budgets the client keeps inside (request timeouts, insert retries,
`job.result`), the caller has an answer by then, and neither `close()` nor the process's exit
waits for a request stuck in the client. The monitor keeps the last good `Snapshot` and turns
failures into a one-line error plus a hint that says whether older data is still shown. The
dashboard starts polls on a fixed cadence (start to start) and never while one runs.

Coverage maths run only for tables whose counts changed (`coverage.CoverageCache`); the
warehouse's own note (`PollResult.note`) and the bytes its jobs billed (`PollResult.bytes_billed`,
`Monitor.bytes_billed_total`) travel with each result.

Against BigQuery every poll that queries is a billed job under rate limits and quotas, so polls
are also:

* **throttled** with `asyncio_throttle.Throttler` (`warehouse.bigquery.max_queries_per_minute`);
* **never concurrent**: a caller that polls while a poll is running shares its result, and a
  poll that timed out but whose thread is still stuck in the client blocks new queries until it
  returns (no pile-up behind a dead endpoint);
* **backed off**: `rateLimitExceeded` doubles the wait on each repeat, `quotaExceeded` waits
  minutes, and the error text says how long. A good poll resets both.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nba_tui import coverage, fmt
from nba_tui.config import Pipeline
from nba_tui.coverage_store import CoverageStore
from nba_tui.warehouse import Warehouse, WarehouseError, fetch, open_warehouse, specs
from nba_tui.warehouse.bq_cost import Estimate, describe_cost
from nba_tui.warehouse.bq_errors import QuotaExceeded, RateLimited, Unreachable

if TYPE_CHECKING:
    import asyncio

    from asyncio_throttle import Throttler

#: Longest wait after repeated rate limits (seconds).
MAX_RATE_BACKOFF = 600.0
#: Longest wait after repeated quota errors (seconds).
MAX_QUOTA_BACKOFF = 3600.0
EARLY_POLL = 0.5
"""A write seen by the warehouse's change token (`Monitor.written`) may start the next poll this
fraction of the interval after the last one started: a commit reaches the screen within half an
interval plus a poll, and polls run at most twice as often while something writes, never more
often while nothing does."""


def _throttler(per_minute: int | None) -> Throttler | None:
    """A throttle of `per_minute` queries, or None. Imported here: it pulls in asyncio, which
    `status --json` never needs."""
    if not per_minute:
        return None
    from asyncio_throttle import Throttler

    return Throttler(rate_limit=per_minute, period=60.0, retry_interval=0.05)


@dataclass
class PollResult:
    snapshot: coverage.Snapshot | None
    """The newest good snapshot (possibly from an earlier poll: see `fresh`)."""
    fresh: bool
    error: str | None = None
    hint: str = ""
    next_in: float = 0.0
    """Seconds until the next poll should start (longer while backing off)."""
    note: str | None = None
    """What the warehouse wants said even when the poll succeeded (BigQuery: why the partitions
    strategy fell back to the plain query); None when there is nothing to say."""
    bytes_billed: int | None = None
    """Bytes this poll's query jobs billed (0: no job ran, nothing changed; None: unknown, e.g.
    SQLite, an emulator, or a failed poll). The night's sum is `Monitor.bytes_billed_total`."""

    @property
    def age(self) -> float | None:
        if self.snapshot is None:
            return None
        return max(0.0, time.time() - self.snapshot.taken_at)


class _Worker:
    """One poll in a daemon thread, so neither a deadline nor the process's exit ever waits for a
    request stuck in the client (a `ThreadPoolExecutor` thread is joined at interpreter exit)."""

    def __init__(self, fn: Callable[[], Any], done: Callable[[], None]) -> None:
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.started = time.monotonic()
        self._fn, self._done = fn, done
        threading.Thread(target=self._run, name="nba-poll", daemon=True).start()

    def _run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self._fn()
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
            self._done()
            self.future.set_exception(e)
        else:
            self._done()  # before the result is published: a waiter sees the cleanup done
            self.future.set_result(result)


class Monitor:
    """Polls of one pipeline's warehouse (see the module's docstring). `stored_coverage`: read and
    keep coverage in the state directory (`coverage_store`), for one-shot readers whose per-date
    fields may go unused; a dashboard uses them all and computes them in its poll thread."""

    def __init__(
        self,
        pipeline: Pipeline,
        warehouse_factory: Callable[[Pipeline], Warehouse] = open_warehouse,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        timeout: float | None = None,
        max_queries_per_minute: int | None = None,
        stored_coverage: bool = False,
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
        self.throttler = _throttler(max_queries_per_minute)
        self.min_interval = 60.0 / max_queries_per_minute if max_queries_per_minute else 0.0
        self.last: coverage.Snapshot | None = None
        self.last_error: str | None = None
        self.polls = 0
        self.rate_limited = 0
        """Consecutive rate-limit errors (drives the exponential back-off)."""
        self.quota_errors = 0
        store = stored_coverage and not bigquery and CoverageStore(pipeline.state_dir / "cache")
        self.coverage = coverage.CoverageCache(store or None)
        """Recomputes only the tables whose counts changed (`coverage.computed` counts the work)."""
        self.started_at = time.time()
        self.bytes_billed_total: int | None = None
        """Bytes billed by every query job since `started_at` (the night's cost so far); None
        while no poll reported billing (SQLite, an emulator)."""
        self.queries_total = 0
        """Query jobs run since `started_at` (0 more per poll when no table changed)."""
        self._running: concurrent.futures.Future[coverage.Snapshot] | None = None
        self._running_since = 0.0
        self._closed = False
        self._polling = False
        """A poll thread is running (set and cleared under `_lock`, so `close()` and the thread
        agree on who closes the warehouse)."""
        self._lock = threading.Lock()
        self._inflight: asyncio.Future[PollResult] | None = None
        self._early: concurrent.futures.Future[coverage.Snapshot] | None = None
        """A poll started by `prefetch()` that no caller has taken yet."""
        self._recount = False
        """`recount()` was asked: the next poll to start bypasses the change detection."""
        self._token: object = None
        """The warehouse's change token read as the last poll began (None: it has none)."""

    def recount(self) -> None:
        """Make the next poll that starts count every table again, bypassing the warehouse's
        change detection once (BigQuery's free metadata check; SQLite's `data_version`, change
        counters and counts cache): the dashboard's `R` and `status --recount`. A poll already
        running is not changed; the one after it recounts."""
        self._recount = True

    def early_poll_in(self) -> float | None:
        """Seconds after a poll's start at which `written()` is worth asking (half the interval),
        or None for a warehouse without a cheap change token (BigQuery: it costs requests)."""
        if self._token is None:
            return None
        return self._interval() * EARLY_POLL

    def written(self) -> bool:
        """The warehouse changed since the last poll began: its change token moved (the embedded
        backend: a few stat() calls, no query). False without a token or before a poll."""
        token = getattr(self._warehouse, "change_token", None)
        return token is not None and self._token is not None and token() != self._token

    def _open(self) -> Warehouse:
        """The warehouse, opened on first use (in the poll thread: finding credentials can take
        seconds, and that counts against the deadline too)."""
        with self._lock:
            if self._closed:
                raise WarehouseError("monitor closed")
            if self._warehouse is None:
                self._warehouse = self._factory(self.pipeline)
            return self._warehouse

    def _fetch(self) -> coverage.Snapshot:
        warehouse = self._open()
        if self._recount:
            self._recount = False
            recount_next = getattr(warehouse, "recount_next", None)
            if recount_next is not None:
                recount_next()
        token = getattr(warehouse, "change_token", None)
        self._token = token() if token is not None else None  # before asking: later writes move it
        asked = time.time()
        counts = fetch(self.pipeline, warehouse)
        snap = self.coverage.snapshot(self.pipeline, counts, self.start, self.end)
        snap.note = getattr(warehouse, "note", None)
        snap.asked_at = asked
        return snap

    def _after_poll(self) -> None:
        """In the poll thread, after it ended: a `close()` made meanwhile closes the warehouse
        here, so `close()` itself never waits for a stuck request."""
        with self._lock:
            self._polling = False
            if self._closed:
                self._close_warehouse()

    def _close_warehouse(self) -> None:
        if self._warehouse is not None:
            warehouse, self._warehouse = self._warehouse, None
            warehouse.close()

    def _interval(self) -> float:
        return max(self.pipeline.poll.interval, self.min_interval)

    def _note(self) -> str | None:
        return getattr(self._warehouse, "note", None)

    def _ok(self, snap: coverage.Snapshot) -> PollResult:
        self.last, self.last_error = snap, None
        self.rate_limited = self.quota_errors = 0
        self.queries_total += snap.queries
        if snap.bytes_billed is not None:
            self.bytes_billed_total = (self.bytes_billed_total or 0) + snap.bytes_billed
        return PollResult(
            snap,
            fresh=True,
            next_in=self._interval(),
            note=self._note(),
            bytes_billed=snap.bytes_billed,
        )

    def _stale(self, hint: str) -> str:
        """Say what is on screen: the last good data if there is any, else that there is none."""
        lead = "showing the last good data" if self.last is not None else "no good data yet"
        return f"{lead}; {hint}" if hint else lead

    def _failed(self, message: str, hint: str = "", retry_after: float | None = None) -> PollResult:
        self.last_error = message
        wait = retry_after if retry_after is not None else self._interval()
        return PollResult(
            self.last, fresh=False, error=message, hint=hint, next_in=wait, note=self._note()
        )

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
        hint = self._stale(e.hint) if isinstance(e, Unreachable) else e.hint
        return self._failed(message, hint, e.retry_after)

    def _busy(self) -> PollResult | None:
        """A result saying a previous poll is still stuck in the client, or None if none is."""
        if self._running is None or self._running.done():
            return None
        stuck = time.monotonic() - self._running_since
        return self._failed(
            f"previous poll still waiting for the warehouse ({fmt.age(stuck)})",
            self._stale("it is retried when that request ends"),
            retry_after=min(self._interval(), max(1.0, self.timeout / 2)),
        )

    def _submit(self) -> concurrent.futures.Future[coverage.Snapshot]:
        with self._lock:
            self._polling = True
        worker = _Worker(self._fetch, self._after_poll)
        self._running, self._running_since = worker.future, worker.started
        return worker.future

    def prefetch(self) -> None:
        """Start the first poll now, before the caller can await it: the dashboard calls it
        before importing Textual, so a cold count of the warehouse runs while the UI starts
        (the first frame of a big warehouse comes sooner). The next `poll()`/`poll_once()` takes
        this poll's result, within the same deadline counted from now, instead of starting
        another.

        Nothing happens for a throttled warehouse (BigQuery: every query goes through the
        throttle, which only an event loop can wait for) or once a poll has run."""
        if self.throttler is not None or self._running is not None or self._closed:
            return
        self._early = self._submit()

    def _take_early(self) -> concurrent.futures.Future[coverage.Snapshot] | None:
        future, self._early = self._early, None
        return future

    def _remaining(self) -> float:
        """What is left of the deadline of the poll running now (all of it for a new one)."""
        return max(0.0, self.timeout - (time.monotonic() - self._running_since))

    def _timed_out(self) -> PollResult:
        # The thread may still be stuck in the client; it is bounded by the client's own
        # deadlines, and no new query starts until it returns (see `_busy`).
        return self._failed(
            f"warehouse did not answer within {self.timeout:g}s",
            self._stale("check the network or raise the warehouse timeout"),
        )

    def _outcome(self, future: concurrent.futures.Future[coverage.Snapshot]) -> PollResult:
        """The result of a poll whose future is done."""
        try:
            snap = future.result(timeout=0)
        except WarehouseError as e:
            return self._warehouse_failed(e)
        except Exception as e:  # noqa: BLE001 - any backend bug must show as stale data
            return self._failed(f"{type(e).__name__}: {e}")
        return self._ok(snap)

    def poll_once(self) -> PollResult:
        """Synchronous poll (CLI, plan runner) with the same single deadline as `poll()`: it
        returns within `timeout` (+ a few ms) whatever the client's own retries would do.
        Errors become a result, never an exception."""
        self.polls += 1
        future = self._take_early()
        if future is None:
            busy = self._busy()
            if busy is not None:
                return busy
            future = self._submit()
        concurrent.futures.wait([future], timeout=self._remaining())
        if not future.done():
            return self._timed_out()
        return self._outcome(future)

    async def poll(self) -> PollResult:
        """Poll in a thread with a deadline; the caller's event loop is never blocked.

        Concurrent callers share one poll: at most one query is ever in flight. asyncio is
        imported here, not at the top: `snapshot_once`/`poll_once` (the CLI) never need it.
        """
        import asyncio

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
        import asyncio  # already loaded by the caller's event loop: a dict lookup

        self.polls += 1
        future = self._take_early()
        if future is None:
            busy = self._busy()
            if busy is not None:
                return busy
            if self.throttler is not None:
                await self.throttler.acquire()
            future = self._submit()
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), self._remaining())
        except TimeoutError:
            return self._timed_out()
        except Exception:  # noqa: BLE001, S110 - reported by _outcome from the future itself
            pass
        return self._outcome(future)

    def estimate_cost(self) -> str | None:
        """The start-up line "bytes per poll / per night" for BigQuery (None elsewhere).

        Runs a dry run (free, no rows read) in a daemon thread with the poll deadline. Errors come
        back as the text to show.
        """
        if self.pipeline.warehouse.backend != "bigquery":
            return None
        expected, tables = specs(self.pipeline)
        start = self.start or self.pipeline.range.start
        end = self.end or self.pipeline.range.end

        def dry_run() -> Estimate | None:
            estimate = getattr(self._open(), "estimate", None)
            return None if estimate is None else estimate(expected, tables, start, end)

        future = _Worker(dry_run, lambda: None).future
        concurrent.futures.wait([future], timeout=self.timeout)
        if not future.done():
            return f"cost estimate unavailable: warehouse did not answer within {self.timeout:g}s"
        try:
            found = future.result()
        except WarehouseError as e:
            return f"cost estimate unavailable: {e}"
        if found is None:
            return None
        nbytes, scanned, views, _ = found
        return describe_cost(nbytes, self._interval(), tables=scanned, views=views)

    def close(self) -> None:
        """Release the warehouse without ever waiting for a poll stuck in the client: if one is
        running, its thread closes the warehouse when it returns (the dashboard's `q` must be
        instant while BigQuery is down)."""
        with self._lock:
            self._closed = True
            if not self._polling:
                self._close_warehouse()


def snapshot_once(
    pipeline: Pipeline,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    recount: bool = False,
) -> coverage.Snapshot:
    """One synchronous poll over `start..end` (default: the pipeline's range), for the CLI and the
    plan runner. A warehouse that cannot answer raises `WarehouseError` with the hint appended.
    `recount`: count every table, trusting no change detection or counts cache."""
    mon = Monitor(pipeline, start=start, end=end, stored_coverage=True)
    if recount:
        mon.recount()
    try:
        result = mon.poll_once()
    finally:
        mon.close()
    if result.snapshot is None:
        hint = f" ({result.hint})" if result.hint else ""
        raise WarehouseError(f"{result.error}{hint}")
    return result.snapshot
