"""Launch, queue, pause, resume, stop, restart and re-adopt detached backfill jobs and plans.

The supervisor holds no process handles that matter: everything lives in the state directory
(store.py) and in the processes themselves, reached through an engine (engines/; the default
`LocalEngine` runs each job under a detached shim). So any number of Supervisor instances — two
dashboards over SSH, the CLI from cron, a plan runner — see and control the same jobs, and a
dashboard killed with `kill -9` loses nothing: a new Supervisor *adopts* every job by reading its
record. Every call re-reads the records and *reconciles* them with reality (reconcile.py).

Rules that keep it safe (docs/JOBS.md, "Trust" and "Actions"):

* arguments are bounded before anything touches a file or a process (checks.py);
* a table has an active job when a record says so *or* its run lock is held by a live shim (or
  a damaged record's session still has processes): a damaged record never allows a second launch;
* every action is written first (the action log, then the record) and signals after: a full or
  read-only disk refuses the action whole instead of signalling and then failing;
* argv is rendered from the current config (commands.render_argv), never read back from a record,
  and a log path is the log directory + a validated file name.

Reading (`jobs`, `job`, `active`, `history`, `tail`, `plans`, `damaged`) never writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import getpass
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nba_tui import commands
from nba_tui.config import Pipeline, Table
from nba_tui.jobs import actions, checks, procs, runlock
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.engines.local import LocalEngine
from nba_tui.jobs.errors import BadState, EngineRefused, JobError, PreflightFailed, refusal
from nba_tui.jobs.model import Damaged, JobRecord, JobState, JobView
from nba_tui.jobs.plan_ops import PlanOps
from nba_tui.jobs.plans import missing_job, no_fillable_reason
from nba_tui.jobs.progress import Trackers
from nba_tui.jobs.read_ops import ReadOps
from nba_tui.jobs.reconcile import live_shims, reconcile
from nba_tui.jobs.remote_ops import REMOTE_GRACE, RemoteOps
from nba_tui.jobs.store import LockTimeout, StateError, Store, open_log

__all__ = [
    "BadState",
    "Damaged",
    "EngineRefused",
    "JobError",
    "PreflightFailed",
    "StateError",
    "Supervisor",
]


class Supervisor(PlanOps, RemoteOps, ReadOps):
    """The one job launcher and controller, for the dashboard, the CLI and the plan runner."""

    def __init__(
        self, pipeline: Pipeline, user: str | None = None, engine: Engine | None = None
    ) -> None:
        self.pipeline = pipeline
        self.user = user or getpass.getuser()
        self.store = Store(pipeline.state_dir)
        self.store.verify()  # StateError: a state dir that is not ours alone
        self.engine: Engine = engine or LocalEngine(pipeline.source.resolve())
        self._progress = Trackers(pipeline)

    # -- reading ----------------------------------------------------------------------------------
    def jobs(self) -> list[JobView]:
        """All readable jobs, newest first, reconciled with their processes (see `damaged`)."""
        running: dict[str, bool] = {}

        def plan_running(plan_id: str) -> bool:  # each plan looked up once per listing
            if plan_id not in running:
                running[plan_id] = self._plan_running(plan_id)
            return running[plan_id]

        held = live_shims(self.store).__contains__  # one look at the run locks per listing
        return [self._read(r, plan_running, held) for r in self.store.load_jobs()]

    def damaged(self) -> list[Damaged]:
        """Job records that cannot be read: id, path and why (shown by `jobs`, never dropped)."""
        return self.store.scan_jobs()[1]

    def state_version(self) -> int:
        """A token that changes whenever a job or plan record is written: two stat() calls, so
        a dashboard can poll it often and re-read the jobs only when it changed."""
        return self.store.version()

    def job(self, job_id: str) -> JobView:
        checks.ref(job_id)
        rec = self.store.read_job(job_id)
        if isinstance(rec, Damaged):
            raise JobError(runlock.damaged_message(self.store, rec))
        if rec is None:
            raise JobError(f"no job {job_id!r} in {self.store.jobs_dir}")
        return self._read(rec)

    def active(self, table: str) -> JobView | None:
        """The table's queued, running or paused job, whoever launched it."""
        name = self._table(table).name
        return next((v for v in self.jobs() if v.record.table == name and v.state.active), None)

    def _read(self, rec: JobRecord, plan_running: Callable[[str], bool] | None = None,
              holds: Callable[[str], bool] | None = None) -> JobView:  # fmt: skip
        """The record reconciled (reconcile.py), with its progress; its log: log_dir + its name."""
        rec = dataclasses.replace(rec, log=checks.log_file(self.pipeline.log_dir, rec))
        rec = reconcile(rec, self.engine, self.store, plan_running or self._plan_running, holds)
        return self._progress.view(rec)

    def archive_ended(self) -> int:
        """Move every ended job's record into jobs/archive/ (kept, no longer listed): `demo
        reset` starts the grid afresh. Returns how many were moved."""
        n = 0
        for v in self.jobs():
            if not v.state.active:
                n += self.store.archive_job(v.id)
        return n

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
        return self._started(rec)

    def launch_missing(self, table: str, snapshot: Any) -> JobView:
        """Backfill the missing dates something can fill (`plans.missing_job`); refused, saying
        why, when none is missing or none can be filled."""
        t = self._table(table)
        if t.name not in snapshot.tables:
            raise JobError(f"no coverage for {t.name!r} in the snapshot")
        job = missing_job(self.pipeline, snapshot, t.name)
        if job is None:
            raise JobError(no_fillable_reason(self.pipeline, snapshot, t.name))
        if job.dates is None:
            return self.launch(t.name, start=job.start, end=job.end)
        return self.launch(t.name, dates=job.dates)

    def queue(
        self,
        table: str,
        plan_id: str,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        dates: Sequence[dt.date] | None = None,
        shard: str | None = None,
        attempt: int = 1,
    ) -> JobView:
        """Create a QUEUED job of plan `plan_id` (its runner starts it with `start_queued`);
        a `shard` (its label) may run beside the plan's other shards of the table."""
        rec = self._create(
            table, start=start, end=end, dates=dates, plan=plan_id, shard=shard, attempt=attempt
        )
        return self._progress.view(rec)

    def restart(self, job_id: str) -> JobView:
        """Relaunch a failed/stopped/lost job's dates with the argv the *current* config renders:
        the program resumes from its checkpoint. The recorded argv is never run."""
        old = self.job(job_id).record
        if old.state not in (JobState.FAILED, JobState.STOPPED, JobState.LOST):
            raise JobError(
                f"job {old.id} is {old.state}; only failed, stopped or lost jobs restart"
            )
        start, end, days = checks.recorded_dates(old)
        rec = self._create(old.table, start=start, end=end, dates=days, restarted=old.id)
        return self._started(rec)

    def start_queued(self, job_id: str, wait: bool = True) -> JobView:
        """Start a job a plan queued (used by the plan runner); its argv is rendered afresh.
        `wait=False`: return once its shim is recorded, without waiting for the program."""
        checks.ref(job_id)
        rec = self.store.load_job(job_id)
        if rec is None:
            raise JobError(f"no job {job_id!r}")
        with self._table_lock(rec.table):
            rec = self.store.load_job(job_id)
            if rec is None or rec.state is not JobState.QUEUED or rec.shim_pid or rec.pid:
                raise JobError(f"job {job_id} is not waiting to start")
            if rec.plan and not self._plan_running(rec.plan):
                raise JobError(f"job {job_id}: its plan {rec.plan} is no longer running")
            self.check_engine(rec.engine)
            start, end, days = checks.recorded_dates(rec)
            argv = self._argv(self._table(rec.table), start, end, days, rec.shard, rec.engine)

            def ready(r: JobRecord) -> None:
                r.argv, r.log = argv, str(log)

            with self._writing("start the job"):
                log = open_log(self.pipeline.log_dir, rec.table)
                self._log_action(dataclasses.replace(rec, argv=argv, log=str(log)), "launch")
                rec = self.store.update_job(rec.id, ready) or rec
            self.engine_for(rec).start(rec, self.store)
        return self._started(rec) if wait else self._progress.view(rec)

    def _argv(
        self,
        t: Table,
        start: dt.date | None,
        end: dt.date | None,
        days: Sequence[dt.date] | None,
        shard: str | None = None,
        engine: str = "local",
    ) -> list[str]:
        checks.dates(self.pipeline, start, end, days)
        py = self.engine_python(engine)
        try:
            return commands.render_argv(
                self.pipeline, t, start=start, end=end, dates=days, shard=shard, python=py
            )
        except commands.NoBackfill as e:
            raise JobError(str(e)) from None

    def _create(
        self,
        table: str,
        *,
        start: dt.date | None,
        end: dt.date | None,
        dates: Sequence[dt.date] | None,
        plan: str | None = None,
        restarted: str | None = None,
        shard: str | None = None,
        attempt: int = 1,
    ) -> JobRecord:
        """Check + create (+ log the action, + start unless queued), under the table's lock."""
        t = self._table(table)
        engine = self.pipeline.engine_of(t.name)
        self.check_engine(engine)
        start, end, dates = self.engine_dates(engine, start, end, dates)
        argv = self._argv(t, start, end, dates, shard, engine)
        if dates is not None:
            fields: dict[str, Any] = {"dates": [d.isoformat() for d in sorted(set(dates))]}
        else:
            first, last = start or self.pipeline.range.start, end or self.pipeline.range.end
            fields = {"start": first.isoformat(), "end": last.isoformat()}
        with self._table_lock(t.name):
            if shard is None or plan is None:
                self._refuse_if_active(t.name)
            else:  # a plan's shard runs beside the same plan's shards on other dates only
                why = checks.overlap(t.name, plan, fields, [v.record for v in self.jobs()])
                if why := why or runlock.live_unrecorded(self.store, t.name):
                    raise JobError(why)
            rec = JobRecord(
                id=self.store.new_job_id(),
                table=t.name,
                argv=argv,
                log="",
                created_at=time.time(),
                user=self.user,
                cwd=str(self.pipeline.base_dir),
                restarted_from=restarted,
                plan=plan,
                shard=shard if plan is not None else None,
                attempt=attempt,
                engine=engine,
                **fields,
            )
            if plan is None:
                with self._writing("launch"):
                    rec.log = str(open_log(self.pipeline.log_dir, t.name))
            with self._writing("launch", undo=rec):
                self.store.insert_job(rec)
                if plan is None:  # recorded before it happens, or not at all
                    self._log_action(rec, "restart" if restarted else "launch")
            if plan is None:
                self.engine_for(rec).start(rec, self.store)
        return rec

    def _refuse_if_active(self, table: str) -> None:
        act = self.active(table)
        if act is not None:
            who = f" by {act.record.user}" if act.record.user != self.user else ""
            raise JobError(
                f"{table} already has an active job {act.id} ({act.state}{who}); stop it first"
            )
        live = runlock.live_unrecorded(self.store, table)
        if live is not None:
            raise JobError(live)

    def _started(self, rec: JobRecord) -> JobView:
        """Wait (bounded) for the engine to record the program's pid; the job as it stands."""

        def ready() -> bool:
            r = self.store.load_job(rec.id)
            return r is None or r.pid is not None or not r.state.active

        procs.wait_until(ready, 10.0, 0.01)
        return self.job(rec.id)

    # -- signals ----------------------------------------------------------------------------------
    def pause(self, job_id: str) -> JobView:
        """SIGSTOP every process of a running job; returns once they are all stopped (<= 1 s)."""
        view = self.job(job_id)
        rec = view.record
        if rec.state is JobState.PAUSED:  # a remote pause under way elsewhere: its outcome
            return self.await_remote_pause(rec) if rec.pause_requested else view
        if rec.state is not JobState.RUNNING:
            raise JobError(f"job {rec.id} is {rec.state}; only a running job can be paused")
        if rec.engine != "local":
            return self.pause_remote(rec)
        now = time.time()

        def paused(r: JobRecord) -> None:
            if r.state.active:
                r.state, r.paused_at = JobState.PAUSED, r.paused_at or now

        with self._writing("pause"):
            self._log_action(rec, "pause")
            self.store.update_job(rec.id, paused)
        self._signal(rec, signal.SIGSTOP)
        procs.wait_until(lambda: all(p.state == "T" for p in self.engine.members(rec)), 1.0)
        return self.job(rec.id)

    def resume(self, job_id: str) -> JobView:
        """SIGCONT a paused job (its paused time is excluded from its rate)."""
        view = self.job(job_id)
        rec = view.record
        if rec.state is JobState.RUNNING:
            return view
        if rec.state is not JobState.PAUSED:
            raise JobError(f"job {rec.id} is {rec.state}; only a paused job can be resumed")
        if rec.pause_requested:
            return self.resume_remote(rec)
        now = time.time()

        def resumed(r: JobRecord) -> None:
            if r.paused_at is not None:
                r.paused_total += now - r.paused_at
            r.paused_at = None
            if r.state.active:
                r.state = JobState.RUNNING

        with self._writing("resume"):
            self._log_action(rec, "resume")
            self.store.update_job(rec.id, resumed)
        self._signal(rec, signal.SIGCONT)
        return self.job(rec.id)

    def stop(self, job_id: str, grace: float | None = None) -> JobView:
        """TERM (and CONT) to the job, KILL what is left after `grace`; nothing survives.

        A job whose record is damaged is stopped from the facts its shim wrote into the
        table's run lock (the shim then rewrites the record with the exit)."""
        seconds = checks.grace(self.pipeline.jobs.stop_grace if grace is None else grace)
        checks.ref(job_id)
        found = self.store.read_job(job_id)
        if isinstance(found, Damaged):
            return self._stop_damaged(found, seconds)
        rec = self.job(job_id).record
        if not rec.state.active:
            raise JobError(f"job {rec.id} is already {rec.state}")
        if rec.engine != "local":  # the bridge cancels the run and waits for the engine
            seconds = max(seconds, REMOTE_GRACE)
        if rec.pause_requested and not self.engine.alive(rec):  # paused remotely: nothing runs
            left = len(rec.remote_left or [])
            return self.mark_stopped(rec.id, f"stopped while paused ({left} dates were left)")
        with self._writing("stop"):
            self._log_action(rec, "stop", grace=seconds)
            self.store.update_job(rec.id, lambda r: setattr(r, "stop_requested", True))
        if rec.pid is None:
            if not self.engine.alive(rec):
                self._set_stopped(rec.id, "stopped before it started")
                return self.job(rec.id)
            # a launcher that is starting: let it record the pid (it TERMs the job itself if so)
            procs.wait_until(
                lambda: (self.store.load_job(rec.id) or rec).pid is not None, 5.0, 0.01
            )
            rec = self.store.load_job(rec.id) or rec
        self._terminate(rec, seconds)
        # the launcher records STOPPED when the program is reaped; if it is gone, we do it
        procs.wait_until(lambda: not (self.store.load_job(rec.id) or rec).state.active, 5.0, 0.01)
        if (self.store.load_job(rec.id) or rec).state.active:
            with contextlib.suppress(OSError):
                self._set_stopped(rec.id, "stopped (no exit status from the shim)")
        procs.wait_until(lambda: not self.engine.alive(rec), 2.0, 0.01)  # the whole session is gone
        return self.job(rec.id)

    def _stop_damaged(self, bad: Damaged, grace: float) -> JobView:
        facts = runlock.run_facts(self.store, bad.id)
        if facts is None:
            raise JobError(runlock.damaged_message(self.store, bad))
        stub = runlock.stub(facts)
        with self._writing("stop"):
            actions.record(
                self.store,
                user=self.user,
                action="stop",
                job=bad.id,
                table=stub.table,
                damaged=bad.reason,
                grace=grace,
            )
        self._terminate(stub, grace)
        procs.wait_until(lambda: not self.engine.alive(stub), 5.0, 0.01)
        if isinstance(self.store.read_job(bad.id), JobRecord):
            return self.job(bad.id)
        raise JobError(f"stopped job {bad.id}'s processes; its record stays damaged: {bad.path}")

    def _terminate(self, rec: JobRecord, grace: float) -> bool:
        """TERM + CONT, then KILL after `grace` if anything is left; True if KILL was needed."""
        self.engine.signal(rec, signal.SIGTERM)
        self.engine.signal(rec, signal.SIGCONT)
        if procs.wait_until(lambda: not self.engine.members(rec), grace, 0.01):
            return False
        self.engine.signal(rec, signal.SIGKILL)
        procs.wait_until(lambda: not self.engine.members(rec), 5.0, 0.01)
        return True

    def stop_unstarted(self, job_id: str, message: str) -> JobView:
        """`mark_stopped` a queued job no launcher took, checked under the table's lock (which a
        start or a resume holds until the job's shim is recorded): never one being started."""
        with self._table_lock(self.job(job_id).record.table):
            rec = self.store.load_job(job_id)
            if rec is None or rec.state is not JobState.QUEUED or rec.shim_pid is not None:
                return self.job(job_id)
            return self.mark_stopped(job_id, message)

    def mark_stopped(self, job_id: str, message: str) -> JobView:
        """Record an active job that will never run (e.g. a plan's queued job) as STOPPED."""
        checks.ref(job_id)
        with self._writing("stop"):
            rec = self.job(job_id).record
            self._log_action(rec, "stop", message=message)
            self._set_stopped(job_id, message)
        return self.job(job_id)

    def _set_stopped(self, job_id: str, message: str) -> None:
        def apply(r: JobRecord) -> None:
            r.stop_requested = True  # a shim starting it right now TERMs it at once
            if r.state.active:
                r.state, r.ended_at, r.message = JobState.STOPPED, time.time(), message

        self.store.update_job(job_id, apply)

    def _log_action(self, rec: JobRecord, action: str, **extra: Any) -> None:
        """Append the action to the action log (with the exact argv) before doing it."""
        names = ("start", "end", "dates", "plan", "restarted_from", "log", "pid")
        facts = {k: getattr(rec, k) for k in names}
        actions.record(
            self.store,
            user=self.user,
            action=action,
            job=rec.id,
            table=rec.table,
            argv=rec.argv,
            **facts,
            **extra,
        )

    def _signal(self, rec: JobRecord, sig: int) -> None:
        """Signal the job's processes; never a pid whose create_time differs."""
        if not self.engine.signal(rec, sig):
            raise JobError(f"job {rec.id}: process {rec.pid} is gone")

    # -- helpers ----------------------------------------------------------------------------------
    def _table(self, name: str) -> Table:
        checks.ref(name, "table")
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

    @contextlib.contextmanager
    def _writing(self, what: str, undo: JobRecord | None = None) -> Iterator[None]:
        """A failed state write (full or read-only disk) refuses the action in one line; with
        `undo`, the record just created is removed (nothing half-launched stays behind)."""
        try:
            yield
        except OSError as e:
            if undo is not None:
                with contextlib.suppress(OSError):
                    self.store.job_path(undo.id).unlink()
                if undo.log:
                    with contextlib.suppress(OSError):
                        Path(undo.log).unlink()
            where = "writing " if e.filename else f"writing {self.store.root}: "
            raise refusal(f"cannot {what}: {where}", e) from None
