"""SVG snapshots at 80x24 and 120x40 with fixed data (no live poll, fixed clock, fake jobs).

Update after an intended change with `pytest tests/functional/test_snapshots.py --snapshot-update`
and look at the SVGs before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import fake_app, plan_fake_app
from textual.filter import NoColor

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


def settled(*keys: str, select: str | None = None):
    async def run_before(pilot) -> None:
        app = pilot.app
        for _ in range(200):
            if app.snapshot is not None and app.job_refreshes and app.query_one(LogPane).lines:
                break
            await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        if select:
            app.query_one(CoverageGrid).select_key(select)
            await pilot.pause(0.05)
        if keys:
            await pilot.press(*keys)
        await pilot.pause(0.1)

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
