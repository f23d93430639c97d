"""The jobs domain's one front for the dashboard, the CLI and the plan runner: launch, queue,
pause, resume, stop, restart and re-adopt detached backfill jobs and plans.

The supervisor holds no process handles that matter: everything lives in the state directory
(store.py) and in the processes themselves, reached through an engine (engines/; the default
`LocalEngine` runs each job under a detached shim). So any number of Supervisor instances — two
dashboards over SSH, the CLI from cron, a plan runner — see and control the same jobs, and a
dashboard killed with `kill -9` loses nothing: a new Supervisor *adopts* every job by reading its
record. Every call re-reads the records and *reconciles* them with reality (reconcile.py).

It composes four parts, each usable alone with the parts it names in its constructor:

* `Lookups` (lookups.py): jobs, plans, logs, the action log and events, read only;
* `RemoteRuns` (remote_runs.py): which engine starts a job, honest pause and resume of remote
  jobs, adoption of remote runs no bridge follows;
* `JobLifecycle` (lifecycle.py): launch, queue, start, pause, resume, stop, restart a job;
* `PlanLifecycle` (plan_lifecycle.py): launch, adopt, pause, resume and cancel plans.

Reading (`jobs`, `job`, `active`, `history`, `tail`, `plans`, `damaged`) never writes.
"""

from __future__ import annotations

import getpass

from nba_tui.config import Pipeline
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.engines.local import LocalEngine
from nba_tui.jobs.errors import BadState, EngineRefused, JobError, PreflightFailed
from nba_tui.jobs.lifecycle import JobLifecycle
from nba_tui.jobs.lookups import Lookups
from nba_tui.jobs.model import Damaged
from nba_tui.jobs.plan_lifecycle import PlanLifecycle
from nba_tui.jobs.remote_runs import RemoteRuns
from nba_tui.jobs.store import StateError, Store

__all__ = [
    "BadState",
    "Damaged",
    "EngineRefused",
    "JobError",
    "PreflightFailed",
    "StateError",
    "Supervisor",
]


class Supervisor:
    """The parts of the jobs domain over one state directory, and their public operations under
    one name each (docs/JOBS.md, "Python API")."""

    def __init__(
        self, pipeline: Pipeline, user: str | None = None, engine: Engine | None = None
    ) -> None:
        self.pipeline = pipeline
        self.user = user or getpass.getuser()
        self.store = Store(pipeline.state_dir)
        self.store.verify()  # StateError: a state dir that is not ours alone
        self.engine: Engine = engine or LocalEngine(pipeline.source.resolve())
        self.lookups = Lookups(pipeline, self.store, self.engine)
        self.remote = RemoteRuns(pipeline, self.store, self.user, self.engine, self.lookups)
        self.lifecycle = JobLifecycle(
            pipeline, self.store, self.user, self.engine, self.lookups, self.remote
        )
        self.planning = PlanLifecycle(pipeline, self.store, self.user, self.lookups, self.lifecycle)
        reads, jobs, plans = self.lookups, self.lifecycle, self.planning
        # reading (lookups.py)
        self.jobs = reads.jobs
        self.job = reads.job
        self.active = reads.active
        self.resolve = reads.resolve
        self.damaged = reads.damaged
        self.state_version = reads.state_version
        self.tail = reads.tail
        self.history = reads.history
        self.plans = reads.plans
        self.plan = reads.plan
        self.damaged_plans = reads.damaged_plans
        self.events = reads.events
        # a job's life (lifecycle.py, remote_runs.py)
        self.launch = jobs.launch
        self.launch_missing = jobs.launch_missing
        self.restart = jobs.restart
        self.pause = jobs.pause
        self.resume = jobs.resume
        self.stop = jobs.stop
        self.queue = jobs.queue
        self.start_queued = jobs.start_queued
        self.stop_unstarted = jobs.stop_unstarted
        self.archive_ended = jobs.archive_ended
        self.adopt_remote = self.remote.adopt
        # a plan's life (plan_lifecycle.py)
        self.launch_phase = plans.launch_phase
        self.run_phases = plans.run_phases
        self.heal_plan = plans.heal_plan
        self.reserve = plans.reserve
        self.pause_plan = plans.pause_plan
        self.resume_plan = plans.resume_plan
        self.stop_plan = plans.stop_plan
        self.cancel_plan = plans.cancel_plan
        self.adopt_plans = plans.adopt_plans
        self.restart_runner = plans.restart_runner
