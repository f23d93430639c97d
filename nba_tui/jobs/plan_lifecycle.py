"""A plan's life: phase launches, chained runs, heal plans, their detached runner, adoption of a
plan whose runner died, pause, resume and cancel. Plans advance through the one scheduler
(jobs/decide.py, run by jobs/autopilot.py in the plan's runner); their states are documented in
plans.py and docs/JOBS.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from nba_tui import preflight
from nba_tui.config import Pipeline
from nba_tui.fsutil import lock_held
from nba_tui.jobs import action_log, checks, procs
from nba_tui.jobs.engines.local import spawn_detached
from nba_tui.jobs.errors import JobError, NothingToRun, PreflightFailed, refusal
from nba_tui.jobs.events import new_event
from nba_tui.jobs.lifecycle import JobLifecycle
from nba_tui.jobs.lookups import Lookups
from nba_tui.jobs.model import JobState, Plan, PlanState
from nba_tui.jobs.plans import (
    PlannedJob,
    no_fillable_reason,
    order_phases,
    phase_tables,
    plan_phase,
    restart_wait,
    runner_argv,
    scope_of,
)
from nba_tui.jobs.reconcile import reconcile_plan
from nba_tui.jobs.store import LockTimeout, Store, flock, log_dir_ready, open_log

LIVE_LOCKS = ("runner", "watchdog")
"""A plan whose `locks/<kind>-<plan>.lock` is held is alive, whatever its file says."""


class PlanLifecycle:
    """Plans of `pipeline` launched and controlled as `user`: records in `store`, their jobs
    queued and controlled through `lifecycle`, read back through `lookups`."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store,
        user: str,
        lookups: Lookups,
        lifecycle: JobLifecycle,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.user = user
        self.lookups = lookups
        self.lifecycle = lifecycle

    def launch_phase(
        self, phase: str, snapshot: Any, *, missing: bool = True, skip_preflight: bool = False
    ) -> Plan:
        """Preflight, then queue the phase's short tables under a detached plan runner."""
        try:
            self.pipeline.phase(phase)
        except KeyError:
            raise JobError(f"unknown phase {phase!r}") from None
        if not skip_preflight:
            report = preflight.check(self.pipeline, snapshot, phase)
            if not report.ready:
                short = ", ".join(c.coverage.name for c in report.failing)
                raise PreflightFailed(f"preflight for {phase} fails: {short}", report.degradation())
        planned = plan_phase(self.pipeline, snapshot, phase, missing=missing)
        if not planned:
            tables = phase_tables(self.pipeline, phase)
            why = [no_fillable_reason(self.pipeline, snapshot, n) for n in tables]
            raise NothingToRun(
                f"nothing to run: {'; '.join(why) or f'no table of {phase} has a backfill'}"
            )
        with self._lock("plans", 60.0):  # one plan per table set (see run_phases)
            self._overlapping([phase], adopt=False)
            plan = self._new_plan("phase", [phase], missing, skip_preflight)
        return self._start_reserved(plan, planned, snapshot)

    def heal_plan(self, gaps: dict[str, list[dt.date]], snapshot: Any) -> Plan:
        """A plan over exactly these dates (`watch --heal`): one job per table queued up front
        (its reserved job, `Plan.scope` = these dates), advanced by the same scheduler as `run`
        (an input's job first, each once its dates are ready)."""
        tables = [n for n in self.pipeline.topological_order() if gaps.get(n)]
        if not tables:
            raise JobError("nothing to heal")
        phases = order_phases(self.pipeline, {self.pipeline.phase_of(n).name for n in tables})
        planned = [PlannedJob(n, sorted(gaps[n])) for n in tables]
        with self._lock("plans", 60.0):  # as `run`: no plan is made while another checks
            plan = self._new_plan("heal", phases, True, False)
            return self._start_reserved(plan, planned, snapshot)

    def _start_reserved(self, plan: Plan, planned: list[PlannedJob], snapshot: Any) -> Plan:
        """Queue the plan's reserved jobs and start its runner; a plan that queued nothing is
        cancelled with the reasons and refused."""
        plan = self.reserve(plan.id, planned, scope_of(snapshot, planned))
        if not plan.jobs:
            why = "; ".join(f"{s['table']}: {s['reason']}" for s in plan.skipped)
            self.store.update_plan(
                plan.id, lambda p: p.finish(PlanState.CANCELLED, why, time.time())
            )
            raise JobError(f"nothing queued: {why}")
        return self._start_runner(plan)

    def run_phases(
        self,
        phases: Sequence[str],
        *,
        missing: bool = True,
        skip_preflight: bool = False,
        strict_cascade: bool = False,
        shards: int | None = None,
        deadline: float | None = None,
    ) -> Plan:
        """A pipelined plan over the phases' tables (jobs/autopilot.py), or today's cascade with
        `strict_cascade=True, shards=1`. A running plan of the same phases whose runner is gone
        is adopted (a new runner takes over its jobs) instead of launching duplicates; one whose
        runner lives, or one sharing a phase, refuses the launch."""
        try:
            ordered = order_phases(self.pipeline, phases)
        except KeyError as e:
            raise JobError(f"unknown phase {e.args[0]!r}") from None
        if not ordered:
            raise JobError("no phase given")
        if shards is not None and shards < 1:
            raise JobError(f"--shards {shards}: must be at least 1")
        with self._lock("plans", 60.0):
            # the check and the new plan under one lock: racing `run`s make one plan
            lost = self._overlapping(ordered)
            if lost is not None:
                return self.restart_runner(lost.id, "run", force=True) or self.lookups.plan(lost.id)
            self._something_to_run(ordered, skip_preflight, strict_cascade, shards)
            plan = self._new_plan("run", ordered, missing, skip_preflight)

            def settings(p: Plan) -> None:
                p.strict_cascade, p.shards_per_table = strict_cascade, shards
                p.deadline = deadline

            plan = self.store.update_plan(plan.id, settings) or plan
            return self._start_runner(plan)

    @contextlib.contextmanager
    def _lock(self, name: str, timeout: float) -> Iterator[None]:
        """`locks/<name>.lock`, or a JobError after `timeout` seconds."""
        self.store.ensure()
        try:
            with flock(self.store.locks_dir / f"{name}.lock", timeout=timeout):
                yield
        except LockTimeout:
            raise JobError(f"another launch holds locks/{name}.lock; try again") from None

    def _overlapping(self, phases: list[str], adopt: bool = True) -> Plan | None:
        """Refuse (JobError naming it) when a live plan holds one of the phases' tables, a
        damaged plan file included (while its runner or watchdog lives, or by its jobs still
        active); with `adopt`, a lost `run` plan of exactly these phases is returned instead."""
        mine = set(phase_tables(self.pipeline, *phases))
        for p in self.lookups.plans():
            if p.state not in (PlanState.RUNNING, PlanState.LOST):
                continue
            if adopt and p.kind == "run" and p.state is PlanState.LOST and p.phases == phases:
                return p
            common = sorted(mine & set(phase_tables(self.pipeline, *p.phases)))
            if common:
                raise JobError(
                    f"plan {p.id} already runs {', '.join(common)} ({p.state}); "
                    f"wait for it or `nba-tui cancel {p.id}` first"
                )
        damaged = {d.id: d for d in self.store.scan_plans()[1]}
        for d in damaged.values():
            if any(lock_held(self.store.locks_dir / f"{k}-{d.id}.lock") for k in LIVE_LOCKS):
                raise JobError(
                    f"plan {d.id} (damaged: {d.path}) still has a live runner, which rewrites "
                    "its file; try again in a few seconds"
                )
        if not damaged:
            return None
        held = sorted(
            {(v.record.plan, v.record.table) for v in self.lookups.jobs() if v.state.active}
            & {(pid, t) for pid in damaged for t in mine}
        )
        if held:
            pid = held[0][0]
            tables = ", ".join(t for i, t in held if i == pid)
            raise JobError(
                f"plan {pid} (damaged: {damaged[pid].path}) still runs jobs of {tables}; "
                "wait for them or stop them (`nba-tui jobs`) first"
            )
        return None

    def _something_to_run(
        self, phases: list[str], skip: bool, strict: bool, shards: int | None
    ) -> None:
        """NothingToRun (why, per table) when the scheduler would start nothing now: a plan
        that can run nothing is never created."""
        from nba_tui.jobs import decide, plan_end
        from nba_tui.monitor import snapshot_once

        try:
            snap = snapshot_once(self.pipeline)
        except Exception:  # noqa: BLE001 - the runner polls again and says so in its log
            return
        kw = {"strict_cascade": strict, "shards": shards}
        if decide.first_tick(self.pipeline, snap, phases, skip_preflight=skip, **kw):
            return
        trial = Plan("p000000", "run", phases, self.user, time.time(), True, skip)
        tables = decide.plan_tables(self.pipeline, trial)
        why = list(plan_end.conclude(self.pipeline, snap, trial, tables).short.values())
        if not why:
            why = [f"every table of {', '.join(phases)} with a backfill has all its dates"]
        if not skip and decide.first_tick(self.pipeline, snap, phases, skip_preflight=True, **kw):
            cmd = f"nba-tui run {' '.join(phases)} --skip-preflight"
            why.append(f"`{cmd}` would run dates on soft-input fallbacks")
        raise NothingToRun("nothing to run: " + "; ".join(why))

    def adopt_plans(self) -> list[Plan]:
        """Start a new runner for every running plan whose runner is gone (kill -9, reboot): it
        adopts the plan's live jobs. The dashboard calls it; returns the plans adopted."""
        out = []
        for p in self.lookups.plans():
            if p.state is PlanState.LOST:
                with contextlib.suppress(JobError):
                    plan = self.restart_runner(p.id, "dashboard", force=True)
                    if plan is not None:
                        out.append(plan)
        return out

    def restart_runner(self, plan_id: str, by: str, *, force: bool = False) -> Plan | None:
        """A new runner for a plan whose runner is gone (it adopts the plan's jobs), recorded in
        `Plan.restarts` and as a `runner_restarted` event; None when the plan is not lost, or
        (unless `force`: someone asked) while its back-off runs or after its restart limit
        (`plans.restart_wait`). Under `locks/adopt-<plan>.lock`: one adopter at a time."""
        checks.ref(plan_id, "plan")
        with self._lock(f"adopt-{plan_id}", 10.0):
            stored = self.store.load_plan(plan_id)
            if stored is None:
                return None
            plan = reconcile_plan(stored, self.store)
            if plan.state is not PlanState.LOST:
                return None
            now = time.time()
            if not force and restart_wait(plan, now) != 0.0:
                return None
            entry = {"at": now, "by": by, "old_pid": plan.runner_pid}
            try:
                self.store.update_plan(
                    plan_id, lambda p: setattr(p, "restarts", [*p.restarts, entry])
                )
            except OSError as e:
                raise refusal(f"cannot restart plan {plan_id}", e) from None
            new = self._start_runner(plan, adopt=True)
        detail = f"runner pid {plan.runner_pid} gone; new runner pid {new.runner_pid} (by {by})"
        with contextlib.suppress(OSError):
            self.store.append_event(new_event("runner_restarted", plan=plan_id, detail=detail))
        return new

    def pause_plan(self, plan_id: str) -> Plan:
        """Pause every running job of the plan; its runner starts nothing new until resumed."""
        self._running_plan(plan_id)
        self._plan_action(plan_id, "plan-pause", lambda p: setattr(p, "paused", True))
        # a shard its runner was starting as the flag was set turns RUNNING a moment later:
        # wait for it (bounded) and pause it too, so none of the plan runs once this returns
        procs.wait_until(lambda: not self._pause_running(plan_id), 3.0)
        return self.lookups.plan(plan_id)

    def _pause_running(self, plan_id: str) -> bool:
        """Pause the plan's running jobs; True while one of its shards is still starting."""
        starting = False
        for v in self.lookups.jobs():
            if v.record.plan != plan_id:
                continue
            r = v.record
            pausing = v.state is JobState.PAUSED and r.pause_requested and r.remote_left is None
            if v.state is JobState.RUNNING or pausing:  # (a remote pause under way: awaited)
                with contextlib.suppress(JobError):  # it may end meanwhile
                    self.lifecycle.pause(v.id)
            elif v.state is JobState.QUEUED and r.shim_pid:
                starting = True
        return starting

    def resume_plan(self, plan_id: str) -> Plan:
        """Resume the plan's paused jobs; its runner starts shards again."""
        self._running_plan(plan_id)
        self._plan_action(plan_id, "plan-resume", lambda p: setattr(p, "paused", False))
        for v in self.lookups.jobs():
            if v.record.plan == plan_id and v.state is JobState.PAUSED:
                with contextlib.suppress(JobError):
                    self.lifecycle.resume(v.id)
        return self.lookups.plan(plan_id)

    def stop_plan(self, plan_id: str) -> Plan:
        """Stop the plan and all its jobs (= `cancel_plan`; returns once they ended)."""
        return self.cancel_plan(plan_id)

    def _running_plan(self, plan_id: str) -> Plan:
        plan = self.lookups.plan(plan_id)
        if plan.state not in (PlanState.RUNNING, PlanState.LOST):
            raise JobError(f"plan {plan_id} already ended ({plan.state})")
        return plan

    def _plan_action(self, plan_id: str, action: str, fn: Callable[[Plan], None]) -> None:
        try:
            action_log.record(self.store, user=self.user, action=action, plan=plan_id)
            self.store.update_plan(plan_id, fn)
        except OSError as e:
            raise refusal(f"cannot {action} {plan_id}", e) from None

    def reserve(
        self, plan_id: str, planned: Sequence[PlannedJob], scope: dict[str, list[str]]
    ) -> Plan:
        """Queue plan `plan_id`'s jobs up front (its runner starts each once its inputs' jobs
        ended and its dates are ready: jobs/decide.py); tables with an active job are skipped.
        `scope`: table -> the only dates the plan runs."""
        ids, skipped = [], []
        for pj in planned:
            try:
                ids.append(
                    self.lifecycle.queue(
                        pj.table, plan_id, start=pj.start, end=pj.end, dates=pj.dates
                    ).id
                )
            except JobError as e:
                skipped.append({"table": pj.table, "reason": str(e)})
        taken = {s["table"] for s in skipped}

        def apply(p: Plan) -> None:
            p.jobs = [*p.jobs, *ids]
            p.skipped = [*p.skipped, *skipped]
            p.scope = {t: d for t, d in scope.items() if t not in taken}

        plan = self.store.update_plan(plan_id, apply)
        if plan is None:
            raise JobError(f"no plan {plan_id!r}")
        return plan

    def cancel_plan(self, plan_id: str) -> Plan:
        """End the plan CANCELLED: no job of it starts any more, its queued jobs become STOPPED
        and its running or paused jobs are stopped (returns once they ended)."""
        plan = self.lookups.plan(plan_id)
        if plan.state is not PlanState.RUNNING and plan.state is not PlanState.LOST:
            raise JobError(f"plan {plan_id} already ended ({plan.state})")
        try:
            action_log.record(self.store, user=self.user, action="plan-cancel", plan=plan_id)
            self.store.update_plan(
                plan_id, lambda p: p.finish(PlanState.CANCELLED, "cancelled", time.time())
            )
        except OSError as e:
            raise refusal(f"cannot cancel plan {plan_id}", e) from None
        # the stored records: reconciled, a cancelled plan's queued jobs would already read LOST
        for r in self.store.load_jobs():
            if r.plan == plan_id and r.state is JobState.QUEUED and not (r.shim_pid or r.pid):
                self.lifecycle.mark_stopped(r.id, f"plan {plan_id} cancelled")
        for v in self.lookups.jobs():
            if v.record.plan == plan_id and v.state.active:
                with contextlib.suppress(JobError):  # it may end on its own meanwhile
                    self.lifecycle.stop(v.id)
        return self.lookups.plan(plan_id)

    def _new_plan(self, kind: str, phases: list[str], missing: bool, skip: bool) -> Plan:
        """The plan written, once its runner's log can be made: a refused plan leaves no record."""
        try:
            log_dir_ready(self.pipeline.log_dir)
        except OSError as e:
            raise refusal("cannot start the plan", e) from None
        plan = Plan(self.store.new_plan_id(), kind, phases, self.user, time.time(), missing, skip)
        try:
            self.store.save_plan(plan)
        except OSError as e:
            raise refusal("cannot write the plan", e) from None
        return plan

    def _start_runner(self, plan: Plan, adopt: bool = False) -> Plan:
        """Log the plan, then spawn its detached runner (own session: it outlives the caller);
        `adopt`: a new runner for a plan whose runner is gone (it takes over the plan's jobs)."""
        argv = runner_argv(self.pipeline, plan.id)
        try:
            log = open_log(self.pipeline.log_dir, f"plan_{plan.id}")
            action_log.record(
                self.store,
                user=self.user,
                action="plan-adopt" if adopt else "plan",
                plan=plan.id,
                kind=plan.kind,
                phases=plan.phases,
                jobs=plan.jobs,
                skipped=plan.skipped or None,
                missing=plan.missing,
                skip_preflight=plan.skip_preflight,
                argv=argv,
            )
        except OSError as e:
            err = refusal(f"cannot start plan {plan.id}", e)
            why = str(err)
            if adopt:  # a lost plan stays lost: the next adopter tries again
                raise err from None
            with contextlib.suppress(OSError):
                self.store.update_plan(
                    plan.id, lambda p: p.finish(PlanState.FAILED, why, time.time())
                )
            raise err from None
        proc = spawn_detached(argv, log, self.pipeline.base_dir)
        started = procs.create_time(proc.pid)

        def spawned(p: Plan) -> None:
            p.runner_pid, p.runner_start_time, p.log = proc.pid, started, str(log)

        return self.store.update_plan(plan.id, spawned) or plan
