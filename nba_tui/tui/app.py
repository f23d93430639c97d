"""The nba-tui dashboard: coverage grid, gap map, log tail and job keys, on one 80x24 screen.

The app is a *client*: it reads coverage through `Monitor` (async, in a thread with a deadline) and
jobs through `Supervisor` (synchronous, some calls block: always from thread workers), and shows
them. It spawns nothing itself and runs no SQL. Habits (see DESIGN.md):

- Polls never overlap: after each poll finishes, a one-shot timer is re-armed (dolphie).
- The grid is updated by diff, by key; only changed cells are repainted.
- No clock ticks: the header is rewritten only when its text changes; job progress is read every
  ~2 s and time cells are coarse. A dashboard left open overnight over SSH writes almost nothing.
- Errors become a toast or a STALE header, never a traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer
from textual.worker import Worker, WorkerState

from nba_tui import preflight
from nba_tui.config import Pipeline
from nba_tui.coverage import Rate, Snapshot, TableCoverage
from nba_tui.monitor import Monitor, PollResult, format_age
from nba_tui.tui import jobs as jobsmod
from nba_tui.tui.actions import ActionsMixin
from nba_tui.tui.cells import (
    Cell,
    columns_for,
    coverage_cells,
    job_cells,
    phase_cells,
)
from nba_tui.tui.cells import bar as bar_text
from nba_tui.tui.screens.modals import PreflightScreen
from nba_tui.tui.widgets.gapmap import GapMap
from nba_tui.tui.widgets.grid import PHASE_PREFIX, CoverageGrid
from nba_tui.tui.widgets.line import TextLine
from nba_tui.tui.widgets.logpane import LogFollower, LogPane

JOB_REFRESH_S = 3.0
"""Job progress refresh while a job is active (only changed cells are repainted)."""
IDLE_JOB_REFRESH_S = 5.0
HEADER_TICK_S = 5.0
FIRST_FRAME_S = 1.0
"""Show the grid after this long even if the warehouse has not answered yet."""
SHORT_HEIGHT = 40
"""Below this height the gap map and the log share one pane (toggle with `v`)."""


class NbaTuiApp(ActionsMixin, App[int]):
    """The dashboard. `monitor`, `supervisor` and `clock` are hooks for tests (fixed data)."""

    CSS_PATH = "app.tcss"
    TITLE = "nba-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("l", "launch", "launch"),
        Binding("m", "launch_missing", "missing"),
        Binding("L", "launch_phase", "phase"),
        Binding("p", "pause", "pause"),
        Binding("r", "resume", "resume"),
        Binding("s", "stop", "stop"),
        Binding("c", "restart", "checkpoint"),
        Binding("f", "preflight", "preflight"),
        Binding("g", "refresh", "refresh", show=False),
        Binding("h,a", "history", "history", show=False),
        Binding("v", "toggle_view", "gaps/log", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit_app", "quit"),
    ]
    JOB_ACTIONS = frozenset(
        {"launch", "launch_missing", "launch_phase", "pause", "resume", "stop", "restart"}
    )

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        read_only: bool = False,
        monitor: Any = None,
        supervisor: Any = "auto",
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
            supervisor, sup_error = jobsmod.make_supervisor(pipeline)
        self.supervisor = supervisor
        self.clock = clock
        self.job_refresh = job_refresh
        self.snapshot: Snapshot | None = None
        self.last_poll: PollResult | None = None
        self.jobs: dict[str, Any] = {}
        """Latest JobView per table (the active one if any)."""
        self.rates: dict[str, Rate] = {}
        self.show_log = False
        self.polls_done = 0
        self.job_refreshes = 0
        self._polling = False
        self._jobs_busy = False
        self._poll_timer: Any = None
        self._jobs_timer: Any = None
        self._binding_sig: tuple = ()
        self._preflight_screen: PreflightScreen | None = None
        self._selected: str | None = None
        self._jobs_error: str | None = sup_error
        self.theme = os.environ.get("NBA_TUI_THEME", "ansi-dark")

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
        self.set_timer(FIRST_FRAME_S, self._reveal)
        grid = self.query_one(CoverageGrid)
        self._layout(self.size.width, self.size.height)
        grid.ensure_rows(self._row_keys())
        self._apply_rows()
        grid.focus()
        self._update_header()
        self._start_poll()
        self._start_jobs()
        self.set_interval(HEADER_TICK_S, self._update_header)

    def on_resize(self) -> None:
        self._layout(self.size.width, self.size.height)

    def _layout(self, width: int, height: int) -> None:
        self.query_one(CoverageGrid).set_columns(columns_for(width))
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(self.show_log, "-show-log")
        self.set_class(self.read_only, "-read-only")

    def _reveal(self) -> None:
        if self.has_class("-loading"):
            self._sync_bindings()
            self.remove_class("-loading")

    def _maybe_reveal(self) -> None:
        if self.snapshot is not None and (self.supervisor is None or self.job_refreshes):
            self._reveal()

    def _row_keys(self) -> list[str]:
        keys = []
        for phase in self.pipeline.phases:
            keys.append(PHASE_PREFIX + phase.name)
            keys.extend(t.name for t in phase.tables)
        return keys

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
            self._on_poll(result)
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

    def _on_poll(self, result: PollResult) -> None:
        self.last_poll = result
        self.polls_done += 1
        if self.polls_done == 1 and self.pipeline.warehouse.backend == "bigquery":
            self._cost_worker()
        if result.fresh and result.snapshot is not None:
            first = self.snapshot is None
            self.snapshot = result.snapshot
            if first:
                self._select_first_short()
            for name, cov in result.snapshot.tables.items():
                self.rates.setdefault(name, Rate()).add(result.snapshot.taken_at, cov.present)
            self._apply_rows()
            self._show_selection(reload_log=False)
            if self._preflight_screen is not None and self._preflight_screen.is_attached:
                report = preflight.check(
                    self.pipeline, self.snapshot, self._preflight_screen.report.phase
                )
                self._preflight_screen.set_report(report)
        self._update_header()
        self._sync_bindings()
        self._maybe_reveal()

    def _select_first_short(self) -> None:
        """Once, at the first poll: put the cursor on the first table short of its threshold
        that can be backfilled (the seed's picture: what needs attention), unless moved already."""
        if self._selected not in (None, PHASE_PREFIX + self.pipeline.phases[0].name):
            return
        assert self.snapshot is not None
        for phase in self.pipeline.phases:
            for t in phase.tables:
                cov = self.snapshot.tables.get(t.name)
                if t.backfill is not None and cov is not None and not cov.ok:
                    self.query_one(CoverageGrid).select_key(t.name, reveal=True)
                    return

    # -- jobs (thread worker: the supervisor is synchronous) ----------------------------------

    def _start_jobs(self) -> None:
        if self.supervisor is None or self._jobs_busy:
            return
        self._jobs_busy = True
        follower = self.query_one(LogPane).follower
        self._jobs_worker(follower, self.query_one(LogPane).job_id)

    @work(thread=True, group="jobs", exit_on_error=False)
    def _jobs_worker(self, follower: LogFollower | None, job_id: str | None) -> None:
        try:
            views = self.supervisor.jobs()
            error = None
        except Exception as e:  # noqa: BLE001 - shown in the header, never a traceback
            views, error = None, jobsmod.one_line(e)
        lines = follower.read() if follower is not None else []
        self.post_message(jobsmod.JobsRefreshed(views, error, job_id, lines))

    @on(jobsmod.JobsRefreshed)
    def _on_jobs(self, msg: jobsmod.JobsRefreshed) -> None:
        self._jobs_busy = False
        self.job_refreshes += 1
        if msg.views is not None:
            before = self.jobs.get(self._selected or "")
            self.jobs = jobsmod.latest_per_table(msg.views)
            self._apply_rows(coverage=False)
            after = self.jobs.get(self._selected or "")
            if jobsmod.job_id(before) != jobsmod.job_id(after):
                self._show_selection(reload_log=True)
        self.query_one(LogPane).add_lines(msg.job_id, msg.lines)
        self._jobs_error = msg.error
        self._update_header()
        self._sync_bindings()
        self._maybe_reveal()
        busy = any(jobsmod.is_active(v) for v in self.jobs.values())
        wait = self.job_refresh if busy else max(self.job_refresh, IDLE_JOB_REFRESH_S)
        self._jobs_timer = self.set_timer(wait, self._start_jobs)

    @on(jobsmod.LogTail)
    def _on_log_tail(self, msg: jobsmod.LogTail) -> None:
        self.query_one(LogPane).add_lines(msg.job_id, msg.lines)

    @on(jobsmod.ActionDone)
    def _on_action_done(self, msg: jobsmod.ActionDone) -> None:
        if msg.error:
            self.notify(msg.error, title=msg.title, severity="error", timeout=8)
        else:
            self.notify(msg.text, title=msg.title, timeout=4)
        if msg.then is not None:
            msg.then()
        self.action_refresh(poll=False)

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land: a toast, never a traceback."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            if event.worker.group == "jobs":
                self._jobs_busy = False
                self._jobs_timer = self.set_timer(IDLE_JOB_REFRESH_S, self._start_jobs)
            self.notify(jobsmod.one_line(error), title="internal error", severity="error")

    # -- rendering -----------------------------------------------------------------------------

    def _apply_rows(self, coverage: bool = True) -> None:
        grid = self.query_one(CoverageGrid)
        snap = self.snapshot
        now = self.clock()
        bar_col = next((c for c in columns_for(self.size.width) if c.key == "bar"), None)
        bar_width = (bar_col.width - 1) if bar_col else 6
        rows: dict[str, dict[str, Cell]] = {}
        for phase in self.pipeline.phases:
            covs: list[TableCoverage | None] = [
                snap.tables.get(t.name) if snap else None for t in phase.tables
            ]
            rows[PHASE_PREFIX + phase.name] = phase_cells(phase.name, covs)
            for table, cov in zip(phase.tables, covs, strict=True):
                cells: dict[str, Cell] = {"table": (table.name, "")}
                if coverage or table.name not in grid._values:
                    cells.update(coverage_cells(cov))
                    if cov is not None:
                        cells["bar"] = (bar_text(cov.share, bar_width), cells["bar"][1])
                view = self.jobs.get(table.name)
                cells.update(
                    job_cells(jobsmod.job_cells(view, self.rates.get(table.name), cov), now)
                )
                rows[table.name] = cells
        grid.apply(rows)

    def _header(self) -> Text:
        p = self.pipeline
        text = Text(p.pipeline, style="bold")
        text.append(f" · {p.warehouse.backend}")
        if self.read_only:
            text.append(" · READ-ONLY", "bold")
        running = sum(1 for v in self.jobs.values() if jobsmod.is_active(v))
        if running:
            text.append(f" · {running} job{'s' if running > 1 else ''}")
        poll = self.last_poll
        if poll is None:
            text.append(" · connecting…", "dim")
        elif poll.error:
            age = None if poll.snapshot is None else self.clock() - poll.snapshot.taken_at
            text.append(f" · STALE {format_age(age)}: ", "bold red")
            text.append(poll.error, "red")
        else:
            age = self.clock() - poll.snapshot.taken_at if poll.snapshot else None
            text.append(f" · updated {format_age(age)} ago", "dim")
            if poll.snapshot is not None and poll.snapshot.bytes_processed is not None:
                text.append(f" · {poll.snapshot.bytes_processed / 1e6:.1f} MB/poll", "dim")
        if self._jobs_error:
            text.append(f" · jobs: {self._jobs_error}", "red")
        return text

    def _update_header(self) -> None:
        self.query_one("#header", TextLine).set(self._header())

    # -- selection: gap map and log follow the cursor -----------------------------------------

    @on(DataTable.RowHighlighted)
    def _on_row(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key == self._selected:
            return
        self._selected = key
        self._show_selection(reload_log=True)
        self._sync_bindings()

    def _show_selection(self, reload_log: bool) -> None:
        key = self._selected
        gaps = self.query_one(GapMap)
        snap = self.snapshot
        if key is None or key.startswith(PHASE_PREFIX):
            name = key[len(PHASE_PREFIX) :] if key else ""
            note = f"phase {name}: select a table for its gap map · L launches the phase"
            gaps.show(None, [], note=note if key else "")
        elif snap is None:
            gaps.show(None, [], note="waiting for the first poll…")
        else:
            gaps.show(snap.tables.get(key), snap.season_starts)
        if reload_log:
            self._follow_log(key)

    def _follow_log(self, table: str | None) -> None:
        pane = self.query_one(LogPane)
        view = self.jobs.get(table or "")
        title = self.query_one("#log-title", TextLine)
        if view is None:
            pane.follow(None, None, "")
            title.set(Text(f"log: no job for {table}" if table else "log", style="dim"))
            return
        rec = view.record
        pane.follow(rec.id, rec.log, rec.id)
        title.set(Text(f"log {rec.table} · job {rec.id} · {Path(rec.log).name}", style="dim"))
        if pane.follower is not None:
            self._tail_worker(pane.follower, rec.id)

    @work(thread=True, group="tail", exit_on_error=False)
    def _tail_worker(self, follower: LogFollower, job_id: str) -> None:
        self.post_message(jobsmod.LogTail(job_id, follower.start_tail()))

    def selected_table(self) -> str | None:
        key = self._selected
        return None if key is None or key.startswith(PHASE_PREFIX) else key

    def selected_phase(self) -> str | None:
        key = self._selected
        if key is None:
            return None
        if key.startswith(PHASE_PREFIX):
            return key[len(PHASE_PREFIX) :]
        return self.pipeline.phase_of(key).name

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
