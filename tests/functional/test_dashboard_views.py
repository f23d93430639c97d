"""Warehouse failure, read-only mode, keys and palette: behaviour without launching jobs."""

from __future__ import annotations

from textual.message import Message
from textual.worker import Worker
from ui_helpers import record_toasts, wait_for

from nba_tui.monitor import Monitor
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PreflightScreen
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.warehouse import WarehouseError, open_warehouse

TABLE = "team_defense_game_summary"


class Flaky:
    """The real embedded warehouse, until `broken` is set: then every poll fails."""

    def __init__(self, pipeline) -> None:
        self.inner = open_warehouse(pipeline)
        self.name = self.inner.name
        self.broken = False

    def counts(self, *args, **kwargs):
        if self.broken:
            raise WarehouseError("database is locked (disk I/O error)", hint="check the disk")
        return self.inner.counts(*args, **kwargs)

    def close(self) -> None:
        self.inner.close()


def header(app: NbaTuiApp) -> str:
    return str(app.query_one("#header").render())


async def test_warehouse_failure_keeps_data_and_shows_stale(pipeline) -> None:
    holder: list[Flaky] = []

    def factory(p):
        holder.append(Flaky(p))
        return holder[-1]

    app = NbaTuiApp(pipeline, monitor=Monitor(pipeline, warehouse_factory=factory), job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "first good poll")
        grid = app.query_one(CoverageGrid)
        dates = grid.cell_value(TABLE, "dates")
        assert "updated" in header(app)
        holder[-1].broken = True
        await wait_for(pilot, lambda: "STALE" in header(app), "STALE in the header")
        assert "database is locked" in header(app)
        assert grid.cell_value(TABLE, "dates") == dates  # the last data stays
        # Keys still work: the preflight modal opens on the last good data.
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen), "preflight modal")
        await pilot.press("escape")
        holder[-1].broken = False
        await wait_for(pilot, lambda: "STALE" not in header(app), "recovery")


async def test_read_only_has_no_action_keys(pipeline) -> None:
    started: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.group == "action":
            started.append(message.worker.name)

    app = NbaTuiApp(pipeline, read_only=True, job_refresh=0.5)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "first poll")
        await wait_for(pilot, lambda: app.selected_table() == TABLE, "selection")
        for action in app.JOB_ACTIONS:
            assert app.check_action(action, ()) is False, action

        def footer() -> str:
            return " ".join(str(w.render()) for w in app.query("FooterKey"))

        await wait_for(pilot, lambda: "quit" in footer(), "the footer's keys")
        assert "launch" not in footer() and "pause" not in footer()
        assert "READ-ONLY" in header(app)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        launches = [c for c in commands if c.startswith("launch")]
        assert launches and all("read-only" in c for c in launches)  # listed, with the reason
        # Keys are handled in order: once `?` opened the help, l, m and L were handled too.
        await pilot.press("l", "m", "L", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await app.workers.wait_for_complete()
        assert started == []  # no supervisor call was started
        assert app.supervisor.history() == [] and app.supervisor.jobs() == []


async def test_palette_lists_applicable_actions(pipeline) -> None:
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.selected_table() == TABLE, "selection")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any(t.startswith("launch (l)") for t in titles)
        assert any(t.startswith("missing (m)") for t in titles)
        assert any(t.startswith("pause (p) — no running job") for t in titles)  # no job yet


async def test_supervisor_error_is_a_toast_not_a_traceback(pipeline) -> None:
    app = NbaTuiApp(pipeline, job_refresh=0.5)
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.selected_table() == TABLE, "selection")

        def boom(*args, **kwargs):
            raise RuntimeError("table is locked by another dashboard\nsecond line")

        app.supervisor.launch = boom
        await pilot.press("l")
        if isinstance(app.screen, ConfirmScreen):  # the table has present dates: redo them?
            await pilot.press("y")
        await wait_for(pilot, lambda: toasts, "a toast")
        toast = toasts[-1]
        assert toast.severity == "error" and toast.message == "table is locked by another dashboard"
        assert app.is_running


async def test_an_unchanged_poll_repaints_nothing_and_a_write_repaints_its_table(pipeline) -> None:
    """A quiet poll hands the same coverage objects back (CoverageCache): the grid is not even
    diffed. A write to one table changes its row on the next poll."""
    import sqlite3

    app = NbaTuiApp(pipeline, monitor=Monitor(pipeline), supervisor=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "first poll")
        grid = app.query_one(CoverageGrid)
        applied: list[dict] = []
        apply = grid.apply

        def counting(rows: dict) -> int:
            applied.append(rows)
            return apply(rows)

        grid.apply = counting  # type: ignore[method-assign]
        polls = app.polls_done
        app.action_refresh()
        await wait_for(pilot, lambda: app.polls_done > polls, "a second poll")
        await pilot.pause()
        assert applied == [], "an unchanged poll rebuilt grid rows"
        before = grid.cell_value(TABLE, "dates")
        path = pipeline.sqlite_dir / "nba_analytics.db"
        conn = sqlite3.connect(path)
        (day,) = conn.execute(f"SELECT MIN(game_date) FROM {TABLE}").fetchone()  # noqa: S608
        conn.execute(f"DELETE FROM {TABLE} WHERE game_date = ?", (day,))  # noqa: S608
        conn.commit()
        conn.close()
        polls = app.polls_done
        app.action_refresh()
        await wait_for(pilot, lambda: app.polls_done > polls, "a poll after the write")
        await wait_for(pilot, lambda: grid.cell_value(TABLE, "dates") != before, "the new count")
        assert applied, "a changed table was not redrawn"
