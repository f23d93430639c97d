"""Facts the dashboard derives from a job listing, and one-line texts for its toasts: plain
Python (no Textual), used by JobControl (control.py) and the workers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nba_tui import fmt
from nba_tui.coverage import Snapshot
from nba_tui.jobs.model import JobView, Plan, PlanState


def one_line(error: BaseException | None) -> str:
    """The first line of an error, for a toast or the header (never a traceback)."""
    return fmt.one_line(error, first=True)


def latest_per_table(views: Iterable[JobView]) -> dict[str, JobView]:
    """Per table: its active job if any, else its most recent one (what its row shows)."""
    out: dict[str, JobView] = {}
    for v in views:
        cur = out.get(v.record.table)
        rank = (v.state.active, v.record.created_at or 0)
        if cur is None or rank > (cur.state.active, cur.record.created_at or 0):
            out[v.record.table] = v
    return out


def shard_positions(
    views: Iterable[JobView], plans: Mapping[str, Plan] | None = None
) -> dict[str, tuple[int, int]]:
    """Job id -> (i, n): the job is its plan's shard i of n for its table (shards ordered by
    their first date; a retry of a shard keeps the shard's place). Jobs outside a plan's
    shards are absent. n is 0 for a plan of `plans` still running: it launches more shards
    as slots free, so its total is not known yet."""
    views = list(views)
    live = {i for i, p in (plans or {}).items() if p.state in (PlanState.RUNNING, PlanState.LOST)}
    labels: dict[tuple[str, str], set[str]] = {}
    for v in views:
        rec = v.record
        if rec.plan and rec.shard:
            labels.setdefault((rec.plan, rec.table), set()).add(rec.shard)
    out: dict[str, tuple[int, int]] = {}
    for v in views:
        rec = v.record
        group = labels.get((rec.plan or "", rec.table))
        if group and rec.shard:
            order = sorted(group)
            out[rec.id] = (order.index(rec.shard) + 1, 0 if rec.plan in live else len(order))
    return out


def active_per_plan(views: Iterable[JobView]) -> dict[str, int]:
    """Plan id -> how many of its jobs are active (what stopping the plan stops)."""
    out: dict[str, int] = {}
    for v in views:
        if v.record.plan and v.state.active:
            out[v.record.plan] = out.get(v.record.plan, 0) + 1
    return out


def describe(result: Any) -> str:
    """A supervisor call's result as a one-line confirmation toast."""
    if isinstance(result, Plan):  # a phase launch
        n = len(result.jobs)
        s = "s" if n != 1 else ""
        return f"plan {result.id}: {n} job{s} queued ({', '.join(result.phases)})"
    views = result if isinstance(result, list) else [result]
    ids = [f"{v.record.table} ({v.record.id})" for v in views if isinstance(v, JobView)]
    return ", ".join(ids) if ids else "done"


def missing_of(snapshot: Snapshot | None, view: JobView) -> int | None:
    """How many of the job's dates the warehouse lacks (in `snapshot`); None before the first
    poll."""
    rec = view.record
    cov = snapshot.tables.get(rec.table) if snapshot is not None else None
    if cov is None:
        return None
    missing = [d.isoformat() for d in cov.missing]
    if rec.dates is not None:
        wanted = set(rec.dates)
        return sum(1 for d in missing if d in wanted)
    lo, hi = rec.start or "0000-00-00", rec.end or "9999-99-99"  # ISO dates sort as text
    return sum(1 for d in missing if lo <= d <= hi)
