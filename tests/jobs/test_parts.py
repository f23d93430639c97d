"""Each part of the jobs domain stands alone: built with the parts its constructor names (a store
in a tmp dir, the local engine), without a `Supervisor`, it does its one job."""

from __future__ import annotations

import datetime as dt
import getpass

import pytest
from jobs_helpers import DATES, wait_for

from nba_tui.config import Pipeline
from nba_tui.jobs import action_log
from nba_tui.jobs.engines.local import LocalEngine
from nba_tui.jobs.errors import JobError
from nba_tui.jobs.lifecycle import JobLifecycle
from nba_tui.jobs.lookups import Lookups
from nba_tui.jobs.model import JobRecord, JobState, Plan, PlanState
from nba_tui.jobs.plan_lifecycle import PlanLifecycle
from nba_tui.jobs.plans import PlannedJob
from nba_tui.jobs.remote_runs import RemoteRuns
from nba_tui.jobs.store import Store

USER = getpass.getuser()


def parts(pipe: Pipeline) -> tuple[Store, LocalEngine, Lookups, RemoteRuns]:
    store = Store(pipe.state_dir)
    store.ensure()
    engine = LocalEngine(pipe.source)
    lookups = Lookups(pipe, store, engine)
    return store, engine, lookups, RemoteRuns(pipe, store, USER, engine, lookups)


def test_lookups_read_the_store_and_the_action_log(make_pipeline) -> None:
    pipe = make_pipeline({"alpha": []})
    store, _, lookups, _ = parts(pipe)
    assert lookups.jobs() == [] and lookups.plans() == []
    with pytest.raises(JobError, match="table 'alpha' has no jobs yet"):
        lookups.resolve("alpha")
    action_log.record(store, user=USER, action="launch", job="j1", table="alpha")
    assert [(e["action"], e["table"]) for e in lookups.history()] == [("launch", "alpha")]


def test_remote_runs_find_the_dates_the_warehouse_lacks(make_pipeline) -> None:
    pipe = make_pipeline({"alpha": []}, present={"alpha": 7})
    _, engine, _, remote = parts(pipe)
    rec = JobRecord(id="j1", table="alpha", argv=[], log="", created_at=0.0, user=USER, cwd=".")
    rec.start, rec.end = DATES[0], DATES[-1]
    assert remote.left_in_warehouse(rec) == DATES[7:]
    assert remote.engine_for(rec) is engine  # a local job starts on the local engine
    remote.check_engine("local")  # nothing to check: no error


def test_job_lifecycle_launches_a_job_to_done(make_pipeline) -> None:
    pipe = make_pipeline({"alpha": ["--delay", "0"]})
    store, engine, lookups, remote = parts(pipe)
    jobs = JobLifecycle(pipe, store, USER, engine, lookups, remote)
    first = dt.date.fromisoformat(DATES[0])
    view = jobs.launch("alpha", start=first, end=first + dt.timedelta(days=1))
    assert view.record.table == "alpha" and view.record.user == USER
    wait_for(lambda: lookups.job(view.id).state is JobState.DONE, 30, "the job done")
    assert [e["action"] for e in lookups.history()] == ["launch"]


def test_plan_lifecycle_reserves_and_cancels_a_plan(make_pipeline) -> None:
    pipe = make_pipeline({"alpha": [], "beta": []})
    store, engine, lookups, remote = parts(pipe)
    jobs = JobLifecycle(pipe, store, USER, engine, lookups, remote)
    plans = PlanLifecycle(pipe, store, USER, lookups, jobs)
    plan = Plan(store.new_plan_id(), "phase", ["p1"], USER, 1.0)
    store.save_plan(plan)
    reserved = plans.reserve(plan.id, [PlannedJob("alpha"), PlannedJob("beta")], {})
    assert len(reserved.jobs) == 2
    assert plans.cancel_plan(plan.id).state is PlanState.CANCELLED
    assert {lookups.job(j).state for j in reserved.jobs} == {JobState.STOPPED}
