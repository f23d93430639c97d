"""Behaviour over a real embedded warehouse and real job processes, driven by keys (Pilot)."""

from __future__ import annotations

import pytest
from textual.message import Message
from textual.worker import Worker
from ui_helpers import proc_states, wait_for

from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.screens.modals import ConfirmScreen, PreflightScreen
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.logpane import LogPane

TABLE = "team_defense_game_summary"


def cell(app: NbaTuiApp, col: str, row: str = TABLE) -> str:
    value = app.query_one(CoverageGrid).cell_value(row, col)
    return value[0] if value else ""


def present(app: NbaTuiApp, table: str = TABLE) -> int:
    return app.snapshot.tables[table].present if app.snapshot else -1


async def ready(pilot, app: NbaTuiApp) -> None:
    await wait_for(pilot, lambda: app.snapshot is not None, "first poll")
    await wait_for(pilot, lambda: app.job_refreshes > 0, "first job refresh")
    await wait_for(pilot, lambda: app.selected_table() == TABLE, "cursor on the first short table")


def job(app: NbaTuiApp, table: str = TABLE):
    return app.jobs.get(table)


async def launch_missing(pilot, app: NbaTuiApp) -> None:
    await pilot.press("m")
    await wait_for(pilot, lambda: cell(app, "job") == "running", "job state 'running' in the grid")


async def test_launch_shows_running_then_coverage_rises(pipeline) -> None:
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        before = present(app)
        assert cell(app, "dates") == f"{before}/{app.snapshot.tables[TABLE].expected}"
        await launch_missing(pilot, app)
        assert job(app).record.pid
        await wait_for(pilot, lambda: present(app) > before, "coverage to rise", timeout=20)
        await wait_for(
            pilot,
            lambda: cell(app, "dates").split("/")[0] != str(before),
            "grid dates cell to change",
        )
        await wait_for(
            pilot, lambda: cell(app, "current") not in ("", "-"), "current date of the job"
        )


async def test_pause_resume_signal_the_process_group(pipeline, monkeypatch) -> None:
    monkeypatch.setenv("NBA_TUI_SAMPLE_PACE", "0.3")
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await launch_missing(pilot, app)
        rec = job(app).record
        pgid = rec.pgid or rec.pid
        assert app.check_action("pause", ()) and not app.check_action("resume", ())
        await pilot.press("p")
        await wait_for(pilot, lambda: cell(app, "job") == "paused", "state 'paused'")
        states = proc_states(pgid)
        assert states and set(states.values()) == {"T"}, states
        assert app.check_action("resume", ()) and not app.check_action("pause", ())
        await pilot.press("r")
        await wait_for(pilot, lambda: cell(app, "job") == "running", "state 'running' again")
        await wait_for(
            pilot,
            lambda: "T" not in proc_states(pgid).values(),
            "processes out of state T",
            timeout=5,
        )


async def test_stop_then_resume_from_checkpoint(pipeline, monkeypatch) -> None:
    monkeypatch.setenv("NBA_TUI_SAMPLE_PACE", "0.3")
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await launch_missing(pilot, app)
        first = job(app).record
        await wait_for(
            pilot, lambda: job(app).progress.done >= 2, "two dates processed", timeout=20
        )
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "stop confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: cell(app, "job") == "stopped", "state 'stopped'", timeout=20)
        assert not proc_states(first.pgid or first.pid)
        assert app.check_action("restart", ()) and not app.check_action("stop", ())
        await pilot.press("c")
        await wait_for(pilot, lambda: job(app).record.id != first.id, "a restarted job")
        new = job(app).record
        assert new.restarted_from == first.id
        await wait_for(pilot, lambda: cell(app, "job") == "running", "restarted job running")
        # Resumed where it left off: the log pane (following the new job) says so.
        log = app.query_one(LogPane)
        await wait_for(pilot, lambda: log.job_id == new.id, "log pane following the new job")
        await pilot.press("v")
        await wait_for(
            pilot,
            lambda: any("Resuming from checkpoint" in line for line in log.lines),
            "'Resuming from checkpoint' in the log pane",
        )


async def test_preflight_modal_of_the_selected_phase(pipeline) -> None:
    """`f` on a phase4 row: may phase4 start? Not while its input TABLE is short."""
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        app.query_one(CoverageGrid).select_key("phase:phase4")
        await wait_for(pilot, lambda: app.selected == "phase:phase4", "phase4 row")
        await pilot.press("f")
        screen = await wait_for(
            pilot, lambda: isinstance(app.screen, PreflightScreen) and app.screen, "preflight modal"
        )
        assert screen.report.phase == "phase4"
        assert not screen.report.ready
        assert TABLE in [c.coverage.name for c in screen.report.failing]
        assert "NOT READY" in screen.query_one("#box").border_title
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PreflightScreen), "modal closed")


async def test_launch_phase_with_failing_preflight_asks_first(pipeline) -> None:
    started: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.group == "action":
            started.append(message.worker.name)

    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await ready(pilot, app)
        app.query_one(CoverageGrid).select_key("player_daily_cache")
        await wait_for(pilot, lambda: app.selected_phase() == "phase4", "phase4 selected")
        await pilot.press("L")
        screen = await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, "confirmation"
        )
        text = str(screen.query_one("#box-text").render())
        assert "will fail on" in text or "fall back" in text
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "modal closed")
        await pilot.pause()  # the dismiss callback runs
        await app.workers.wait_for_complete()
        assert started == []  # no supervisor call was even started
        assert app.supervisor.history() == []  # and the action log, which records any, is empty
        assert not any(v.record.state.active for v in app.supervisor.jobs())
        assert app.selected_phase() == "phase4" and app.check_action("launch_phase", ())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_columns_by_width_and_cursor_kept(pipeline, size) -> None:
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app)
        grid = app.query_one(CoverageGrid)

        def keys() -> list[str]:
            return [c.key.value for c in grid.ordered_columns]

        if size[0] >= 120:
            assert {"trend", "pid", "elapsed", "rate", "last"} <= set(keys())
        else:
            assert "pid" not in keys() and {"table", "pct", "job", "eta"} <= set(keys())
        assert sum(c.width for c in grid.ordered_columns) <= size[0] - 1
        await pilot.resize_terminal(200 - size[0], 64 - size[1])
        wide = 200 - size[0] >= 120
        await wait_for(pilot, lambda: ("pid" in keys()) == wide, "the other column set")
        # Columns were swapped, rows kept: the cursor is on the same row, cells refilled.
        assert grid.selected_key == TABLE and app.selected_table() == TABLE
        dates = grid.cell_value(TABLE, "dates")
        assert dates and dates[0] in grid.get_cell(TABLE, "dates").plain
        # A second identical update rewrites nothing (diff by key).
        app.board.rows()
        assert grid.apply({TABLE: grid.row_cells(TABLE)}) == 0
        # A changed cell is rewritten, and only that one.
        assert grid.apply({TABLE: {"current": ("2099-01-01", "")}}) == 1
        assert "2099-01-01" in grid.get_cell(TABLE, "current").plain


async def test_an_ended_job_is_never_done_beside_coverage_older_than_its_end(
    pipeline, monkeypatch
) -> None:
    """Polls far apart (10 min): when a job ends, its table is polled at once, and until that
    poll lands the row says `counting`, never `done` beside the count from before the job. Its
    two dates take 2 s each, so the 0.5 s job refresh sees it running first."""
    from nba_tui.jobs.supervisor import Supervisor

    monkeypatch.setenv("NBA_TUI_SAMPLE_PACE", "2")

    slow = pipeline.model_copy(update={"poll": pipeline.poll.model_copy(update={"interval": 600})})
    app = NbaTuiApp(slow, job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        cov = app.snapshot.tables[TABLE]
        before, days = cov.present, cov.missing[:2]
        polls = app.polls_done
        Supervisor(slow).launch(TABLE, dates=days)
        seen: list[tuple[str, str]] = []
        while not (seen and seen[-1][0] == "done"):
            seen.append((cell(app, "job"), cell(app, "dates")))
            assert len(seen) < 1200, seen[-5:]  # 60 s
            await pilot.pause(0.05)
        after = f"{before + 2}/{cov.expected}"
        assert {dates for word, dates in seen if word == "done"} == {after}, seen[-5:]
        assert app.polls_done > polls  # the recount, not the 10-minute cadence
        assert ("running", f"{before}/{cov.expected}") in seen
