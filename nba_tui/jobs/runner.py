"""The detached plan runner: `python -m nba_tui.jobs.runner CONFIG PLAN_ID`.

Started by `Supervisor.launch_phase` / `run_phases` like a job's shim, in its own session, so a
plan goes on when the dashboard that launched it is killed. Each tick it re-reads the plan and its
jobs (the store is the truth; several runners and dashboards may act on it) and:

* for a stage not queued yet (a chained run): takes a fresh snapshot (`monitor.snapshot_once`),
  waits until the phase's preflight passes — retrying while jobs of the phase's input tables are
  still active, failing after `PREFLIGHT_RETRIES` polls otherwise — then queues the phase's
  short tables: the seed's "auto-trigger Phase 4 after Phase 3 validates";
* marks STOPPED the queued jobs whose input job did not end done (`plans.blocked`), starts the
  ones `plans.startable` allows, and moves to the next phase when every job of the stage ended;
* ends the plan DONE, FAILED (a job failed or was lost) or STOPPED (some jobs were stopped by
  hand; what did not depend on them ran), and exits when someone cancels it (CANCELLED).

It uses only the Supervisor's public API and the store.
"""

from __future__ import annotations

import sys
import time

from nba_tui import config, preflight
from nba_tui.config import Pipeline
from nba_tui.jobs import autopilot
from nba_tui.jobs.model import Damaged, JobState, JobView
from nba_tui.jobs.plans import Plan, PlannedJob, PlanState, blocked, plan_phase, startable
from nba_tui.jobs.runlog import say
from nba_tui.jobs.store import StateError, Store
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.warehouse import WarehouseError

PREFLIGHT_RETRIES = 3
"""Polls a chained run waits for a phase's preflight once nothing feeds its inputs any more."""
NEXT_STAGE = -1
"""`step`'s answer when the stage ended and the plan moved on to its next phase."""


def run_plan(pipeline: Pipeline, plan_id: str, tick: float = 0.2) -> int:
    """Start queued jobs as slots free; chain stages behind preflight; exit when all ended."""
    first = Store(pipeline.state_dir).read_plan(plan_id)
    if not isinstance(first, Plan):
        why = f"damaged ({first.reason})" if isinstance(first, Damaged) else "not found"
        say(f"plan {plan_id}: {why}; the runner stops")
        return 2
    sup = Supervisor(pipeline, user=first.user)
    if first.kind == "run":  # the pipelined plan (strict_cascade included): jobs/autopilot.py
        return autopilot.run(sup, plan_id)
    waits = 0
    while True:
        plan = sup.store.load_plan(plan_id) or first
        if plan.state is not PlanState.RUNNING:
            say(f"plan {plan_id} {plan.state}")
            return 0
        if not plan.stage_queued:
            planned, why = gate(sup, plan)
            if planned is not None:
                waits = 0
                say(f"stage {plan.phase}: {[p.table for p in planned]}")
                sup.queue_stage(plan_id, plan.phase, planned)
                continue
            waits += 1
            sup.store.update_plan(plan_id, lambda p, w=why: setattr(p, "message", w))
            retried = why.startswith("preflight") and waits > PREFLIGHT_RETRIES
            if retried and not inputs_active(sup, plan.phase):
                return finish(sup, plan_id, PlanState.FAILED, why)
            time.sleep(min(pipeline.poll.interval, 5.0))
            continue
        ended = step(sup, plan)
        if ended is None:
            time.sleep(tick)
        elif ended != NEXT_STAGE:
            return ended


def gate(sup: Supervisor, plan: Plan) -> tuple[list[PlannedJob] | None, str]:
    """For a chained run: a fresh snapshot, the phase's preflight, then its jobs (or why not)."""
    try:
        snap = snapshot_once(sup.pipeline)
    except WarehouseError as e:
        return None, f"warehouse: {e}"
    if not plan.skip_preflight:
        report = preflight.check(sup.pipeline, snap, plan.phase)
        if not report.ready:
            return None, f"preflight for {plan.phase}: " + "; ".join(report.degradation())
    return plan_phase(sup.pipeline, snap, plan.phase, plan.missing), ""


def step(sup: Supervisor, plan: Plan) -> int | None:
    """One tick of a queued stage. None: go on; NEXT_STAGE; else the runner's exit code.

    A job this tick starts or stops still shows queued in `views`: the stage ends next tick."""
    phase = plan.phase
    views = stage_views(sup, plan.stage_jobs.get(phase, []))
    for jid, reason in blocked(sup.pipeline, views).items():
        try:
            sup.mark_stopped(jid, f"not started: {reason}")
        except JobError as e:  # e.g. a full disk: try again next tick
            say(f"cannot mark {jid} stopped: {e}")
    running = sum(1 for v in sup.jobs() if v.state in (JobState.RUNNING, JobState.PAUSED))
    for jid in startable(sup.pipeline, phase, views, running):
        try:
            v = sup.start_queued(jid)
            say(f"started {v.record.table} job {jid} pid {v.record.pid}")
        except JobError as e:
            say(f"cannot start {jid}: {e}")
    if any(v.state.active for v in views):
        return None
    failed = [v.record.table for v in views if v.state in (JobState.FAILED, JobState.LOST)]
    stopped = [v.record.table for v in views if v.state is JobState.STOPPED]

    def tally(p: Plan) -> None:
        p.failed_tables = [*p.failed_tables, *failed]
        p.stopped_tables = [*p.stopped_tables, *stopped]
        if failed:
            p.failed_stages = [*p.failed_stages, phase]

    plan = sup.store.update_plan(plan.id, tally) or plan
    if plan.stage + 1 < len(plan.phases):

        def advance(p: Plan) -> None:
            p.stage, p.stage_queued = p.stage + 1, False

        sup.store.update_plan(plan.id, advance)
        return NEXT_STAGE
    return finish(sup, plan.id, *outcome(plan))


def outcome(plan: Plan) -> tuple[PlanState, str | None]:
    """How a plan whose every stage ended stands: FAILED if a job failed or was lost, STOPPED if
    someone stopped some of its jobs (the others ran), DONE otherwise. Lists, never reprs."""
    parts = []
    if plan.failed_tables:
        parts.append("failed: " + ", ".join(plan.failed_tables))
    if plan.stopped_tables:
        parts.append("stopped: " + ", ".join(plan.stopped_tables))
    message = "; ".join(parts) or None
    if plan.failed_tables or plan.failed_stages:
        return PlanState.FAILED, message or "failed: " + ", ".join(plan.failed_stages)
    if plan.stopped_tables:
        return PlanState.STOPPED, message
    return PlanState.DONE, None


def stage_views(sup: Supervisor, ids: list[str]) -> list[JobView]:
    out = []
    for i in ids:
        try:
            out.append(sup.job(i))
        except JobError:
            continue
    return out


def inputs_active(sup: Supervisor, phase: str) -> bool:
    """Is a job of one of the phase's input tables still queued, running or paused?"""
    inputs = {t.name for t in sup.pipeline.phase_inputs(phase)}
    return any(v.state.active and v.record.table in inputs for v in sup.jobs())


def finish(sup: Supervisor, plan_id: str, state: PlanState, message: str | None) -> int:
    """Record the plan's end; the runner's exit code (0 done, 1 failed)."""
    sup.store.update_plan(plan_id, lambda p: p.finish(state, message, time.time()))
    say(f"plan {plan_id} {state} {message or ''}")
    return 0 if state is PlanState.DONE else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m nba_tui.jobs.runner CONFIG PLAN_ID", file=sys.stderr)
        return 2
    try:
        pipeline = config.load(args[0])
    except config.ConfigError as e:  # edited during the night: one line, the watchdog retries
        say(f"runner: {e}")
        return 2
    try:
        return run_plan(pipeline, args[1])
    except StateError as e:  # the state directory is no longer ours alone
        say(f"runner: {e}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
