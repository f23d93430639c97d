"""Gap map: where a table's holes are, one strip per season, one cell per game date.

Each strip line is its own one-line `TextLine`, rewritten only when its text changed: while a
backfill fills one season, only that season's line is sent to the terminal, not the whole map.

A season is wrapped over at most two lines. When even two lines cannot hold one cell per date
(about 215 game dates per NBA season do not fit 2 x 74 cells at 80 columns) a cell stands for k
dates and shows the worst of them (missing > thin > degraded > present > bootstrap); the legend
then says "1 cell = k dates". A degraded date (rows on synthetic fallbacks, the table's
`degraded_column`) has its own glyph, ▓, and legend entry when the table has any. Each state has
its own character as well as its own colour, so the map reads under NO_COLOR.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from nba_tui import readiness
from nba_tui.config import Pipeline
from nba_tui.coverage import DateState, Snapshot, TableCoverage
from nba_tui.fmt import pct
from nba_tui.tui.cells import DEGRADED, NECESSITY, season_label
from nba_tui.tui.widgets.line import TextLine

DEG = "degraded"
"""A map cell's state besides the `DateState`s: present, with rows flagged degraded."""
NEC = "necessity"
"""Present, with rows flagged degraded by necessity (a soft input nothing can fill)."""
Cell = DateState | str
GLYPH: dict[Cell, tuple[str, str]] = {
    DateState.PRESENT: ("█", "green"),
    DateState.THIN: ("▒", "yellow"),
    DateState.MISSING: ("·", "bold red"),
    DateState.BOOTSTRAP: ("░", "blue"),
    DEG: (DEGRADED, "magenta"),
    NEC: (NECESSITY, "magenta"),
}
_RANK: dict[Cell, int] = {
    DateState.MISSING: 4,
    DateState.THIN: 3,
    DEG: 2,
    NEC: 2,
    DateState.PRESENT: 1,
    DateState.BOOTSTRAP: 0,
}
LABEL_WIDTH = 6
MAX_LINES_PER_SEASON = 2


def seasons(dates: Sequence[dt.date], starts: Sequence[dt.date]) -> list[tuple[str, list[dt.date]]]:
    """Split sorted expected dates into seasons at the given season starts."""
    bounds = set(starts)
    out: list[tuple[str, list[dt.date]]] = []
    for d in sorted(dates):
        if not out or d in bounds:
            out.append((season_label(d), []))
        out[-1][1].append(d)
    return out


def worst(states: Sequence[Cell]) -> Cell:
    return max(states, key=lambda s: _RANK[s])


def date_cells(
    cov: TableCoverage, days: Sequence[dt.date], need: frozenset[dt.date] = frozenset()
) -> list[Cell]:
    """Each date's map state: its coverage state, or `DEG` (`NEC` when degraded by necessity,
    `need`) for a present date with flagged rows (a thin degraded date stays thin: the worse
    news)."""
    flagged = set(cov.degraded)

    def cell(d: dt.date) -> Cell:
        if d in flagged and cov.states[d] is DateState.PRESENT:
            return NEC if d in need else DEG
        return cov.states[d]

    return [cell(d) for d in days]


def strip_lines(
    cov: TableCoverage,
    starts: Sequence[dt.date],
    width: int,
    need: frozenset[dt.date] = frozenset(),
) -> tuple[list[Text], int]:
    """The map's lines at `width` columns, and k (dates per cell)."""
    cells = max(8, width - LABEL_WIDTH)
    groups = seasons(list(cov.states), starts)
    longest = max((len(g) for _, g in groups), default=0)
    k = max(1, math.ceil(longest / (cells * MAX_LINES_PER_SEASON))) if longest else 1
    lines: list[Text] = []
    for label, days in groups:
        states = date_cells(cov, days, need)
        merged = [worst(states[i : i + k]) for i in range(0, len(states), k)]
        for n, offset in enumerate(range(0, len(merged), cells)):
            line = Text((label if n == 0 else "").ljust(LABEL_WIDTH), style="dim")
            # One span per run of equal cells: a span per cell would cost an escape sequence
            # per character on the wire.
            for state, run in itertools.groupby(merged[offset : offset + cells]):
                glyph, style = GLYPH[state]
                line.append(glyph * len(list(run)), style)
            lines.append(line)
    return lines, k


def legend(k: int, degraded: bool = False, necessity: bool = False) -> Text:
    """The glyphs' meanings; `degraded` adds ▓ (by choice), `necessity` ▚ (only tables with
    such dates show them)."""
    text = Text()
    entries: list[tuple[Cell, str]] = [
        (DateState.PRESENT, "present"),
        (DateState.THIN, "thin"),
        (DateState.MISSING, "missing"),
        (DateState.BOOTSTRAP, "bootstrap"),
    ]
    if necessity:
        entries.insert(1, (NEC, "necessity"))
    if degraded:
        entries.insert(1, (DEG, "degraded"))
    gap = " " if degraded and necessity else "  "  # both: 80 columns still hold the legend
    for state, name in entries:
        glyph, style = GLYPH[state]
        text.append(glyph, style)
        text.append(f" {name}{gap}")
    if k > 1:  # 80 columns hold the longer legend only without the "(worst shown)"
        short = degraded or necessity
        text.append(f"1 cell = {k} dates" + ("" if short else " (worst shown)"), "dim")
    return text


def degraded_title(cov: TableCoverage, need: frozenset[dt.date]) -> str:
    """`282 degraded by necessity (33.3%)`, or `300 degraded (35.4%; 282 by necessity)`."""
    n = len(cov.degraded)
    share = pct(cov.degraded_share)
    if need and len(need) == n:
        return f"{n} degraded by necessity ({share})"
    if need:
        return f"{n} degraded ({share}; {len(need)} by necessity)"
    return f"{n} degraded ({share})"


class GapMap(Vertical):
    """The selected table's gap map; `show()` diffs line by line."""

    DEFAULT_CSS = """
    GapMap { height: auto; }
    """

    POOL = 12
    """Lines mounted up front (title excluded): 5 seasons x 2 lines + legend fit, so showing
    another table or a resize never mounts widgets (a mount reflows and repaints the screen)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cov: TableCoverage | None = None
        self._starts: list[dt.date] = []
        self._note = ""
        self._need: frozenset[dt.date] = frozenset()
        self._width: int | None = None
        """Width of the last map drawn (None: nothing drawn yet)."""
        self._title = TextLine(id="gap-title")
        self._pool = [TextLine(classes="gap-line") for _ in range(self.POOL)]

    def compose(self) -> ComposeResult:
        yield self._title
        yield from self._pool

    def show(
        self,
        cov: TableCoverage | None,
        starts: Sequence[dt.date],
        note: str = "",
        need: frozenset[dt.date] = frozenset(),
    ) -> None:
        """Show `cov` (None: a hint instead of a map; `need`: its dates degraded by necessity).
        Free when nothing changed: an unchanged table keeps its coverage object from poll to
        poll (`CoverageCache`)."""
        width = self.content_region.width or self.app.size.width
        days = list(starts)
        key = (days, note, width, need)
        if cov is self._cov and key == (self._starts, self._note, self._width, self._need):
            return
        self._cov, self._starts, self._note, self._width, self._need = cov, *key
        title = self._title
        if cov is None:
            title.set(Text(note or "select a table to see its gap map", style="dim"))
            self._render_lines([])
            return
        runs = len(cov.missing_runs)
        head = Text(f"gaps {cov.name}", style="bold")
        head.append(f"  {cov.present}/{cov.expected} {pct(cov.share)}")
        if cov.degraded:  # before the gaps: the title is cut at the right on narrow screens
            head.append(f" · {degraded_title(cov, need)}", "bold")
        head.append(
            f" · {cov.expected - cov.present} missing in {runs} run{'s' if runs != 1 else ''}"
        )
        if cov.thin:
            head.append(f" · {len(cov.thin)} thin")
        title.set(head)
        lines, k = strip_lines(cov, self._starts, width, need)
        chose = len(cov.degraded) > len(need)
        self._render_lines([*lines, legend(k, chose, bool(need))])

    def show_selection(
        self,
        table: str | None,
        phase: str | None,
        snap: Snapshot | None,
        pipeline: Pipeline | None = None,
    ) -> None:
        """The map of the selected table, or a hint on a phase row or before the first poll."""
        if table is None:
            note = f"phase {phase}: select a table for its gap map · L launches the phase"
            self.show(None, [], note=note if phase else "")
        elif snap is None:
            self.show(None, [], note="waiting for the first poll…")
        else:
            cov = snap.tables.get(table)
            need: frozenset[dt.date] = frozenset()
            if pipeline is not None and cov is not None and cov.degraded:
                need = frozenset(readiness.degraded_split(pipeline, snap, table)[0])
            self.show(cov, snap.season_starts, need=need)

    def on_resize(self) -> None:
        if self._cov is not None:
            self.show(self._cov, self._starts, self._note, self._need)

    def _render_lines(self, lines: list[Text]) -> None:
        pool = self._pool
        if len(lines) > len(pool):
            extra = [TextLine(classes="gap-line") for _ in range(len(lines) - len(pool))]
            self.mount_all(extra)
            pool.extend(extra)
        for i, widget in enumerate(pool):
            widget.set(lines[i] if i < len(lines) else Text(""))
            used = i < max(len(lines), 1)
            if widget.display != used:  # no blank rows between the map and the log
                widget.display = used
