"""The dashboard's side of the overnight autopilot (a mixin of `NbaTuiApp`, split out to keep
app.py readable): plan keys, event alerts and the morning report screen.

- Plan keys (P U S X) act on the plan the selected table's job belongs to, through `JobControl`
  (the Supervisor's public plan methods, in the same thread worker as every job key).
- Alerts: on the one clock's ticks (`Refresh._tick`) the app compares the events file's signature
  (one stat() in the same thread as the state-version check); only when it changed does a thread
  worker read the new events (`Supervisor.events(since=...)`, a bounded read). Each alerting
  event becomes a toast and the terminal bell, once per dashboard session (by event id). The
  dashboard's own STALE warehouse also rings once per stale episode after `alerts.stale_after`.
- The plan view (n) is rendered in a thread worker (`plan_text.render_plan_view`: the plan,
  the jobs and the last poll) and shown in a box.
- The morning report (M) is built in a thread worker (`morning.build_report`, blocking reads of
  records and logs) and shown with its one rendering (`morning.render_report`, at the
  screen's width).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from nba_tui import morning
from nba_tui.fmt import duration, printable
from nba_tui.jobs import plan_text
from nba_tui.jobs.alerts import StaleEpisode
from nba_tui.jobs.events import ALERT_KINDS, Event
from nba_tui.tui.control import JobControl
from nba_tui.tui.joblists import one_line
from nba_tui.tui.messages import ActionDone, EventsRead
from nba_tui.tui.screens.modals import MorningScreen, PlanScreen

if TYPE_CHECKING:
    from nba_tui.config import Pipeline
    from nba_tui.coverage import Snapshot
    from nba_tui.monitor import PollResult

REPORT_WINDOW_S = 12 * 3600.0
"""The morning report covers the last 12 hours (the CLI's `report --since 12h` default)."""
MAX_TOASTS = 5
"""At most this many event toasts at once; the rest are summed up in one more toast."""
SEVERITY = {
    "job_failed": "error",
    "plan_failed": "error",
    "plan_short": "warning",
    "date_quarantined": "error",
    "coverage_dropped": "error",
    "warehouse_stale": "warning",
    "plan_late": "warning",
    "phase_ready": "information",
    "plan_done": "information",
}


def event_text(ev: Event) -> str:
    """One event as a toast's text: what, where, which dates (a few), its detail."""
    parts = []
    if ev.table:
        parts.append(ev.table)
    if ev.dates:
        more = f" (+{len(ev.dates) - 3} more)" if len(ev.dates) > 3 else ""
        parts.append(", ".join(ev.dates[:3]) + more)
    if ev.detail:
        parts.append(ev.detail)
    if ev.plan:
        parts.append(f"plan {ev.plan}")
    return printable(" · ".join(parts) or ev.kind)


class Autopilot:
    """Plan keys, event alerts and the morning report of the dashboard."""

    if TYPE_CHECKING:  # provided by NbaTuiApp (and textual.App)
        pipeline: Pipeline
        control: JobControl
        snapshot: Snapshot | None
        last_poll: PollResult | None
        clock: Any

        @property
        def supervisor(self) -> Any: ...
        def notify(self, message: str, **kw: Any) -> None: ...
        def bell(self) -> None: ...
        def post_message(self, message: Any) -> bool: ...
        def call_from_thread(self, callback: Any, *args: Any) -> Any: ...
        def push_screen(self, screen: Any, callback: Any = None) -> Any: ...

        @property
        def screen(self) -> Any: ...

    def _init_autopilot(self, since: float) -> None:
        self._events_since = since
        """Events at or after this time are new (the dashboard's start: older ones are not)."""
        self._events_sig: object = None
        self._events_busy = False
        self._toasted: set[str] = set()
        self.alerts_shown = 0
        self._stale = StaleEpisode(self.pipeline.alerts.stale_after)

    # -- plan keys ---------------------------------------------------------------------------------

    def action_plan_view(self) -> None:
        if self.supervisor is None:
            self.notify("jobs unavailable", title="plan: not now", severity="warning")
            return
        job = self.control.job_of(self.selection)
        self._plan_worker(job.record.plan if job is not None else None, self.snapshot, None)

    def _refresh_plan_view(self) -> None:
        """After each job refresh: an open plan view is rendered again (its counts, forecast
        and "in Xm" move with the grid)."""
        screen = self.screen
        if isinstance(screen, PlanScreen) and screen.plan_id and self.supervisor is not None:
            self._plan_worker(screen.plan_id, self.snapshot, screen)

    @work(thread=True, group="plan", exclusive=True, exit_on_error=False)
    def _plan_worker(self, plan_id: str | None, snap: Snapshot | None, shown: Any) -> None:
        """The selected job's plan, else the latest running one, else the latest (blocking);
        pushed as a new plan view, or written into `shown` (the open one) when given."""
        try:
            plans = sorted(self.supervisor.plans(), key=lambda p: p.created_at)
            running = [p for p in plans if p.state == "running"]
            chosen = [p for p in plans if p.id == plan_id] or running or plans
            if not chosen:
                self.post_message(ActionDone("plan", error="no plan yet: `nba-tui run PHASE`"))
                return
            views = self.supervisor.jobs()
            text = plan_text.render_plan_view(self.pipeline, chosen[-1], views, snap, self.clock())
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            if shown is None:  # an open view keeps its text until a refresh reads again
                self.post_message(ActionDone("plan", error=one_line(e)))
            return
        if shown is not None:
            self.call_from_thread(shown.set_text, text)
        else:
            self.call_from_thread(self.push_screen, PlanScreen(text, chosen[-1].id))

    # -- alerts ------------------------------------------------------------------------------------

    def _events_changed(self, sig: object) -> None:
        """Called on a tick with the events file's signature: read the new events if it moved."""
        if sig is None or sig == self._events_sig or self._events_busy:
            return
        self._events_busy = True
        self._events_worker(sig)

    @work(thread=True, group="events", exit_on_error=False)
    def _events_worker(self, sig: object) -> None:
        try:
            events = self.control.events(self._events_since)
        except Exception:  # noqa: BLE001 - the next change retries; the grid goes on
            events = None
        self.post_message(EventsRead(events, sig))

    def on_events_read(self, msg: EventsRead) -> None:
        self._events_busy = False
        if msg.events is None:
            return
        self._events_sig = msg.sig
        fresh = [e for e in msg.events if e.kind in ALERT_KINDS and e.id not in self._toasted]
        if msg.events:
            self._events_since = max(self._events_since, max(e.at for e in msg.events))
            # ids at the new `since` may be read again: keep only those
            self._toasted = {e.id for e in msg.events if e.at >= self._events_since}
        self._toasted |= {e.id for e in fresh}
        for ev in fresh[:MAX_TOASTS]:
            self._alert(ev.kind.replace("_", " "), event_text(ev), SEVERITY.get(ev.kind))
        if len(fresh) > MAX_TOASTS:
            more = len(fresh) - MAX_TOASTS
            self.notify(f"{more} more events: see `nba-tui report`", title="alerts", timeout=12)

    def _alert(self, title: str, text: str, severity: str | None) -> None:
        self.alerts_shown += 1
        self.notify(text, title=title, severity=severity or "information", timeout=15)
        self.bell()

    def _check_stale(self, now: float) -> None:
        """The dashboard's own STALE warehouse: one alert per episode once it lasts
        `alerts.stale_after` (the header says STALE from the first failed poll)."""
        poll = self.last_poll
        if poll is None or not poll.error:
            self._stale.good()
            return
        stale = self._stale.failed(now)
        if stale is not None:
            text = f"no fresh coverage for {duration(stale)}: {poll.error}"
            self._alert("warehouse stale", printable(text), "warning")

    @property
    def _stale_since(self) -> float | None:
        """When the current stale episode began (None: the last poll was good)."""
        return self._stale.since

    # -- the morning report ------------------------------------------------------------------------

    def action_morning(self) -> None:
        if self.supervisor is None or self.snapshot is None:
            why = "jobs unavailable" if self.supervisor is None else "no coverage yet"
            self.notify(why, title="morning report: not now", severity="warning")
            return
        self._morning_worker(self.snapshot, self.clock() - REPORT_WINDOW_S)

    @work(thread=True, group="morning", exclusive=True, exit_on_error=False)
    def _morning_worker(self, snap: Snapshot, since: float) -> None:
        try:
            report = morning.build_report(self.pipeline, self.supervisor, snap, since)
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            self.post_message(ActionDone("morning report", error=one_line(e)))
            return
        self.call_from_thread(self.push_screen, MorningScreen(report))


__all__ = ["Autopilot", "event_text"]
