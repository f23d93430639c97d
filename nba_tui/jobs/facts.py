"""A job's facts, derived from its record once for every reader: how long it ran, which dates it
asks for, what it cost. The dashboard's grid, `nba-tui jobs`, the morning report, the plan runner
and the progress rate all take them from here (its state in words: words.py).

- **Run time** (`run_seconds`): from its start to its end, or to `now` while it is active, less
  the time it spent paused: the pauses it resumed from (`paused_total`) and the one it is in
  (`paused_at`, until its end for a job that ended paused). A job that never started has none.
- **Dates** (`date_set`, `record_dates`, `date_count`, `span`): its list of dates, or every day
  of its range (a range covers every expected date inside it); none when they are not ISO dates.
  How many dates a range asks for is the number of expected (game) dates inside it.
- **Cost** (`cost_usd`, `cost_text`): the task time its remote engine reported, times its
  engine's price per task-second (`Capabilities.price_per_task_second`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from nba_tui.jobs.engines.registry import price_per_task_second
from nba_tui.jobs.model import JobRecord
from nba_tui.jobs.words import is_remote

if TYPE_CHECKING:
    from nba_tui.config import Pipeline


def run_seconds(rec: JobRecord, now: float) -> float | None:
    """Seconds the job has run, paused time left out (see the module docstring)."""
    if rec.started_at is None:
        return None
    end = rec.ended_at if rec.ended_at is not None and not rec.state.active else now
    pausing = max(end - rec.paused_at, 0.0) if rec.paused_at is not None else 0.0
    return max(end - rec.started_at - rec.paused_total - pausing, 0.0)


def date_set(dates: Sequence[str] | None, start: str | None, end: str | None) -> set[dt.date]:
    """`dates`, or every day from `start` to `end`; empty when they are not ISO dates."""
    try:
        if dates is not None:
            return {dt.date.fromisoformat(d) for d in dates}
        lo, hi = dt.date.fromisoformat(start or ""), dt.date.fromisoformat(end or "")
    except (TypeError, ValueError):
        return set()
    return {lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)}


def record_dates(rec: JobRecord) -> set[dt.date]:
    """The dates a job asks for: its `dates`, or every day of its range."""
    return date_set(rec.dates, rec.start, rec.end)


def date_count(rec: JobRecord, expected: AbstractSet[dt.date] | None = None) -> int:
    """How many dates a job asks for: its list's length, or of a range the `expected` dates
    inside it (every day of it when `expected` is None); 0 when they are not ISO dates."""
    if rec.dates is not None:
        return len(rec.dates)
    days = record_dates(rec)
    return len(days) if expected is None else len(days & expected)


def span(
    rec: JobRecord, expected: AbstractSet[dt.date] | None = None
) -> tuple[str | None, str | None, int | None]:
    """First date, last date, and how many dates the job asks for (`date_count`); the count of
    a range is None without `expected` (its dates are the schedule's, not the days between)."""
    days = sorted(record_dates(rec))
    if not days:
        return None, None, None
    count = None if rec.dates is None and expected is None else date_count(rec, expected)
    return days[0].isoformat(), days[-1].isoformat(), count


def cost_usd(rec: JobRecord, pipeline: Pipeline) -> float | None:
    """What a remote job's task time cost (task-seconds x its engine's price); None for an
    engine without a price and before the engine reported any task time."""
    if rec.task_seconds is None:
        return None
    price = price_per_task_second(pipeline, rec.engine)
    return None if price is None else rec.task_seconds * price


def money(usd: float) -> str:
    """'$0.12'; a cost below a cent that is not zero reads '<$0.01'."""
    if 0 < usd < 0.005:
        return "<$0.01"
    return f"${usd:,.2f}"


def cost_text(rec: JobRecord, pipeline: Pipeline | None) -> str | None:
    """'$0.12 (5,000 task-s)' for a remote job on a priced engine, '5,000 task-s' for another
    remote job (or without the pipeline's price), None when no task time was reported."""
    if not is_remote(rec) or rec.task_seconds is None:
        return None
    seconds = f"{rec.task_seconds:,.0f} task-s"
    usd = cost_usd(rec, pipeline) if pipeline is not None else None
    return seconds if usd is None else f"{money(usd)} ({seconds})"
