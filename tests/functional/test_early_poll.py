"""A commit to the embedded warehouse starts the next poll half an interval after the last one
began (`Monitor.written`, `Monitor.early_poll_in`): its cheap change token moves on a commit by
any connection and on nothing else (a poll reads without moving it)."""

from __future__ import annotations

import sqlite3

import pytest
from ui_helpers import wait_for

from nba_tui import config, monitor
from nba_tui.config import Pipeline
from nba_tui.monitor import EARLY_POLL, Monitor
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.widgets.grid import CoverageGrid

TABLE = "player_game_summary"


def delete_a_date(pipeline: Pipeline) -> None:
    """A commit by another connection, as a job's: one date of TABLE gone."""
    conn = sqlite3.connect(pipeline.sqlite_dir / "nba_analytics.db")
    try:
        (day,) = conn.execute(f"SELECT MIN(game_date) FROM {TABLE}").fetchone()  # noqa: S608
        conn.execute(f"DELETE FROM {TABLE} WHERE game_date = ?", (day,))  # noqa: S608
        conn.commit()
    finally:
        conn.close()


def present(monitor: Monitor) -> int:
    result = monitor.poll_once()
    assert result.fresh, result.error
    return result.snapshot.tables[TABLE].present


def test_a_commit_moves_the_token_and_a_poll_does_not(pipeline: Pipeline) -> None:
    monitor = Monitor(pipeline)
    try:
        assert not monitor.written() and monitor.early_poll_in() is None  # no poll yet
        before = present(monitor)
        assert monitor.early_poll_in() == pipeline.poll.interval * EARLY_POLL
        present(monitor)
        assert not monitor.written(), "a poll moved the token: the idle dashboard would poll twice"
        delete_a_date(pipeline)
        assert monitor.written(), "a commit by another connection did not move the token"
        assert present(monitor) == before - 1
        assert not monitor.written(), "the poll that counted the commit leaves nothing new"
    finally:
        monitor.close()


def every(pipeline: Pipeline, interval: str) -> Pipeline:
    """The same pipeline polled every `interval`."""
    path = pipeline.source
    lines = path.read_text().splitlines()
    new = f"poll: {{interval: {interval}}}"
    path.write_text("\n".join(new if ln.startswith("poll:") else ln for ln in lines) + "\n")
    return config.load(path)


async def test_a_commit_is_on_screen_long_before_the_next_poll_is_due(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polled every 100 s, the early check 5 s after the first poll began: the commit made
    meanwhile is on screen well before the next regular poll (the wait gives up at 60 s)."""
    monkeypatch.setattr(monitor, "EARLY_POLL", 0.05)
    pipe = every(pipeline, "100s")
    app = NbaTuiApp(pipe, monitor=Monitor(pipe), supervisor=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.polls_done == 1, "the first poll")
        grid = app.query_one(CoverageGrid)
        before = grid.cell_value(TABLE, "dates")
        delete_a_date(pipe)
        await wait_for(pilot, lambda: grid.cell_value(TABLE, "dates") != before, "the commit", 60)
        assert app.polls_done == 2
