"""The coverage grid: a DataTable updated by diff, by key (dolphie's Processlist habit).

Rows are added once, keyed by table name (phase header rows by ``phase:<name>``); after that only
cells whose (text, style) changed are rewritten, inside one `batch_update()`. The cursor and the
scroll position therefore never jump. `DataTable.update_cell` repaints the *whole* widget; the
override below repaints only the changed cell's region, which is what keeps the terminal traffic
of a dashboard left open overnight near zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CellType, ColumnKey, RowKey

from nba_tui.tui.cells import Cell, ColumnSpec

PHASE_PREFIX = "phase:"


class CoverageGrid(DataTable):
    """One row per table, grouped under phase header rows, in dependency order."""

    DEFAULT_CSS = """
    CoverageGrid { scrollbar-size-vertical: 1; scrollbar-size-horizontal: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            cursor_type="row",
            cell_padding=0,
            zebra_stripes=False,
            show_cursor=True,
        )
        self._columns_spec: list[ColumnSpec] = []
        self._values: dict[str, dict[str, Cell]] = {}
        self._order: list[str] = []

    # -- layout -------------------------------------------------------------------------------

    def set_columns(self, columns: list[ColumnSpec]) -> None:
        """(Re)build the columns. Only on a width change across the narrow/wide threshold; keeps
        the cursor on the same row key."""
        if [c.key for c in columns] == [c.key for c in self._columns_spec] and all(
            a.width == b.width for a, b in zip(columns, self._columns_spec, strict=True)
        ):
            return
        selected = self.selected_key
        self._columns_spec = list(columns)
        self.clear(columns=True)
        for i, col in enumerate(columns):
            self.add_column(Text(col.pad(col.label, first=i == 0)), key=col.key, width=col.width)
        for key in self._order:
            values = self._values.get(key, {})
            self.add_row(*(self._text(c, values.get(c.key)) for c in self._columns_spec), key=key)
        if selected is not None:
            self.select_key(selected)

    def _text(self, col: ColumnSpec, cell: Cell | None) -> Text:
        text, style = cell if cell is not None else ("", "")
        first = bool(self._columns_spec) and col.key == self._columns_spec[0].key
        return Text(col.pad(text, first=first), style=style, no_wrap=True, overflow="crop")

    # -- rows ---------------------------------------------------------------------------------

    def ensure_rows(self, keys: Iterable[str]) -> None:
        """Add rows for keys not seen yet, in order (rows are never removed: config is fixed)."""
        for key in keys:
            if key in self._values:
                continue
            self._order.append(key)
            self._values[key] = {}
            self.add_row(*(self._text(c, None) for c in self._columns_spec), key=key)

    def apply(self, rows: Mapping[str, Mapping[str, Cell]]) -> int:
        """Write the cells that changed; returns how many were rewritten."""
        changed = 0
        visible = {c.key: c for c in self._columns_spec}
        with self.app.batch_update():
            for key, cells in rows.items():
                old = self._values.setdefault(key, {})
                for col_key, cell in cells.items():
                    if old.get(col_key) == cell:
                        continue
                    old[col_key] = cell
                    col = visible.get(col_key)
                    if col is None or key not in self._order:
                        continue  # kept for when the wide layout shows it
                    self.update_cell(key, col_key, self._text(col, cell))
                    changed += 1
        return changed

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        """Like DataTable.update_cell, but repaint only the cell, not the whole table."""
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        if row_key not in self._row_locations or column_key not in self._column_locations:
            raise CellDoesNotExist(f"no cell {row_key!r}/{column_key!r}")
        self._data[row_key][column_key] = value
        self._update_count += 1
        self.refresh_coordinate(
            Coordinate(self._row_locations.get(row_key), self._column_locations.get(column_key))
        )

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
        if key not in self._order:
            return
        row = self.get_row_index(key)
        self.move_cursor(row=row, scroll=False)
        if reveal:
            self.call_after_refresh(self._reveal, row)

    def _reveal(self, row: int) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # minus the header row
        self.scroll_to(y=max(0, row - visible + 1), animate=False, force=True)

    def cell_value(self, row: str, col: str) -> Cell | None:
        """The last value written to a cell (tests and the e2e harness read it)."""
        return self._values.get(row, {}).get(col)
