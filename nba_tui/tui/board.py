"""The dashboard's picture: what the grid, the header, the gap map and the log pane show, drawn
from the facts `JobControl` holds (the latest snapshot, jobs, shard positions, plans).

`Board` holds the widgets (found once: a query walks the DOM each time) and draws into them; the
app's reactive watchers say *when*. Grid writes are diffs by key (`CoverageGrid.apply`): an
unchanged cell costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import Input, Static

from nba_tui.config import Pipeline
from nba_tui.coverage import Rate
from nba_tui.monitor import PollResult
from nba_tui.tui import layout
from nba_tui.tui.cells import PHASE_PREFIX, columns_for, first_short, grid_rows, job_rows
from nba_tui.tui.control import JobControl, Selection
from nba_tui.tui.titles import header_text, log_title, plan_end
from nba_tui.tui.widgets.footer import LeanFooter
from nba_tui.tui.widgets.gapmap import GapMap
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.line import TextLine
from nba_tui.tui.widgets.logpane import LogPane, LogSource


class Board:
    """The widgets of `host`'s main screen (made by `compose`), their layout by size and `v`,
    and what they show of `control`'s facts."""

    def __init__(
        self,
        host: App[Any],
        pipeline: Pipeline,
        control: JobControl,
        rates: dict[str, Rate],
        clock: Callable[[], float],
    ) -> None:
        self.host, self.pipeline, self.control = host, pipeline, control
        self.rates, self.clock = rates, clock
        self.height = 0
        """The screen's rows at the last layout."""

    def compose(self) -> ComposeResult:
        self.header = TextLine(id="header")
        yield self.header
        self.grid = CoverageGrid(id="grid")
        yield self.grid
        yield Input(id="filter", placeholder="filter tables by name · Enter keep · Esc clear")
        self.bottom = Vertical(id="bottom")
        with self.bottom:
            self.gaps = GapMap(id="gaps")
            self.log_title = TextLine(id="log-title")
            self.log = LogPane(id="log")
            yield from (self.gaps, self.log_title, self.log)
        self.too_small = Static(id="too-small")
        yield self.too_small
        yield LeanFooter(compact=True)

    # -- layout ----------------------------------------------------------------------------------

    def fit(self, size: Size, view: layout.View | None) -> None:
        """Columns by width, panes by height (layout.py)."""
        self.grid.set_columns(columns_for(size.width))
        self.host.set_class(size.height < layout.TALL_HEIGHT, "-short")
        self.height = size.height
        self.host.set_class(small := layout.too_small(size), "-too-small")
        self.fit_bottom(view)
        if small:
            self.too_small.update(layout.too_small_text(size))

    def fit_bottom(self, view: layout.View | None) -> None:
        """The bottom pane's share by height and `v` (layout.py)."""
        panes = layout.panes(self.height, view, self.grid.row_count + 1)
        self.host.set_class(panes.gaps == 0, "-no-gaps")
        self.host.set_class(not panes.log, "-no-log")
        self.gaps.styles.max_height = panes.gaps or None  # its top lines; None: all
        self.bottom.styles.height = self.bottom.styles.min_height = panes.bottom
        self.host.call_after_refresh(self.log.show_end)
        self.host.call_after_refresh(self.grid.keep_cursor_in_view)

    # -- drawing ---------------------------------------------------------------------------------

    def rows(self) -> None:
        """Every row, coverage and job cells."""
        c = self.control
        now = self.clock()
        bar = self.grid.bar
        rows = grid_rows(self.pipeline, c.snapshot, c.jobs, self.rates, now, bar, c.shards)
        self.grid.apply(rows)

    def job_cells(self, tables: list[str]) -> None:
        """The job cells of these tables' rows."""
        if tables:
            c = self.control
            now = self.clock()
            rows = job_rows(self.pipeline, c.snapshot, c.jobs, self.rates, now, tables, c.shards)
            self.grid.apply(rows)

    def ended_jobs(self) -> None:
        """The job cells of ended jobs (a poll that changed no coverage ends their `counting`)."""
        self.job_cells([t for t, v in self.control.jobs.items() if not v.state.active])

    def show_header(self, read_only: bool, poll: PollResult | None, jobs_error: str | None) -> None:
        text = header_text(
            self.pipeline,
            read_only=read_only,
            running=self.control.running(),
            poll=poll,
            jobs_error=jobs_error,
            ends=plan_end(self.control.plans.values()),
        )
        self.header.set(text)

    def show_gaps(self, sel: Selection) -> None:
        self.gaps.show_selection(sel.table, sel.phase, self.control.snapshot, self.pipeline)

    def follow_log(self, sel: Selection, width: int) -> LogSource | None:
        """The log pane follows the selection's job; the source to read its tail from (None:
        nothing new to read)."""
        view = self.control.job_of(sel)
        pane = self.log
        source = pane.follow(view.id, view.record.log) if view else pane.follow(None, None)
        self.show_log_title(sel, width)
        return source

    def show_log_title(self, sel: Selection, width: int) -> None:
        """Which job the log pane shows; for a remote job also its state and cost, which change
        under the same job id (an unchanged text costs nothing). `width`: the screen's, until
        the title has its own."""
        view = self.control.job_of(sel)
        title = self.log_title
        width = title.size.width or width
        shard = self.control.shards.get(view.id) if view else None
        title.set(log_title(sel.table, sel.phase, view, width, shard, self.pipeline))

    def select_first_short(self, selected: str | None) -> None:
        """At the first snapshot: put the cursor on the first table short of its threshold that
        can be backfilled (the seed's picture: what needs attention), unless moved already."""
        snap = self.control.snapshot
        table = first_short(self.pipeline, snap) if snap is not None else None
        if table and selected in (None, PHASE_PREFIX + self.pipeline.phases[0].name):
            self.grid.select_key(table, reveal=True)
