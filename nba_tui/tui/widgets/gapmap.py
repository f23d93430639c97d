"""Gap map: where a table's holes are, one strip per season, one cell per game date.

Each strip line is its own one-line `Static`, rewritten only when its text changed: while a backfill
fills one season, only that season's line is sent to the terminal, not the whole map.

A season is wrapped over at most two lines. When even two lines cannot hold one cell per date (about
215 game dates per NBA season do not fit 2 x 74 cells at 80 columns) a cell stands for k dates and
shows the worst of them (missing > thin > present > bootstrap); the legend then says "1 cell = k
dates". Each state has its own character as well as its own colour, so the map reads under NO_COLOR.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from nba_tui.coverage import DateState, TableCoverage
from nba_tui.tui.cells import pct_text, season_label

GLYPH = {
    DateState.PRESENT: ("█", "green"),
    DateState.THIN: ("▒", "yellow"),
    DateState.MISSING: ("·", "bold red"),
    DateState.BOOTSTRAP: ("░", "blue"),
}
_RANK = {DateState.MISSING: 3, DateState.THIN: 2, DateState.PRESENT: 1, DateState.BOOTSTRAP: 0}
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


def worst(states: Sequence[DateState]) -> DateState:
    return max(states, key=lambda s: _RANK[s])


def strip_lines(
    cov: TableCoverage, starts: Sequence[dt.date], width: int
) -> tuple[list[Text], int]:
    """The map's lines at `width` columns, and k (dates per cell)."""
    cells = max(8, width - LABEL_WIDTH)
    groups = seasons(list(cov.states), starts)
    longest = max((len(g) for _, g in groups), default=0)
    k = max(1, math.ceil(longest / (cells * MAX_LINES_PER_SEASON))) if longest else 1
    lines: list[Text] = []
    for label, days in groups:
        states = [cov.states[d] for d in days]
        merged = [worst(states[i : i + k]) for i in range(0, len(states), k)]
        for n, offset in enumerate(range(0, len(merged), cells)):
            line = Text((label if n == 0 else "").ljust(LABEL_WIDTH), style="dim")
            for state in merged[offset : offset + cells]:
                glyph, style = GLYPH[state]
                line.append(glyph, style)
            lines.append(line)
    return lines, k


def legend(k: int) -> Text:
    text = Text()
    for state, name in (
        (DateState.PRESENT, "present"),
        (DateState.THIN, "thin"),
        (DateState.MISSING, "missing"),
        (DateState.BOOTSTRAP, "bootstrap"),
    ):
        glyph, style = GLYPH[state]
        text.append(glyph, style)
        text.append(f" {name}  ")
    if k > 1:
        text.append(f"1 cell = {k} dates (worst shown)", "dim")
    return text


class GapMap(Vertical):
    """The selected table's gap map; `show()` diffs line by line."""

    DEFAULT_CSS = """
    GapMap { height: auto; }
    GapMap > Static { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cov: TableCoverage | None = None
        self._starts: list[dt.date] = []
        self._lines: list[Static] = []
        self._texts: list[Text] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="gap-title")
        yield Static("", id="gap-legend")

    def show(self, cov: TableCoverage | None, starts: Sequence[dt.date], note: str = "") -> None:
        """Show `cov` (None: a hint instead of a map). Cheap when nothing changed."""
        self._cov, self._starts = cov, list(starts)
        title = self.query_one("#gap-title", Static)
        if cov is None:
            self._set(title, Text(note or "select a table to see its gap map", style="dim"))
            self._render_lines([])
            self._set(self.query_one("#gap-legend", Static), Text(""))
            return
        runs = len(cov.missing_runs)
        head = Text(f"gaps {cov.name}", style="bold")
        head.append(
            f"  {cov.present}/{cov.expected} {pct_text(cov.share)}"
            f" · {len(cov.missing)} missing in {runs} run{'s' if runs != 1 else ''}"
        )
        if cov.thin:
            head.append(f" · {len(cov.thin)} thin")
        self._set(title, head)
        width = self.content_region.width or self.app.size.width
        lines, k = strip_lines(cov, self._starts, width)
        self._render_lines(lines)
        self._set(self.query_one("#gap-legend", Static), legend(k))

    def on_resize(self) -> None:
        if self._cov is not None:
            self.show(self._cov, self._starts)

    def _set(self, widget: Static, text: Text) -> None:
        if getattr(widget, "_nba_text", None) != text:
            widget._nba_text = text  # type: ignore[attr-defined]
            widget.update(text)

    def _render_lines(self, lines: list[Text]) -> None:
        legend_widget = self.query_one("#gap-legend", Static)
        while len(self._lines) < len(lines):
            strip = Static("", classes="gap-strip")
            self._lines.append(strip)
            self.mount(strip, before=legend_widget)
        while len(self._lines) > len(lines):
            self._lines.pop().remove()
        for widget, text in zip(self._lines, lines, strict=True):
            self._set(widget, text)
