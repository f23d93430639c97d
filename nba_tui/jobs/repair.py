"""A plan's failed job restarted to done: the plan says so.

`nba-tui restart JOB` (or `r` in the dashboard) on a job a plan ended `failed` for — a shard whose
dates were quarantined, a phase launch's job that failed — runs its dates again as a new job
outside the plan (`restarted_from`). When that job exits 0, its shim calls `after_exit`: the
plan's quarantined dates the job covered are no longer quarantined, its table is no longer
among `failed_tables`, the message says which job filled them, and a plan with nothing failed
left is no longer `failed` (done, or short / stopped where that is what is left, read from the
plan's own lines). When the shim has the pipeline file, that end is then said again from a fresh
poll, as the plan's runner ends a plan (`plan_end.conclude`); the plan's other lines stay as its
runner wrote them. A plan this ends otherwise than `failed` sends the event of its new end, once
(`plan_done`, or `plan_short`; to events.jsonl and the alert hook).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nba_tui.jobs.events import Event, new_event
from nba_tui.jobs.model import JobRecord, JobState, Plan, PlanState
from nba_tui.jobs.store import Store

if TYPE_CHECKING:
    from nba_tui.config import Pipeline
    from nba_tui.jobs.plan_end import Ending

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
    said = note(job, table)
    if plan.failed_tables or any(plan.quarantined.values()):
        plan.message = f"{said}; failed: {', '.join(plan.failed_tables)}"
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
        said += "; dates downstream of them are still missing"
    plan.message = said
    return True


def after_exit(
    store: Store, rec: JobRecord, pipeline: Pipeline | None = None
) -> tuple[Plan, Event | None] | None:
    """`rec` (a restarted job) exited 0: mend the plan of the job it restarts (under the
    plan's lock); with the `pipeline`, a plan that is no longer failed ends as its runner ends
    a plan, from a fresh poll (`truth`), in the same write. The plan as stored after, with the
    event of its new end recorded when this ended its `failed` (`plan_done`, or `plan_short`;
    once: only a failed plan is mended), or None when there was nothing to mend."""
    if rec.state is not JobState.DONE or not rec.restarted_from:
        return None
    first = origin(store, rec)
    if first is None or first.plan is None:
        return None
    from nba_tui.jobs.plan_end import EVENT

    said = note(rec.id, first.table)
    end = truth(store, pipeline, first.plan, first.table, covers(rec), rec.id) if pipeline else None
    changed: list[bool] = []
    ended: list[bool] = []

    def apply(p: Plan) -> None:
        was = p.state
        changed.append(mend(p, first.table, covers(rec), rec.id))
        if end is not None and changed[-1] and p.state is end[0]:
            p.state, p.short, p.message = end[1].state, end[1].short, f"{said}; {end[1].message}"
        ended.append(p.state is not was)

    plan = store.update_plan(first.plan, apply)
    if plan is None or not any(changed):
        return None
    if not any(ended) or plan.state not in EVENT:
        return plan, None
    event = new_event(EVENT[plan.state], plan=plan.id, detail=plan.message or "")
    store.append_event(event)
    return plan, event


def truth(
    store: Store,
    pipeline: Pipeline,
    plan_id: str,
    table: str,
    covered: Callable[[str], bool],
    job: str,
) -> tuple[PlanState, Ending] | None:
    """How the plan ends once mended, from a fresh poll (`plan_end.conclude`: done only when
    every table meets its threshold): (the state `mend` gives it, the end to record instead);
    None when it stays failed, or the plan or the warehouse cannot be read."""
    from nba_tui.jobs import decide, plan_end
    from nba_tui.monitor import snapshot_once
    from nba_tui.warehouse import WarehouseError

    trial = store.read_plan(plan_id)
    if not isinstance(trial, Plan) or not mend(trial, table, covered, job):
        return None
    if trial.state is PlanState.FAILED:
        return None
    try:
        snap = snapshot_once(pipeline)
    except WarehouseError:
        return None
    end = plan_end.conclude(pipeline, snap, trial, decide.plan_tables(pipeline, trial))
    return (trial.state, end) if end.state is not PlanState.FAILED else None


def note(job: str, table: str) -> str:
    return f"restarted job {job} filled {table}'s failed dates"


def alert(pipeline: Pipeline, event: Event) -> str | None:
    """Deliver `event` to the pipeline's `alerts.on_event` hook (alerts.deliver: once per id);
    what went wrong in one line, else None."""
    from nba_tui.jobs import alerts  # here: the shim imports this module, alerts loads config

    try:
        alerts.deliver(pipeline, event)
    except Exception as e:  # noqa: BLE001 - an alert never fails the job that mended the plan
        return f"cannot alert {event.kind}: {e}"
    return None
