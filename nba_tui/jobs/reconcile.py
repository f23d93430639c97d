"""A job record as reality has it: the stored record reconciled with what its engine sees.

Pure reading (never writes), so a read-only dashboard can show jobs it may not control:

* a record whose program ended carries its exit code (DONE / FAILED / STOPPED) and is kept;
* a live program that is stopped is PAUSED (even if someone sent SIGSTOP by hand), else RUNNING;
* a program that is gone while its launcher (the shim) is gone too, without an exit status, is
  LOST; so is a recorded pid that now belongs to another process (such a pid is never signalled);
* a record without a pid is a launch in progress while its launcher lives, a plan's queued job
  while its plan runs, and LOST otherwise (after `STARTUP_GRACE` for a plain launch).

A running plan whose runner process vanished reads as LOST the same way (`reconcile_plan`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable

from nba_tui.jobs import beat, procs, runlock
from nba_tui.jobs.engines.base import Engine, ProgramStatus
from nba_tui.jobs.model import JobRecord, JobState, Plan, PlanState
from nba_tui.jobs.store import Store

STARTUP_GRACE = 30.0
"""A record with no launcher yet is QUEUED for this long after creation (a launch in progress)."""


def reconcile(
    rec: JobRecord,
    engine: Engine,
    store: Store,
    plan_running: Callable[[str], bool],
    shim_holds: Callable[[str], bool] | None = None,
) -> JobRecord:
    """The record as reality has it (a copy when it differs; nothing is written).

    `shim_holds(job_id)`: does a live shim hold a run lock for that job (`live_shims`)? An ended
    record whose shim still holds its lock is false (the shim frees the lock before it records
    the exit), so the job reads as running."""
    if not rec.state.active:
        holds = shim_holds or (lambda job_id: runlock.run_facts(store, job_id) is not None)
        return _still_running(rec, engine) if holds(rec.id) else rec
    if rec.pause_requested and rec.state is JobState.PAUSED:
        return rec  # a remote job paused (stopped there, its dates kept); nothing runs here
    if rec.pid is None:
        return _unstarted(rec, engine, store, plan_running)
    status = engine.status(rec)
    if status in (ProgramStatus.RUNNING, ProgramStatus.PAUSED):
        state = JobState.PAUSED if status is ProgramStatus.PAUSED else JobState.RUNNING
        return rec if state is rec.state else dataclasses.replace(rec, state=state)
    if engine.alive(rec):  # the program just ended; the shim is writing its status
        return rec
    fresh = store.load_job(rec.id) or rec
    if not fresh.state.active:
        return fresh
    if status is ProgramStatus.REUSED:
        return lost(rec, f"pid {rec.pid} now belongs to another process")
    return lost(rec, "the process is gone without an exit status")


def live_shims(store: Store) -> set[str]:
    """The job ids whose shims hold a run lock now (one look at each table's lock)."""
    return {
        str(facts.get("job"))
        for held, facts in store.run_locks().values()
        if held and facts and facts.get("job")
    }


def _still_running(rec: JobRecord, engine: Engine) -> JobRecord:
    said = rec.state
    shown = dataclasses.replace(rec, state=JobState.RUNNING, ended_at=None, exit_code=None)
    paused = engine.status(shown) is ProgramStatus.PAUSED
    return dataclasses.replace(
        shown,
        state=JobState.PAUSED if paused else JobState.RUNNING,
        signal=None,
        message=f"its record says {said}, but its shim still runs it",
    )


def _unstarted(
    rec: JobRecord, engine: Engine, store: Store, plan_running: Callable[[str], bool]
) -> JobRecord:
    if engine.alive(rec):
        return rec
    if rec.shim_pid is not None:  # the launcher ran: did it record the program meanwhile?
        fresh = store.load_job(rec.id) or rec
        if fresh.pid is not None:
            return reconcile(fresh, engine, store, plan_running)
        if not fresh.state.active:
            return fresh
        return lost(rec, "the shim exited before starting the program (see the log)")
    if rec.plan:
        if plan_running(rec.plan):
            return rec
        return lost(rec, f"its plan {rec.plan} is no longer running")
    if time.time() - rec.created_at < STARTUP_GRACE:
        return rec
    return lost(rec, "never started (the launcher died)")


def lost(rec: JobRecord, why: str) -> JobRecord:
    """`rec` as LOST, its clock stopped at the last sign of life (so elapsed stops growing).

    Reading never writes, so "when it was found lost" must be a fact every reader sees alike:
    the log's last modification (the job's last output), else its start or creation."""
    ended = rec.ended_at
    if ended is None:
        ended = rec.started_at or rec.created_at
        if rec.log:
            with contextlib.suppress(OSError):
                ended = max(ended, os.stat(rec.log).st_mtime)
    paused = rec.paused_total + (max(0.0, ended - rec.paused_at) if rec.paused_at else 0.0)
    return dataclasses.replace(
        rec,
        state=JobState.LOST,
        message=rec.message or why,
        ended_at=ended,
        paused_at=None,
        paused_total=paused,
    )


def reconcile_plan(plan: Plan, store: Store) -> Plan:
    """The plan as reality has it: LOST when it is running but its runner is gone; its message
    says "runner not responding" while its runner is stopped or its heartbeat stale (jobs/beat.py,
    its watchdog replaces it)."""
    if plan.state is not PlanState.RUNNING or plan.runner_pid is None:
        return plan
    if procs.same_process(plan.runner_pid, plan.runner_start_time):
        pulse = beat.read(store.locks_dir, plan.id)
        why = beat.hung(pulse, plan.runner_pid, plan.runner_start_time)
        if why is None:
            return plan
        note = f"runner not responding ({why})"
        return dataclasses.replace(
            plan, message=f"{note}; {plan.message}" if plan.message else note
        )
    fresh = store.load_plan(plan.id) or plan  # it may have ended just now
    if fresh.state is PlanState.RUNNING:
        return dataclasses.replace(fresh, state=PlanState.LOST)
    return fresh
