"""How a plan ends, truthfully (pure: one snapshot, the plan, the error lines its runner read).

A plan ends when nothing of it runs and nothing can start. `conclude` then says:

* **done** only when every table of the plan meets its threshold over the plan's range (a plan
  with a scope — `launch-phase`, `watch --heal` — when every date of its scope has rows) and no
  date was quarantined;
* **failed** when dates failed in every attempt (quarantined);
* **stopped** when someone stopped a job of it by hand (what did not depend on it ran);
* **short** otherwise: some table is below its threshold.

For every table with dates still missing it names, in words, how many and why: quarantined after
N attempts (with the program's error line and the command that re-runs them), held by an input
that nothing fills (no backfill), that is not in this plan, that is short itself, that was
quarantined or stopped by hand; stopped by hand; or ended by its program without rows. The
runner stores the lines in `Plan.short` and sends `plan_done`, `plan_short` or `plan_failed`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from nba_tui import readiness
from nba_tui.config import Pipeline
from nba_tui.coverage import DateState, Snapshot
from nba_tui.jobs.model import Plan, PlanState

EVENT = {
    PlanState.DONE: "plan_done",
    PlanState.FAILED: "plan_failed",
    PlanState.STOPPED: "plan_short",
    PlanState.SHORT: "plan_short",
}


@dataclass
class Ending:
    state: PlanState
    message: str
    short: dict[str, str] = field(default_factory=dict)
    """Table -> one line: how many dates are missing and why."""
    stopped: list[str] = field(default_factory=list)
    """Tables someone stopped a job of by hand (the plan's record of its stopped jobs); tables
    whose dates wait for one of them say so in their `short` line, not here."""

    @property
    def event(self) -> str:
        return EVENT[self.state]


def missing_in_plan(snap: Snapshot, plan: Plan, table: str) -> list[dt.date]:
    """The table's missing dates the plan was to fill (its scope's, or all of them)."""
    cov = snap.tables[table]
    if plan.scope is None:
        return list(cov.missing)
    scope = set(map(dt.date.fromisoformat, plan.scope.get(table, [])))
    return [d for d, s in sorted(cov.states.items()) if s is DateState.MISSING and d in scope]


def final_left(pipeline: Pipeline, snap: Snapshot, plan: Plan) -> dict[str, int]:
    """A plan's `left` at its end, from the final coverage instead of its last forecast: per
    planned table, its dates the plan was to fill that still have no rows (dates nothing can
    fill were never planned and are not counted)."""
    out = {}
    for table, n in plan.planned.items():
        if table not in snap.tables:
            out[table] = plan.left.get(table, n)
            continue
        never = readiness.unfillable(pipeline, snap, table)
        out[table] = min(n, sum(1 for d in missing_in_plan(snap, plan, table) if d not in never))
    return out


def _reason(
    pipeline: Pipeline,
    snap: Snapshot,
    plan: Plan,
    table: str,
    day: dt.date,
    held: dict[str, set[dt.date]],
    mine: set[str],
    never: dict[dt.date, str],
) -> str:
    """Why one date of `table` is still missing, in words (grouped and counted by the caller);
    `never`: the table's dates nothing can fill, each with its root table."""
    iso = day.isoformat()
    if iso in plan.quarantined.get(table, []):
        return "quarantined"
    if day in never:
        root = never[day]
        return "nothing fills it" if root == table else f"held by input {root} that nothing fills"
    if table in plan.stopped_tables:
        return "stopped by hand"
    if iso in plan.unfilled.get(table, []):
        return "ended by its program without rows"
    lacks = readiness.blocked_by(pipeline, snap, table, day, include_soft=not plan.skip_preflight)
    for name, days in lacks:
        if name in plan.stopped_tables:
            return f"held by input {name}, stopped by hand"
        if set(days) & held.get(name, set()):
            return f"held by input {name}'s quarantined dates"
    if lacks:
        name = lacks[0][0]
        inp = pipeline.table(name)
        if inp.backfill is None:
            return f"held by input {name} that nothing fills"
        if name not in mine:
            return f"held by input {name}, not in this plan"
        return f"held by input {name}, short itself"
    return "not run"


def table_line(table: str, reasons: Counter[str], plan: Plan, errors: dict[str, str]) -> str:
    """'T: 12 dates missing: 3 quarantined after 3 attempts (FAILED …), re-run: …, 9 held by …'."""
    parts = []
    for why, n in reasons.most_common():
        if why == "quarantined":
            days = plan.quarantined.get(table, [])
            tries = max(plan.failures.get(table, {}).values(), default=0)
            err = errors.get(table)
            rerun = f"nba-tui launch {table} --dates {','.join(days[:20])}"
            extra = f" ({err})" if err else ""
            tried = f"{tries} attempt{'s' if tries != 1 else ''}"
            parts.append(f"{n} quarantined after {tried}{extra}, re-run: {rerun}")
        else:
            parts.append(f"{n} {why}")
    total = sum(reasons.values())
    return f"{table}: {total} date{'s' if total != 1 else ''} missing: " + ", ".join(parts)


def conclude(
    pipeline: Pipeline,
    snap: Snapshot,
    plan: Plan,
    tables: list[str],
    errors: dict[str, str] | None = None,
) -> Ending:
    """The plan's end state, its message and one line per table with missing dates (`errors`:
    table -> the error line of its last failed job, read by the runner)."""
    errors = errors or {}
    held: dict[str, set[dt.date]] = {
        t: set(map(dt.date.fromisoformat, d)) for t, d in plan.quarantined.items()
    }
    short: dict[str, str] = {}
    below = []
    for name in tables:
        days = missing_in_plan(snap, plan, name)
        if not days:
            continue
        reasons: Counter[str] = Counter()
        never = readiness.unfillable(pipeline, snap, name)
        for d in days:
            why = _reason(pipeline, snap, plan, name, d, held, set(tables), never)
            reasons[why] += 1
            if "quarantined" in why:
                held.setdefault(name, set()).add(d)
        short[name] = table_line(name, reasons, plan, errors)
        if plan.scope is not None or not snap.tables[name].ok:
            below.append(name)
    order = {n: i for i, n in enumerate(tables)}
    stopped_list = sorted(set(plan.stopped_tables), key=lambda n: order.get(n, len(order)))
    if plan.quarantined:
        state = PlanState.FAILED
        message = "failed: " + "; ".join(short[t] for t in tables if t in plan.quarantined)
    elif plan.stopped_tables:
        state = PlanState.STOPPED
        waits = [short[t] for t in below if t not in plan.stopped_tables]
        message = "; ".join(["stopped: " + ", ".join(stopped_list), *waits])
    elif below:
        state = PlanState.SHORT
        message = "short: " + "; ".join(short[t] for t in below)
    else:
        state, message = PlanState.DONE, "every table meets its threshold"
    return Ending(state, message, short, stopped_list)


def skipped_dates(
    pipeline: Pipeline, snap: Snapshot, tables: list[str], plan: Plan
) -> dict[str, list[str]]:
    """Missing dates of the plan's tables whose inputs lack a quarantined (or, transitively, a
    skipped) date in their look-back window."""
    bad: dict[str, set[dt.date]] = {
        t: {dt.date.fromisoformat(d) for d in days} for t, days in plan.quarantined.items()
    }
    out: dict[str, list[str]] = {}
    for name in tables:
        cov = snap.tables[name]
        mine = []
        for d in cov.missing:
            if d in bad.get(name, set()):
                continue
            lacks = readiness.blocked_by(
                pipeline, snap, name, d, include_soft=not plan.skip_preflight
            )
            if any(set(days) & bad.get(inp, set()) for inp, days in lacks):
                mine.append(d)
        if mine:
            bad.setdefault(name, set()).update(mine)
            out[name] = [d.isoformat() for d in sorted(mine)]
    return out
