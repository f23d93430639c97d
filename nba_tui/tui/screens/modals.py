"""Modal screens: confirmation, preflight report, action history, help.

All are plain text in a bordered box that fits the screen (at 80x24 too) and scrolls: Up/Down,
PageUp/PageDown, Home/End, j/k, the mouse wheel. They say their verdict with a symbol as well as a
colour. A wrapped line keeps its indent (`hanging`), so a long bullet or command stays readable.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from nba_tui.fmt import printable
from nba_tui.morning_report import MorningReport, render_report
from nba_tui.preflight import PreflightReport, format_command, render
from nba_tui.tui.upstream import release_render_caches

CHROME = 4
"""Rows the box needs besides its text: two borders and a row of margin above and below."""
BOX_WIDTH = 100
"""The box's width at most (`#box` in app.tcss)."""
BOX_SIDES = 4
"""Columns the box takes beside its text: two borders and the vertical scrollbar."""
_INDENT = re.compile(r"^(\s*)(?:[-•*✘✔·] |\$ )?")


def hanging(text: Text) -> Group:
    """`text` line by line, each continued under its own indent when it wraps (Rich would wrap
    to column 0): the indent and any bullet go in a fixed first column."""
    rows: list[RenderableType] = []
    for line in text.split("\n", allow_blank=True):
        match = _INDENT.match(line.plain)
        cut = match.end() if match else 0
        if cut == 0 or cut >= len(line.plain):
            rows.append(line)
            continue
        grid = Table.grid()
        grid.add_column(width=cut, no_wrap=True)
        grid.add_column()
        grid.add_row(line[:cut], line[cut:])
        rows.append(grid)
    return Group(*rows)


class _Box(ModalScreen[bool]):
    """A bordered, scrollable text box; Escape/q closes it (result False)."""

    BINDINGS = [
        Binding("escape,q", "close", "close"),
        Binding("up,k", "scroll(-1)", "up", show=False),
        Binding("down,j", "scroll(1)", "down", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown,space", "page(1)", show=False),
        Binding("home,g", "edge(0)", show=False),
        Binding("end,G", "edge(1)", show=False),
    ]

    def __init__(self, title: str, body: RenderableType, footer: str, *, classes: str = "") -> None:
        super().__init__(classes=classes)
        self._title = title
        self._body = body
        self._footer = footer

    def compose(self) -> ComposeResult:
        with Vertical(id="box") as box:
            box.border_title = self._title
            box.border_subtitle = self._footer
            with VerticalScroll(id="box-body"):
                yield Static(self._body, id="box-text")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def on_unmount(self) -> None:
        release_render_caches()  # what Textual would keep of this box's rendering

    def _fit(self, height: int) -> None:
        """The text area is as tall as the screen allows, so the box is never cut by the screen
        (it scrolls instead): a fixed max-height of 20 rows left the end of a long report off
        screen at 80x24, out of reach of the scroll keys."""
        self.query_one("#box-body", VerticalScroll).styles.max_height = max(3, height - CHROME)

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#box-body", VerticalScroll)

    def action_close(self) -> None:
        self.dismiss(False)

    def action_scroll(self, lines: int) -> None:
        self.body.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        body = self.body
        body.scroll_relative(y=pages * max(1, body.size.height - 1), animate=False)

    def action_edge(self, end: int) -> None:
        body = self.body
        body.scroll_to(y=body.max_scroll_y if end else 0, animate=False)


class ConfirmScreen(_Box):
    """Yes/no question asked as `[y/N]`: only y confirms; Enter takes the default, no (a
    reflexive Enter must not redo hundreds of present dates or stop a job)."""

    BINDINGS = [
        Binding("y", "confirm", "yes"),
        Binding("n,enter,escape,q", "close", "no"),
    ]

    def __init__(self, title: str, lines: Sequence[str], question: str) -> None:
        body = Text("\n".join(lines))
        body.append(f"\n\n{question} [y/N]", style="bold")
        super().__init__(title, body, "y yes · n/Enter/Esc no", classes="confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)


class PreflightScreen(_Box):
    """The preflight report of a phase: `preflight.render(compact=True)`, the CLI's one
    rendering in its 78-column form (keys and short commands, no absolute paths)."""

    def __init__(self, report: PreflightReport) -> None:
        footer = "↑↓ PgUp PgDn scroll · Esc close"
        super().__init__(self._title_of(report), self._body_of(report), footer)
        self.report = report
        self.set_class(report.ready, "ready")

    @staticmethod
    def _title_of(report: PreflightReport) -> str:
        verdict = "✔ READY" if report.ready else "✘ NOT READY"
        return f"preflight of phase {report.phase} (may its tables start?): {verdict}"

    @staticmethod
    def _body_of(report: PreflightReport) -> RenderableType:
        body = render(report, compact=True)
        return hanging(body) if isinstance(body, Text) else body

    def set_report(self, report: PreflightReport) -> None:
        """Live update on each poll: the verdict turns green as the inputs fill up."""
        old, self.report = self.report, report
        if report.to_json() == old.to_json():
            return
        self.set_class(report.ready, "ready")
        self.query_one("#box", Vertical).border_title = self._title_of(report)
        self.query_one("#box-text", Static).update(self._body_of(report))


class MorningScreen(_Box):
    """The morning report (`morning_report.render_report`, the CLI's `nba-tui report` text),
    rendered for the box's width so that no row of its tables wraps (at 80x24 too)."""

    def __init__(self, report: MorningReport) -> None:
        self.report = report
        self.width = 0
        footer = "↑↓ PgUp PgDn scroll · Esc close · nba-tui report --json for scripts"
        super().__init__("morning report (last 12 h)", Text(""), footer, classes="morning")

    def on_mount(self) -> None:
        super().on_mount()
        self._render_for(self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        self._render_for(event.size.width)

    def _render_for(self, screen_width: int) -> None:
        """The text area's width: the box (at most BOX_WIDTH) less its borders and scrollbar."""
        width = max(40, min(BOX_WIDTH, screen_width) - BOX_SIDES)
        if width == self.width:
            return
        self.width = width
        text = render_report(self.report, width).rstrip("\n")
        self.query_one("#box-text", Static).update(hanging(Text(text)))


class HistoryScreen(_Box):
    """The action log, newest first, with the exact argument lists (copy and re-run by hand);
    a plan's job actions are counted on its line (`nba-tui history --all` lists them)."""

    def __init__(self, entries: Iterable[object]) -> None:
        body = Text()
        count = 0
        items: list = list(entries)  # folded already (`actions.history_lines`)
        for entry in reversed(items):  # newest first
            count += 1
            body.append(format_history(entry) + "\n")
        if not count:
            body.append("no actions recorded yet", "dim")
        super().__init__("action history", hanging(body), "Esc close", classes="history")


def format_history(entry: object) -> str:
    """One action as two lines: when/who/what, then the argv (long --dates lists shortened;
    `nba-tui history` prints them in full for copying)."""
    data = entry if isinstance(entry, dict) else getattr(entry, "__dict__", {"entry": entry})
    when = data.get("time") or data.get("ts")
    if isinstance(when, int | float):
        when = dt.datetime.fromtimestamp(when).strftime("%m-%d %H:%M:%S")
    elif isinstance(when, str) and len(when) >= 19:
        when = when[5:19].replace("T", " ")
    argv = data.get("argv")
    cmd = format_command([str(a) for a in argv]) if isinstance(argv, list) else ""
    fields = (when, data.get("user"), data.get("action"), data.get("table"), data.get("job"))
    if not data.get("job"):
        fields = (*fields, data.get("plan"))
    head = printable(" ".join(str(x) for x in fields if x))
    folded = data.get("folded")
    if isinstance(folded, dict) and folded:
        head += printable(" · jobs: " + ", ".join(f"{n} {a}" for a, n in folded.items()))
    return head + (f"\n    $ {printable(cmd)}" if cmd else "")


class HelpScreen(_Box):
    """Every key, including the ones hidden because they do not apply right now. `?` closes it
    as it opened it."""

    BINDINGS = [Binding("question_mark", "close", "close", show=False)]

    def __init__(self, keys: Sequence[tuple[str, str]], read_only: bool) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True, min_width=8)
        grid.add_column()  # long descriptions wrap under themselves, not under the keys
        for key, text in keys:
            grid.add_row(f" {key}", text)
        note = Text(
            "\nKeys that do not apply to the selected row are hidden from the footer.\n"
            "Ctrl+P opens the command palette with the same actions.",
            "dim",
        )
        if read_only:
            note.append("\nRead-only: nothing can be launched or signalled.", "bold")
        super().__init__("keys", Group(grid, note), "Esc close", classes="help")


class PlanScreen(_Box):
    """The plan view (`plan_text.render_plan_view`): per table, dates done of the plan's own
    total, running shards, waiting dates by reason, quarantined and degraded dates; the plan's
    progress and forecast end."""

    def __init__(self, text: str, plan_id: str | None = None) -> None:
        footer = "↑↓ scroll · Esc close · nba-tui plans for every plan"
        super().__init__("plan", Text(text.rstrip("\n")), footer, classes="morning")
        self.plan_id = plan_id
        """The plan shown: the dashboard renders it again after each job refresh."""

    def set_text(self, text: str) -> None:
        """The view rendered again (the scroll position kept); nothing once it is closed."""
        if self.is_attached:
            self.query_one("#box-text", Static).update(Text(text.rstrip("\n")))
