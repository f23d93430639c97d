"""How the dashboard's screen is shared between the grid, the gap map and the log, by size.

- Below MIN_SIZE (80x24): a notice instead of a cut grid, and no key acts but quitting (the rows
  an action would act on are not shown).
- Below TALL_HEIGHT rows the bottom pane shows the gap map *or* the log (`v` toggles): both do not
  fit beside the whole grid. The pane takes the rows the grid leaves, at least 13; from 40 rows on
  the log takes at least LOG_LINES lines, the grid yielding rows (it scrolls and keeps its cursor
  in view). Each row more gives the log a line more, never fewer. Under the gap map, rows the
  grid leaves show the end of the log (from MIN_LOG_UNDER_GAPS spare rows on), never blank rows.
- From TALL_HEIGHT rows on both are shown: the grid (at most 24 rows), the gap map, and the log
  in all the rest (at least LOG_LINES lines); `v` hides the gap map there too, for more log.

The log pane is kept scrolled to its end across every size change: the last line (a job's
"exited with code N") is always in view.
"""

from __future__ import annotations

from textual.geometry import Size

MIN_SIZE = (80, 24)
SMALL_SCREEN_ACTIONS = frozenset({"quit_app", "quit"})
"""What a key may still do below MIN_SIZE, where the grid is not shown."""
LOG_LINES = 20
"""Lines the log shows at least from LOG_ROWS_FROM rows on."""
LOG_ROWS_FROM = 40
"""From this height the log's pane holds LOG_LINES lines (below, it is as big as the gap map's)."""
ONE_PANE_ROWS = 13
"""The bottom pane's height when it shows the gap map (or, below 40 rows, the log)."""
GRID_MAX_ROWS = 24
"""The grid's most rows beside the gap map and the log (a longer pipeline scrolls)."""
GAPS_ROWS = 13
"""The gap map's most rows: its title and its lines (`GapMap.POOL`: 5 seasons of 2 lines, the
legend)."""
MIN_LOG_UNDER_GAPS = 4
"""Spare rows under the gap map from which the log's end is shown there too (title + 3 lines)."""
TALL_HEIGHT = 2 + GRID_MAX_ROWS + 1 + GAPS_ROWS + 1 + LOG_LINES + 1
"""From this height the gap map and the log are both shown: header and footer, the grid, the
border, the gap map, the log's title, its lines and its horizontal scrollbar."""


def bottom_rows(height: int, show_log: bool, grid_rows: int) -> tuple[int | None, bool]:
    """The bottom pane's height below TALL_HEIGHT (None: from it, the CSS sizes the panes),
    and whether the end of the log fits under the gap map in the rows the grid leaves.

    `grid_rows`: the rows the grid would take whole (its header included)."""
    if height >= TALL_HEIGHT:
        return None, True
    # the log's lines, its title, the border above and the row a long line's scrollbar takes
    least = LOG_LINES + 3 if show_log and height >= LOG_ROWS_FROM else ONE_PANE_ROWS
    body = height - 2  # header and footer
    rows = max(least, body - min(grid_rows, GRID_MAX_ROWS))
    return rows, rows - 1 - GAPS_ROWS >= MIN_LOG_UNDER_GAPS


def too_small(size: Size) -> bool:
    return size.width < MIN_SIZE[0] or size.height < MIN_SIZE[1]


def too_small_text(size: Size) -> str:
    need = f"{MIN_SIZE[0]}x{MIN_SIZE[1]}"
    return (
        f"terminal too small (need {need}, have {size.width}x{size.height})\n"
        "enlarge the window · q quits (jobs go on)"
    )
