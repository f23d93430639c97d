"""Launch, pause, resume, stop, restart and re-adopt detached backfill jobs.

The supervisor holds no process handles that matter: everything lives in the state directory
(see store.py) and in /proc, so any number of Supervisor instances — two dashboards over SSH, the
CLI from cron, a plan runner — see and control the same jobs, and a dashboard killed with
`kill -9` loses nothing. Every call re-reads the records and *reconciles* them with reality:

* a record the shim finished carries its exit code (DONE / FAILED / STOPPED);
* a live program in /proc state `T` is PAUSED (even if someone sent SIGSTOP by hand), a live one
  in any other state RUNNING;
* a program that is gone while its shim is gone too, without an exit status, is LOST; so is a
  recorded pid that now belongs to another process (its create_time differs) — such a pid is
  never signalled.

Reading (`jobs`, `job`, `active`, `history`, `tail`, `plans`) never writes, so the supervisor
works for a read-only dashboard on a state directory it may not write to.

Signals go to the job's process group (`killpg`) and, because a grandchild may call setpgid()
and leave the group, also to every other process of the job's *session* (the shim's setsid()
session, found by scanning /proc) — except the shim, which must survive to record the exit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import getpass
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nba_tui import commands
from nba_tui.config import Pipeline, Table
from nba_tui.jobs import actions
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.jobs.progress import LogProgress, tail
from nba_tui.jobs.shim import (
    create_time,
    job_members,
    proc_stat,
    same_process,
    shim_alive,
    signal_job,
)
from nba_tui.jobs.store import LockTimeout, Store, open_log
from nba_tui.orchestrator import Plan, plan_phase

STARTUP_GRACE = 30.0
"""A record with no shim yet is QUEUED for this long after creation (a launch in progress)."""
POLL = 0.005


def spawn_detached(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start a process that outlives us: its own session, stdin /dev/null, output appended to
    `log` (a file, never a pipe someone must drain). Used for job shims and plan runners alike."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            argv,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            close_fds=True,
            cwd=str(cwd),
        )
    finally:
        os.close(fd)
    # reap it when it exits, so it never lingers as a zombie of a long-lived dashboard
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    return proc


class JobError(Exception):
    """An action that cannot be done (already active, not running, unknown job). One line."""


class PreflightFailed(JobError):
    """launch_phase refused: the phase's inputs are short. `.lines` says what would degrade."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


def _wait(cond: Any, timeout: float, interval: float = POLL) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Supervisor:
    def __init__(self, pipeline: Pipeline, user: str | None = None) -> None:
        self.pipeline = pipeline
        self.user = user or getpass.getuser()
        self.store = Store(pipeline.state_dir)
        self._trackers: dict[str, LogProgress] = {}
        self._lock = threading.RLock()

    # -- reading ----------------------------------------------------------------------------------
    def jobs(self) -> list[JobView]:
        """All known jobs, newest first, reconciled with /proc."""
        plans: dict[str, Plan | None] = {}
        return [self._view(self._reconcile(r, plans)) for r in self.store.load_jobs()]

    def job(self, job_id: str) -> JobView:
        rec = self.store.load_job(job_id)
        if rec is None:
            raise JobError(f"no job {job_id!r} in {self.store.jobs_dir}")
        return self._view(self._reconcile(rec, {}))

    def active(self, table: str) -> JobView | None:
        name = self._table(table).name
        for v in self.jobs():
            if v.record.table == name and v.state.active:
                return v
        return None

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
        return [self._plan_state(Plan.from_json(p)) for p in self.store.load_plans()]

    def resolve(self, ref: str) -> JobView:
        """A job by id, or by table name: its active job, else its latest (for the CLI)."""
        rec = self.store.load_job(ref)
        if rec is not None:
            return self._view(self._reconcile(rec, {}))
        try:
            name = self.pipeline.table(ref).name
        except KeyError:
            raise JobError(f"no job or table {ref!r} (see `nba-tui jobs`)") from None
        views = [v for v in self.jobs() if v.record.table == name]
        if not views:
            raise JobError(f"table {name!r} has no jobs yet")
        return next((v for v in views if v.state.active), views[0])

    # -- launching --------------------------------------------------------------------------------
    def launch(
        self,
        table: str,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        dates: Sequence[dt.date] | None = None,
    ) -> JobView:
        t = self._table(table)
        try:
            argv = commands.render_argv(self.pipeline, t, start=start, end=end, dates=dates)
        except commands.NoBackfill as e:
            raise JobError(str(e)) from None
        rec = self._create(
            t,
            argv,
            start=None if dates is not None else (start or self.pipeline.range.start).isoformat(),
            end=None if dates is not None else (end or self.pipeline.range.end).isoformat(),
            dates=None if dates is None else [d.isoformat() for d in sorted(set(dates))],
        )
        return self._started(rec, "launch")

    def launch_missing(self, table: str, snapshot: Any) -> JobView:
        t = self._table(table)
        cov = snapshot.tables.get(t.name)
        if cov is None:
            raise JobError(f"no coverage for {t.name!r} in the snapshot")
        if not cov.missing:
            raise JobError(f"{t.name} has no missing dates in {snapshot_range(snapshot)}")
        span = cov.gap_span()
        if span:  # one contiguous gap: ask for the range, not hundreds of --dates
            return self.launch(t.name, start=span[0], end=span[1])
        return self.launch(t.name, dates=cov.missing)

    def restart(self, job_id: str) -> JobView:
        """Relaunch a failed/stopped/lost job's argv: the program resumes from its checkpoint."""
        old = self.job(job_id).record
        if old.state not in (JobState.FAILED, JobState.STOPPED, JobState.LOST):
            raise JobError(
                f"job {old.id} is {old.state}; only failed, stopped or lost jobs restart"
            )
        rec = self._create(
            self._table(old.table),
            list(old.argv),
            start=old.start,
            end=old.end,
            dates=old.dates,
            restarted_from=old.id,
        )
        return self._started(rec, "restart")

    def start_queued(self, job_id: str) -> JobView:
        """Start a job a plan queued (used by the plan runner)."""
        rec = self.store.load_job(job_id)
        if rec is None:
            raise JobError(f"no job {job_id!r}")
        with self._table_lock(rec.table):
            rec = self.store.load_job(job_id)
            if rec is None or rec.state is not JobState.QUEUED or rec.shim_pid:
                raise JobError(f"job {job_id} is not waiting to start")
            self._spawn(rec)
        return self._started(rec, "launch")

    def _create(
        self,
        table: Table,
        argv: list[str],
        *,
        start: str | None = None,
        end: str | None = None,
        dates: list[str] | None = None,
        restarted_from: str | None = None,
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
                start=start,
                end=end,
                dates=dates,
                cwd=str(self.pipeline.base_dir),
                restarted_from=restarted_from,
                plan=plan,
            )
            self.store.save_job(rec)
            if plan is None:
                self._spawn(rec)
        return rec

    def _spawn(self, rec: JobRecord) -> None:
        log = open_log(self.pipeline.log_dir, rec.table)
        rec.log = str(log)
        self.store.update_job(rec.id, lambda r: setattr(r, "log", str(log)))
        proc = spawn_detached(
            [sys.executable, "-m", "nba_tui.jobs.shim", str(self.store.root), rec.id],
            log,
            self.pipeline.base_dir,
        )
        ct = create_time(proc.pid)

        def spawned(r: JobRecord) -> None:
            r.shim_pid, r.shim_start_time = proc.pid, ct

        self.store.update_job(rec.id, spawned)

    def _started(self, rec: JobRecord, action: str) -> JobView:
        """Wait (bounded) for the shim to record the program's pid, log the action, return."""

        def ready() -> bool:
            r = self.store.load_job(rec.id)
            return r is None or r.pid is not None or not r.state.active

        _wait(ready, 10.0, 0.01)
        view = self.job(rec.id)
        r = view.record
        actions.record(
            self.store,
            user=self.user,
            action=action,
            job=r.id,
            table=r.table,
            argv=r.argv,
            start=r.start,
            end=r.end,
            dates=r.dates,
            plan=r.plan,
            restarted_from=r.restarted_from,
            log=r.log,
            pid=r.pid,
        )
        return view

    # -- signals ----------------------------------------------------------------------------------
    def pause(self, job_id: str) -> JobView:
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
        _wait(lambda: all(p.state == "T" for p in self._members(rec)), 1.0)
        return self._logged("pause", rec.id)

    def resume(self, job_id: str) -> JobView:
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
        return self._logged("resume", rec.id)

    def stop(self, job_id: str, grace: float | None = None) -> JobView:
        """TERM (and CONT) to the job, KILL what is left after `grace`; nothing survives."""
        grace = self.pipeline.jobs.stop_grace if grace is None else grace
        rec = self.job(job_id).record
        if not rec.state.active:
            raise JobError(f"job {rec.id} is already {rec.state}")
        t0 = time.monotonic()
        self.store.update_job(rec.id, lambda r: setattr(r, "stop_requested", True))
        if rec.pid is None:
            if not self._shim_alive(rec):
                return self._mark_stopped(rec.id, "stopped before it started", t0)
            # a shim that is starting: let it record the pid (it TERMs the job itself if so)
            _wait(lambda: (self.store.load_job(rec.id) or rec).pid is not None, 5.0, 0.01)
            rec = self.store.load_job(rec.id) or rec
        killed = False
        self._signal(rec, signal.SIGTERM, quiet=True)
        self._signal(rec, signal.SIGCONT, quiet=True)
        if not _wait(lambda: not self._members(rec), grace, 0.01):
            killed = True
            self._signal(rec, signal.SIGKILL, quiet=True)
            _wait(lambda: not self._members(rec), 5.0, 0.01)
        # the shim records STOPPED when its child is reaped; if it is gone, we do it
        _wait(lambda: not (self.store.load_job(rec.id) or rec).state.active, 5.0, 0.01)
        if (self.store.load_job(rec.id) or rec).state.active:
            self._mark_stopped(rec.id, "stopped (no exit status from the shim)", t0)
        _wait(lambda: not self._shim_alive(rec), 2.0, 0.01)  # the whole session is gone
        return self._logged(
            "stop", rec.id, grace=grace, killed=killed, seconds=round(time.monotonic() - t0, 3)
        )

    def _mark_stopped(self, job_id: str, message: str, t0: float) -> JobView:
        def apply(r: JobRecord) -> None:
            if r.state.active:
                r.state, r.ended_at, r.message = JobState.STOPPED, time.time(), message

        self.store.update_job(job_id, apply)
        return self._logged("stop", job_id, seconds=round(time.monotonic() - t0, 3))

    def _logged(self, action: str, job_id: str, **extra: Any) -> JobView:
        view = self.job(job_id)
        r = view.record
        actions.record(
            self.store,
            user=self.user,
            action=action,
            job=r.id,
            table=r.table,
            argv=r.argv,
            pid=r.pid,
            state=str(r.state),
            **extra,
        )
        return view

    def _members(self, rec: JobRecord) -> list[Any]:
        return job_members(rec)

    def _signal(self, rec: JobRecord, sig: int, quiet: bool = False) -> None:
        """Signal the job's group and strays; never a pid whose create_time differs."""
        if not signal_job(rec, sig) and not quiet:
            raise JobError(f"job {rec.id}: process {rec.pid} is gone")

    def _shim_alive(self, rec: JobRecord) -> bool:
        return shim_alive(rec)

    # -- reconcile --------------------------------------------------------------------------------
    def _reconcile(self, rec: JobRecord, plans: dict[str, Plan | None]) -> JobRecord:
        """The record as reality has it (a copy; nothing is written)."""
        if not rec.state.active:
            return rec
        if rec.pid is None:
            if self._shim_alive(rec):
                return rec
            if rec.shim_pid is not None:
                fresh = self.store.load_job(rec.id) or rec
                if fresh.pid is not None or not fresh.state.active:
                    return self._reconcile(fresh, plans) if fresh.pid is None else fresh
                return _lost(rec, "the shim exited before starting the program (see the log)")
            if rec.plan:
                if rec.plan not in plans:
                    data = self.store.load_plan(rec.plan)
                    plans[rec.plan] = self._plan_state(Plan.from_json(data)) if data else None
                plan = plans[rec.plan]
                if plan is not None and plan.state == "running":
                    return rec
                return _lost(rec, f"its plan {rec.plan} is no longer running")
            if time.time() - rec.created_at < STARTUP_GRACE:
                return rec
            return _lost(rec, "never started (the launcher died)")
        if same_process(rec.pid, rec.start_time):
            st = proc_stat(rec.pid)
            state = JobState.PAUSED if st and st.state == "T" else JobState.RUNNING
            return rec if state is rec.state else dataclasses.replace(rec, state=state)
        if self._shim_alive(rec):  # the program just ended; the shim is writing its status
            return rec
        fresh = self.store.load_job(rec.id) or rec
        if not fresh.state.active:
            return fresh
        st = proc_stat(rec.pid)
        if st is not None and st.state not in ("Z", "X"):
            return _lost(rec, f"pid {rec.pid} now belongs to another process")
        return _lost(rec, "the process is gone without an exit status")

    def _view(self, rec: JobRecord) -> JobView:
        if not rec.log:
            return JobView(rec, Progress())
        with self._lock:
            tr = self._trackers.get(rec.id)
            if tr is None:
                tr = LogProgress(rec.log, self._progress_regex(rec.table))
                self._trackers[rec.id] = tr
            tr.update()
            return JobView(rec, tr.progress(rec))

    def _progress_regex(self, table: str) -> str:
        try:
            t = self.pipeline.table(table)
        except KeyError:
            return r"Processing (?P<date>\d{4}-\d{2}-\d{2})"
        return t.backfill.progress if t.backfill else r"Processing (?P<date>\d{4}-\d{2}-\d{2})"

    # -- plans ------------------------------------------------------------------------------------
    def launch_phase(
        self, phase: str, snapshot: Any, *, missing: bool = True, skip_preflight: bool = False
    ) -> Plan:
        from nba_tui.orchestrator import start_plan

        try:
            self.pipeline.phase(phase)
        except KeyError:
            raise JobError(f"unknown phase {phase!r}") from None
        if not skip_preflight:
            from nba_tui import preflight

            report = preflight.check(self.pipeline, snapshot, phase)
            if not report.ready:
                short = ", ".join(c.coverage.name for c in report.failing)
                raise PreflightFailed(
                    f"preflight for {phase} fails: {short}",
                    report.degradation(),
                )
        planned = plan_phase(self.pipeline, snapshot, phase, missing=missing)
        if not planned:
            raise JobError(f"nothing to launch in {phase}: no table with a backfill is short")
        return start_plan(
            self, "phase", [phase], planned=planned, missing=missing, skip_preflight=skip_preflight
        )

    def run_phases(
        self, phases: Sequence[str], *, missing: bool = True, skip_preflight: bool = False
    ) -> Plan:
        """Chain phases: each starts when its preflight passes (see orchestrator.run_plan)."""
        from nba_tui.orchestrator import order_phases, start_plan

        return start_plan(
            self,
            "run",
            order_phases(self.pipeline, phases),
            planned=None,
            missing=missing,
            skip_preflight=skip_preflight,
        )

    def cancel_plan(self, plan_id: str) -> Plan:
        """Stop starting jobs of the plan; its queued jobs become STOPPED (running ones go on)."""
        data = self.store.update_plan(plan_id, lambda p: p.update(state="cancelled"))
        if data is None:
            raise JobError(f"no plan {plan_id!r}")
        for v in self.jobs():
            if v.record.plan == plan_id and v.state is JobState.QUEUED and not v.record.shim_pid:
                self._mark_stopped(v.id, f"plan {plan_id} cancelled", time.monotonic())
        actions.record(self.store, user=self.user, action="plan-cancel", plan=plan_id)
        return self._plan_state(Plan.from_json(data))

    def _plan_state(self, plan: Plan) -> Plan:
        if (
            plan.state == "running"
            and plan.runner_pid is not None
            and not same_process(plan.runner_pid, plan.runner_start_time)
        ):
            fresh = self.store.load_plan(plan.id)
            if fresh and fresh.get("state") == "running":
                return dataclasses.replace(plan, state="lost")
            return Plan.from_json(fresh) if fresh else plan
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
            lock = self.store.table_lock(table)
            lock.__enter__()
        except LockTimeout as e:
            raise JobError(str(e)) from None
        try:
            yield
        finally:
            lock.__exit__(None, None, None)


def _lost(rec: JobRecord, why: str) -> JobRecord:
    return dataclasses.replace(rec, state=JobState.LOST, message=rec.message or why)


def snapshot_range(snapshot: Any) -> str:
    exp = getattr(snapshot, "expected_dates", None)
    return f"{exp[0]}..{exp[-1]}" if exp else "the range"
