"""Terminal habits a newcomer expects of the dashboard, on fixed data (fake monitor and
supervisor): cursor keys, help, filter, preflight, confirmations, small terminals, scrolling."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from fakes import FakeMonitor, FakeSupervisor, clock, expected_dates, fake_app, fixed_snapshot
from rich.console import Console
from textual.command import CommandPalette
from ui_helpers import record_toasts, screen_text, wait_for

from nba_tui.cli.listings import render_history
from nba_tui.coverage import snapshot
from nba_tui.jobs.action_log import history_lines
from nba_tui.jobs.model import JobState
from nba_tui.tui.control import Selection
from nba_tui.tui.screens.modals import (
    ConfirmScreen,
    HelpScreen,
    HistoryScreen,
    PreflightScreen,
    format_history,
)
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.line import TextLine
from nba_tui.warehouse.base import Counts

RUNNING = "team_defense_game_summary"
PAUSED = "upcoming_player_game_context"


async def settle(app, pilot) -> None:
    await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "first data")
    await pilot.pause(0.05)


async def test_grid_moves_like_htop_and_less(tmp_path) -> None:
    """`j`/`k`, `g`/`G`, Home/End move the cursor; → never scrolls the grid sideways."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        grid = app.query_one(CoverageGrid)
        await pilot.press("g")
        assert grid.cursor_row == 0
        await pilot.press("j", "j")
        assert grid.cursor_row == 2
        await pilot.press("k")
        assert grid.cursor_row == 1
        await pilot.press("G")
        assert grid.cursor_row == grid.row_count - 1
        await pilot.press("home")
        assert grid.cursor_row == 0
        await pilot.press("end")
        assert grid.cursor_row == grid.row_count - 1
        for _ in range(4):
            await pilot.press("right")
        assert grid.scroll_x == 0


async def test_question_mark_closes_help(tmp_path) -> None:
    """`?` closes the help it opened; the help lists every key."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("end")
        await pilot.pause(0.05)
        text = screen_text(app)
        assert "G End" in text and "Ctrl+P" in text
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_slash_filters_tables_by_name(tmp_path) -> None:
    """`/zone` keeps the zone tables under their phase headers; Esc shows every row."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        grid = app.query_one(CoverageGrid)
        every = grid.row_count
        await pilot.press("slash", *"zone")
        await wait_for(pilot, lambda: grid.row_count < every, "filtered rows")
        tables = [k for k in grid.shown if not k.startswith("phase:")]
        assert tables and all("zone" in k for k in tables)
        await pilot.press("enter")
        assert grid.has_focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: grid.row_count == every, "every row back")


async def test_palette_lists_every_action_with_reasons(tmp_path) -> None:
    """Pause is listed on a table without a running job, with the reason; keys read as
    the user types them ('?', not 'question_mark')."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(CoverageGrid).select_key("nbac_schedule")
        await wait_for(pilot, lambda: app.selected == "nbac_schedule", "selection")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        pause = [t for t in titles if t.startswith("pause (p)")]
        assert pause and "no running job on this table" in pause[0]
        assert not any("question_mark" in t for t in titles)
        assert any(t.startswith("help (?)") for t in titles)
        assert any(t.startswith("launch (l)") for t in titles)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)


async def test_f_and_L_check_the_same_phase(tmp_path) -> None:
    """`f` on a row shows the preflight of that row's phase (what `L` checks), and says so."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(CoverageGrid).select_key(RUNNING)
        await wait_for(pilot, lambda: app.selected == RUNNING, "selection")
        phase = app.pipeline.phase_of(RUNNING).name
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen), "preflight")
        assert app.screen.report.phase == phase
        assert f"phase {phase}" in screen_text(app)
        report = app.control.preflight_report(Selection(RUNNING, phase))
        assert report is not None and report.phase == phase


async def test_launch_over_present_dates_asks_and_counts(tmp_path) -> None:
    """`l` on a table with present dates asks first and says how many would be redone."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(CoverageGrid).select_key("player_game_summary")
        await wait_for(pilot, lambda: app.selected == "player_game_summary", "selection")
        present = app.snapshot.tables["player_game_summary"].present
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "a question")
        assert f"Redo {present} present dates?" in screen_text(app)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_no_internal_names_and_no_dangling_separator(tmp_path) -> None:
    """A phase row's log title has no 'phase:' key; the job's title ends on a word at 80
    columns; the stop question has no literal backticks."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        grid = app.query_one(CoverageGrid)
        title = app.query_one("#log-title", TextLine)
        grid.select_key("phase:phase4")
        await wait_for(pilot, lambda: app.selected == "phase:phase4", "phase row")
        assert "phase:" not in title.text.plain
        grid.select_key(RUNNING)
        await wait_for(pilot, lambda: app.selected == RUNNING, "job row")
        plain = title.text.plain
        assert len(plain) <= 80 and not plain.rstrip().endswith("·")
        call = app.control.call("stop", app.selection)
        assert call is not None and call.confirm is not None
        assert "`" not in " ".join(call.confirm.lines)


def test_history_lines_are_printable() -> None:
    """Recorded argv and names reach the terminal without control characters."""
    entry = {"time": 0, "user": "x\x1b[2J", "action": "launch", "argv": ["a\x1b]0;pwn\x07", "b"]}
    text = format_history(entry)
    assert "\x1b" not in text and "\x07" not in text


def test_history_screen_and_cli_show_a_plan_once_with_all_its_shards_counted() -> None:
    plan = {"time": 0, "user": "me", "action": "plan", "plan": "p00001", "argv": ["runner"]}
    shards = [
        {
            "time": 1,
            "user": "me",
            "action": "launch",
            "job": f"s{i}",
            "table": "t",
            "plan": "p00001",
        }
        for i in range(189)
    ]
    log = [plan, *shards]
    lines = history_lines(lambda n: log[-n:], 100)  # more than 100 read: the plan's own line
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(HistoryScreen(lines)._body)
    heads = [ln for ln in console.export_text().splitlines() if ln.strip() and "$" not in ln]
    assert len(heads) == 1 and "plan p00001 · jobs: 189 launch" in heads[0], heads
    assert "plan     - p00001  jobs: 189 launch" in render_history(lines)  # `nba-tui history`


async def test_too_small_terminal_says_so(tmp_path) -> None:
    """At 60x20 a notice instead of cut columns ('runn')."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "terminal too small (need 80x24" in text
        assert "runn" not in text
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "running" in screen_text(app), "the grid back at 80x24")


class _Recording(FakeSupervisor):
    """Every job call is recorded (and refused)."""

    def __init__(self, log_dir) -> None:
        self.calls: list[str] = []
        super().__init__(log_dir)

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "calls":
            raise AttributeError(name)
        refuse = super().__getattr__(name)

        def call(*args: object, **kwargs: object) -> None:
            self.calls.append(name)
            refuse(*args, **kwargs)

        return call


async def test_too_small_terminal_acts_on_no_key(tmp_path) -> None:
    """Below 80x24 the rows are hidden: `m` (and every other action key) does nothing, not even
    a confirmation; at 80x24 the same key acts again."""
    from nba_tui import config
    from nba_tui.tui.app import NbaTuiApp

    pipe = config.load(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    sup = _Recording(tmp_path / "logs")
    app = NbaTuiApp(pipe, monitor=FakeMonitor(fixed_snapshot(pipe)), supervisor=sup, clock=clock)
    async with app.run_test(size=(79, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(CoverageGrid).select_key(RUNNING)
        await wait_for(pilot, lambda: app.selected == RUNNING, "a job row selected")
        before = list(sup.calls)
        for key in ("m", "l", "L", "p", "s", "c", "P", "S", "X", "f", "M", "h", "slash", "v"):
            await pilot.press(key)
        await pilot.press("ctrl+p")
        await pilot.pause(0.1)
        assert sup.calls == before, sup.calls
        assert app.screen is app.screen_stack[0] and len(app.screen_stack) == 1
        assert not app.has_class("-filtering") and app.view is None
        assert "terminal too small" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "running" in screen_text(app), "the grid at 80x24")
        await pilot.press("p")
        await wait_for(pilot, lambda: "pause" in sup.calls, "p acts again at 80x24")


async def test_paused_job_has_no_eta_and_vanished_job_leaves_its_row(tmp_path) -> None:
    """A paused job shows no ETA (nor rate); a job no longer listed (archived by `demo
    reset`) leaves its row blank."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        grid = app.query_one(CoverageGrid)
        assert grid.cell_value(PAUSED, "job")[0] == "paused"
        assert grid.cell_value(PAUSED, "eta")[0] == "-"
        app.control.supervisor.views = app.control.supervisor.views[:1]
        await pilot.press("R")
        await wait_for(pilot, lambda: grid.cell_value(PAUSED, "job")[0] == "", "row cleared")


async def test_change_by_another_client_shows_before_the_reconcile_refresh(tmp_path) -> None:
    """A pause made elsewhere (the state version changes) shows at a state-version check,
    long before the reconcile refresh (600 s away: the wait's bound is a tenth of it, which a
    loaded machine never needs, so only the state-version path can pass)."""
    app = fake_app(tmp_path, job_refresh=600.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        grid = app.query_one(CoverageGrid)
        assert grid.cell_value(RUNNING, "job")[0] == "running"
        app.control.supervisor.views[0].record.state = JobState.PAUSED  # another client
        await wait_for(pilot, lambda: grid.cell_value(RUNNING, "job")[0] == "paused", "pause", 60)


async def test_stale_warehouse_retried_at_once_with_full_reason(tmp_path) -> None:
    """`R` retries a STALE warehouse now; the full reason is shown in a toast."""
    app = fake_app(tmp_path)
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        monitor: FakeMonitor = app.monitor
        reason = "connection refused by bigquery.googleapis.com:443 " + "x" * 60 + " END"
        monitor.fail = reason
        await pilot.press("R")
        await wait_for(pilot, lambda: app.last_poll and app.last_poll.error, "STALE")
        polls = monitor.polls
        await pilot.press("R")
        await wait_for(pilot, lambda: monitor.polls > polls, "a retry at once")
        assert any(reason in t.message for t in toasts)


def _short_everywhere(pipeline) -> object:
    dates = expected_dates()
    # raw tables complete: every short table's gap can be filled, so each has a fill command
    rows = {
        t.name: {d: 10 for i, d in enumerate(dates) if i % 7 or t.backfill is None}
        for t in pipeline.tables()
    }
    snap = snapshot(pipeline, Counts(expected=dates, rows=rows, elapsed=0.01))
    snap.taken_at = dt.datetime(2026, 1, 1).timestamp()
    return snap


async def test_long_preflight_scrolls_to_its_last_line_at_80x24(tmp_path) -> None:
    """A report longer than the screen scrolls (End, PageDown, Home) and its last line is
    reachable at 80x24."""
    app = fake_app(tmp_path)
    app.poller.monitor = FakeMonitor(_short_everywhere(app.pipeline))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(CoverageGrid).select_key("phase:phase4")
        await wait_for(pilot, lambda: app.selected == "phase:phase4", "phase row")
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen), "preflight")
        body = app.screen.body
        await pilot.pause(0.05)
        assert body.max_scroll_y > 0
        last = app.screen.report.degradation()[-1].split()[-1]
        await pilot.press("end")
        await pilot.pause(0.05)
        assert body.scroll_y == body.max_scroll_y
        rows = screen_text(app).splitlines()
        bottom = max(i for i, r in enumerate(rows) if "╰" in r)
        assert last in rows[bottom - 1]
        await pilot.press("home")
        assert body.scroll_y == 0
        await pilot.press("pagedown")
        assert body.scroll_y > 0


async def test_long_log_lines_scroll_sideways(tmp_path) -> None:
    """A log line longer than the pane can be read: → scrolls the log, not the grid."""
    app = fake_app(tmp_path)
    sup = app.control.supervisor
    sup.log.write_text("Processing 2024-02-13 " + "x" * 150 + " TAIL-END\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(CoverageGrid).select_key(RUNNING)
        await pilot.press("v")  # 80x24: the bottom pane shows the log
        log = app.query_one("#log")
        await wait_for(pilot, lambda: log.lines, "the log's lines")
        assert "TAIL-END" not in screen_text(app)
        for _ in range(20):
            await pilot.press("right")
        await wait_for(pilot, lambda: "TAIL-END" in screen_text(app), "the line's end", 5)
        assert app.query_one(CoverageGrid).scroll_x == 0


async def test_enter_on_a_y_n_question_takes_the_default_no(tmp_path) -> None:
    """`[y/N]`: a reflexive Enter closes the question without acting; only y confirms."""
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        answers: list[bool | None] = []
        app.push_screen(ConfirmScreen("launch x?", ["redo 839 dates"], "Redo?"), answers.append)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("enter")
        await wait_for(pilot, lambda: answers, "an answer")
        assert answers == [False] and not isinstance(app.screen, ConfirmScreen)
        app.push_screen(ConfirmScreen("launch x?", ["redo 839 dates"], "Redo?"), answers.append)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(answers) == 2, "a second answer")
        assert answers[1] is True
