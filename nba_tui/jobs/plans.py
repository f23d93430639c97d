"""Plans: which tables to backfill, with which dates, in which order (pure rules over the plan
records of model.py).

A plan is a phase launch (`launch_phase`: one job per short table queued up front, its "reserved"
jobs), a heal (`watch --heal`: the same, over the gaps found) or a run (`run_phases`: shards made
as dates become ready). It is stored like a job, one JSON file per plan (see store.py), and every
kind is advanced by the same scheduler (runner.py -> autopilot.py -> decide.py). Here:

* `plan_phase` picks the phase's tables that have a backfill and are short (or all of them),
  in dependency order (`pipeline.topological_order()`, graphlib), with their missing dates.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nba_tui.config import Pipeline
    from nba_tui.jobs.model import Plan


@dataclass
class PlannedJob:
    table: str
    dates: list[dt.date] | None = None
    """None: a range (`start`..`end`, default the pipeline's)."""
    start: dt.date | None = None
    end: dt.date | None = None


RESTART_WINDOW = 600.0
"""Restarts of a plan's runner counted for its back-off and limit (systemd's StartLimitInterval)."""
RESTART_LIMIT = 20
"""At most this many automatic restarts in `RESTART_WINDOW`; then the plan waits for a human."""
RESTART_MAX_WAIT = 16.0
"""The back-off between restarts doubles from 1 s up to this (a lost plan waits < 30 s)."""


def restart_wait(plan: Plan, now: float) -> float | None:
    """Seconds until the plan's runner may be restarted (0: now); None once `RESTART_LIMIT`
    restarts happened in the last `RESTART_WINDOW` (a crash loop: a human must look)."""
    recent = [r.get("at", 0.0) for r in plan.restarts if isinstance(r, dict)]
    recent = sorted(t for t in recent if isinstance(t, (int, float)) and now - t < RESTART_WINDOW)
    if len(recent) >= RESTART_LIMIT:
        return None
    if not recent:
        return 0.0
    backoff = min(2.0 ** (len(recent) - 1), RESTART_MAX_WAIT)
    return max(0.0, recent[-1] + backoff - now)


def restarts_note(restarts: list[dict]) -> str:
    """'runner restarted 2 times (last 03:41:07 UTC by watchdog)': adoptions of a plan whose
    runner died (jobs/watchdog.py); shown by `plans` and the report."""
    last = restarts[-1] if isinstance(restarts[-1], dict) else {}
    at = last.get("at")
    when = time.strftime("%H:%M:%S UTC", time.gmtime(at)) if isinstance(at, (int, float)) else "?"
    n = len(restarts)
    return f"runner restarted {n} time{'s' if n != 1 else ''} (last {when} by {last.get('by')})"


def runner_argv(pipeline: Pipeline, plan_id: str) -> list[str]:
    """The detached plan runner's command line (see jobs/runner.py)."""
    return [sys.executable, "-m", "nba_tui.jobs.runner", str(pipeline.source), plan_id]


def watchdog_argv(pipeline: Pipeline, plan_id: str) -> list[str]:
    """The plan's watchdog's command line (see jobs/watchdog.py)."""
    return [sys.executable, "-m", "nba_tui.jobs.watchdog", str(pipeline.source), plan_id]


def phase_tables(pipeline: Pipeline, *phases: str) -> list[str]:
    """The tables with a backfill of `phases`, inputs before the tables derived from them: what
    a launch of a phase queues and a `run` plan of the phases schedules."""
    own = {t.name for p in phases for t in pipeline.phase(p).tables if t.backfill is not None}
    return [n for n in pipeline.topological_order() if n in own]


def missing_job(pipeline: Pipeline, snapshot: Any, name: str) -> PlannedJob | None:
    """The table's missing dates something can fill (`readiness.fillable_missing`: the one
    rule), as one job: a range when they are all of its one gap, else a date list. None when
    there is none (no missing date, or none that can ever be filled)."""
    from nba_tui import readiness

    cov = snapshot.tables.get(name)
    if cov is None or not cov.missing:
        return None
    dates = readiness.fillable_missing(pipeline, snapshot, name)
    if not dates:
        return None
    span = cov.gap_span()
    if span and len(dates) == len(cov.missing):  # ask for the range, not hundreds of --dates
        return PlannedJob(name, None, *span)
    return PlannedJob(name, dates)


def plan_phase(
    pipeline: Pipeline, snapshot: Any, phase: str, missing: bool = True
) -> list[PlannedJob]:
    """Jobs for `phase`: short tables with their fillable missing dates (`missing_job`), or
    every table's whole range."""
    out = []
    for name in phase_tables(pipeline, phase):
        job = missing_job(pipeline, snapshot, name) if missing else PlannedJob(name)
        if job is not None:
            out.append(job)
    return out


def scope_of(snapshot: Any, planned: Sequence[PlannedJob]) -> dict[str, list[str]]:
    """Table -> the dates a plan of these jobs may run: each job's dates, or the expected dates
    of its range (the snapshot's range when it has none)."""
    out = {}
    for pj in planned:
        days = sorted(snapshot.tables[pj.table].states)
        if pj.dates is not None:
            days = sorted(pj.dates)
        elif days:
            lo, hi = pj.start or days[0], pj.end or days[-1]
            days = [d for d in days if lo <= d <= hi]
        out[pj.table] = [d.isoformat() for d in days]
    return out


def order_phases(pipeline: Pipeline, phases: Sequence[str]) -> list[str]:
    """Requested phases in pipeline (dependency) order; unknown names raise KeyError."""
    for p in phases:
        pipeline.phase(p)
    wanted = set(phases)
    return [p.name for p in pipeline.phases if p.name in wanted]


def no_fillable_reason(pipeline: Pipeline, snapshot: Any, name: str) -> str:
    """Why a gap-only launch of `name` has nothing to do: no missing date in the range, or
    missing dates nothing can fill (and why)."""
    from nba_tui import readiness

    cov = snapshot.tables.get(name)
    if cov is None:
        return f"no coverage for {name!r} in the snapshot"
    if not cov.missing:
        exp = getattr(snapshot, "expected_dates", None)
        span = f"{exp[0]}..{exp[-1]}" if exp else "the range"
        return f"{name} has no missing dates in {span}"
    why = readiness.why_never(readiness.outlook(pipeline, snapshot, name))
    return f"{name}: none of its {len(cov.missing)} missing dates can be filled: {why}"
