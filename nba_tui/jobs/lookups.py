"""Reading the jobs and plans of a state directory, as reality has them: every read reconciles
the records with their processes (reconcile.py) and adds a job's progress (progress.py). Nothing
here writes a record; the action log and events are only read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from nba_tui.config import Pipeline
from nba_tui.jobs import action_log, checks, procs, runlock
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.errors import JobError
from nba_tui.jobs.events import Event, read_events
from nba_tui.jobs.model import Damaged, JobRecord, JobView, Plan, PlanState
from nba_tui.jobs.progress import Trackers
from nba_tui.jobs.reconcile import live_shims, reconcile, reconcile_plan
from nba_tui.jobs.steps import table_of
from nba_tui.jobs.store import Store
from nba_tui.logtail import tail


class Lookups:
    """Jobs, plans, logs, the action log and events of `store`, for `pipeline`; `engine` says
    whether a local job's processes live (a remote job's bridge runs under it too)."""

    def __init__(self, pipeline: Pipeline, store: Store, engine: Engine) -> None:
        self.pipeline = pipeline
        self.store = store
        self.engine = engine
        self.progress = Trackers(pipeline)
        """Each job's progress, read on from where the last look at its log stopped."""

    # -- jobs -------------------------------------------------------------------------------------
    def jobs(self) -> list[JobView]:
        """All readable jobs, newest first, reconciled with their processes (see `damaged`)."""
        running: dict[str, bool] = {}

        def plan_running(plan_id: str) -> bool:  # each plan looked up once per listing
            if plan_id not in running:
                running[plan_id] = self.plan_running(plan_id)
            return running[plan_id]

        held = live_shims(self.store).__contains__  # one look at the run locks per listing
        return [self.read(r, plan_running, held) for r in self.store.load_jobs()]

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
        return self.read(rec)

    def active(self, table: str) -> JobView | None:
        """The table's queued, running or paused job, whoever launched it."""
        name = table_of(self.pipeline, table).name
        return next((v for v in self.jobs() if v.record.table == name and v.state.active), None)

    def read(self, rec: JobRecord, plan_running: Callable[[str], bool] | None = None,
             holds: Callable[[str], bool] | None = None) -> JobView:  # fmt: skip
        """The record reconciled (reconcile.py), with its progress; its log: log_dir + its name."""
        rec = dataclasses.replace(rec, log=checks.log_file(self.pipeline.log_dir, rec))
        rec = reconcile(rec, self.engine, self.store, plan_running or self.plan_running, holds)
        return self.progress.view(rec)

    def view(self, rec: JobRecord) -> JobView:
        """The record as written, with its progress (a job just queued: nothing to reconcile)."""
        return self.progress.view(rec)

    def started(self, rec: JobRecord) -> JobView:
        """Wait (bounded) for the engine to record the program's pid; the job as it stands."""

        def ready() -> bool:
            r = self.store.load_job(rec.id)
            return r is None or r.pid is not None or not r.state.active

        procs.wait_until(ready, 10.0, 0.01)
        return self.job(rec.id)

    def resolve(self, ref: str) -> JobView:
        """A job by id, or by table name: its active job, else its latest (for the CLI)."""
        checks.ref(ref, "job or table")
        rec = self.store.read_job(ref)
        if isinstance(rec, Damaged):
            raise JobError(runlock.damaged_message(self.store, rec))
        if rec is not None:
            return self.read(rec)
        try:
            name = self.pipeline.table(ref).name
        except KeyError:
            raise JobError(f"no job or table {ref!r} (see `nba-tui jobs`)") from None
        views = [v for v in self.jobs() if v.record.table == name]
        live = runlock.live_unrecorded(self.store, name)
        if live is not None and not any(v.state.active for v in views):
            raise JobError(live)
        if not views:
            raise JobError(f"table {name!r} has no jobs yet")
        return next((v for v in views if v.state.active), views[0])

    # -- logs -------------------------------------------------------------------------------------
    def tail(self, job_id: str, max_bytes: int = 64_000) -> list[str]:
        rec = self.store.load_job(job_id)
        log = checks.log_file(self.pipeline.log_dir, rec) if rec is not None else ""
        return tail(log, max_bytes) if log else []

    def history(self, limit: int = 200) -> list[dict]:
        """The action log, oldest first (jobs' and plans' actions alike)."""
        return action_log.read(self.store.actions_path, limit)

    # -- plans ------------------------------------------------------------------------------------
    def plans(self) -> list[Plan]:
        return [reconcile_plan(p, self.store) for p in self.store.load_plans()]

    def plan(self, plan_id: str) -> Plan:
        checks.ref(plan_id, "plan")
        plan = self.store.load_plan(plan_id)
        if plan is None:
            raise JobError(f"no plan {plan_id!r}")
        return reconcile_plan(plan, self.store)

    def plan_running(self, plan_id: str) -> bool:
        plan = self.store.load_plan(plan_id)
        return plan is not None and reconcile_plan(plan, self.store).state is PlanState.RUNNING

    def damaged_plans(self) -> list[Damaged]:
        """Plan files that cannot be read: id, path and why (listed by `plans`, never dropped)."""
        return self.store.scan_plans()[1]

    def events(self, since: float | None = None, limit: int = 1000) -> list[Event]:
        """The state directory's events (oldest first), at or after `since`."""
        return read_events(self.store, since, limit)
