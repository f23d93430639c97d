"""How the dashboard's screen is shared between the grid, the gap map and the log, by size.

- Below MIN_SIZE (80x24): a notice instead of a cut grid, and no key acts but quitting (the rows
  an action would act on are not shown).
- Below LOG_ROWS_FROM (40) rows the bottom pane shows the gap map *or* the log (`v`): the gap
  map as it opens, and under it the end of the log in the rows the grid leaves (from
  MIN_LOG_UNDER_GAPS spare rows on), never blank rows.
- From LOG_ROWS_FROM to TALL_HEIGHT rows the dashboard opens on the grid and at least LOG_LINES
  log lines (the grid yields rows: it scrolls and keeps its cursor in view); the gap map gets
  the rows left over, its top part (title first), whole once 13 rows are left. `v` shows the
  gap map whole instead, the log in the rest.
- From TALL_HEIGHT rows on all three are shown whole: the grid (at most 24 rows), the gap map,
  and the log in all the rest; `v` hides the gap map there, for more log.

As it opens, each row more gives the log a line more or the same, never fewer; and `v` keeps the
user's choice (gap map or log) across resizes. The log pane is kept scrolled to its end across
every size change: the last line (a job's "exited with code N") is always in view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.geometry import Size

MIN_SIZE = (80, 24)
SMALL_SCREEN_ACTIONS = frozenset({"quit_app", "quit"})
"""What a key may still do below MIN_SIZE, where the grid is not shown."""
LOG_LINES = 20
"""Lines the log shows at least from LOG_ROWS_FROM rows on."""
LOG_ROWS_FROM = 40
"""From this height the dashboard opens on the grid and LOG_LINES log lines."""
ONE_PANE_ROWS = 13
"""The bottom pane's least height below LOG_ROWS_FROM, and when it shows the gap map."""
GRID_MAX_ROWS = 24
"""The grid's most rows beside the gap map and the log (a longer pipeline scrolls)."""
GAPS_ROWS = 13
"""The gap map's most rows: its title and its lines (`GapMap.POOL`: 5 seasons of 2 lines, the
legend)."""
MIN_LOG_UNDER_GAPS = 4
"""Spare rows under the gap map from which the log's end is shown there too (title + 3 lines)."""
LOG_ROWS = LOG_LINES + 3
"""The bottom pane's rows for LOG_LINES lines: the border above, the log's title, its lines and
the row a long line's horizontal scrollbar takes."""
TALL_HEIGHT = 2 + GRID_MAX_ROWS + 1 + GAPS_ROWS + 1 + LOG_LINES + 1
"""From this height the gap map and the log are both shown whole: header and footer, the grid,
the border, the gap map, the log's title, its lines and its horizontal scrollbar."""

View = Literal["gaps", "log"]
"""What `v` chose: the gap map whole, or the log alone (None: as the size says)."""
Mode = Literal["gaps", "log", "mixed", "both"]
"""What the bottom pane shows: the gap map (the log's end under it when rows are left), the log
alone, the log with the gap map in the rows left over, or both whole."""


@dataclass(frozen=True)
class Panes:
    bottom: int | None
    """The bottom pane's rows (None: from TALL_HEIGHT on, the CSS sizes the panes)."""
    gaps: int | None
    """The gap map's rows: 0 hidden, None whole."""
    log: bool
    """Whether the log (and its title) is shown."""


def mode(height: int, view: View | None) -> Mode:
    if view == "log":
        return "log"
    if height >= TALL_HEIGHT:
        return "both"
    if view == "gaps" or height < LOG_ROWS_FROM:
        return "gaps"
    return "mixed"


def toggled(height: int, view: View | None) -> View:
    """What `v` shows next: the gap map whole where the log has the pane, else the log alone."""
    return "gaps" if mode(height, view) in ("log", "mixed") else "log"


def panes(height: int, view: View | None, grid_rows: int) -> Panes:
    """How the bottom pane is shared at `height` rows. `grid_rows`: the rows the grid would take
    whole (its header included)."""
    shown = mode(height, view)
    if height >= TALL_HEIGHT:
        return Panes(None, 0 if shown == "log" else None, True)
    body = height - 2  # header and footer
    rest = body - min(grid_rows, GRID_MAX_ROWS)
    if shown == "gaps":
        rows = max(ONE_PANE_ROWS, rest)
        return Panes(rows, None, rows - 1 - GAPS_ROWS >= MIN_LOG_UNDER_GAPS)
    least = LOG_ROWS if height >= LOG_ROWS_FROM else ONE_PANE_ROWS
    rows = max(least, rest)
    if shown == "log":
        return Panes(rows, 0, True)
    return Panes(rows, min(GAPS_ROWS, rows - LOG_ROWS), True)


def too_small(size: Size) -> bool:
    return size.width < MIN_SIZE[0] or size.height < MIN_SIZE[1]


def too_small_text(size: Size) -> str:
    need = f"{MIN_SIZE[0]}x{MIN_SIZE[1]}"
    return (
        f"terminal too small (need {need}, have {size.width}x{size.height})\n"
        "enlarge the window · q quits (jobs go on)"
    )
