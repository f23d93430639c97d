"""Messages from the dashboard's controllers (polls, jobs, alerts, reports) and their workers to
the app, which applies them on the event loop (typed, harlequin's habit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.screen import Screen

from nba_tui.jobs.events import Event
from nba_tui.jobs.model import JobView
from nba_tui.monitor import PollResult
from nba_tui.tui.control import Fetched


class JobsRefreshed(Message):
    """A job refresh finished: the latest job per table (None: the supervisor failed, see
    `error`), the new lines of the log followed at the time (`job_id`) and the supervisor's
    state version read just before (a later change by another client triggers a refresh)."""

    def __init__(
        self,
        jobs: dict[str, JobView] | None,
        error: str | None,
        job_id: str | None,
        lines: list[str],
        version: object = None,
        fetched: Fetched | None = None,
    ) -> None:
        super().__init__()
        self.jobs, self.error, self.job_id, self.lines = jobs, error, job_id, lines
        self.version = version
        self.fetched = fetched
        """Shard positions and plans read with the jobs (None when the read failed)."""


class EventsRead(Message):
    """Events appended since the last read (None: the read failed), and the events file's
    signature they were read at."""

    def __init__(self, events: list[Event] | None, sig: object) -> None:
        super().__init__()
        self.events, self.sig = events, sig


class LogLines(Message):
    """Lines of the followed job's log (its tail, right after it was selected)."""

    def __init__(self, job_id: str, lines: list[str]) -> None:
        super().__init__()
        self.job_id, self.lines = job_id, lines


class ActionDone(Message):
    """A supervisor call finished: a toast (its error, or a confirmation)."""

    def __init__(self, title: str, text: str = "", error: str | None = None) -> None:
        super().__init__()
        self.title, self.text, self.error = title, text, error


class Polled(Message):
    """A coverage poll finished (`Monitor.poll`'s result: fresh, or STALE with its error)."""

    def __init__(self, result: PollResult) -> None:
        super().__init__()
        self.result = result


class EventsChanged(Message):
    """The events file's signature moved since it was last seen: new events to read."""

    def __init__(self, sig: object) -> None:
        super().__init__()
        self.sig = sig


class Toast(Message):
    """A notification from a worker (a plan adopted, a remote run followed, a poll's cost)."""

    def __init__(
        self, text: str, title: str, timeout: float | None, severity: str = "information"
    ) -> None:
        super().__init__()
        self.text, self.title, self.timeout, self.severity = text, title, timeout, severity


class ShowScreen(Message):
    """A worker built what a screen shows (a report, the history): push `make()`."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make


class PlanText(Message):
    """The open plan view's text, rendered again after a job refresh."""

    def __init__(self, plan_id: str, text: str) -> None:
        super().__init__()
        self.plan_id, self.text = plan_id, text
