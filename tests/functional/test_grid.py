"""The coverage grid: updates by diff and by key, repainting only the cells that changed.

A whole-table repaint sends every visible row to the terminal; on a dashboard left open
overnight with three jobs running that is most of its traffic (bench/bench_tui.py).
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from nba_tui.tui.cells import columns_for
from nba_tui.tui.widgets.grid import CoverageGrid

ROWS = [f"table_{i:02d}" for i in range(30)]


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CoverageGrid(id="grid")

    def on_mount(self) -> None:
        grid = self.query_one(CoverageGrid)
        grid.set_columns(columns_for(80))
        grid.ensure_rows(ROWS)
        grid.apply({key: {"table": (key, ""), "job": ("running", "green")} for key in ROWS})


async def test_one_changed_cell_repaints_that_cell_only(monkeypatch: pytest.MonkeyPatch) -> None:
    app = GridApp()
    async with app.run_test(size=(80, 12)) as pilot:
        grid = app.query_one(CoverageGrid)
        await pilot.pause()
        asked: list[tuple[Region, ...]] = []
        real_refresh = Widget.refresh

        def recording(self: Widget, *regions: Region, **kwargs: bool) -> Widget:
            if self is grid:
                asked.append(regions)
            return real_refresh(self, *regions, **kwargs)

        monkeypatch.setattr(Widget, "refresh", recording)
        assert grid.apply({"table_03": {"job": ("paused", "yellow")}}) == 1
        assert asked, "the changed cell was not repainted"
        assert all(regions for regions in asked), f"a whole-table repaint was asked: {asked}"
        width = next(c.width for c in columns_for(80) if c.key == "job")
        assert [r.width for regions in asked for r in regions] == [width]
        assert "paused" in grid.get_cell("table_03", "job").plain


async def test_rows_by_key_cursor_and_scroll_kept() -> None:
    app = GridApp()
    async with app.run_test(size=(80, 12)) as pilot:
        grid = app.query_one(CoverageGrid)
        grid.focus()
        grid.select_key("table_25")
        await pilot.pause()
        scroll = grid.scroll_offset
        assert grid.selected_key == "table_25" and scroll.y > 0
        assert grid.apply({k: {"job": ("done", "")} for k in ROWS}) == len(ROWS)
        grid.ensure_rows(ROWS)  # known keys: nothing added
        grid.set_columns(columns_for(130))  # the wide set: columns swapped, rows kept
        await pilot.pause()
        assert grid.row_count == len(ROWS)
        assert grid.selected_key == "table_25" and grid.scroll_offset == scroll
        assert "done" in grid.get_cell("table_25", "job").plain
        assert grid.apply({k: {"job": ("done", "")} for k in ROWS}) == 0  # nothing changed
