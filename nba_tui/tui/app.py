"""The nba-tui dashboard: coverage grid, gap map, log tail and job keys, on one 80x24 screen.

The app is a *client*: it reads coverage through `Monitor` (async, in a thread with a deadline) and
jobs through a `JobControl` over the `Supervisor` (synchronous, some calls block: always from
thread workers), and shows them. It spawns nothing itself and runs no SQL. It composes:

- controllers with explicit dependencies, which start workers and Textual timers on the app and
  post what they read as messages (messages.py): `Poller` (polling.py: polls, never overlapping,
  on a fixed cadence), `JobWatch` (jobwatch.py: job refreshes, the state-version check, log
  tails, supervisor calls), `Alerts` (alerting.py: event toasts, the bell, STALE episodes),
  `Reports` (reports.py: the plan view, the morning report). The app's handlers apply them;
- state in reactives (`snapshot`, `jobs`, `selected`, `view`, ...), whose watchers say when
  `Board` (board.py) redraws the grid (by diff, by key), the gap map, the log, the header, and
  when the footer changes. A dashboard left open overnight over SSH writes almost nothing;
- one parameterised action, `job('<name>')`, for every job and plan key (keys.py, control.py).

Errors become a toast or a STALE header, never a traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Literal

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Input
from textual.worker import Worker, WorkerState

from nba_tui import preflight
from nba_tui.config import Pipeline
from nba_tui.coverage import Rate, Snapshot
from nba_tui.jobs.model import JobView
from nba_tui.monitor import Monitor, PollResult
from nba_tui.tui import keys, layout
from nba_tui.tui.alerting import Alerts
from nba_tui.tui.board import Board
from nba_tui.tui.cells import filter_keys, row_keys, same_coverage
from nba_tui.tui.control import JOB_ACTIONS, JobControl, JobsAPI, Selection, connect
from nba_tui.tui.joblists import one_line
from nba_tui.tui.jobwatch import JOB_REFRESH_S, JobWatch
from nba_tui.tui.messages import (
    ActionDone,
    EventsChanged,
    EventsRead,
    JobsRefreshed,
    LogLines,
    PlanText,
    Polled,
    ShowScreen,
    Toast,
)
from nba_tui.tui.polling import Poller
from nba_tui.tui.reports import Reports
from nba_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PlanScreen, PreflightScreen
from nba_tui.tui.upstream import quiet_driver
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.logpane import log_of

FIRST_FRAME_S = 1.0
"""Show the grid after this long even if the warehouse has not answered yet."""


class NbaTuiApp(App[int]):
    """The dashboard. `monitor`, `supervisor` and `clock` are hooks for tests (fixed data)."""

    CSS_PATH = "app.tcss"
    TITLE = "nba-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = keys.BINDINGS
    JOB_ACTIONS = frozenset(JOB_ACTIONS)

    snapshot: var[Snapshot | None] = var(None, always_update=True, init=False)
    """The latest fresh coverage snapshot (kept while the warehouse fails)."""
    last_poll: var[PollResult | None] = var(None, always_update=True, init=False)
    jobs: var[dict[str, JobView]] = var(dict, always_update=True, init=False)
    """Latest job per table (the active one if any)."""
    jobs_error: var[str | None] = var(None, init=False)
    selected: var[str | None] = var(None, init=False)
    """Row key under the cursor: a table name or `phase:<name>`."""
    view: var[layout.View | None] = var(None, init=False)
    """What `v` chose for the bottom pane: the gap map or the log (None: by size, layout.py)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        read_only: bool = False,
        monitor: Any = None,
        supervisor: JobsAPI | Literal["auto"] | None = "auto",
        clock: Callable[[], float] = time.time,
        job_refresh: float = JOB_REFRESH_S,
    ) -> None:
        # ANSI colours from the terminal's own palette (16 colours over SSH); set here, not via
        # the theme, so that NO_COLOR picks the NoColor filter (default colours) rather than
        # Monochrome (which turns the ANSI theme into black on black).
        super().__init__(ansi_color=True)
        self.driver_class = quiet_driver(self.driver_class)  # no 100 ms wake-ups (upstream.py)
        self.pipeline, self.read_only = pipeline, read_only
        sup_error = None
        if supervisor == "auto":
            supervisor, sup_error = connect(pipeline)
        self.control = JobControl(pipeline, supervisor, read_only=read_only)
        self.clock = clock
        self.poller = Poller(self, monitor if monitor is not None else Monitor(pipeline), pipeline)
        self.jobwatch = JobWatch(self, self.control, lambda: self.board.log.source, job_refresh)
        self.alerts = Alerts(self, pipeline, self.jobwatch.events, clock())
        self.reports = Reports(self, pipeline, self.control, clock)
        self.rates: dict[str, Rate] = {}
        self.board = Board(self, pipeline, self.control, self.rates, clock)
        self.polls_done = self.job_refreshes = 0
        self._binding_sig: tuple[str, ...] = ()
        self.set_reactive(NbaTuiApp.jobs_error, sup_error)
        self.theme = os.environ.get("NBA_TUI_THEME", "ansi-dark")

    @property
    def monitor(self) -> Any:
        return self.poller.monitor

    @property
    def supervisor(self) -> JobsAPI | None:
        return self.control.supervisor

    @property
    def selection(self) -> Selection:
        return Selection.of(self.pipeline, self.selected)

    def selected_table(self) -> str | None:
        return self.selection.table

    def selected_phase(self) -> str | None:
        return self.selection.phase

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from self.board.compose()

    def on_mount(self) -> None:
        # Hold the body back until the first poll and job refresh (or FIRST_FRAME_S): one full
        # frame with data instead of a frame of placeholders repainted a moment later.
        self.add_class("-loading")
        self.set_class(self.read_only, "-read-only")
        self.set_timer(FIRST_FRAME_S, self._reveal)
        self._layout(self.size)
        self.board.grid.ensure_rows(row_keys(self.pipeline))
        self.board.rows()
        self.board.grid.focus()
        self._update_header()
        self.poller.start()
        self.jobwatch.start()

    def on_resize(self, event: events.Resize) -> None:
        # event.size: App.size is only updated by App's own handler, which runs after this one.
        self._layout(event.size)

    def _layout(self, size: Size) -> None:
        self.board.fit(size, self.view)
        self._sync_bindings()  # the footer's `v` kept true

    def _reveal(self) -> None:
        if self.has_class("-loading"):
            self.remove_class("-loading")
            self._sync_bindings()

    def _maybe_reveal(self) -> None:
        if self.snapshot is not None and (self.supervisor is None or self.job_refreshes):
            self._reveal()

    # -- watchers: what each piece of state changes on screen ------------------------------------

    def watch_snapshot(self, old: Snapshot | None, snap: Snapshot | None) -> None:
        self.control.snapshot = snap
        if snap is None:
            return
        for name, cov in snap.tables.items():
            self.rates.setdefault(name, Rate()).add(snap.taken_at, cov.present)
        if old is not None and same_coverage(old, snap):
            self.board.ended_jobs()  # a `counting` job shows its end state now
            return  # an unchanged table keeps its coverage object: nothing else moves
        if old is None:
            self.board.select_first_short(self.selected)
        self.board.rows()
        self._show_gaps()
        for screen in self.screen_stack:  # an open preflight updates live
            if isinstance(screen, PreflightScreen):
                screen.set_report(preflight.check(self.pipeline, snap, screen.report.phase))
        self._sync_bindings()
        self._maybe_reveal()

    def watch_jobs(self, old: dict[str, JobView], new: dict[str, JobView]) -> None:
        self.control.jobs = new
        # Only rows whose job changed, appeared, vanished (archived by `demo reset`) or is
        # active (its elapsed time moves) are rebuilt.
        changed = [t for t in old.keys() | new.keys() if old.get(t) != new.get(t)]
        changed += [t for t, v in new.items() if v.state.active and t not in changed]
        self.board.job_cells(changed)
        table = self.selection.table or ""
        before, after = old.get(table), new.get(table)
        if log_of(before) != log_of(after):
            self._follow_log()  # a new job (launched, restarted), or a plan's shard now started
        elif before != after:
            self.board.show_log_title(self.selection, self.size.width)  # e.g. a remote job's state
        self._update_header()
        self._sync_bindings()

    def watch_last_poll(self, poll: PollResult | None) -> None:
        self._update_header()
        if poll is not None:
            self.alerts.poll_notes(poll)

    def watch_jobs_error(self) -> None:
        self._update_header()

    def watch_selected(self) -> None:
        self._show_gaps()
        self._follow_log()
        self._sync_bindings()

    def watch_view(self) -> None:
        self.board.fit_bottom(self.view)
        self._sync_bindings()  # the footer's `v` kept true

    # -- rendering -----------------------------------------------------------------------------

    def _update_header(self) -> None:
        self.board.show_header(self.read_only, self.last_poll, self.jobs_error)

    def _sync_bindings(self) -> None:
        """Refresh the footer only when the set of applicable keys changed: a footer refresh
        reflows and repaints the whole screen (terminal bytes)."""
        if self.has_class("-loading"):
            return  # done once at reveal, in the same frame
        sig = tuple(b.action for b in self._key_bindings() if self.check_action(*keys.parsed(b)))
        if sig != self._binding_sig:
            self._binding_sig = sig
            self.refresh_bindings()

    # -- selection: gap map and log follow the cursor -----------------------------------------

    @on(DataTable.RowHighlighted)
    def _on_row(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.row_key.value if event.row_key is not None else None

    def on_coverage_grid_scroll_sideways(self, msg: CoverageGrid.ScrollSideways) -> None:
        self.board.log.scroll_relative(x=msg.dx, animate=False)

    def _show_gaps(self) -> None:
        self.board.show_gaps(self.selection)

    def _follow_log(self) -> None:
        source = self.board.follow_log(self.selection, self.size.width)
        if source is not None:
            self.jobwatch.tail(source)

    # -- the controllers' messages ---------------------------------------------------------------

    def on_polled(self, msg: Polled) -> None:
        result = msg.result
        self.polls_done += 1
        if self.polls_done == 1:
            self.poller.estimate_cost()
        self.last_poll = result
        if result.fresh and result.snapshot is not None:
            self.snapshot = result.snapshot
        self.alerts.polled(result)
        self.poller.recount_ended(self.jobs, self.snapshot)

    def on_jobs_refreshed(self, msg: JobsRefreshed) -> None:
        if not self.board.grid.is_attached:
            return  # shutting down: the main screen is gone
        self.job_refreshes += 1
        if msg.fetched is not None:  # before `jobs`: its watcher draws shards and plan keys
            f = msg.fetched
            self.control.shards, self.control.plans = f.shards, f.plans
            self.control.plan_active = f.active
            self._update_header()  # a plan's forecast end may have moved
        if msg.jobs is not None:
            self.jobs = msg.jobs
            self.poller.recount_ended(self.jobs, self.snapshot)
        self._add_log_lines(msg.job_id, msg.lines)
        self.jobs_error = msg.error
        self._maybe_reveal()
        if msg.fetched is not None:
            self._refresh_plan_view()
        self.jobwatch.refreshed(msg.version, self.control.running() > 0)

    def on_events_changed(self, msg: EventsChanged) -> None:
        self.alerts.events_changed(msg.sig)

    def on_events_read(self, msg: EventsRead) -> None:
        if not self.alerts.events_read(msg):
            self.jobwatch.events_seen = None  # the read failed: the next check reads again

    def on_log_lines(self, msg: LogLines) -> None:
        self._add_log_lines(msg.job_id, msg.lines)

    def _add_log_lines(self, job_id: str | None, lines: list[str]) -> None:
        """Lines read by a worker; none to add to once the app is shutting down."""
        if self.board.log.is_attached:
            self.board.log.add_lines(job_id, lines)

    def on_action_done(self, msg: ActionDone) -> None:
        if msg.error:
            self.notify(msg.error, title=msg.title, severity="error", timeout=8)
        else:
            self.notify(msg.text, title=msg.title, timeout=4)
        self.action_refresh(poll=False)

    def on_toast(self, msg: Toast) -> None:
        self.notify(msg.text, title=msg.title, severity=msg.severity, timeout=msg.timeout)  # type: ignore[arg-type]

    def on_show_screen(self, msg: ShowScreen) -> None:
        self.push_screen(msg.make())

    def on_plan_text(self, msg: PlanText) -> None:
        screen = self.screen
        if isinstance(screen, PlanScreen) and screen.plan_id == msg.plan_id:
            screen.set_text(msg.text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land: a toast, never a traceback."""
        if event.state is WorkerState.ERROR:
            if event.worker.group == "jobs":
                self.jobwatch.failed()
            self.notify(one_line(event.worker.error), title="internal error", severity="error")

    def _refresh_plan_view(self) -> None:
        """After each job refresh: an open plan view is rendered again (its counts, forecast
        and "in Xm" move with the grid)."""
        screen = self.screen
        if isinstance(screen, PlanScreen) and screen.plan_id and self.supervisor is not None:
            self.reports.plan_view(screen.plan_id, self.snapshot, open_view=True)

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what does not apply to the selected row (and every job key when read-only);
        on a too-small terminal only quitting acts (the rows an action would act on are hidden)."""
        if self.has_class("-too-small"):
            return action in layout.SMALL_SCREEN_ACTIONS
        if action == "job" and parameters:
            action = str(parameters[0])
        if action in self.JOB_ACTIONS:
            sel = self.selection
            return self.control.applies(action, sel) or self.control.says_why(action, sel)
        if action == "preflight":
            return self.snapshot is not None and self.selection.phase is not None
        if action == "morning":
            return self.snapshot is not None and self.supervisor is not None
        if action in ("view_gaps", "view_log"):  # one `v`: the one that changes the view
            return action == f"view_{layout.toggled(self.board.height, self.view)}"
        return True

    def action_job(self, name: str) -> None:
        """Every job and plan key (`job('pause')`): what `name` calls on the selection, asked
        first when `control` says so."""
        call = self.control.call(name, self.selection)
        if call is None:  # `says_why`: the key tells why it does nothing
            if reason := self.control.why_not(name, self.selection):
                self._explain(name.replace("_", " "), reason)()
            return
        ask = call.confirm
        if ask is None:
            self.jobwatch.call(call)
            return
        self.push_screen(
            ConfirmScreen(ask.title, ask.lines, ask.question),
            lambda yes: self.jobwatch.call(call) if yes else None,
        )

    def action_refresh(self, poll: bool = True) -> None:
        """Poll now, counting every table again whatever the change detection says (a STALE
        warehouse is retried at once, whatever its back-off) and re-read the jobs. A poll still
        waiting for the warehouse is not doubled: the one after it recounts; say so."""
        if poll:
            self.poller.recount()
            if self.poller.polling:
                text = "a poll is still waiting for the warehouse; the next one recounts"
                self.notify(text, title="refresh")
            else:
                if self.last_poll is not None and self.last_poll.error:
                    self.notify("retrying the warehouse now", title="refresh")
                self.poller.start()
        self.jobwatch.refresh()

    def action_plan_view(self) -> None:
        if self.supervisor is None:
            self.notify("jobs unavailable", title="plan: not now", severity="warning")
            return
        job = self.control.job_of(self.selection)
        self.reports.plan_view(job.record.plan if job else None, self.snapshot, open_view=False)

    def action_morning(self) -> None:
        if self.supervisor is None or self.snapshot is None:
            why = "jobs unavailable" if self.supervisor is None else "no coverage yet"
            self.notify(why, title="morning report: not now", severity="warning")
            return
        self.reports.morning(self.snapshot)

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _on_filter(self, event: Input.Changed) -> None:
        self.board.grid.show_only(filter_keys(self.pipeline, event.value))

    @on(Input.Submitted, "#filter")
    def _on_filter_done(self, event: Input.Submitted) -> None:
        self.set_class(bool(event.value), "-filtering")
        self.board.grid.focus()

    def clear_filter(self) -> None:
        """Escape in the filter box (or on the grid while filtered): every table again."""
        box = self.query_one("#filter", Input)
        box.value = ""
        self.board.grid.show_only(row_keys(self.pipeline))
        self.remove_class("-filtering")
        self.board.grid.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.has_class("-filtering"):
            event.stop()
            self.clear_filter()

    def action_preflight(self) -> None:
        report = self.control.preflight_report(self.selection)
        if report is None:
            self.notify("no coverage yet: wait for the first poll", severity="warning")
            return
        self.push_screen(PreflightScreen(report))

    def action_history(self) -> None:
        self.jobwatch.history()

    def action_view_gaps(self) -> None:
        self.view = "gaps"

    def action_view_log(self) -> None:
        self.view = "log"

    def action_help(self) -> None:
        hidden = self.JOB_ACTIONS if self.read_only else frozenset()
        bindings = [b for b in self._key_bindings() if keys.action_name(b) not in hidden]
        self.push_screen(HelpScreen(keys.help_lines(bindings), self.read_only))

    def action_quit_app(self) -> None:
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action in the command palette (Ctrl+P), the ones that do not apply to the
        selected row with the reason (choosing one shows the reason instead of acting)."""
        yield from super().get_system_commands(screen)
        for b in self._key_bindings():
            if b.action == "quit_app":
                continue
            reason = self._why_not(keys.action_name(b))
            name, params = keys.parsed(b)
            callback = partial(getattr(self, f"action_{name}"), *params)
            if reason is not None:
                callback = self._explain(b.description, reason)
            yield SystemCommand(keys.palette_title(b, reason), b.tooltip, callback)

    def _why_not(self, action: str) -> str | None:
        if action in self.JOB_ACTIONS:
            return self.control.why_not(action, self.selection)
        if action in ("preflight", "morning") and not self.check_action(action, ()):
            if self.snapshot is None:
                return "no coverage yet"
            return "select a phase or a table" if action == "preflight" else "jobs unavailable"
        return None

    def _explain(self, what: str, reason: str) -> Callable[[], None]:
        return lambda: self.notify(reason, title=f"{what}: not now", severity="warning")

    def _key_bindings(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def on_unmount(self) -> None:
        self.poller.close()


def run(pipeline: Pipeline, read_only: bool = False, monitor: Monitor | None = None) -> int:
    """Run the dashboard until quit; the exit code for `nba-tui`.

    `monitor`: one made (and possibly `prefetch`ed) by the caller; a new one by default. The
    monitor's poll thread is a daemon (`Monitor`), so quitting never waits for a poll stuck in
    a warehouse that went away."""
    app = NbaTuiApp(pipeline, read_only=read_only, monitor=monitor)
    return int(app.run() or 0)


__all__ = ["NbaTuiApp", "run"]
