"""A plan's failed job restarted to done: the plan says so.

`nba-tui restart JOB` (or `r` in the dashboard) on a job a plan ended `failed` for — a shard whose
dates were quarantined, a phase launch's job that failed — runs its dates again as a new job
outside the plan (`restarted_from`). When that job exits 0, its shim calls `after_exit`: the
plan's quarantined dates the job covered are no longer quarantined, its table is no longer
among `failed_tables`, the message says which job filled them, and a plan with nothing failed
left is no longer `failed` (done, or short / stopped where that is what is left). Bookkeeping
only: no warehouse poll (the shim has none); the plan's other lines stay as its runner wrote
them.
"""

from __future__ import annotations

from collections.abc import Callable

from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.plans import Plan, PlanState
from nba_tui.jobs.store import Store

MAX_CHAIN = 64
"""Restarts of restarts followed back to the plan's job (a loop in hand-edited records ends)."""


def origin(store: Store, rec: JobRecord) -> JobRecord | None:
    """The plan's job that `rec` restarts (through restarts of restarts), or None."""
    cur = rec
    for _ in range(MAX_CHAIN):
        if cur.plan is not None and cur is not rec:
            return cur
        if not cur.restarted_from:
            return None
        prev = store.load_job(cur.restarted_from)
        if prev is None:
            return None
        cur = prev
    return None


def covers(rec: JobRecord) -> Callable[[str], bool]:
    """Whether an ISO date is one of the job's dates (its list, or its range)."""
    if rec.dates is not None:
        days = set(rec.dates)
        return days.__contains__
    lo, hi = rec.start or "", rec.end or "9999-12-31"
    return lambda d: lo <= d <= hi


def mend(plan: Plan, table: str, covered: Callable[[str], bool], job: str) -> bool:
    """Record in `plan` that `job` filled `table`'s failed dates it covered; False when the plan
    is not a failed one or had nothing failed there."""
    if plan.state is not PlanState.FAILED:
        return False
    quarantined = plan.quarantined.get(table, [])
    left = [d for d in quarantined if not covered(d)]
    if len(left) == len(quarantined) and table not in plan.failed_tables:
        return False
    if left:
        plan.quarantined[table] = left
        return True  # some of its dates still failed: the plan stays failed
    plan.quarantined.pop(table, None)
    plan.failed_tables = [t for t in plan.failed_tables if t != table]
    short = getattr(plan, "short", None)
    if isinstance(short, dict):
        short.pop(table, None)
    note = f"restarted job {job} filled {table}'s failed dates"
    if plan.failed_tables or any(plan.quarantined.values()):
        plan.message = f"{note}; failed: {', '.join(plan.failed_tables)}"
        return True
    plan.failed_stages = []
    still_short = bool(short) or any(plan.skipped_dates.values())
    if plan.stopped_tables:
        plan.state = PlanState.STOPPED
    elif still_short and hasattr(PlanState, "SHORT"):
        plan.state = PlanState.SHORT
    elif not still_short:
        plan.state = PlanState.DONE
    if plan.state is not PlanState.DONE:
        note += "; dates downstream of them are still missing"
    plan.message = note
    return True


def after_exit(store: Store, rec: JobRecord) -> Plan | None:
    """`rec` (a restarted job) exited 0: mend the plan of the job it restarts (under the
    plan's lock); the plan as stored after, or None when there was nothing to mend."""
    if rec.state is not JobState.DONE or not rec.restarted_from:
        return None
    first = origin(store, rec)
    if first is None or first.plan is None:
        return None
    changed: list[bool] = []
    plan = store.update_plan(
        first.plan, lambda p: changed.append(mend(p, first.table, covers(rec), rec.id))
    )
    return plan if plan is not None and any(changed) else None
