"""The coverage grid: a DataTable updated by diff, by key (dolphie's Processlist habit).

Rows are added once with `add_row(key=...)`, keyed by table name (phase header rows by
``phase:<name>``); after that only cells whose (text, style) changed are rewritten with
`update_cell`, inside one `batch_update()`. Rows are never cleared, so the cursor and the scroll
position never jump; a column-set change (the narrow/wide threshold) removes and adds columns
only.

`DataTable.update_cell` asks for a repaint of the whole table, and Textual offers no public way
to write a cell without one. For a dashboard left open overnight that is the difference between a
few bytes and a whole grid sent to the terminal every job refresh, so while `apply` writes cells
the grid narrows that whole-table `refresh()` (the public `Widget.refresh` hook) to nothing and
repaints each changed cell with the public `refresh_coordinate`. `bench/bench_grid.py` measures
the terminal bytes with and without this override; it stays only while they differ clearly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Self

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from nba_tui.tui.cells import Cell, ColumnSpec


class CoverageGrid(DataTable[Text]):
    """One row per table, grouped under phase header rows, in dependency order."""

    DEFAULT_CSS = """
    CoverageGrid { scrollbar-size-vertical: 1; scrollbar-size-horizontal: 0; overflow-x: hidden; }
    """
    BINDINGS = [
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
        Binding("g", "scroll_top", show=False),
        Binding("G", "scroll_bottom", show=False),
        Binding("home", "scroll_top", show=False),
        Binding("end", "scroll_bottom", show=False),
    ]
    """htop/less/k9s habits besides the arrows and PgUp/PgDn (DataTable binds Home/End to
    sideways moves, which a grid that fits its width does not need)."""
    _cells_only = False
    """True while `apply` writes cells (see `refresh`); a class default, as DataTable's own
    __init__ already calls `refresh`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            cursor_type="row",
            cell_padding=0,
            zebra_stripes=False,
            show_cursor=True,
        )
        self._spec: list[ColumnSpec] = []
        self._shown: list[str] = []
        """Row keys on screen, in order (all of them unless a filter is set)."""
        self._cells: dict[str, dict[str, Cell]] = {}
        """The last (text, style) written per row and column key, for the diff; kept for
        columns not shown too, so the wide layout has them when the terminal grows."""

    # -- layout -------------------------------------------------------------------------------

    def set_columns(self, columns: list[ColumnSpec]) -> None:
        """(Re)build the columns when the set or a width changed (the narrow/wide threshold).
        Rows stay: only columns are removed and added, so the cursor stays on its row."""
        if [(c.key, c.width) for c in columns] == [(c.key, c.width) for c in self._spec]:
            return
        for col in self._spec:
            self.remove_column(col.key)
        self._spec = list(columns)
        for i, col in enumerate(columns):
            label = Text(col.pad(col.label, first=i == 0))
            self.add_column(label, key=col.key, width=col.width, default=Text(""))
        for key in self._shown:
            values = self._cells[key]
            for col in self._spec:
                self.update_cell(key, col.key, self._text(col, values.get(col.key)))

    @property
    def bar(self) -> int:
        """Width of the coverage bar in the current column set (its column minus the gap)."""
        return next((c.width - 1 for c in self._spec if c.key == "bar"), 6)

    def _text(self, col: ColumnSpec, cell: Cell | None) -> Text:
        text, style = cell if cell is not None else ("", "")
        first = bool(self._spec) and col.key == self._spec[0].key
        return Text(col.pad(text, first=first), style=style, no_wrap=True, overflow="crop")

    # -- rows ---------------------------------------------------------------------------------

    def ensure_rows(self, keys: Iterable[str]) -> None:
        """Add rows for keys not seen yet, in order (rows are never removed: config is fixed)."""
        for key in keys:
            if key not in self._cells:
                self._cells[key] = {}
                self._shown.append(key)
                self.add_row(*(self._text(c, None) for c in self._spec), key=key)

    def show_only(self, keys: list[str]) -> None:
        """Show these rows (known keys, in this order): the name filter. The rows are rebuilt
        from the kept cells; the cursor stays on its row when that row is still shown."""
        keys = [k for k in keys if k in self._cells]
        if keys == self._shown:
            return
        selected = self.selected_key
        self.clear()
        self._shown = keys
        for key in keys:
            values = self._cells[key]
            self.add_row(*(self._text(c, values.get(c.key)) for c in self._spec), key=key)
        if selected in keys:
            self.move_cursor(row=keys.index(selected), scroll=True)

    @property
    def shown(self) -> list[str]:
        return list(self._shown)

    def apply(self, rows: Mapping[str, Mapping[str, Cell]]) -> int:
        """Write the cells that changed; returns how many were rewritten on screen.

        Every cell is written before any is refreshed: each `update_cell` drops DataTable's
        cached row order, which locating a cell rebuilds (O(rows)), so interleaving them would
        cost O(cells x rows), the first snapshot of a big warehouse most of all."""
        written: list[tuple[str, str]] = []
        visible = {c.key: c for c in self._spec}
        shown = set(self._shown)
        with self.app.batch_update(), self._repaint_cells_only():
            for key, cells in rows.items():
                old = self._cells.get(key)
                if old is None:
                    continue  # not a row of this grid
                for col_key, cell in cells.items():
                    if old.get(col_key) == cell:
                        continue
                    old[col_key] = cell
                    col = visible.get(col_key)
                    if col is None or key not in shown:
                        continue  # kept for when the wide layout shows it
                    self.update_cell(key, col_key, self._text(col, cell))
                    written.append((key, col_key))
            for key, col_key in written:
                self.refresh_coordinate(self.get_cell_coordinate(key, col_key))
        return len(written)

    @contextmanager
    def _repaint_cells_only(self) -> Iterator[None]:
        self._cells_only = True
        try:
            yield
        finally:
            self._cells_only = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        """While `apply` writes cells, drop the whole-table repaint `update_cell` asks for: the
        changed cells' own regions are refreshed next (`refresh_coordinate`)."""
        if self._cells_only and not regions and repaint and not layout and not recompose:
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    class ScrollSideways(Message):
        """← or → on the grid, which fits its width: the log pane scrolls by `dx` columns
        instead (long lines)."""

        def __init__(self, dx: int) -> None:
            super().__init__()
            self.dx = dx

    def action_cursor_right(self) -> None:
        self.post_message(self.ScrollSideways(8))

    def action_cursor_left(self) -> None:
        self.post_message(self.ScrollSideways(-8))

    # -- reading ------------------------------------------------------------------------------

    def cell_value(self, row: str, col: str) -> Cell | None:
        """The last (text, style) written to a cell (tests and the e2e harness read it)."""
        return self._cells.get(row, {}).get(col)

    def row_cells(self, row: str) -> dict[str, Cell]:
        """A copy of the last (text, style) of every column of a row, shown or not."""
        return dict(self._cells.get(row, {}))

    # -- selection ----------------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def select_key(self, key: str, reveal: bool = False) -> None:
        """Move the cursor to `key`; with `reveal`, scroll as little as possible from the top so
        the row and as much context above it (its phase header) as fits are shown."""
        try:
            row = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=row, scroll=False)
        if reveal:
            self.call_after_refresh(self._reveal, row)

    def keep_cursor_in_view(self) -> None:
        """After the grid shrank: scroll to the cursor's row if it is out of view."""
        row = self.cursor_row
        visible = max(1, self.scrollable_content_region.height - 1)  # minus the header row
        top = round(self.scroll_y)
        if row < top or row >= top + visible:
            self._reveal(row)

    def _reveal(self, row: int) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # minus the header row
        self.scroll_to(y=max(0, row - visible + 1), animate=False, force=True)
