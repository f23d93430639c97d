"""The nba-tui dashboard: coverage grid, gap map, log tail and job keys, on one 80x24 screen.

The app is a *client*: it reads coverage through `Monitor` (async, in a thread with a deadline) and
jobs through a `JobControl` over the `Supervisor` (synchronous, some calls block: always from
thread workers), and shows them. It spawns nothing itself and runs no SQL. Habits (see
docs/ARCHITECTURE.md):

- Polls never overlap: after each poll finishes, a one-shot timer is re-armed (dolphie).
- State lives in reactives (`snapshot`, `jobs`, `selected`, `view`, ...); their watchers
  update the grid, the gap map, the log, the header and the footer. Workers only assign them.
- The grid is updated by diff, by key; only changed cells are repainted.
- One clock for the whole screen (`_tick`, every TICK_S): it starts the next poll when due, the
  jobs' reconcile refresh every JOB_REFRESH_S, and in between asks the supervisor's
  `state_version()` (two stat() calls, in a thread) so a change made by another client (`nba-tui
  pause` from a shell) shows within a second. The header shows the poll's wall-clock time, so it
  changes only when a poll lands; a job refresh rewrites only the rows whose job changed.
  A dashboard left open overnight over SSH writes almost nothing.
- Errors become a toast or a STALE header, never a traceback.
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
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from nba_tui import preflight
from nba_tui.config import Pipeline
from nba_tui.coverage import Rate, Snapshot
from nba_tui.fmt import printable
from nba_tui.jobs.model import JobView
from nba_tui.monitor import Monitor, PollResult
from nba_tui.tui import keys, layout
from nba_tui.tui.autopilot import Autopilot
from nba_tui.tui.cells import (
    PHASE_PREFIX,
    columns_for,
    filter_keys,
    first_short,
    grid_rows,
    job_rows,
    row_keys,
    same_coverage,
)
from nba_tui.tui.control import (
    JOB_ACTIONS,
    JobControl,
    JobsAPI,
    Selection,
    connect,
)
from nba_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PreflightScreen
from nba_tui.tui.titles import header_text, log_title, plan_end
from nba_tui.tui.upstream import quiet_driver
from nba_tui.tui.widgets.footer import LeanFooter
from nba_tui.tui.widgets.gapmap import GapMap
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.line import TextLine
from nba_tui.tui.widgets.logpane import LogPane, log_of
from nba_tui.tui.workers import JOB_REFRESH_S, Refresh

TICK_S = 1.0
"""The one clock: polls, job refreshes and the state-version check all run on its ticks (each
tick is a wake-up and a thread hop: 0.5 s cost ~0.1 % of a core more than 1 s, idle or not)."""
FIRST_FRAME_S = 1.0
"""Show the grid after this long even if the warehouse has not answered yet."""


class NbaTuiApp(Autopilot, Refresh, App[int]):
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
        self._next_poll = 0.0
        self._poll_started = 0.0
        self._next_jobs = 0.0
        """time.monotonic() at which the next poll / reconcile refresh is due (see `_tick`)."""
        self._state_seen: object = None
        self._recounts: dict[str, int] = {}
        self._error_shown: str | None = None
        self._note_shown: str | None = None
        self._binding_sig: tuple[str, ...] = ()
        self._height = 0
        self._preflight_screen: PreflightScreen | None = None
        self._init_autopilot(clock())
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
        yield Input(id="filter", placeholder="filter tables by name · Enter keep · Esc clear")
        with Vertical(id="bottom"):
            yield GapMap(id="gaps")
            yield TextLine(id="log-title")
            yield LogPane(id="log")
        yield Static(id="too-small")
        yield LeanFooter(compact=True)

    def on_mount(self) -> None:
        # Hold the body back until the first poll and job refresh (or FIRST_FRAME_S): one full
        # frame with data instead of a frame of placeholders repainted a moment later.
        self.add_class("-loading")
        self.set_class(self.read_only, "-read-only")
        self.set_timer(FIRST_FRAME_S, self._reveal)
        grid = self._ui_grid
        self._layout(self.size)
        grid.ensure_rows(row_keys(self.pipeline))
        self._apply_rows()
        grid.focus()
        self._update_header()
        self._start_poll()
        self._start_jobs()
        if self.supervisor is not None:
            self._adopt_worker()
        self.set_interval(TICK_S, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        # event.size: App.size is only updated by App's own handler, which runs after this one.
        self._layout(event.size)

    def _layout(self, size: Size) -> None:
        """Columns by width, panes by height (layout.py)."""
        self._ui_grid.set_columns(columns_for(size.width))
        self.set_class(size.height < layout.TALL_HEIGHT, "-short")
        self._height = size.height
        self.set_class(small := layout.too_small(size), "-too-small")
        self._fit_bottom()
        if small:
            self.query_one("#too-small", Static).update(layout.too_small_text(size))

    def _fit_bottom(self) -> None:
        """The bottom pane's share by height and `v` (layout.py), the footer's `v` kept true."""
        panes = layout.panes(self._height, self.view, self._ui_grid.row_count + 1)
        self.set_class(panes.gaps == 0, "-no-gaps")
        self.set_class(not panes.log, "-no-log")
        self._ui_gaps.styles.max_height = panes.gaps or None  # its top lines; None: all
        bottom = self.query_one("#bottom")
        bottom.styles.height = bottom.styles.min_height = panes.bottom
        self._sync_bindings()
        self.call_after_refresh(self._ui_log.show_end)
        self.call_after_refresh(self._ui_grid.keep_cursor_in_view)

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
            self._redraw_ended_jobs()  # a `counting` job shows its end state now
            return  # an unchanged table keeps its coverage object: nothing else moves
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
        # Only rows whose job changed, appeared, vanished (archived by `demo reset`) or is
        # active (its elapsed time moves) are rebuilt.
        changed = [t for t in old.keys() | new.keys() if old.get(t) != new.get(t)]
        changed += [t for t, v in new.items() if v.state.active and t not in changed]
        grid = self._ui_grid
        shards = self.control.shards
        now = self.clock()
        grid.apply(job_rows(self.pipeline, self.snapshot, new, self.rates, now, changed, shards))
        table = self.selection.table or ""
        before, after = old.get(table), new.get(table)
        if log_of(before) != log_of(after):
            self._follow_log()  # a new job (launched, restarted), or a plan's shard now started
        elif before != after:
            self._update_log_title()  # e.g. a remote job's state or task time moved
        self._update_header()
        self._sync_bindings()

    def watch_last_poll(self, poll: PollResult | None) -> None:
        self._update_header()
        if poll is None:
            return
        # The header cuts a long error at 80 columns: the full text (and the hint) as a toast,
        # once per distinct error; the warehouse's note (e.g. a strategy fallback) likewise.
        error = poll.error
        if error and error != self._error_shown:
            full = printable(error + (f"\n{poll.hint}" if poll.hint else ""))
            self.notify(full, title="warehouse STALE", severity="warning", timeout=12)
        self._error_shown = error
        note = poll.note
        if note and note != self._note_shown:
            self.notify(printable(note), title="warehouse note", timeout=12)
        self._note_shown = note

    def watch_jobs_error(self) -> None:
        self._update_header()

    def watch_selected(self) -> None:
        self._show_gaps()
        self._follow_log()
        self._sync_bindings()

    def watch_view(self) -> None:
        self._fit_bottom()

    def _select_first_short(self, snap: Snapshot) -> None:
        """At the first snapshot: put the cursor on the first table short of its threshold that
        can be backfilled (the seed's picture: what needs attention), unless moved already."""
        table = first_short(self.pipeline, snap)
        if table and self.selected in (None, PHASE_PREFIX + self.pipeline.phases[0].name):
            self._ui_grid.select_key(table, reveal=True)

    # -- rendering -----------------------------------------------------------------------------

    def _apply_rows(self) -> None:
        grid = self._ui_grid
        now = self.clock()
        rows = grid_rows(
            self.pipeline, self.snapshot, self.jobs, self.rates, now, grid.bar, self.control.shards
        )
        grid.apply(rows)

    def _update_header(self) -> None:
        text = header_text(
            self.pipeline,
            read_only=self.read_only,
            running=self.control.running(),
            poll=self.last_poll,
            jobs_error=self.jobs_error,
            ends=plan_end(self.control.plans.values()),
        )
        self._ui_header.set(text)

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

    def _show_gaps(self) -> None:
        sel = self.selection
        self._ui_gaps.show_selection(sel.table, sel.phase, self.snapshot, self.pipeline)

    def _follow_log(self) -> None:
        sel = self.selection
        view = self.control.job_of(sel)
        pane = self._ui_log
        source = pane.follow(view.id, view.record.log) if view else pane.follow(None, None)
        self._update_log_title()
        if source is not None:
            self._tail_worker(source)

    def _update_log_title(self) -> None:
        """Which job the log pane shows; for a remote job also its state and cost, which change
        under the same job id (a job refresh rewrites it; an unchanged text costs nothing)."""
        sel = self.selection
        view = self.control.job_of(sel)
        title = self._ui_log_title
        width = title.size.width or self.size.width
        shard = self.control.shards.get(view.id) if view else None
        title.set(log_title(sel.table, sel.phase, view, width, shard, self.pipeline))

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what does not apply to the selected row (and every job key when read-only);
        on a too-small terminal only quitting acts (the rows an action would act on are hidden)."""
        if self.has_class("-too-small"):
            return action in layout.SMALL_SCREEN_ACTIONS
        if action == "job" and parameters:
            action = str(parameters[0])
        if action in self.JOB_ACTIONS:
            return self.control.applies(action, self.selection)
        if action == "preflight":
            return self.snapshot is not None and self.selection.phase is not None
        if action == "morning":
            return self.snapshot is not None and self.supervisor is not None
        if action in ("view_gaps", "view_log"):  # one `v`: the one that changes the view
            return action == f"view_{layout.toggled(self._height, self.view)}"
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

    def action_job(self, name: str) -> None:
        """Every job and plan key (`job('pause')`): what `name` calls on the selection, asked
        first when `control` says so."""
        self._job_action(name)

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _on_filter(self, event: Input.Changed) -> None:
        self._ui_grid.show_only(filter_keys(self.pipeline, event.value))

    @on(Input.Submitted, "#filter")
    def _on_filter_done(self, event: Input.Submitted) -> None:
        self.set_class(bool(event.value), "-filtering")
        self._ui_grid.focus()

    def clear_filter(self) -> None:
        """Escape in the filter box (or on the grid while filtered): every table again."""
        box = self.query_one("#filter", Input)
        box.value = ""
        self._ui_grid.show_only(row_keys(self.pipeline))
        self.remove_class("-filtering")
        self._ui_grid.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.has_class("-filtering"):
            event.stop()
            self.clear_filter()

    def action_preflight(self) -> None:
        report = self.control.preflight_report(self.selection)
        if report is None:
            self.notify("no coverage yet: wait for the first poll", severity="warning")
            return
        self._preflight_screen = PreflightScreen(report)
        self.push_screen(self._preflight_screen)

    def action_history(self) -> None:
        self._history_worker()

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
        close = getattr(self.monitor, "close", None)
        if close is not None:
            close()


def run(pipeline: Pipeline, read_only: bool = False, monitor: Monitor | None = None) -> int:
    """Run the dashboard until quit; the exit code for `nba-tui`.

    `monitor`: one made (and possibly `prefetch`ed) by the caller; a new one by default. The
    monitor's poll thread is a daemon (`Monitor`), so quitting never waits for a poll stuck in
    a warehouse that went away."""
    app = NbaTuiApp(pipeline, read_only=read_only, monitor=monitor)
    return int(app.run() or 0)


__all__ = ["NbaTuiApp", "run"]
