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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nba_tui import readiness
from nba_tui.config import Pipeline
from nba_tui.coverage import Rate, Snapshot, TableCoverage
from nba_tui.fmt import duration, pct, printable
from nba_tui.jobs.engines.registry import capabilities
from nba_tui.jobs.facts import run_seconds
from nba_tui.jobs.model import JobRecord, JobState, JobView
from nba_tui.jobs.words import is_remote, killed_by, signal_name, state_word

Cell = tuple[str, str]
"""(text, Rich style). Compared by value to decide whether a cell must be rewritten."""

OK, BAD = "✔", "✘"
DEGRADED = "▓"
"""Marks degraded dates (rows on synthetic fallbacks) by choice (`--skip-preflight`): after the
share in the grid, a cell of the gap map."""
NECESSITY = "▚"
"""Marks dates degraded by necessity (a soft input nothing can fill), where no date is degraded
by choice: after the share in the grid, a cell of the gap map."""
SPARK = "▁▂▃▄▅▆▇█"

STATE_STYLE = {
    "queued": "cyan",
    "running": "bold green",
    "paused": "bold yellow",
    "done": "green",
    "failed": "bold red",
    "stopped": "yellow",
    "lost": "bold red",
    "killed": "bold red",
    "cancelled": "yellow",
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
    "pct": ColumnSpec("pct", "%", 10, right=True),
    "miss": ColumnSpec("miss", "miss", 5, right=True),
    "last": ColumnSpec("last", "last date", 11),
    "trend": ColumnSpec("trend", "rows", 5),
    "job": ColumnSpec("job", "job", 11),
    "pid": ColumnSpec("pid", "pid", 7, right=True),
    "elapsed": ColumnSpec("elapsed", "elap", 6, right=True),
    "current": ColumnSpec("current", "at date", 11),
    "rate": ColumnSpec("rate", "d/min", 5, right=True),
    "eta": ColumnSpec("eta", "eta", 6, right=True),
}
"""The job column fits its longest word ('cancelled', 'counting', 'done 21/21') after a space;
the % column a degraded mark after the share ('✔ 100.0%▚'). `miss` (the dates column's
difference) is left out at 80 columns for them."""
NARROW_KEYS = ("table", "dates", "bar", "pct", "job", "current", "eta")
WIDE_KEYS = tuple(_ALL)
WIDE_MIN_WIDTH = 120


def columns_for(width: int) -> list[ColumnSpec]:
    """The column set for a terminal `width` (the wide set needs WIDE_MIN_WIDTH columns)."""
    wide = width >= WIDE_MIN_WIDTH
    cols = [_ALL[k] for k in (WIDE_KEYS if wide else NARROW_KEYS)]
    cols[0] = ColumnSpec("table", "table", 28 if wide else 26)
    if wide:
        cols[2] = ColumnSpec("bar", "cover", 6)
    return cols


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


def rate_text(per_min: float | None) -> str:
    if per_min is None or per_min <= 0:
        return "-"
    return f"{per_min:.0f}" if per_min >= 10 else f"{per_min:.1f}"


def coverage_cells(cov: TableCoverage | None, necessity_only: bool = False) -> dict[str, Cell]:
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
        "pct": pct_cell(cov, mark, tone, necessity_only),
        "miss": (str(miss) if miss else "-", "red" if miss and not cov.ok else ""),
        "last": (cov.last_date.isoformat() if cov.last_date else "-", ""),
        "trend": (sparkline(cov.trend(4)), "dim"),  # the rows of the last 4 dates
    }


def pct_cell(cov: TableCoverage, mark: str, tone: str, necessity_only: bool = False) -> Cell:
    """The share with its verdict; a table with degraded dates gets the ▓ marker after it, ▚
    when all are degraded by necessity (the gap map's glyphs; its title gives the degraded
    share); every row keeps the mark's place, so the shares stay aligned."""
    suffix = (NECESSITY if necessity_only else DEGRADED) if cov.degraded else " "
    return (f"{mark} {pct(cov.share)}{suffix}", tone)  # the same width with or without


SHORT_STATE = {
    "queued": "que",
    "running": "run",
    "paused": "pau",
    "done": "done",
    "failed": "fail",
    "stopped": "stop",
    "lost": "lost",
    "killed": "kill",
}
"""A shard job's state, short enough to leave room for its shard number ("run 2/4")."""


def job_word(state: str, shard: tuple[int, int] | None, room: int = 10) -> str:
    """The job column's text: the state, or for a plan's shard its short state and `i/n`
    (`#i` while the plan runs, or where `i/n` would not fit `room`)."""
    if shard is None:
        return state
    short = SHORT_STATE.get(state, state)
    text = f"{short} {shard_text(shard)}"
    return text if len(text) <= room else f"{short} #{shard[0]}"


def shard_text(shard: tuple[int, int]) -> str:
    """'3/8': shard 3 of the plan's 8 for the table; '#3' while the plan runs (n = 0)."""
    return f"{shard[0]}/{shard[1]}" if shard[1] else f"#{shard[0]}"


# -- remote jobs ----------------------------------------------------------------------------------

REMOTE_SHORT = {
    "queued": "que",
    "running": "run",
    "paused": "pau",
    "done": "ok",
    "failed": "err",
    "stopped": "stp",
    "lost": "lst",
    "killed": "kil",
    "cancelled": "cxl",
}
"""A remote job's state in its grid cell: at most 3 characters, so `state@engine` fits."""


def remote_word(rec: JobRecord, shard: tuple[int, int] | None, room: int = 7) -> str:
    """A remote job's grid cell: its short state and engine mark ('run@ray', 'pau@cr'); a
    plan's shard keeps its `i/n` and as much of the mark as fits ('run2/4@')."""
    short = REMOTE_SHORT.get(state_word(rec), "?")
    mark = capabilities(rec.engine).mark  # 'run@ray', 'pau@cr'
    if shard is None:
        return f"{short}@{mark}"
    where = shard_text(shard)
    for text in (f"{short}@{mark} {where}", f"{short}{where}@{mark}", f"{short}{where}@"):
        if len(text) <= room:
            return text
    return f"{short}{where}"


JOB_KEYS = ("job", "pid", "elapsed", "current", "rate", "eta")


def job_cells(
    view: JobView | None,
    now: float,
    rate: Rate | None = None,
    cov: TableCoverage | None = None,
    shard: tuple[int, int] | None = None,
) -> dict[str, Cell]:
    """The job columns of one table row; blank when the table never had a job.

    Rate and ETA come from the job's log when its progress regex gives them, else from the
    coverage polls' rate (`rate`, `cov`): a program that logs no totals still gets an ETA."""
    if view is None:
        return {k: ("", "") for k in JOB_KEYS}
    rec, prog = view.record, view.progress
    active = rec.state.active
    per_min, eta = prog.dates_per_min, prog.eta_s
    if per_min is None and rate is not None:
        per_min = rate.per_minute()
    if eta is None and rate is not None and cov is not None and prog.total is None:
        eta = rate.eta_seconds(cov.expected - cov.present)
    if eta is None and per_min and prog.total is not None:
        eta = max(0, prog.total - prog.done) / per_min * 60
    pid = str(rec.pid) if rec.pid and active else "-"
    sig = killed_by(rec)
    if sig is not None:
        pid = signal_name(sig)  # 'SIGKILL': the pid column's seven characters
    elif not active and rec.exit_code is not None:
        pid = f"rc={rec.exit_code}"
    elapsed = run_seconds(rec, now)
    state = state_word(rec)
    moving = rec.state is JobState.RUNNING  # a paused or queued job has no rate and no ETA
    word, style = job_word(state, shard), STATE_STYLE.get(state, "")
    current = printable(prog.current_date or "-")
    if is_remote(rec):
        word, style = remote_word(rec, shard), STATE_STYLE.get(state_word(rec), "")
        if moving and rec.pause_requested:
            style = "yellow"  # being paused: stopped on its engine, then PAUSED
        if rec.state is JobState.PAUSED:  # stopped on its engine: no process, N dates kept
            pid = "-"
            if rec.remote_left is not None:
                current = f"{len(rec.remote_left)} left"
    return {
        "job": (word, style),
        "pid": (pid, "dim"),
        "elapsed": (duration(elapsed), "dim"),
        "current": (current, ""),
        "rate": (rate_text(per_min) if moving else "-", ""),
        "eta": (duration(eta) if moving and eta is not None else "-", ""),
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


PHASE_PREFIX = "phase:"
"""Row key prefix of a phase header row (a table's row key is the table's name)."""


def row_keys(pipeline: Pipeline) -> list[str]:
    """The grid's rows in dependency order: each phase's header row, then its tables."""
    keys = []
    for phase in pipeline.phases:
        keys.append(PHASE_PREFIX + phase.name)
        keys.extend(t.name for t in phase.tables)
    return keys


def filter_keys(pipeline: Pipeline, text: str) -> list[str]:
    """The row keys shown for a filter text (case-insensitive, part of a name): matching tables
    under their phase's header; a phase whose name matches keeps all its tables."""
    needle = text.strip().lower()
    if not needle:
        return row_keys(pipeline)
    keys: list[str] = []
    for phase in pipeline.phases:
        whole = needle in phase.name.lower()
        names = [t.name for t in phase.tables if whole or needle in t.name.lower()]
        if names:
            keys += [PHASE_PREFIX + phase.name, *names]
    return keys


def grid_rows(
    pipeline: Pipeline,
    snap: Snapshot | None,
    jobs: Mapping[str, JobView],
    rates: Mapping[str, Rate],
    now: float,
    bar_width: int,
    shards: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, dict[str, Cell]]:
    """Every cell of the grid, by row key and column key (the grid writes only what changed)."""
    rows: dict[str, dict[str, Cell]] = {}
    kinds = readiness.degraded_counts(pipeline, snap) if snap is not None else {}
    for phase in pipeline.phases:
        covs = [snap.tables.get(t.name) if snap else None for t in phase.tables]
        rows[PHASE_PREFIX + phase.name] = phase_cells(phase.name, covs)
        for table, cov in zip(phase.tables, covs, strict=True):
            cells: dict[str, Cell] = {"table": (table.name, "")}
            cells.update(coverage_cells(cov, kinds.get(table.name, (0, 1))[1] == 0))
            if cov is not None:
                cells["bar"] = (bar(cov.share, bar_width), cells["bar"][1])
            view = jobs.get(table.name)
            shard = (shards or {}).get(view.id) if view is not None else None
            cells.update(job_cells(view, now, rates.get(table.name), cov, shard))
            if counting(view, snap):
                cells["job"] = COUNTING
            rows[table.name] = cells
    return rows


def job_rows(
    pipeline: Pipeline,
    snap: Snapshot | None,
    jobs: Mapping[str, JobView],
    rates: Mapping[str, Rate],
    now: float,
    tables: Iterable[str],
    shards: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, dict[str, Cell]]:
    """The job cells of `tables` only: a job refresh rebuilds the rows whose job changed (or
    is active: its elapsed time moves), not the whole grid."""
    known = {t.name for t in pipeline.tables()}
    out: dict[str, dict[str, Cell]] = {}
    for name in tables:
        if name not in known:
            continue
        view = jobs.get(name)
        shard = (shards or {}).get(view.id) if view is not None else None
        cov = snap.tables.get(name) if snap else None
        out[name] = job_cells(view, now, rates.get(name), cov, shard)
        if counting(view, snap):
            out[name]["job"] = COUNTING
    return out


COUNTING: Cell = ("counting", "dim")
"""The job cell of a job that ended after the coverage beside it was counted."""


def counting(view: JobView | None, snap: Snapshot | None) -> bool:
    """The job ended after `snap` asked the warehouse: its end state waits for a poll that
    counts what it wrote (never `done` beside coverage older than the job's end)."""
    if view is None or snap is None or view.state.active:
        return False
    ended = view.record.ended_at
    return ended is not None and ended > snap.counted_at


def same_coverage(old: Snapshot, new: Snapshot) -> bool:
    """Every table's coverage is the very object of the previous poll (`CoverageCache`)."""
    if old.tables.keys() != new.tables.keys() or old.expected_dates != new.expected_dates:
        return False
    return all(old.tables[name] is cov for name, cov in new.tables.items())


def first_short(pipeline: Pipeline, snap: Snapshot) -> str | None:
    """The first table short of its threshold that can be backfilled (what needs attention)."""
    for t in pipeline.tables():
        cov = snap.tables.get(t.name)
        if t.backfill is not None and cov is not None and not cov.ok:
            return t.name
    return None
