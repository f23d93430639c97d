"""The dashboard's jobs: refreshes, the state-version check, log tails and supervisor calls.

`JobWatch` calls the blocking `JobControl` (over the `Supervisor`) in thread workers and posts
what they read as messages (`JobsRefreshed`, `LogLines`, `ActionDone`, `Toast`, `ShowScreen`,
`EventsChanged`); the app applies them on the event loop. One Textual interval, every CHECK_S
(one wake-up), while no refresh is under way:

- when the reconcile refresh is due (facts only /proc shows: a process that died), it starts:
  `job_refresh` after the end of the last one while a job runs, IDLE_JOB_REFRESH_S otherwise (a
  safety net only);
- else the supervisor's `state_version()` and the events file's signature are read (three stat()
  calls, one thread hop): a change made by another client (`nba-tui pause` from a shell) starts a
  refresh at once, new events an `EventsChanged`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.worker import Worker, get_current_worker

from nba_tui.jobs.action_log import history_lines
from nba_tui.tui.control import JobCall, JobControl
from nba_tui.tui.joblists import one_line
from nba_tui.tui.messages import (
    ActionDone,
    EventsChanged,
    EventsRead,
    JobsRefreshed,
    LogLines,
    ShowScreen,
    Toast,
)
from nba_tui.tui.polling import LIVE
from nba_tui.tui.screens.modals import HistoryScreen
from nba_tui.tui.widgets.logpane import LogSource

JOB_REFRESH_S = 3.0
"""Reconcile refresh while a job is active (facts only /proc shows: a process that died)."""
IDLE_JOB_REFRESH_S = 30.0
"""With no active job, a safety net only: any record written (a launch from a shell) changes the
state version, which is checked every CHECK_S."""
JOB_ERROR_RETRY_S = 6.0
CHECK_S = 1.0
"""The state-version check's period (each check is a wake-up and a thread hop)."""


class JobWatch:
    """Jobs for `host` (the app: it owns the workers and timers and gets the messages) through
    `control`; `log_source()` says which log a refresh reads the new lines of."""

    def __init__(
        self,
        host: App[Any],
        control: JobControl,
        log_source: Callable[[], LogSource | None],
        job_refresh: float = JOB_REFRESH_S,
    ) -> None:
        self.host, self.control, self.log_source = host, control, log_source
        self.job_refresh = job_refresh
        self.seen: object = None
        """The state version the last refresh read (a different one means another client wrote)."""
        self.events_seen: object = None
        """The events file's signature last announced (None: announce the next one seen)."""
        self._worker: Worker[None] | None = None
        self.due = 0.0
        """`time.monotonic()` at which the reconcile refresh is due."""

    @property
    def busy(self) -> bool:
        """A refresh is reading the supervisor."""
        return self._worker is not None and self._worker.state in LIVE

    def start(self) -> None:
        """The first refresh, the adoption of orphaned plans and runs, the periodic check."""
        if self.control.supervisor is None:
            return
        self.refresh()
        self.host.run_worker(self._adopt, thread=True, group="adopt", exit_on_error=False)
        self.host.set_interval(CHECK_S, self._check, name="job check")

    def refresh(self) -> None:
        """Re-read the jobs now (unless a refresh is under way: its result is as fresh)."""
        if self.control.supervisor is None or self.busy:
            return
        source = self.log_source()
        read = lambda: self._read(source)  # noqa: E731 - the worker's callable
        self._worker = self.host.run_worker(read, thread=True, group="jobs", exit_on_error=False)

    def refreshed(self, version: object, running: bool) -> None:
        """The app applied a refresh: when the next one is due."""
        self.seen = version
        wait = self.job_refresh if running else max(self.job_refresh, IDLE_JOB_REFRESH_S)
        self.due = time.monotonic() + wait

    def failed(self) -> None:
        """A refresh raised (a toast says what): try again after JOB_ERROR_RETRY_S."""
        self.due = time.monotonic() + JOB_ERROR_RETRY_S

    def _read(self, source: LogSource | None) -> None:
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
        self.host.post_message(JobsRefreshed(jobs, error, job_id, lines, version, fetched))

    async def _check(self) -> None:
        """The reconcile refresh when due, else the state version and the events file's
        signature (one thread hop)."""
        if self.busy:
            return
        if time.monotonic() >= self.due:
            self.refresh()
            return
        try:
            version, events = await asyncio.to_thread(self.control.versions)
        except Exception:  # noqa: BLE001 - the reconcile refresh still comes
            return
        if version is not None and version != self.seen:
            self.refresh()
        if events is not None and events != self.events_seen:
            self.events_seen = events
            self.host.post_message(EventsChanged(events))

    def _adopt(self) -> None:
        """Once at start: plans whose runner died get a new one that adopts their jobs; remote
        jobs whose bridge died are followed again, orphaned remote runs cancelled."""
        post = self.host.post_message
        try:
            ids = self.control.adopt_plans()
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            ids = []
            post(Toast(f"cannot re-adopt plans: {one_line(e)}", "", None, "warning"))
        if ids:
            text = f"plan {', '.join(ids)}: its runner had died; a new one adopted its jobs"
            post(Toast(text, "plans", 15))
        try:
            remote = self.control.adopt_remote()
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            remote = [f"cannot follow remote jobs again: {one_line(e)}"]
        for line in remote:
            post(Toast(line, "remote jobs", 15))

    def tail(self, source: LogSource) -> None:
        """The followed job's log tail, read right after it was selected."""
        read = lambda: self.host.post_message(LogLines(source.job_id, source.read()))  # noqa: E731
        self.host.run_worker(read, thread=True, group="tail", exit_on_error=False)

    def call(self, call: JobCall) -> None:
        """One blocking supervisor call off the event loop; its result comes back as a toast."""
        self.host.run_worker(
            lambda: self._call(call), thread=True, group="action", exit_on_error=False
        )

    def _call(self, call: JobCall) -> None:
        try:
            result = call.run()
        except Exception as e:  # noqa: BLE001 - JobError and anything else: a toast
            self.host.post_message(ActionDone(call.title, error=one_line(e)))
            return
        self.host.post_message(ActionDone(call.title, text=call.done(result)))

    def history(self) -> None:
        """The action history (as `nba-tui history`) in a box."""
        self.host.run_worker(self._history, thread=True, group="history", exit_on_error=False)

    def _history(self) -> None:
        try:
            entries = history_lines(self.control.history)
        except Exception as e:  # noqa: BLE001
            self.host.post_message(ActionDone("history", error=one_line(e)))
            return
        self.host.post_message(ShowScreen(lambda: HistoryScreen(entries)))

    def events(self, since: float, sig: object) -> None:
        """Events at or after `since` (a bounded read), posted as `EventsRead`; a newer read
        replaces one under way."""
        work = lambda: self._events(since, sig)  # noqa: E731
        self.host.run_worker(work, thread=True, group="events", exclusive=True, exit_on_error=False)

    def _events(self, since: float, sig: object) -> None:
        try:
            events = self.control.events(since)
        except Exception:  # noqa: BLE001 - the next change retries; the grid goes on
            events = None
        if not get_current_worker().is_cancelled:
            self.host.post_message(EventsRead(events, sig))
