"""The dashboard's coverage polls: one at a time, on a fixed cadence, on Textual timers.

`Poller` runs `Monitor.poll` (a thread with a deadline, awaited) in a worker and posts each result
as a `Polled` message; the app applies it. Polls start on a fixed cadence, start to start
(`next_poll_at`), and never overlap: when a poll ends, a one-shot timer is armed for the next; a
poll that outlasts the interval is followed at once by the next, never joined by it. A poll started
early (`R`, a job that just ended) stops the armed timer and arms its own when it ends. On a
warehouse with a cheap change token (the embedded one) a second timer, half an interval after a
poll began, starts the next poll at once when anything was committed since (`Monitor.written`):
a write reaches the screen within half an interval plus a poll, not a whole interval.
"""

from __future__ import annotations

import time
from typing import Any

from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot
from nba_tui.jobs.model import JobView
from nba_tui.tui.cells import counting
from nba_tui.tui.messages import Polled, Toast

MIN_POLL_GAP_S = 0.2
"""Least time between the end of one poll and the start of the next (a poll slower than its
interval must not turn the dashboard into a busy loop)."""
RECOUNTS_PER_JOB = 2
"""Polls started at once for a job that ended after the coverage beside it was counted (a second
one when the first had asked the warehouse before the job's end); then the cadence goes on."""
LIVE = (WorkerState.PENDING, WorkerState.RUNNING)


def next_poll_at(started: float, ended: float, next_in: float, fresh: bool) -> float:
    """When the next poll starts (`time.monotonic()`): `next_in` after the last one *started*
    (fixed cadence, start to start), or after it *ended* when it failed (`next_in` is then a
    back-off or a retry wait, counted from the failure); never sooner than `MIN_POLL_GAP_S`
    after it ended."""
    due = (started if fresh else ended) + next_in
    return max(due, ended + MIN_POLL_GAP_S)


class Poller:
    """Coverage polls for `host` (the app: it owns the workers and timers and gets the
    messages) from `monitor` (`Monitor` or a test's fake with an async `poll()`)."""

    def __init__(self, host: App[Any], monitor: Any, pipeline: Pipeline) -> None:
        self.host, self.monitor, self.pipeline = host, monitor, pipeline
        self.next_due = 0.0
        """`time.monotonic()` at which the next poll is due (its timer is armed)."""
        self._started = 0.0
        self._worker: Worker[None] | None = None
        self._timer: Timer | None = None
        self._early: Timer | None = None
        self._recounts: dict[str, int] = {}

    @property
    def polling(self) -> bool:
        """A poll is waiting for the warehouse."""
        return self._worker is not None and self._worker.state in LIVE

    def start(self) -> bool:
        """Poll now unless a poll is under way (False then: its end arms the next)."""
        if self.polling:
            return False
        for timer in (self._timer, self._early):
            if timer is not None:
                timer.stop()
        self._timer = self._early = None
        self._worker = self.host.run_worker(self._poll, group="poll", exit_on_error=False)
        return True

    async def _poll(self) -> None:
        self._started = time.monotonic()  # the cadence counts from the warehouse being asked
        next_in, fresh = self.pipeline.poll.interval, False
        try:
            result = await self.monitor.poll()
            next_in, fresh = result.next_in, result.fresh
            self.host.post_message(Polled(result))
        finally:
            now = time.monotonic()
            self.next_due = next_poll_at(self._started, now, next_in, fresh)
            self._timer = self.host.set_timer(self.next_due - now, self.start, name="next poll")
            self._arm_early(now, fresh)

    def _arm_early(self, now: float, fresh: bool) -> None:
        """After a good poll of a warehouse with a cheap change token (`Monitor.early_poll_in`,
        the embedded backend): a timer half an interval after the poll began, which starts the
        next poll at once if anything was committed since (`Monitor.written`)."""
        early_in = getattr(self.monitor, "early_poll_in", None)
        due = early_in() if fresh and early_in is not None else None
        if due is None:
            return
        at = max(self._started + due, now + MIN_POLL_GAP_S)
        if at < self.next_due:
            self._early = self.host.set_timer(at - now, self._if_written, name="early poll")

    def _if_written(self) -> None:
        self._early = None
        if self.monitor.written():
            self.start()

    def recount(self) -> None:
        """The next poll counts every table again, whatever the change detection says."""
        recount = getattr(self.monitor, "recount", None)
        if recount is not None:
            recount()

    def recount_ended(self, jobs: dict[str, JobView], snap: Snapshot | None) -> None:
        """A job ended after the last poll asked the warehouse: poll now (its row says
        `counting` until a poll counts what it wrote), at most RECOUNTS_PER_JOB times a job."""
        if snap is None or self.polling:
            return
        due = [
            v.id
            for v in jobs.values()
            if counting(v, snap) and self._recounts.get(v.id, 0) < RECOUNTS_PER_JOB
        ]
        for job_id in due:
            self._recounts[job_id] = self._recounts.get(job_id, 0) + 1
        if due:
            self.start()

    def estimate_cost(self) -> None:
        """BigQuery only: the start-up dry run's bytes per poll and per night, as a toast."""
        if self.pipeline.warehouse.backend == "bigquery":
            self.host.run_worker(self._cost, thread=True, group="cost", exit_on_error=False)

    def _cost(self) -> None:
        estimate = getattr(self.monitor, "estimate_cost", None)
        text = estimate() if estimate is not None else None
        if text:
            self.host.post_message(Toast(text, "BigQuery cost", 20))

    def close(self) -> None:
        close = getattr(self.monitor, "close", None)
        if close is not None:
            close()
