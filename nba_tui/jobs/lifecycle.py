"""A job's life: launch, queue (for a plan), start, pause, resume, stop and restart, over the
state directory (store.py) and an engine (engines/).

Rules that keep it safe (docs/JOBS.md, "Trust" and "Actions"):

* arguments are bounded before anything touches a file or a process (checks.py);
* a table has an active job when a record says so *or* its run lock is held by a live shim (or
  a damaged record's session still has processes): a damaged record never allows a second launch;
* every action is written first (the action log, then the record) and signals after: a full or
  read-only disk refuses the action whole instead of signalling and then failing;
* argv is rendered from the current config (backfill_argv.render_argv), never read back from a
  record, and a log path is the log directory + a validated file name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import signal
import time
from collections.abc import Sequence
from typing import Any

from nba_tui.config import Pipeline
from nba_tui.jobs import action_log, checks, procs, runlock, steps
from nba_tui.jobs.engines import registry
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.errors import JobError
from nba_tui.jobs.lookups import Lookups
from nba_tui.jobs.model import Damaged, JobRecord, JobState, JobView
from nba_tui.jobs.plans import missing_job, no_fillable_reason
from nba_tui.jobs.remote_runs import REMOTE_GRACE, RemoteRuns
from nba_tui.jobs.store import Store, open_log


class JobLifecycle:
    """Launch and control jobs of `pipeline` as `user`: records in `store`, local processes
    through `engine`, remote jobs through `remote`, reads through `lookups`."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store,
        user: str,
        engine: Engine,
        lookups: Lookups,
        remote: RemoteRuns,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.user = user
        self.engine = engine
        self.lookups = lookups
        self.remote = remote

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
        return self.lookups.started(rec)

    def launch_missing(self, table: str, snapshot: Any) -> JobView:
        """Backfill the missing dates something can fill (`plans.missing_job`); refused, saying
        why, when none is missing or none can be filled."""
        t = steps.table_of(self.pipeline, table)
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
        return self.lookups.view(rec)

    def restart(self, job_id: str) -> JobView:
        """Relaunch a failed/stopped/lost job's dates with the argv the *current* config renders:
        the program resumes from its checkpoint. The recorded argv is never run."""
        old = self.lookups.job(job_id).record
        if old.state not in (JobState.FAILED, JobState.STOPPED, JobState.LOST):
            raise JobError(
                f"job {old.id} is {old.state}; only failed, stopped or lost jobs restart"
            )
        start, end, days = checks.recorded_dates(old)
        rec = self._create(old.table, start=start, end=end, dates=days, restarted=old.id)
        return self.lookups.started(rec)

    def start_queued(self, job_id: str, wait: bool = True) -> JobView:
        """Start a job a plan queued (used by the plan runner); its argv is rendered afresh.
        `wait=False`: return once its shim is recorded, without waiting for the program."""
        checks.ref(job_id)
        rec = self.store.load_job(job_id)
        if rec is None:
            raise JobError(f"no job {job_id!r}")
        with steps.table_lock(self.store, rec.table):
            rec = self.store.load_job(job_id)
            if rec is None or rec.state is not JobState.QUEUED or rec.shim_pid or rec.pid:
                raise JobError(f"job {job_id} is not waiting to start")
            if rec.plan and not self.lookups.plan_running(rec.plan):
                raise JobError(f"job {job_id}: its plan {rec.plan} is no longer running")
            self.remote.check_engine(rec.engine)
            start, end, days = checks.recorded_dates(rec)
            t = steps.table_of(self.pipeline, rec.table)
            argv = steps.job_argv(self.pipeline, t, start, end, days, rec.shard, rec.engine)

            def ready(r: JobRecord) -> None:
                r.argv, r.log = argv, str(log)

            with steps.writing(self.store, "start the job"):
                log = open_log(self.pipeline.log_dir, rec.table)
                now_rec = dataclasses.replace(rec, argv=argv, log=str(log))
                steps.log_action(self.store, self.user, now_rec, "launch")
                rec = self.store.update_job(rec.id, ready) or rec
            self.remote.engine_for(rec).start(rec, self.store)
        return self.lookups.started(rec) if wait else self.lookups.view(rec)

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
        t = steps.table_of(self.pipeline, table)
        engine = self.pipeline.engine_of(t.name)
        self.remote.check_engine(engine)
        start, end, dates = registry.engine_dates(self.pipeline, engine, start, end, dates)
        argv = steps.job_argv(self.pipeline, t, start, end, dates, shard, engine)
        if dates is not None:
            fields: dict[str, Any] = {"dates": [d.isoformat() for d in sorted(set(dates))]}
        else:
            first, last = start or self.pipeline.range.start, end or self.pipeline.range.end
            fields = {"start": first.isoformat(), "end": last.isoformat()}
        with steps.table_lock(self.store, t.name):
            if shard is None or plan is None:
                self._refuse_if_active(t.name)
            else:  # a plan's shard runs beside the same plan's shards on other dates only
                jobs = [v.record for v in self.lookups.jobs()]
                why = checks.overlap(t.name, plan, fields, jobs)
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
            self._record(rec, now=plan is None)
        return rec

    def _record(self, rec: JobRecord, now: bool) -> None:
        """Write the new record; `now`: with its log and its action, then start it (a queued
        job gets both when its runner starts it)."""
        if now:
            with steps.writing(self.store, "launch"):
                rec.log = str(open_log(self.pipeline.log_dir, rec.table))
        with steps.writing(self.store, "launch", undo=rec):
            self.store.insert_job(rec)
            if now:  # recorded before it happens, or not at all
                action = "restart" if rec.restarted_from else "launch"
                steps.log_action(self.store, self.user, rec, action)
        if now:
            self.remote.engine_for(rec).start(rec, self.store)

    def _refuse_if_active(self, table: str) -> None:
        act = self.lookups.active(table)
        if act is not None:
            who = f" by {act.record.user}" if act.record.user != self.user else ""
            raise JobError(
                f"{table} already has an active job {act.id} ({act.state}{who}); stop it first"
            )
        live = runlock.live_unrecorded(self.store, table)
        if live is not None:
            raise JobError(live)

    # -- signals ----------------------------------------------------------------------------------
    def pause(self, job_id: str) -> JobView:
        """SIGSTOP every process of a running job; returns once they are all stopped (<= 1 s)."""
        view = self.lookups.job(job_id)
        rec = view.record
        if rec.state is JobState.PAUSED:  # a remote pause under way elsewhere: its outcome
            return self.remote.await_pause(rec) if rec.pause_requested else view
        if rec.state is not JobState.RUNNING:
            raise JobError(f"job {rec.id} is {rec.state}; only a running job can be paused")
        if registry.is_remote(rec.engine):
            return self.remote.pause(rec)
        now = time.time()

        def paused(r: JobRecord) -> None:
            if r.state.active:
                r.state, r.paused_at = JobState.PAUSED, r.paused_at or now

        with steps.writing(self.store, "pause"):
            steps.log_action(self.store, self.user, rec, "pause")
            self.store.update_job(rec.id, paused)
        steps.signal_job(self.engine, rec, signal.SIGSTOP)
        procs.wait_until(lambda: all(p.state == "T" for p in self.engine.members(rec)), 1.0)
        return self.lookups.job(rec.id)

    def resume(self, job_id: str) -> JobView:
        """SIGCONT a paused job (its paused time is excluded from its rate)."""
        view = self.lookups.job(job_id)
        rec = view.record
        if rec.state is JobState.RUNNING:
            return view
        if rec.state is not JobState.PAUSED:
            raise JobError(f"job {rec.id} is {rec.state}; only a paused job can be resumed")
        if rec.pause_requested:
            return self.remote.resume(rec)
        now = time.time()

        def resumed(r: JobRecord) -> None:
            if r.paused_at is not None:
                r.paused_total += now - r.paused_at
            r.paused_at = None
            if r.state.active:
                r.state = JobState.RUNNING

        with steps.writing(self.store, "resume"):
            steps.log_action(self.store, self.user, rec, "resume")
            self.store.update_job(rec.id, resumed)
        steps.signal_job(self.engine, rec, signal.SIGCONT)
        return self.lookups.job(rec.id)

    def stop(self, job_id: str, grace: float | None = None) -> JobView:
        """TERM (and CONT) to the job, KILL what is left after `grace`; nothing survives.

        A job whose record is damaged is stopped from the facts its shim wrote into the
        table's run lock (the shim then rewrites the record with the exit)."""
        seconds = checks.grace(self.pipeline.jobs.stop_grace if grace is None else grace)
        checks.ref(job_id)
        found = self.store.read_job(job_id)
        if isinstance(found, Damaged):
            return self._stop_damaged(found, seconds)
        rec = self.lookups.job(job_id).record
        if not rec.state.active:
            raise JobError(f"job {rec.id} is already {rec.state}")
        if registry.is_remote(rec.engine):  # the bridge cancels the run and waits for the engine
            seconds = max(seconds, REMOTE_GRACE)
        if rec.pause_requested and not self.engine.alive(rec):  # paused remotely: nothing runs
            left = len(rec.remote_left or [])
            return self.mark_stopped(rec.id, f"stopped while paused ({left} dates were left)")
        with steps.writing(self.store, "stop"):
            steps.log_action(self.store, self.user, rec, "stop", grace=seconds)
            self.store.update_job(rec.id, lambda r: setattr(r, "stop_requested", True))
        if rec.pid is None:
            if not self.engine.alive(rec):
                steps.set_stopped(self.store, rec.id, "stopped before it started")
                return self.lookups.job(rec.id)
            # a launcher that is starting: let it record the pid (it TERMs the job itself if so)
            procs.wait_until(
                lambda: (self.store.load_job(rec.id) or rec).pid is not None, 5.0, 0.01
            )
            rec = self.store.load_job(rec.id) or rec
        steps.terminate(self.engine, rec, seconds)
        return self._await_stopped(rec)

    def _await_stopped(self, rec: JobRecord) -> JobView:
        """The launcher records STOPPED when the program is reaped; if it is gone, we do it.
        Returns once the job's whole session is gone."""
        procs.wait_until(lambda: not (self.store.load_job(rec.id) or rec).state.active, 5.0, 0.01)
        if (self.store.load_job(rec.id) or rec).state.active:
            with contextlib.suppress(OSError):
                steps.set_stopped(self.store, rec.id, "stopped (no exit status from the shim)")
        procs.wait_until(lambda: not self.engine.alive(rec), 2.0, 0.01)
        return self.lookups.job(rec.id)

    def _stop_damaged(self, bad: Damaged, grace: float) -> JobView:
        facts = runlock.run_facts(self.store, bad.id)
        if facts is None:
            raise JobError(runlock.damaged_message(self.store, bad))
        stub = runlock.stub(facts)
        with steps.writing(self.store, "stop"):
            action_log.record(
                self.store,
                user=self.user,
                action="stop",
                job=bad.id,
                table=stub.table,
                damaged=bad.reason,
                grace=grace,
            )
        steps.terminate(self.engine, stub, grace)
        procs.wait_until(lambda: not self.engine.alive(stub), 5.0, 0.01)
        if isinstance(self.store.read_job(bad.id), JobRecord):
            return self.lookups.job(bad.id)
        raise JobError(f"stopped job {bad.id}'s processes; its record stays damaged: {bad.path}")

    def stop_unstarted(self, job_id: str, message: str) -> JobView:
        """`mark_stopped` a queued job no launcher took, checked under the table's lock (which a
        start or a resume holds until the job's shim is recorded): never one being started."""
        with steps.table_lock(self.store, self.lookups.job(job_id).record.table):
            rec = self.store.load_job(job_id)
            if rec is None or rec.state is not JobState.QUEUED or rec.shim_pid is not None:
                return self.lookups.job(job_id)
            return self.mark_stopped(job_id, message)

    def mark_stopped(self, job_id: str, message: str) -> JobView:
        """Record an active job that will never run (e.g. a plan's queued job) as STOPPED."""
        checks.ref(job_id)
        with steps.writing(self.store, "stop"):
            rec = self.lookups.job(job_id).record
            steps.log_action(self.store, self.user, rec, "stop", message=message)
            steps.set_stopped(self.store, job_id, message)
        return self.lookups.job(job_id)

    def archive_ended(self) -> int:
        """Move every ended job's record into jobs/archive/ (kept, no longer listed): `demo
        reset` starts the grid afresh. Returns how many were moved."""
        n = 0
        for v in self.lookups.jobs():
            if not v.state.active:
                n += self.store.archive_job(v.id)
        return n
