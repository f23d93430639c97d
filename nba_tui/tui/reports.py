"""The dashboard's reports in a box: the plan view (n) and the morning report (M).

`Reports` builds them in thread workers (blocking reads of records and logs) and posts the result
as a message: `ShowScreen` for a new box, `PlanText` for the open plan view (rendered again after
each job refresh: its counts, forecast and "in Xm" move with the grid), `ActionDone` for an error.

- The plan view: `plan_text.render_plan_view` (the plan, the jobs and the last poll).
- The morning report: `morning_report.build_report`, shown with its one rendering
  (`morning_report.render_report`, at the screen's width).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App

from nba_tui import morning_report
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot
from nba_tui.jobs import plan_text
from nba_tui.tui.control import JobControl
from nba_tui.tui.joblists import one_line
from nba_tui.tui.messages import ActionDone, PlanText, ShowScreen
from nba_tui.tui.screens.modals import MorningScreen, PlanScreen

REPORT_WINDOW_S = 12 * 3600.0
"""The morning report covers the last 12 hours (the CLI's `report --since 12h` default)."""


class Reports:
    """Plan views and morning reports for `host` (the app: it owns the workers and gets the
    messages), read from `control`'s supervisor at the time of `clock()`."""

    def __init__(
        self,
        host: App[Any],
        pipeline: Pipeline,
        control: JobControl,
        clock: Callable[[], float],
    ) -> None:
        self.host, self.pipeline, self.control, self.clock = host, pipeline, control, clock

    @property
    def supervisor(self) -> Any:
        sup = self.control.supervisor
        if sup is None:
            raise RuntimeError("jobs unavailable")
        return sup

    def plan_view(self, plan_id: str | None, snap: Snapshot | None, open_view: bool) -> None:
        """A new plan view: the plan `plan_id` (the selected job's) while it runs, else the
        latest running plan, else `plan_id`, else the latest; or (`open_view`) the text of the
        open one, plan `plan_id`."""
        work = lambda: self._plan(plan_id, snap, open_view)  # noqa: E731 - the worker's callable
        self.host.run_worker(work, thread=True, group="plan", exclusive=True, exit_on_error=False)

    def _plan(self, plan_id: str | None, snap: Snapshot | None, open_view: bool) -> None:
        post = self.host.post_message
        try:
            plans = sorted(self.supervisor.plans(), key=lambda p: p.created_at)
            running = [p for p in plans if p.state == "running"]
            named = [p for p in plans if p.id == plan_id]
            if open_view:
                chosen = named or running or plans
            else:  # an ended plan of the selected job does not hide the one that runs
                chosen = [p for p in named if p.state == "running"] or running or named or plans
            if not chosen:
                post(ActionDone("plan", error="no plan yet: `nba-tui run PHASE`"))
                return
            plan = chosen[-1]
            views = self.supervisor.jobs()
            text = plan_text.render_plan_view(self.pipeline, plan, views, snap, self.clock())
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            if not open_view:  # an open view keeps its text until a refresh reads again
                post(ActionDone("plan", error=one_line(e)))
            return
        if open_view:
            post(PlanText(plan.id, text))
        else:
            post(ShowScreen(lambda: PlanScreen(text, plan.id)))

    def morning(self, snap: Snapshot) -> None:
        """The morning report of the last REPORT_WINDOW_S, in a box."""
        since = self.clock() - REPORT_WINDOW_S
        work = lambda: self._morning(snap, since)  # noqa: E731 - the worker's callable
        self.host.run_worker(
            work, thread=True, group="morning", exclusive=True, exit_on_error=False
        )

    def _morning(self, snap: Snapshot, since: float) -> None:
        try:
            report = morning_report.build_report(self.pipeline, self.supervisor, snap, since)
        except Exception as e:  # noqa: BLE001 - a toast, never a traceback
            self.host.post_message(ActionDone("morning report", error=one_line(e)))
            return
        self.host.post_message(ShowScreen(lambda: MorningScreen(report)))
