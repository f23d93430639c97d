"""SVG snapshots at 80x24 and 120x40 with fixed data (no live poll, fixed clock, fake jobs).

Update after an intended change with `pytest tests/functional/test_snapshots.py --snapshot-update`
and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import fake_app, plan_fake_app
from textual.filter import NoColor
from textual.message_pump import MessagePump
from waiting import wait_for_ui

from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.widgets.grid import CoverageGrid
from nba_tui.tui.widgets.logpane import LogPane


def make_app(tmp_path: Path, read_only: bool = False) -> NbaTuiApp:
    return fake_app(tmp_path, read_only)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The header shows the poll's wall-clock time: render it in one time zone everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def refreshed(pilot, *nodes: MessagePump) -> None:
    """Until each node ran a callback queued now: what it had queued before has run too (its
    queue is in order), and the screen was refreshed after it."""
    for node in nodes:
        done = asyncio.Event()
        node.call_after_refresh(done.set)
        await wait_for_ui(pilot, done.is_set, f"{node!r} to run a callback after its refresh")


def settled(*keys: str, select: str | None = None):
    """Before the screenshot: the first frame drawn from a poll and a job refresh, the selected
    job's log read (written, or waiting while the gap map has its place at 80x24), every worker
    done and the callbacks that frame queued (the cursor's reveal) run; then `select` and `keys`,
    each followed by the refresh it causes. Fails naming what did not happen."""

    async def run_before(pilot) -> None:
        app = pilot.app
        grid, log = app.query_one(CoverageGrid), app.query_one(LogPane)
        await wait_for_ui(
            pilot,
            lambda: (
                app.snapshot is not None and app.job_refreshes and (log.line_count or log.waiting)
            ),
            "the first frame with coverage, jobs and the selected job's log",
        )
        await app.workers.wait_for_complete()
        await refreshed(pilot, app, grid)
        if select:
            grid.select_key(select)
            await refreshed(pilot, grid)
        if keys:
            await pilot.press(*keys)
            await app.workers.wait_for_complete()
            await refreshed(pilot, app, app.screen)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_main_screen(snap_compare, tmp_path, size) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=settled())


def test_log_view_80x24(snap_compare, tmp_path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24), run_before=settled("v"))


def test_preflight_modal_80x24(snap_compare, tmp_path) -> None:
    """`f` on the PHASE4 header row: phase4 may not start (one input short)."""
    run_before = settled("f", select="phase:phase4")
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_read_only_80x24(snap_compare, tmp_path) -> None:
    app = make_app(tmp_path, read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled())


def test_no_color_80x24(snap_compare, tmp_path, monkeypatch) -> None:
    """Under NO_COLOR every state still reads: ✔/✘, words for job states, distinct gap glyphs."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path)
    assert app.no_color
    # The terminal's default colours, not Monochrome over the ANSI theme (black on black).
    assert any(isinstance(f, NoColor) for f in app.get_line_filters())
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_autopilot_shard_and_degraded(snap_compare, tmp_path, size) -> None:
    """A plan's shard ("run #2" while its plan runs), the ▓ degraded marker in the grid, the gap map's ▓ cells,
    its degraded share in the title and its legend entry (at 120x40 the dashboard opens on the
    log: `v` shows the gap map whole)."""
    app = plan_fake_app(tmp_path)
    keys = ("v",) if size[1] >= 40 else ()
    before = settled(*keys, select="player_composite_factors")
    assert snap_compare(app, terminal_size=size, run_before=before)
