"""Launch, queue, pause, resume, stop, restart and re-adopt detached backfill jobs and plans.

The supervisor holds no process handles that matter: everything lives in the state directory
(store.py) and in the processes themselves, reached through an engine (engines/; the default
`LocalEngine` runs each job under a detached shim). So any number of Supervisor instances — two
dashboards over SSH, the CLI from cron, a plan runner — see and control the same jobs, and a
dashboard killed with `kill -9` loses nothing: a new Supervisor *adopts* every job by reading its
record. Every call re-reads the records and *reconciles* them with reality:

running, paused (also by a SIGSTOP sent by hand), ended with its exit code, or LOST (see
reconcile.py). A pid that now belongs to another process is never signalled.

Reading (`jobs`, `job`, `active`, `history`, `tail`, `plans`) never writes, so the supervisor
works for a read-only dashboard on a state directory it may not write to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nba_tui import commands, preflight
from nba_tui.config import Pipeline, Table
from nba_tui.jobs import actions, procs
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.engines.local import LocalEngine, spawn_detached
from nba_tui.jobs.model import JobRecord, JobState, JobView
from nba_tui.jobs.plans import (
    Plan,
    PlannedJob,
    PlanState,
    order_phases,
    plan_phase,
    runner_argv,
)
from nba_tui.jobs.progress import Trackers
from nba_tui.jobs.reconcile import reconcile, reconcile_plan
from nba_tui.jobs.store import LockTimeout, Store, open_log
from nba_tui.logtail import tail


class JobError(Exception):
    """An action that cannot be done (already active, not running, unknown job). One line."""


class PreflightFailed(JobError):
    """launch_phase refused: the phase's inputs are short. `.lines` says what would degrade."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


class Supervisor:
    """The one job launcher and controller, for the dashboard, the CLI and the plan runner."""

    def __init__(
        self, pipeline: Pipeline, user: str | None = None, engine: Engine | None = None
    ) -> None:
        self.pipeline = pipeline
        self.user = user or getpass.getuser()
        self.store = Store(pipeline.state_dir)
        self.engine: Engine = engine if engine is not None else LocalEngine()
        self._progress = Trackers(pipeline)

    # -- reading ----------------------------------------------------------------------------------
    def jobs(self) -> list[JobView]:
        """All known jobs, newest first, reconciled with their processes."""
        running: dict[str, bool] = {}

        def plan_running(plan_id: str) -> bool:  # each plan looked up once per listing
            if plan_id not in running:
                running[plan_id] = self._plan_running(plan_id)
            return running[plan_id]

        return [self._read(r, plan_running) for r in self.store.load_jobs()]

    def job(self, job_id: str) -> JobView:
        rec = self.store.load_job(job_id)
        if rec is None:
            raise JobError(f"no job {job_id!r} in {self.store.jobs_dir}")
        return self._read(rec)

    def active(self, table: str) -> JobView | None:
        """The table's queued, running or paused job, whoever launched it."""
        name = self._table(table).name
        return next((v for v in self.jobs() if v.record.table == name and v.state.active), None)

    def resolve(self, ref: str) -> JobView:
        """A job by id, or by table name: its active job, else its latest (for the CLI)."""
        rec = self.store.load_job(ref)
        if rec is not None:
            return self._read(rec)
        try:
            name = self.pipeline.table(ref).name
        except KeyError:
            raise JobError(f"no job or table {ref!r} (see `nba-tui jobs`)") from None
        views = [v for v in self.jobs() if v.record.table == name]
        if not views:
            raise JobError(f"table {name!r} has no jobs yet")
        return next((v for v in views if v.state.active), views[0])

    def log_path(self, job_id: str) -> Path:
        return Path(self.job(job_id).record.log)

    def tail(self, job_id: str, max_bytes: int = 64_000) -> list[str]:
        rec = self.store.load_job(job_id)
        if rec is None or not rec.log:
            return []
        return tail(rec.log, max_bytes)

    def history(self, limit: int = 200) -> list[dict]:
        return actions.read(self.store.actions_path, limit)

    def plans(self) -> list[Plan]:
        return [reconcile_plan(p, self.store) for p in self.store.load_plans()]

    def _read(self, rec: JobRecord, plan_running: Callable[[str], bool] | None = None) -> JobView:
        """The record reconciled with its processes (reconcile.py), with its progress."""
        rec = reconcile(rec, self.engine, self.store, plan_running or self._plan_running)
        return self._progress.view(rec)

    def _plan_running(self, plan_id: str) -> bool:
        plan = self.store.load_plan(plan_id)
        return plan is not None and reconcile_plan(plan, self.store).state is PlanState.RUNNING

    def plan(self, plan_id: str) -> Plan:
        plan = self.store.load_plan(plan_id)
        if plan is None:
            raise JobError(f"no plan {plan_id!r}")
        return reconcile_plan(plan, self.store)

    # -- launching --------------------------------------------------------------------------------
    def launch(
        self,
        table: str,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        dates: Sequence[dt.date] | None = None,
    ) -> JobView:
        """Start the table's backfill now (the pipeline's range unless given dates or a range)."""
        rec = self._create(table, start=start, end=end, dates=dates)
        return self._started(rec, "launch")

    def launch_missing(self, table: str, snapshot: Any) -> JobView:
        """Backfill only the dates `snapshot` says are missing (one range if they are one gap)."""
        t = self._table(table)
        cov = snapshot.tables.get(t.name)
        if cov is None:
            raise JobError(f"no coverage for {t.name!r} in the snapshot")
        if not cov.missing:
            exp = getattr(snapshot, "expected_dates", None)
            span = f"{exp[0]}..{exp[-1]}" if exp else "the range"
            raise JobError(f"{t.name} has no missing dates in {span}")
        span = cov.gap_span()
        if span:  # one contiguous gap: ask for the range, not hundreds of --dates
            return self.launch(t.name, start=span[0], end=span[1])
        return self.launch(t.name, dates=cov.missing)

    def queue(
        self,
        table: str,
        plan_id: str,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        dates: Sequence[dt.date] | None = None,
    ) -> JobView:
        """Create a QUEUED job of plan `plan_id` (its runner starts it with `start_queued`)."""
        rec = self._create(table, start=start, end=end, dates=dates, plan=plan_id)
        return self._progress.view(rec)

    def restart(self, job_id: str) -> JobView:
        """Relaunch a failed/stopped/lost job's argv: the program resumes from its checkpoint."""
        old = self.job(job_id).record
        if old.state not in (JobState.FAILED, JobState.STOPPED, JobState.LOST):
            raise JobError(
                f"job {old.id} is {old.state}; only failed, stopped or lost jobs restart"
            )
        fields = {"start": old.start, "end": old.end, "dates": old.dates}
        rec = self._new_record(self._table(old.table), list(old.argv), fields, restarted=old.id)
        return self._started(rec, "restart")

    def start_queued(self, job_id: str) -> JobView:
        """Start a job a plan queued (used by the plan runner)."""
        rec = self.store.load_job(job_id)
        if rec is None:
            raise JobError(f"no job {job_id!r}")
        with self._table_lock(rec.table):
            rec = self.store.load_job(job_id)
            if rec is None or rec.state is not JobState.QUEUED or rec.shim_pid or rec.pid:
                raise JobError(f"job {job_id} is not waiting to start")
            self._spawn(rec)
        return self._started(rec, "launch")

    def _create(
        self,
        table: str,
        *,
        start: dt.date | None,
        end: dt.date | None,
        dates: Sequence[dt.date] | None,
        plan: str | None = None,
    ) -> JobRecord:
        t = self._table(table)
        try:
            argv = commands.render_argv(self.pipeline, t, start=start, end=end, dates=dates)
        except commands.NoBackfill as e:
            raise JobError(str(e)) from None
        if dates is not None:
            fields = {"dates": [d.isoformat() for d in sorted(set(dates))]}
        else:
            first, last = start or self.pipeline.range.start, end or self.pipeline.range.end
            fields = {"start": first.isoformat(), "end": last.isoformat()}
        return self._new_record(t, argv, fields, plan=plan)

    def _new_record(
        self,
        table: Table,
        argv: list[str],
        fields: dict[str, Any],
        *,
        restarted: str | None = None,
        plan: str | None = None,
    ) -> JobRecord:
        """Check + create (+ start unless queued for a plan), all under the table's lock."""
        with self._table_lock(table.name):
            act = self.active(table.name)
            if act is not None:
                who = f" by {act.record.user}" if act.record.user != self.user else ""
                raise JobError(
                    f"{table.name} already has an active job {act.id} ({act.state}{who}); "
                    "stop it first"
                )
            rec = JobRecord(
                id=self.store.new_job_id(),
                table=table.name,
                argv=argv,
                log="",
                created_at=time.time(),
                user=self.user,
                cwd=str(self.pipeline.base_dir),
                restarted_from=restarted,
                plan=plan,
                **fields,
            )
            self.store.save_job(rec)
            if plan is None:
                self._spawn(rec)
        return rec

    def _spawn(self, rec: JobRecord) -> None:
        log = open_log(self.pipeline.log_dir, rec.table)
        rec.log = str(log)
        self.store.update_job(rec.id, lambda r: setattr(r, "log", str(log)))
        self.engine.start(rec, self.store)

    def _started(self, rec: JobRecord, action: str) -> JobView:
        """Wait (bounded) for the engine to record the program's pid, log the action, return."""

        def ready() -> bool:
            r = self.store.load_job(rec.id)
            return r is None or r.pid is not None or not r.state.active

        procs.wait_until(ready, 10.0, 0.01)
        view = self.job(rec.id)
        names = ("start", "end", "dates", "plan", "restarted_from", "log")
        return self._log(view, action, **{k: getattr(view.record, k) for k in names})

    # -- signals ----------------------------------------------------------------------------------
    def pause(self, job_id: str) -> JobView:
        """SIGSTOP every process of a running job; returns once they are all stopped (<= 1 s)."""
        view = self.job(job_id)
        rec = view.record
        if rec.state is JobState.PAUSED:
            return view
        if rec.state is not JobState.RUNNING:
            raise JobError(f"job {rec.id} is {rec.state}; only a running job can be paused")
        self._signal(rec, signal.SIGSTOP)
        now = time.time()

        def paused(r: JobRecord) -> None:
            if r.state.active:
                r.state, r.paused_at = JobState.PAUSED, r.paused_at or now

        self.store.update_job(rec.id, paused)
        procs.wait_until(lambda: all(p.state == "T" for p in self.engine.members(rec)), 1.0)
        return self._log(self.job(rec.id), "pause")

    def resume(self, job_id: str) -> JobView:
        """SIGCONT a paused job (its paused time is excluded from its rate)."""
        view = self.job(job_id)
        rec = view.record
        if rec.state is JobState.RUNNING:
            return view
        if rec.state is not JobState.PAUSED:
            raise JobError(f"job {rec.id} is {rec.state}; only a paused job can be resumed")
        self._signal(rec, signal.SIGCONT)
        now = time.time()

        def resumed(r: JobRecord) -> None:
            if r.paused_at is not None:
                r.paused_total += now - r.paused_at
            r.paused_at = None
            if r.state.active:
                r.state = JobState.RUNNING

        self.store.update_job(rec.id, resumed)
        return self._log(self.job(rec.id), "resume")

    def stop(self, job_id: str, grace: float | None = None) -> JobView:
        """TERM (and CONT) to the job, KILL what is left after `grace`; nothing survives."""
        grace = self.pipeline.jobs.stop_grace if grace is None else grace
        rec = self.job(job_id).record
        if not rec.state.active:
            raise JobError(f"job {rec.id} is already {rec.state}")
        t0 = time.monotonic()
        self.store.update_job(rec.id, lambda r: setattr(r, "stop_requested", True))
        if rec.pid is None:
            if not self.engine.alive(rec):
                return self.mark_stopped(rec.id, "stopped before it started")
            # a launcher that is starting: let it record the pid (it TERMs the job itself if so)
            procs.wait_until(
                lambda: (self.store.load_job(rec.id) or rec).pid is not None, 5.0, 0.01
            )
            rec = self.store.load_job(rec.id) or rec
        killed = self._terminate(rec, grace)
        # the launcher records STOPPED when the program is reaped; if it is gone, we do it
        procs.wait_until(lambda: not (self.store.load_job(rec.id) or rec).state.active, 5.0, 0.01)
        if (self.store.load_job(rec.id) or rec).state.active:
            self._set_stopped(rec.id, "stopped (no exit status from the shim)")
        procs.wait_until(lambda: not self.engine.alive(rec), 2.0, 0.01)  # the whole session is gone
        return self._log(
            self.job(rec.id),
            "stop",
            grace=grace,
            killed=killed,
            seconds=round(time.monotonic() - t0, 3),
        )

    def _terminate(self, rec: JobRecord, grace: float) -> bool:
        """TERM + CONT, then KILL after `grace` if anything is left; True if KILL was needed."""
        self.engine.signal(rec, signal.SIGTERM)
        self.engine.signal(rec, signal.SIGCONT)
        if procs.wait_until(lambda: not self.engine.members(rec), grace, 0.01):
            return False
        self.engine.signal(rec, signal.SIGKILL)
        procs.wait_until(lambda: not self.engine.members(rec), 5.0, 0.01)
        return True

    def mark_stopped(self, job_id: str, message: str) -> JobView:
        """Record an active job that will never run (e.g. a plan's queued job) as STOPPED."""
        self._set_stopped(job_id, message)
        return self._log(self.job(job_id), "stop", message=message)

    def _set_stopped(self, job_id: str, message: str) -> None:
        def apply(r: JobRecord) -> None:
            if r.state.active:
                r.state, r.ended_at, r.message = JobState.STOPPED, time.time(), message

        self.store.update_job(job_id, apply)

    def _log(self, view: JobView, action: str, **extra: Any) -> JobView:
        """Append the action to the action log (with the exact argv); returns `view`."""
        r = view.record
        facts = {"job": r.id, "table": r.table, "argv": r.argv, "pid": r.pid, "state": r.state}
        actions.record(self.store, user=self.user, action=action, **facts, **extra)
        return view

    def _signal(self, rec: JobRecord, sig: int) -> None:
        """Signal the job's processes; never a pid whose create_time differs."""
        if not self.engine.signal(rec, sig):
            raise JobError(f"job {rec.id}: process {rec.pid} is gone")

    # -- plans ------------------------------------------------------------------------------------
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
            raise JobError(f"nothing to launch in {phase}: no table with a backfill is short")
        plan = self._new_plan("phase", [phase], missing, skip_preflight)
        plan = self.queue_stage(plan.id, phase, planned)
        if not plan.jobs:
            why = "; ".join(f"{s['table']}: {s['reason']}" for s in plan.skipped)
            self.store.update_plan(
                plan.id, lambda p: p.finish(PlanState.CANCELLED, why, time.time())
            )
            raise JobError(f"nothing queued: {why}")
        return self._start_runner(plan)

    def run_phases(
        self, phases: Sequence[str], *, missing: bool = True, skip_preflight: bool = False
    ) -> Plan:
        """Chain phases: each starts when its preflight passes (see jobs/runner.py)."""
        try:
            ordered = order_phases(self.pipeline, phases)
        except KeyError as e:
            raise JobError(f"unknown phase {e.args[0]!r}") from None
        return self._start_runner(self._new_plan("run", ordered, missing, skip_preflight))

    def queue_stage(self, plan_id: str, phase: str, planned: Sequence[PlannedJob]) -> Plan:
        """Queue the phase's jobs for plan `plan_id` (tables with an active job are skipped)."""
        ids, skipped = [], []
        for pj in planned:
            try:
                ids.append(
                    self.queue(pj.table, plan_id, start=pj.start, end=pj.end, dates=pj.dates).id
                )
            except JobError as e:
                skipped.append({"table": pj.table, "reason": str(e)})

        def apply(p: Plan) -> None:
            p.jobs = [*p.jobs, *ids]
            p.stage_jobs[phase] = ids
            p.skipped = [*p.skipped, *skipped]
            p.stage_queued = True

        plan = self.store.update_plan(plan_id, apply)
        if plan is None:
            raise JobError(f"no plan {plan_id!r}")
        return plan

    def cancel_plan(self, plan_id: str) -> Plan:
        """Stop starting jobs of the plan; its queued jobs become STOPPED (running ones go on)."""
        plan = self.store.update_plan(plan_id, lambda p: setattr(p, "state", PlanState.CANCELLED))
        if plan is None:
            raise JobError(f"no plan {plan_id!r}")
        # the stored records: reconciled, a cancelled plan's queued jobs would already read LOST
        for r in self.store.load_jobs():
            if r.plan == plan_id and r.state is JobState.QUEUED and not (r.shim_pid or r.pid):
                self.mark_stopped(r.id, f"plan {plan_id} cancelled")
        actions.record(self.store, user=self.user, action="plan-cancel", plan=plan_id)
        return reconcile_plan(plan, self.store)

    def _new_plan(self, kind: str, phases: list[str], missing: bool, skip: bool) -> Plan:
        plan = Plan(self.store.new_plan_id(), kind, phases, self.user, time.time(), missing, skip)
        self.store.save_plan(plan)
        return plan

    def _start_runner(self, plan: Plan) -> Plan:
        """Spawn the plan's detached runner (own session: it outlives the caller), log it."""
        log = open_log(self.pipeline.log_dir, f"plan_{plan.id}")
        argv = runner_argv(self.pipeline, plan.id)
        proc = spawn_detached(argv, log, self.pipeline.base_dir)
        started = procs.create_time(proc.pid)

        def spawned(p: Plan) -> None:
            p.runner_pid, p.runner_start_time, p.log = proc.pid, started, str(log)

        plan = self.store.update_plan(plan.id, spawned) or plan
        actions.record(
            self.store,
            user=self.user,
            action="plan",
            plan=plan.id,
            kind=plan.kind,
            phases=plan.phases,
            jobs=plan.jobs,
            skipped=plan.skipped or None,
            missing=plan.missing,
            skip_preflight=plan.skip_preflight,
            argv=argv,
        )
        return plan

    # -- helpers ----------------------------------------------------------------------------------
    def _table(self, name: str) -> Table:
        try:
            return self.pipeline.table(name)
        except KeyError:
            known = ", ".join(t.name for t in self.pipeline.tables())
            raise JobError(f"unknown table {name!r} (tables: {known})") from None

    @contextlib.contextmanager
    def _table_lock(self, table: str) -> Iterator[None]:
        try:
            with self.store.table_lock(table):
                yield
        except LockTimeout as e:  # another launcher held it for 30 s: say so, in one line
            raise JobError(str(e)) from None
