"""The nba-tui dashboard: coverage grid, gap map, log tail and job keys, on one 80x24 screen.

The app is a *client*: it reads coverage through `Monitor` (async, in a thread with a deadline) and
jobs through a `JobControl` over the `Supervisor` (synchronous, some calls block: always from
thread workers), and shows them. It spawns nothing itself and runs no SQL. Habits (see
docs/ARCHITECTURE.md):

- Polls never overlap: after each poll finishes, a one-shot timer is re-armed (dolphie).
- State lives in reactives (`snapshot`, `jobs`, `selected`, `show_log`, ...); their watchers
  update the grid, the gap map, the log, the header and the footer. Workers only assign them.
- The grid is updated by diff, by key; only changed cells are repainted.
- No clock ticks: the header is rewritten only when its text changes; job progress is read every
  JOB_REFRESH_S (3 s) while a job is active and time cells are coarse. A dashboard left open
  overnight over SSH writes almost nothing.
- Errors become a toast or a STALE header, never a traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer
from textual.worker import Worker, WorkerState

from nba_tui import preflight
from nba_tui.config import Pipeline
from nba_tui.coverage import Rate, Snapshot
from nba_tui.jobs.model import JobView
from nba_tui.monitor import Monitor, PollResult
from nba_tui.tui import keys
from nba_tui.tui.cells import PHASE_PREFIX, columns_for, first_short, grid_rows, row_keys
from nba_tui.tui.control import (
    JOB_ACTIONS,
    JobCall,
    JobControl,
    JobsAPI,
    Selection,
    connect,
    one_line,
)
from nba_tui.tui.messages import ActionDone, JobsRefreshed, LogLines
from nba_tui.tui.screens.modals import ConfirmScreen, HelpScreen, HistoryScreen, PreflightScreen
from nba_tui.tui.titles import header_text, log_title
from nba_tui.tui.widgets.gapmap import GapMap
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.line import TextLine
from nba_tui.tui.widgets.logpane import LogPane, LogSource

JOB_REFRESH_S = 3.0
"""Job progress refresh while a job is active (only changed cells are repainted)."""
IDLE_JOB_REFRESH_S = 5.0
HEADER_TICK_S = 5.0
FIRST_FRAME_S = 1.0
"""Show the grid after this long even if the warehouse has not answered yet."""
SHORT_HEIGHT = 40
"""Below this height the gap map and the log share one pane (toggle with `v`)."""


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
    show_log: var[bool] = var(False, init=False)
    """Small screens: the bottom pane shows the log instead of the gap map."""

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
        self.pipeline = pipeline
        self.read_only = read_only
        self.monitor = monitor if monitor is not None else Monitor(pipeline)
        sup_error = None
        if supervisor == "auto":
            supervisor, sup_error = connect(pipeline)
        self.control = JobControl(pipeline, supervisor, read_only=read_only)
        self.clock = clock
        self.job_refresh = job_refresh
        self.rates: dict[str, Rate] = {}
        self.polls_done = 0
        self.job_refreshes = 0
        self._polling = False
        self._jobs_busy = False
        self._poll_timer: Timer | None = None
        self._jobs_timer: Timer | None = None
        self._binding_sig: tuple[str, ...] = ()
        self._preflight_screen: PreflightScreen | None = None
        self.set_reactive(NbaTuiApp.jobs_error, sup_error)
        self.theme = os.environ.get("NBA_TUI_THEME", "ansi-dark")

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
        yield TextLine(id="header")
        yield CoverageGrid(id="grid")
        with Vertical(id="bottom"):
            yield GapMap(id="gaps")
            yield TextLine(id="log-title")
            yield LogPane(id="log")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Hold the body back until the first poll and job refresh (or FIRST_FRAME_S): one full
        # frame with data instead of a frame of placeholders repainted a moment later.
        self.add_class("-loading")
        self.set_class(self.read_only, "-read-only")
        self.set_timer(FIRST_FRAME_S, self._reveal)
        grid = self.query_one(CoverageGrid)
        self._layout(self.size)
        grid.ensure_rows(row_keys(self.pipeline))
        self._apply_rows()
        grid.focus()
        self._update_header()
        self._start_poll()
        self._start_jobs()
        self.set_interval(HEADER_TICK_S, self._update_header)

    def on_resize(self, event: events.Resize) -> None:
        # event.size: App.size is only updated by App's own handler, which runs after this one.
        self._layout(event.size)

    def _layout(self, size: Size) -> None:
        self.query_one(CoverageGrid).set_columns(columns_for(size.width))
        self.set_class(size.height < SHORT_HEIGHT, "-short")

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
        if old is None:
            self._select_first_short(snap)
        self._apply_rows()
        self._show_gaps()
        screen = self._preflight_screen
        if screen is not None and screen.is_attached:
            screen.set_report(preflight.check(self.pipeline, snap, screen.report.phase))
        self._sync_bindings()
        self._maybe_reveal()

    def watch_jobs(self, old: dict[str, JobView], new: dict[str, JobView]) -> None:
        self.control.jobs = new
        self._apply_rows()
        table = self.selection.table or ""
        before, after = old.get(table), new.get(table)
        if (before.id if before else None) != (after.id if after else None):
            self._follow_log()  # the selected table got a new job (launched, restarted)
        self._update_header()
        self._sync_bindings()

    def watch_last_poll(self) -> None:
        self._update_header()

    def watch_jobs_error(self) -> None:
        self._update_header()

    def watch_selected(self) -> None:
        self._show_gaps()
        self._follow_log()
        self._sync_bindings()

    def watch_show_log(self, show: bool) -> None:
        self.set_class(show, "-show-log")

    # -- polling (never overlapping) -----------------------------------------------------------

    def _start_poll(self) -> None:
        if self._polling:
            return
        self._polling = True
        self._poll_worker()

    @work(group="poll", exit_on_error=False)
    async def _poll_worker(self) -> None:
        next_in = self.pipeline.poll.interval
        try:
            result = await self.monitor.poll()
            next_in = result.next_in
            self.polls_done += 1
            if self.polls_done == 1 and self.pipeline.warehouse.backend == "bigquery":
                self._cost_worker()
            self.last_poll = result
            if result.fresh and result.snapshot is not None:
                self.snapshot = result.snapshot
        finally:
            self._polling = False
            self._poll_timer = self.set_timer(max(0.2, next_in), self._start_poll)

    @work(thread=True, group="cost", exit_on_error=False)
    def _cost_worker(self) -> None:
        """BigQuery only: the start-up dry run's bytes per poll and per night, as a toast."""
        estimate = getattr(self.monitor, "estimate_cost", None)
        text = estimate() if estimate is not None else None
        if text:
            self.call_from_thread(self.notify, text, title="BigQuery cost", timeout=20)

    def _select_first_short(self, snap: Snapshot) -> None:
        """At the first snapshot: put the cursor on the first table short of its threshold that
        can be backfilled (the seed's picture: what needs attention), unless moved already."""
        table = first_short(self.pipeline, snap)
        if table and self.selected in (None, PHASE_PREFIX + self.pipeline.phases[0].name):
            self.query_one(CoverageGrid).select_key(table, reveal=True)

    # -- jobs (thread workers: the supervisor is synchronous) ----------------------------------

    def _start_jobs(self) -> None:
        if self.supervisor is None or self._jobs_busy:
            return
        self._jobs_busy = True
        self._jobs_worker(self.query_one(LogPane).source)

    @work(thread=True, group="jobs", exit_on_error=False)
    def _jobs_worker(self, source: LogSource | None) -> None:
        try:
            jobs, error = self.control.fetch_jobs(), None
        except Exception as e:  # noqa: BLE001 - shown in the header, never a traceback
            jobs, error = None, one_line(e)
        lines = source.read() if source is not None else []
        job_id = source.job_id if source is not None else None
        self.post_message(JobsRefreshed(jobs, error, job_id, lines))

    @on(JobsRefreshed)
    def _on_jobs(self, msg: JobsRefreshed) -> None:
        self._jobs_busy = False
        self.job_refreshes += 1
        if msg.jobs is not None:
            self.jobs = msg.jobs
        self.query_one(LogPane).add_lines(msg.job_id, msg.lines)
        self.jobs_error = msg.error
        self._maybe_reveal()
        busy = self.control.running() > 0
        wait = self.job_refresh if busy else max(self.job_refresh, IDLE_JOB_REFRESH_S)
        self._jobs_timer = self.set_timer(wait, self._start_jobs)

    @work(thread=True, group="tail", exit_on_error=False)
    def _tail_worker(self, source: LogSource) -> None:
        self.post_message(LogLines(source.job_id, source.read()))

    @on(LogLines)
    def _on_log_lines(self, msg: LogLines) -> None:
        self.query_one(LogPane).add_lines(msg.job_id, msg.lines)

    @work(thread=True, group="action", exit_on_error=False)
    def _call_worker(self, call: JobCall) -> None:
        """Run one blocking supervisor call off the event loop; the result comes back as a toast."""
        try:
            result = call.run()
        except Exception as e:  # noqa: BLE001 - JobError and anything else: a toast
            self.post_message(ActionDone(call.title, error=one_line(e)))
            return
        self.post_message(ActionDone(call.title, text=call.done(result)))

    @on(ActionDone)
    def _on_action_done(self, msg: ActionDone) -> None:
        if msg.error:
            self.notify(msg.error, title=msg.title, severity="error", timeout=8)
        else:
            self.notify(msg.text, title=msg.title, timeout=4)
        self.action_refresh(poll=False)

    @work(thread=True, group="history", exit_on_error=False)
    def _history_worker(self) -> None:
        try:
            entries = self.control.history(100)
        except Exception as e:  # noqa: BLE001
            self.post_message(ActionDone("history", error=one_line(e)))
            return
        self.call_from_thread(self.push_screen, HistoryScreen(entries))

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land: a toast, never a traceback."""
        if event.state is WorkerState.ERROR:
            if event.worker.group == "jobs":
                self._jobs_busy = False
                self._jobs_timer = self.set_timer(IDLE_JOB_REFRESH_S, self._start_jobs)
            self.notify(one_line(event.worker.error), title="internal error", severity="error")

    # -- rendering -----------------------------------------------------------------------------

    def _apply_rows(self) -> None:
        grid = self.query_one(CoverageGrid)
        now = self.clock()
        grid.apply(grid_rows(self.pipeline, self.snapshot, self.jobs, self.rates, now, grid.bar))

    def _update_header(self) -> None:
        text = header_text(
            self.pipeline,
            read_only=self.read_only,
            running=self.control.running(),
            poll=self.last_poll,
            jobs_error=self.jobs_error,
            now=self.clock(),
        )
        self.query_one("#header", TextLine).set(text)

    def _sync_bindings(self) -> None:
        """Refresh the footer only when the set of applicable keys changed: a footer refresh
        reflows and repaints the whole screen (terminal bytes)."""
        if self.has_class("-loading"):
            return  # done once at reveal, in the same frame
        sig = tuple(b.action for b in self._key_bindings() if self.check_action(b.action, ()))
        if sig != self._binding_sig:
            self._binding_sig = sig
            self.refresh_bindings()

    # -- selection: gap map and log follow the cursor -----------------------------------------

    @on(DataTable.RowHighlighted)
    def _on_row(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.row_key.value if event.row_key is not None else None

    def _show_gaps(self) -> None:
        sel = self.selection
        self.query_one(GapMap).show_selection(sel.table, sel.phase, self.snapshot)

    def _follow_log(self) -> None:
        sel = self.selection
        view = self.control.job_of(sel)
        pane = self.query_one(LogPane)
        source = pane.follow(view.id, view.record.log) if view else pane.follow(None, None)
        self.query_one("#log-title", TextLine).set(log_title(sel.table, view))
        if source is not None:
            self._tail_worker(source)

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what does not apply to the selected row (and every job key when read-only)."""
        if action in self.JOB_ACTIONS:
            return self.control.applies(action, self.selection)
        if action == "preflight":
            return self.snapshot is not None and self.selection.phase is not None
        return True

    def _job_action(self, action: str) -> None:
        call = self.control.call(action, self.selection)
        if call is None:
            return
        ask = call.confirm
        if ask is None:
            self._call_worker(call)
            return
        self.push_screen(
            ConfirmScreen(ask.title, ask.lines, ask.question),
            lambda yes: self._call_worker(call) if yes else None,
        )

    def action_launch(self) -> None:
        self._job_action("launch")

    def action_launch_missing(self) -> None:
        self._job_action("launch_missing")

    def action_launch_phase(self) -> None:
        self._job_action("launch_phase")

    def action_pause(self) -> None:
        self._job_action("pause")

    def action_resume(self) -> None:
        self._job_action("resume")

    def action_stop(self) -> None:
        self._job_action("stop")

    def action_restart(self) -> None:
        self._job_action("restart")

    def action_preflight(self) -> None:
        report = self.control.preflight_report(self.selection)
        if report is None:
            self.notify("no coverage yet: wait for the first poll", severity="warning")
            return
        self._preflight_screen = PreflightScreen(report)
        self.push_screen(self._preflight_screen)

    def action_refresh(self, poll: bool = True) -> None:
        if poll and not self._polling:
            if self._poll_timer is not None:
                self._poll_timer.stop()
            self._start_poll()
        if not self._jobs_busy:
            if self._jobs_timer is not None:
                self._jobs_timer.stop()
            self._start_jobs()

    def action_history(self) -> None:
        self._history_worker()

    def action_toggle_view(self) -> None:
        self.show_log = not self.show_log

    def action_help(self) -> None:
        hidden = self.JOB_ACTIONS if self.read_only else frozenset()
        bindings = [b for b in self._key_bindings() if b.action not in hidden]
        self.push_screen(HelpScreen(keys.help_lines(bindings), self.read_only))

    def action_quit_app(self) -> None:
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every applicable action in the command palette as well (Ctrl+P)."""
        yield from super().get_system_commands(screen)
        for b in self._key_bindings():
            if b.action != "quit_app" and self.check_action(b.action, ()):
                callback = getattr(self, f"action_{b.action}")
                yield SystemCommand(f"{b.description} ({b.key})", b.tooltip, callback)

    def _key_bindings(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def on_unmount(self) -> None:
        close = getattr(self.monitor, "close", None)
        if close is not None:
            close()


def run(pipeline: Pipeline, read_only: bool = False) -> int:
    """Run the dashboard until quit; the exit code for `nba-tui`."""
    app = NbaTuiApp(pipeline, read_only=read_only)
    code = app.run()
    return int(code or 0)


__all__ = ["NbaTuiApp", "run"]
