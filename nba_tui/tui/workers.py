"""The dashboard's refresh machinery: polls, job refreshes, the one clock, and the thread workers
that call the blocking `Supervisor` (a mixin of `NbaTuiApp`; split out to keep app.py readable).

Everything that can block runs in a worker: the warehouse poll (`Monitor.poll`, a thread with a
deadline), the supervisor's `jobs()` (reconciles with /proc), its `state_version()` (two stat()
calls), log reads and actions. Results come back as messages or reactive assignments on the event
loop. Polls run on a fixed cadence, start to start (`next_poll_at`), and never overlap: a poll
that outlasts the interval is followed at once by the next, never joined by it. A one-shot timer
starts each poll when it is due, so a committed write is on screen at most one interval (plus the
poll's own time) after it landed, not an interval after the poll that missed it ended.
"""

from __future__ import annotations

import asyncio
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker, WorkerState

from nba_tui.jobs.actions import history_lines
from nba_tui.tui.cells import counting, job_rows
from nba_tui.tui.control import JobCall, JobControl
from nba_tui.tui.joblists import one_line
from nba_tui.tui.messages import ActionDone, JobsRefreshed, LogLines
from nba_tui.tui.screens.modals import HistoryScreen
from nba_tui.tui.widgets.gapmap import GapMap
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.line import TextLine
from nba_tui.tui.widgets.logpane import LogPane, LogSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from nba_tui.config import Pipeline
    from nba_tui.coverage import Rate, Snapshot
    from nba_tui.jobs.model import JobView
    from nba_tui.monitor import PollResult

JOB_REFRESH_S = 3.0
"""Reconcile refresh while a job is active (facts only /proc shows: a process that died)."""
IDLE_JOB_REFRESH_S = 30.0
"""With no active job, a safety net only: any record written (a launch from a shell) changes the
state version, which the clock checks every tick."""
JOB_ERROR_RETRY_S = 6.0
RECOUNTS_PER_JOB = 2
"""Polls started at once for a job that ended after the coverage beside it was counted (a second
one when the first had asked the warehouse before the job's end); then the cadence goes on."""
MIN_POLL_GAP_S = 0.2
"""Least time between the end of one poll and the start of the next (a poll slower than its
interval must not turn the dashboard into a busy loop)."""


def next_poll_at(started: float, ended: float, next_in: float, fresh: bool) -> float:
    """When the next poll starts (`time.monotonic()`): `next_in` after the last one *started*
    (fixed cadence, start to start), or after it *ended* when it failed (`next_in` is then a
    back-off or a retry wait, counted from the failure); never sooner than `MIN_POLL_GAP_S`
    after it ended."""
    due = (started if fresh else ended) + next_in
    return max(due, ended + MIN_POLL_GAP_S)


class Refresh:
    """Polls, job refreshes and the one clock (`_tick`) of the dashboard."""

    if TYPE_CHECKING:  # provided by NbaTuiApp (and textual.App)
        pipeline: Pipeline
        monitor: Any
        control: JobControl
        job_refresh: float
        polls_done: int
        job_refreshes: int
        snapshot: Snapshot | None
        last_poll: PollResult | None
        jobs: dict[str, JobView]
        jobs_error: str | None
        _polling: bool
        _jobs_busy: bool
        _next_poll: float
        _poll_started: float
        _next_jobs: float
        _state_seen: object
        _recounts: dict[str, int]
        rates: dict[str, Rate]
        clock: Callable[[], float]

        @property
        def supervisor(self) -> Any: ...
        def _maybe_reveal(self) -> None: ...
        def _refresh_plan_view(self) -> None: ...
        def _update_header(self) -> None: ...
        def _check_stale(self, now: float) -> None: ...
        def _events_changed(self, sig: object) -> None: ...
        def notify(self, message: str, **kw: Any) -> None: ...
        def post_message(self, message: Any) -> bool: ...
        def call_from_thread(self, callback: Any, *args: Any) -> Any: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def query(self, selector: Any) -> Any: ...
        def push_screen(self, screen: Any, callback: Any = None) -> Any: ...

    # -- the widgets every refresh touches, looked up once (a query walks the DOM each time) ---

    @cached_property
    def _ui_grid(self) -> CoverageGrid:
        return self.query_one(CoverageGrid)

    @cached_property
    def _ui_header(self) -> TextLine:
        return self.query_one("#header", TextLine)

    @cached_property
    def _ui_gaps(self) -> GapMap:
        return self.query_one(GapMap)

    @cached_property
    def _ui_log(self) -> LogPane:
        return self.query_one(LogPane)

    @cached_property
    def _ui_log_title(self) -> TextLine:
        return self.query_one("#log-title", TextLine)

    # -- polling (never overlapping) -----------------------------------------------------------

    def _start_poll(self) -> None:
        if self._polling:
            return
        self._polling = True
        self._poll_started = time.monotonic()
        self._poll_worker()

    def _poll_due(self) -> None:
        """The one-shot timer armed by the last poll: start the next one if it is (still) due.
        A poll started meanwhile (`R`) re-armed its own timer; the tick is the safety net."""
        if not self._polling and time.monotonic() >= self._next_poll - 0.01:
            self._start_poll()

    @work(group="poll", exit_on_error=False)
    async def _poll_worker(self) -> None:
        next_in, fresh = self.pipeline.poll.interval, False
        try:
            result = await self.monitor.poll()
            next_in, fresh = result.next_in, result.fresh
            self.polls_done += 1
            if self.polls_done == 1 and self.pipeline.warehouse.backend == "bigquery":
                self._cost_worker()
            self.last_poll = result
            if result.fresh and result.snapshot is not None:
                self.snapshot = result.snapshot
        finally:
            self._polling = False
            now = time.monotonic()
            self._next_poll = next_poll_at(self._poll_started, now, next_in, fresh)
            self.set_timer(max(0.0, self._next_poll - now), self._poll_due, name="next poll")

    def _recount_ended(self) -> None:
        """A job ended after the last poll asked the warehouse: poll now (its row says
        `counting` until a poll counts what it wrote), at most RECOUNTS_PER_JOB times a job."""
        snap = self.snapshot
        if snap is None or self._polling:
            return
        due = [
            v.id
            for v in self.jobs.values()
            if counting(v, snap) and self._recounts.get(v.id, 0) < RECOUNTS_PER_JOB
        ]
        for job_id in due:
            self._recounts[job_id] = self._recounts.get(job_id, 0) + 1
        if due:
            self._start_poll()

    def _redraw_ended_jobs(self) -> None:
        """The job cells of ended jobs (a poll that changed no coverage ends their `counting`)."""
        ended = [t for t, v in self.jobs.items() if not v.state.active]
        if ended:
            now, shards = self.clock(), self.control.shards
            rows = job_rows(self.pipeline, self.snapshot, self.jobs, self.rates, now, ended, shards)
            self._ui_grid.apply(rows)

    @work(thread=True, group="cost", exit_on_error=False)
    def _cost_worker(self) -> None:
        """BigQuery only: the start-up dry run's bytes per poll and per night, as a toast."""
        estimate = getattr(self.monitor, "estimate_cost", None)
        text = estimate() if estimate is not None else None
        if text:
            self.call_from_thread(self.notify, text, title="BigQuery cost", timeout=20)

    # -- jobs (thread workers: the supervisor is synchronous) ----------------------------------

    def _start_jobs(self) -> None:
        if self.supervisor is None or self._jobs_busy:
            return
        self._jobs_busy = True
        self._jobs_worker(self._ui_log.source)

    @work(thread=True, group="adopt", exit_on_error=False)
    def _adopt_worker(self) -> None:
        """Once at start: plans whose runner died get a new one that adopts their jobs; remote
        jobs whose bridge died are followed again, orphaned remote runs cancelled."""
        try:
            ids = self.control.adopt_plans()
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            ids = []
            self.call_from_thread(
                self.notify, f"cannot re-adopt plans: {one_line(e)}", severity="warning"
            )
        if ids:
            text = f"plan {', '.join(ids)}: its runner had died; a new one adopted its jobs"
            self.call_from_thread(self.notify, text, title="plans", timeout=15)
        try:
            remote = self.control.adopt_remote()
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            remote = [f"cannot follow remote jobs again: {one_line(e)}"]
        for line in remote:
            self.call_from_thread(self.notify, line, title="remote jobs", timeout=15)

    @work(thread=True, group="jobs", exit_on_error=False)
    def _jobs_worker(self, source: LogSource | None) -> None:
        version: object = None
        fetched = None
        try:
            version = self.control.state_version()  # before reading: a later change is seen
            fetched, error = self.control.fetch(), None
        except Exception as e:  # noqa: BLE001 - shown in the header, never a traceback
            error = one_line(e)
        lines = source.read() if source is not None else []
        job_id = source.job_id if source is not None else None
        jobs = fetched.jobs if fetched is not None else None
        self.post_message(JobsRefreshed(jobs, error, job_id, lines, version, fetched))

    def on_jobs_refreshed(self, msg: JobsRefreshed) -> None:
        if not self._ui_grid.is_attached:
            return  # shutting down: the main screen is gone
        self._jobs_busy = False
        self.job_refreshes += 1
        self._state_seen = msg.version
        if msg.fetched is not None:  # before `jobs`: its watcher draws shards and plan keys
            f = msg.fetched
            self.control.shards, self.control.plans, self.control.plan_active = (
                f.shards,
                f.plans,
                f.active,
            )
            self._update_header()  # a plan's forecast end may have moved
        if msg.jobs is not None:
            self.jobs = msg.jobs
            self._recount_ended()
        self._add_log_lines(msg.job_id, msg.lines)
        self.jobs_error = msg.error
        self._maybe_reveal()
        if msg.fetched is not None:
            self._refresh_plan_view()
        busy = self.control.running() > 0
        wait = self.job_refresh if busy else max(self.job_refresh, IDLE_JOB_REFRESH_S)
        self._next_jobs = time.monotonic() + wait

    async def _tick(self) -> None:
        """The one clock. Due work starts in workers; the state-version check (two stat() calls)
        runs in a thread and triggers a job refresh only when another client changed state."""
        now = time.monotonic()
        if not self._polling and now >= self._next_poll:
            self._start_poll()
        self._recount_ended()
        self._check_stale(now)
        if self.supervisor is None or self._jobs_busy:
            return
        if now >= self._next_jobs:
            self._start_jobs()
            return
        try:
            version, events = await asyncio.to_thread(self.control.versions)
        except Exception:  # noqa: BLE001 - the reconcile refresh still comes
            return
        if version is not None and version != self._state_seen and not self._jobs_busy:
            self._start_jobs()
        self._events_changed(events)

    def _add_log_lines(self, job_id: str | None, lines: list[str]) -> None:
        """Lines read by a worker; none to add to once the app is shutting down."""
        if self._ui_log.is_attached:
            self._ui_log.add_lines(job_id, lines)

    @work(thread=True, group="tail", exit_on_error=False)
    def _tail_worker(self, source: LogSource) -> None:
        self.post_message(LogLines(source.job_id, source.read()))

    def on_log_lines(self, msg: LogLines) -> None:
        self._add_log_lines(msg.job_id, msg.lines)

    @work(thread=True, group="action", exit_on_error=False)
    def _call_worker(self, call: JobCall) -> None:
        """Run one blocking supervisor call off the event loop; the result comes back as a toast."""
        try:
            result = call.run()
        except Exception as e:  # noqa: BLE001 - JobError and anything else: a toast
            self.post_message(ActionDone(call.title, error=one_line(e)))
            return
        self.post_message(ActionDone(call.title, text=call.done(result)))

    def on_action_done(self, msg: ActionDone) -> None:
        if msg.error:
            self.notify(msg.error, title=msg.title, severity="error", timeout=8)
        else:
            self.notify(msg.text, title=msg.title, timeout=4)
        self.action_refresh(poll=False)

    @work(thread=True, group="history", exit_on_error=False)
    def _history_worker(self) -> None:
        try:
            entries = history_lines(self.control.history)  # as `nba-tui history`
        except Exception as e:  # noqa: BLE001
            self.post_message(ActionDone("history", error=one_line(e)))
            return
        self.call_from_thread(self.push_screen, HistoryScreen(entries))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land: a toast, never a traceback."""
        if event.state is WorkerState.ERROR:
            if event.worker.group == "jobs":
                self._jobs_busy = False
                self._next_jobs = time.monotonic() + JOB_ERROR_RETRY_S
            self.notify(one_line(event.worker.error), title="internal error", severity="error")

    def action_refresh(self, poll: bool = True) -> None:
        """Poll now, counting every table again whatever the change detection says (a STALE
        warehouse is retried at once, whatever its back-off) and re-read the jobs. A poll still
        waiting for the warehouse is not doubled: the one after it recounts; say so."""
        if poll:
            recount = getattr(self.monitor, "recount", None)
            if recount is not None:
                recount()
            if self._polling:
                self.notify(
                    "a poll is still waiting for the warehouse; the next one recounts",
                    title="refresh",
                )
            else:
                if self.last_poll is not None and self.last_poll.error:
                    self.notify("retrying the warehouse now", title="refresh")
                self._start_poll()
        if not self._jobs_busy:
            self._start_jobs()
