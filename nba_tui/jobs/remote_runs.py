"""Jobs that run on a remote engine: which engine starts a job, its honest pause and resume, and
adopting remote work no live bridge follows. Engines: jobs/engines/remote.py (layout) and
jobs/engines/drivers.py (what each engine offers).

* **Honest pause.** No engine pauses a remote task. `pause` of a remote job stops its run (the
  bridge cancels it and waits until the engine says it ended) and records the job PAUSED with the
  dates the *warehouse* still lacks (`remote_left`, not a local checkpoint); `resume` submits those
  dates again as the same job (a new submission name). Nothing of it runs meanwhile.
* **Adoption.** A job whose bridge died (kill -9, reboot) while its run goes on is followed again
  by a new bridge that attaches to the run by its recorded id or its labels; labelled runs of this
  pipeline that no active job claims are cancelled (nothing orphaned, nothing run twice).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time

from nba_tui.config import Pipeline
from nba_tui.jobs import checks, procs, steps
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.engines.drivers import (
    LABEL_JOB,
    LABEL_PIPELINE,
    Driver,
    EngineError,
    label_value,
)
from nba_tui.jobs.engines.registry import driver_for, is_remote
from nba_tui.jobs.engines.remote import RemoteEngine, submission_name
from nba_tui.jobs.errors import EngineRefused, JobError
from nba_tui.jobs.lookups import Lookups
from nba_tui.jobs.model import JobRecord, JobState, JobView
from nba_tui.jobs.store import Store
from nba_tui.warehouse import WarehouseError

REMOTE_GRACE = 120.0
"""Seconds a stop of a remote job waits for its bridge to cancel the run before KILL."""
CHECK_TTL = 60.0
"""Seconds an engine's successful `check` is trusted (launches do not hammer its API)."""


class RemoteRuns:
    """Engine choice and remote job control over `store`; `engine` runs local jobs and every
    remote job's shim + bridge; `lookups` reads the jobs back."""

    def __init__(
        self, pipeline: Pipeline, store: Store, user: str, engine: Engine, lookups: Lookups
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.user = user
        self.engine = engine
        self.lookups = lookups
        self.drivers: dict[str, Driver] = {}
        """Each remote engine's driver, made once."""
        self.checked: dict[str, float] = {}
        """Engine name -> when (monotonic) its last `check` passed."""

    # -- which engine -------------------------------------------------------------------------
    def engine_for(self, rec: JobRecord) -> Engine:
        """What starts `rec`: the local engine for local jobs, a bridge for remote ones."""
        if not is_remote(rec.engine):
            return self.engine
        return RemoteEngine(rec.engine, self.pipeline)

    def driver(self, name: str) -> Driver:
        if name not in self.drivers:
            try:
                self.drivers[name] = driver_for(self.pipeline, name)
            except EngineError as e:
                raise EngineRefused(str(e)) from None
        return self.drivers[name]

    def check_engine(self, name: str) -> None:
        """JobError (one line, with the fix) when engine `name` cannot take work now."""
        if not is_remote(name):
            return
        if time.monotonic() - self.checked.get(name, -CHECK_TTL) < CHECK_TTL:
            return
        try:
            self.driver(name).check()
        except EngineError as e:
            raise EngineRefused(str(e)) from None
        self.checked[name] = time.monotonic()

    # -- honest pause -------------------------------------------------------------------------
    def pause(self, rec: JobRecord) -> JobView:
        """Stop the job's run, keep the dates the warehouse still lacks (see the module doc)."""
        self.check_engine(rec.engine)
        now = time.time()

        def mark(r: JobRecord) -> None:
            if r.state.active:
                r.pause_requested = r.stop_requested = True
                r.state, r.paused_at = JobState.PAUSED, r.paused_at or now

        with steps.writing(self.store, "pause"):
            steps.log_action(self.store, self.user, rec, "pause", engine=rec.engine)
            self.store.update_job(rec.id, mark)
        if rec.pid is not None:
            steps.terminate(self.engine, rec, max(REMOTE_GRACE, self.pipeline.jobs.stop_grace))
        procs.wait_until(lambda: not self.engine.alive(rec), 10.0, 0.05)
        return self._keep_left(rec, now)

    def _keep_left(self, rec: JobRecord, now: float) -> JobView:
        left = self.left_in_warehouse(rec)

        def kept(r: JobRecord) -> None:
            r.remote_left = left
            r.message = f"stopped on {r.engine}, {len(left)} dates left"
            if r.state.active:  # the shim is gone: nothing else will write the pause
                r.state, r.paused_at = JobState.PAUSED, r.paused_at or now

        self.store.update_job(rec.id, kept)
        return self.lookups.job(rec.id)

    def await_pause(self, rec: JobRecord) -> JobView:
        """A remote pause someone else started (the plan runner, another dashboard): wait until
        it kept the job's dates, so a pause returns only once nothing of the job runs; if that
        pauser died, finish its work (the run's bridge is gone by then)."""

        def settled() -> bool:
            r = self.store.load_job(rec.id)
            return r is None or r.remote_left is not None or not r.state.active

        grace = REMOTE_GRACE + 30.0  # its cancel, then its look at the warehouse
        if not procs.wait_until(settled, grace, 0.1) and not self.engine.alive(rec):
            return self._keep_left(rec, time.time())
        return self.lookups.job(rec.id)

    def left_in_warehouse(self, rec: JobRecord) -> list[str]:
        """The job's dates the warehouse lacks now (all of them when it cannot answer: a rerun
        of a date is safe, a skipped one is not)."""
        from nba_tui.monitor import snapshot_once

        start, end, days = checks.recorded_dates(rec)
        wanted: set[dt.date] | None = set(days) if days is not None else None
        first = start or (min(wanted) if wanted else self.pipeline.range.start)
        last = end or (max(wanted) if wanted else self.pipeline.range.end)
        try:
            cov = snapshot_once(self.pipeline, first, last).tables[rec.table]
        except (WarehouseError, KeyError):
            if wanted is not None:
                return sorted(d.isoformat() for d in wanted)
            return [(first + dt.timedelta(n)).isoformat() for n in range((last - first).days + 1)]
        return sorted(d.isoformat() for d in cov.missing if wanted is None or d in wanted)

    def resume(self, rec: JobRecord) -> JobView:
        """Submit the dates a pause kept, as the same job (nothing left: it is done)."""
        left = list(rec.remote_left or [])
        now = time.time()
        if not left:

            def done(r: JobRecord) -> None:
                r.state, r.ended_at, r.exit_code = JobState.DONE, now, 0
                r.message = "nothing was left to do after the pause"

            self.store.update_job(rec.id, done)
            return self.lookups.job(rec.id)
        self.check_engine(rec.engine)
        days = [dt.date.fromisoformat(d) for d in left]
        t = self.pipeline.table(rec.table)
        argv = steps.job_argv(self.pipeline, t, None, None, days, rec.shard, rec.engine)
        with steps.table_lock(self.store, rec.table):

            def again(r: JobRecord) -> None:
                r.argv, r.dates, r.start, r.end = argv, left, None, None
                r.paused_total += now - (r.paused_at or now)
                r.state, r.paused_at, r.launches = JobState.QUEUED, None, r.launches + 1
                forget_local_side(r)
                r.remote_id = r.remote_state = r.remote_left = None
                r.pause_requested = r.stop_requested = False

            with steps.writing(self.store, "resume"):
                now_rec = dataclasses.replace(rec, argv=argv, dates=left, start=None, end=None)
                steps.log_action(self.store, self.user, now_rec, "resume", engine=rec.engine)
                fresh = self.store.update_job(rec.id, again)
            if fresh is None:
                raise JobError(f"job {rec.id}: its record is gone")
            self.engine_for(fresh).start(fresh, self.store)
        return self.lookups.started(fresh)

    # -- adoption -----------------------------------------------------------------------------
    def adopt(self) -> list[str]:
        """Follow again every remote job whose bridge is gone while its run goes on, and cancel
        labelled runs of this pipeline no active job claims. Returns what was done, one line
        each (engine errors included: adoption never raises)."""
        out: list[str] = []
        views = self.lookups.jobs()
        for name in sorted({self.pipeline.engine_of(t.name) for t in self.pipeline.tables()}):
            if not is_remote(name):
                continue
            try:
                out += self._adopt(name, views)
            except (EngineError, JobError) as e:
                out.append(f"{name}: cannot list its runs: {e}")
        return out

    def _adopt(self, name: str, views: list[JobView]) -> list[str]:
        driver = self.driver(name)
        out = []
        claimed = {
            label_value(submission_name(v.record)): v for v in views if v.record.engine == name
        }
        for run in driver.find({LABEL_PIPELINE: label_value(self.pipeline.pipeline)}):
            v = claimed.get(run.labels.get(LABEL_JOB, ""))
            if v is not None and v.state is JobState.LOST:  # its bridge died: follow it again
                out.append(self._refollow(v.record, run.id))
            elif run.state.ended:
                continue
            elif v is None or not v.state.active or v.record.pause_requested:
                driver.cancel(run.id)
                out.append(f"cancelled {name} run {run.id}: no running job claims it")
        return out

    def _refollow(self, rec: JobRecord, run_id: str) -> str:
        """A new shim + bridge for a job whose bridge died; it attaches to `run_id`."""

        def attach(r: JobRecord) -> None:
            r.remote_id, r.state = run_id, JobState.RUNNING
            forget_local_side(r)

        with steps.table_lock(self.store, rec.table), contextlib.suppress(OSError):
            steps.log_action(
                self.store, self.user, rec, "adopt", engine=rec.engine, remote_id=run_id
            )
            fresh = self.store.update_job(rec.id, attach)
            if fresh is not None:
                self.engine_for(fresh).start(fresh, self.store)
        return f"following {rec.engine} run {run_id} of job {rec.id} again"


def forget_local_side(r: JobRecord) -> None:
    """Clear what identified the job's previous shim and bridge and how they ended, before a
    new shim + bridge starts for it (a resume, an adoption)."""
    r.pid = r.pgid = r.start_time = r.shim_pid = r.shim_start_time = r.sid = None
    r.exit_code = r.signal = r.ended_at = r.message = None
