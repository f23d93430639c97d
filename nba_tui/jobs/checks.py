"""Bounds on what callers hand the supervisor, checked before anything touches a file or a process.

Why here and not only in the CLI: the dashboard, the plan runner and scripts call the supervisor
too, and a value that reaches the filesystem (an id 5,000 characters long), a wait (`grace=nan`
never ends) or a backfill (`dates=[]` must not mean "everything") must be refused the same way
for all of them. Every refusal is a `JobError`: one line, saying what is allowed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nba_tui.jobs.errors import JobError
from nba_tui.jobs.facts import date_set, record_dates
from nba_tui.jobs.model import JobRecord
from nba_tui.jobs.store import MAX_ID, MAX_NAME, log_name_ok, safe_id

if TYPE_CHECKING:
    from nba_tui.config import Pipeline

MAX_GRACE = 86_400.0
"""A stop's grace period is at most a day (longer is a typo, and inf never ends)."""


def ref(value: object, what: str = "job") -> str:
    """A job id, plan id or table name as given: short, letters, digits, `-` and `_` only
    (a table name, or a reference that may be one, may be up to MAX_NAME long)."""
    limit = MAX_NAME if "table" in what else MAX_ID
    if not isinstance(value, str) or not safe_id(value, limit):
        shown = str(value)[:40] + ("…" if len(str(value)) > 40 else "")
        raise JobError(f"invalid {what} {shown!r}: at most {limit} letters, digits, '-' or '_'")
    return value


def grace(value: object) -> float:
    """Seconds between TERM and KILL: a finite number from 0 to a day."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise JobError(f"grace must be a number of seconds, not {str(value)[:40]!r}") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_GRACE:
        raise JobError(f"grace must be between 0 and {MAX_GRACE:.0f} seconds, not {value}")
    return seconds


def dates(
    pipeline: Pipeline,
    start: dt.date | None,
    end: dt.date | None,
    days: Sequence[dt.date] | None,
) -> None:
    """Dates inside the pipeline's range; an empty list is refused (never "the whole range")."""
    first, last = pipeline.range.start, pipeline.range.end
    span = f"{first}..{last}"
    if days is not None:
        if start is not None or end is not None:
            raise JobError("give either dates or a range, not both")
        if len(days) == 0:
            raise JobError("no dates given (an empty list never means the whole range)")
        outside = sorted(d for d in set(days) if not first <= d <= last)
        if outside:
            raise JobError(
                f"{len(outside)} date(s) outside the pipeline's range {span}: {outside[0]}"
            )
        return
    lo, hi = start or first, end or last
    if lo > hi:
        raise JobError(f"start {lo} is after end {hi}")
    if lo < first or hi > last:
        raise JobError(f"{lo}..{hi} is outside the pipeline's range {span}")


def recorded_dates(
    rec: JobRecord,
) -> tuple[dt.date | None, dt.date | None, list[dt.date] | None]:
    """A record's dates as dates (for a restart); JobError when they are not ISO dates."""
    try:
        if rec.dates is not None:
            return None, None, [dt.date.fromisoformat(d) for d in rec.dates]
        start = dt.date.fromisoformat(rec.start) if rec.start else None
        end = dt.date.fromisoformat(rec.end) if rec.end else None
    except (TypeError, ValueError):
        raise JobError(f"job {rec.id}: its recorded dates are not ISO dates") from None
    return start, end, None


def overlap(table: str, plan: str, fields: dict[str, Any], others: list[JobRecord]) -> str | None:
    """Why a shard of `plan` may not start beside the table's active jobs `others` (another
    plan's or a hand launch, or the same plan's on the same dates), or None."""
    mine = date_set(fields.get("dates"), fields.get("start"), fields.get("end"))
    for r in others:
        if r.table != table or not r.state.active:
            continue
        if r.plan != plan or r.shard is None:
            who = f"plan {r.plan}" if r.plan else f"{r.user}'s launch"
            return f"{table} already has an active job {r.id} ({r.state}, {who}); stop it first"
        if mine & record_dates(r):
            return f"{table}: shard dates overlap job {r.id} of plan {plan}"
    return None


def log_file(log_dir: Path, rec: JobRecord) -> str:
    """The job's log: the log directory + the recorded file's *name* when it is one we could
    have made; "" otherwise. A record never points us at another file (/etc/shadow)."""
    if not rec.log:
        return ""
    name = Path(rec.log).name
    return str(log_dir / name) if log_name_ok(name) else ""
