"""Pure cell formatting for the coverage grid: what each column shows, as (text, style) pairs.

Kept free of widgets so the grid can diff plain tuples (a cell is rewritten only when its text or
style changed) and so the formatting is unit-testable. Every state carries a symbol or a word as
well as a colour: the grid must read the same under NO_COLOR and in 16 colours.

Time-like cells are deliberately coarse (elapsed in minutes, ETA in minutes): a cell that ticks
every second would cost terminal bytes on a slow SSH link for no decision the engineer makes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from nba_tui.coverage import TableCoverage

Cell = tuple[str, str]
"""(text, Rich style). Compared by value to decide whether a cell must be rewritten."""

OK, BAD = "✔", "✘"
SPARK = "▁▂▃▄▅▆▇█"

STATE_STYLE = {
    "queued": "cyan",
    "running": "bold green",
    "paused": "bold yellow",
    "done": "green",
    "failed": "bold red",
    "stopped": "yellow",
    "lost": "bold red",
}


@dataclass(frozen=True)
class ColumnSpec:
    """A grid column: a stable key (cells are addressed by it), a label, a width and alignment."""

    key: str
    label: str
    width: int
    right: bool = False

    def pad(self, text: str, *, first: bool = False) -> str:
        """Fit `text` to the column: one leading space as the gap, truncated with an ellipsis."""
        room = self.width if first else self.width - 1
        if len(text) > room:
            text = text[: max(0, room - 1)] + "…"
        body = text.rjust(room) if self.right else text.ljust(room)
        return body if first else " " + body


# Column sets. Narrow fits 80 columns with a 1-column scrollbar; wide shows everything at 120+.
_ALL = {
    "table": ColumnSpec("table", "table", 25),
    "dates": ColumnSpec("dates", "dates", 8, right=True),
    "bar": ColumnSpec("bar", "cover", 7),
    "pct": ColumnSpec("pct", "%", 9, right=True),
    "miss": ColumnSpec("miss", "miss", 5, right=True),
    "last": ColumnSpec("last", "last date", 11),
    "trend": ColumnSpec("trend", "rows", 7),
    "job": ColumnSpec("job", "job", 8),
    "pid": ColumnSpec("pid", "pid", 7, right=True),
    "elapsed": ColumnSpec("elapsed", "elap", 6, right=True),
    "current": ColumnSpec("current", "at date", 11),
    "rate": ColumnSpec("rate", "d/min", 6, right=True),
    "eta": ColumnSpec("eta", "eta", 6, right=True),
}
NARROW_KEYS = ("table", "dates", "bar", "pct", "miss", "job", "current", "eta")
WIDE_KEYS = tuple(_ALL)
WIDE_MIN_WIDTH = 120


def columns_for(width: int) -> list[ColumnSpec]:
    """The column set for a terminal `width` (the wide set needs WIDE_MIN_WIDTH columns)."""
    keys = WIDE_KEYS if width >= WIDE_MIN_WIDTH else NARROW_KEYS
    cols = [_ALL[k] for k in keys]
    if width >= WIDE_MIN_WIDTH:
        cols[0] = ColumnSpec("table", "table", 28)
    return cols


def pct_text(share: float) -> str:
    """A share as a percentage that never rounds up to a false 100.0 %."""
    value = share * 100
    if value < 100 and round(value, 1) >= 100:
        return "99.9%"
    return f"{value:.1f}%"


def bar(share: float, width: int) -> str:
    """Coverage bar of block characters; full only at 100 % (rounded down, never up)."""
    filled = min(width, math.floor(share * width + 1e-9))
    return "█" * filled + "░" * (width - filled)


def sparkline(values: Sequence[int]) -> str:
    """Rows per date as spark characters; a date without rows is a dot (reads as a hole)."""
    top = max(values, default=0)
    if top <= 0:
        return "·" * len(values)
    out = []
    for v in values:
        if v <= 0:
            out.append("·")
        else:
            out.append(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1) + 0.5))])
    return "".join(out)


def duration(seconds: float | None) -> str:
    """Coarse duration: '<1m', '12m', '3h05', '2d04' (changes at most once a minute)."""
    if seconds is None or seconds < 0:
        return "-"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}"


def rate_text(per_min: float | None) -> str:
    if per_min is None or per_min <= 0:
        return "-"
    return f"{per_min:.0f}" if per_min >= 10 else f"{per_min:.1f}"


def coverage_cells(cov: TableCoverage | None) -> dict[str, Cell]:
    """The coverage columns of one table row (placeholders before the first poll)."""
    if cov is None:
        return {k: ("…", "dim") for k in ("dates", "bar", "pct", "miss", "last", "trend")}
    tone = "green" if cov.ok else ("red" if cov.present == 0 else "yellow")
    mark = OK if cov.ok else BAD
    dates = f"{cov.present}/{cov.expected}" if cov.exists else "no table"
    miss = cov.expected - cov.present  # == len(cov.missing), without listing the dates
    return {
        "dates": (dates, "" if cov.exists else "red"),
        "bar": ("", tone),  # filled in by the caller, which knows the column width
        "pct": (f"{mark} {pct_text(cov.share)}", tone),
        "miss": (str(miss) if miss else "-", "red" if miss and not cov.ok else ""),
        "last": (cov.last_date.isoformat() if cov.last_date else "-", ""),
        "trend": (sparkline(cov.trend(6)), "dim"),
    }


@dataclass
class JobCells:
    """What the grid needs to know of a table's job, decoupled from the supervisor's types."""

    state: str
    pid: int | None
    started_at: float | None
    ended_at: float | None
    current_date: str | None
    dates_per_min: float | None
    eta_s: float | None
    exit_code: int | None = None


def job_cells(job: JobCells | None, now: float) -> dict[str, Cell]:
    """The job columns of one table row; blank when the table never had a job."""
    if job is None:
        return {k: ("", "") for k in ("job", "pid", "elapsed", "current", "rate", "eta")}
    active = job.state in ("queued", "running", "paused")
    pid = str(job.pid) if job.pid and active else "-"
    if not active and job.exit_code is not None:
        pid = f"rc={job.exit_code}"
    elapsed = None
    if job.started_at is not None:
        elapsed = (job.ended_at if job.ended_at and not active else now) - job.started_at
    return {
        "job": (job.state, STATE_STYLE.get(job.state, "")),
        "pid": (pid, "dim"),
        "elapsed": (duration(elapsed), "dim"),
        "current": (job.current_date or "-", ""),
        "rate": (rate_text(job.dates_per_min) if active else "-", ""),
        "eta": (duration(job.eta_s) if active and job.eta_s is not None else "-", ""),
    }


def phase_cells(name: str, covs: Sequence[TableCoverage | None]) -> dict[str, Cell]:
    """A phase header row: the phase name and a verdict that reads without colour."""
    known = [c for c in covs if c is not None]
    short = sum(1 for c in known if not c.ok)
    if len(known) < len(covs):
        return {"table": (name.upper(), "bold")}
    if short:
        return {"table": (f"{name.upper()} {BAD} {short} short", "bold yellow")}
    return {"table": (f"{name.upper()} {OK} complete", "bold green")}


def season_label(start: dt.date) -> str:
    """'21-22' for the season starting in October 2021 (a calendar-year season reads '2021')."""
    if start.month >= 7:
        return f"{start.year % 100:02d}-{(start.year + 1) % 100:02d}"
    return f"{start.year}"
