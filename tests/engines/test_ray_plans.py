"""Plans on a real Ray head: a sharded Phase 3 plan whose shards run as Ray jobs (one bridge per
shard), `cancel_plan` ending every job and every Ray run of the pipeline (a cancelled run never
reads as done), a second plan filling the table to the end, and `pause_plan` / `resume_plan`
(honest pause: each running shard stopped on Ray with the dates the warehouse still lacks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import (
    RANGE,
    duplicate_keys,
    missing,
    remote_pipeline,
    sample_warehouse,
    wait_for,
)

from nba_tui.config import Pipeline
from nba_tui.jobs import procs
from nba_tui.jobs.autopilot import ORPHAN
from nba_tui.jobs.engines.drivers import (
    LABEL_JOB,
    LABEL_PIPELINE,
    RemoteRun,
    RemoteState,
    label_value,
)
from nba_tui.jobs.engines.registry import driver_for
from nba_tui.jobs.engines.remote import submission_name
from nba_tui.jobs.model import JobRecord, JobState, Plan, PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample.backfill import PACE_ENV

PHASE = "phase3"
SHARDS = 2


@pytest.fixture
def pipe(tmp_path: Path, ray_head: str) -> Iterator[Pipeline]:
    p = remote_pipeline(tmp_path, "ray", {"address": ray_head, "num_cpus": 0.5}, **RANGE)
    sample_warehouse(p)
    yield p
    # a failed test leaves nothing running: its plans cancelled, its jobs stopped (Ray runs too)
    sup = Supervisor(p)
    for plan in sup.plans():
        if plan.state in (PlanState.RUNNING, PlanState.LOST):
            sup.cancel_plan(plan.id)
    for view in sup.jobs():
        if view.state.active:
            sup.stop(view.id, grace=5)


def short_tables(pipe: Pipeline) -> list[str]:
    """The phase's tables the warehouse lacks dates of (what the plan launches)."""
    snap = snapshot_once(pipe)
    return [t.name for t in pipe.phase(PHASE).tables if snap.tables[t.name].missing]


def plan_records(sup: Supervisor, plan_id: str) -> list[JobRecord]:
    return [sup.job(j).record for j in sup.plan(plan_id).jobs]


def running_on_ray(sup: Supervisor, plan_id: str) -> list[JobRecord]:
    """The plan's jobs whose Ray run is up (a submission id recorded and the job running)."""
    return [
        r
        for r in plan_records(sup, plan_id)
        if r.state is JobState.RUNNING and r.remote_id and not r.pause_requested
    ]


def plan_ended(sup: Supervisor, plan_id: str) -> bool:
    return sup.plan(plan_id).state not in (PlanState.RUNNING, PlanState.LOST)


def ray_runs(pipe: Pipeline) -> list[RemoteRun]:
    """Every Ray run this pipeline submitted (its label), in any state."""
    return driver_for(pipe, "ray").find({LABEL_PIPELINE: label_value(pipe.pipeline)})


def runs_of(pipe: Pipeline, rec: JobRecord) -> list[RemoteRun]:
    """The Ray runs of every submission of `rec` (one per launch: a resume is a new one)."""
    names = {label_value(f"{rec.id}-{n}") for n in range(1, rec.launches + 1)}
    return [r for r in ray_runs(pipe) if r.labels.get(LABEL_JOB) in names]


def inputs_lack(pipe: Pipeline, table: str) -> set[str]:
    """The dates one of `table`'s inputs lacks (its backfill skips them: unfillable)."""
    out: set[str] = set()
    for dep in pipe.table(table).all_inputs:
        out |= set(missing(pipe, dep))
    return out


def assert_filled(pipe: Pipeline, tables: list[str]) -> None:
    for name in tables:
        left = set(missing(pipe, name))
        assert left <= inputs_lack(pipe, name), (name, sorted(left - inputs_lack(pipe, name)))
        assert duplicate_keys(pipe, name) == 0, f"{name}: a date was written twice"


def fail_still_pausing(sup: Supervisor, plan: Plan, rec: JobRecord) -> None:
    """A defect (plan_lifecycle.py `pause_plan` + lifecycle.py `pause`): `pause_plan` returned while
    one of its shards is still being stopped on Ray by another caller (the plan's runner), its
    record already PAUSED. Wait for that pause to end, then fail saying who paused it."""
    wait_for(lambda: sup.job(rec.id).record.remote_left is not None, 60, "the other pause")
    by_runner = f"paused {rec.id}: the plan is paused" in Path(plan.log).read_text()
    raise AssertionError(
        f"DEFECT: pause_plan returned while shard {rec.id} was still running on Ray "
        f"(bridge alive, remote_state={rec.remote_state}, remote_left={rec.remote_left}); "
        f"{'the plan runner' if by_runner else 'another caller'} had marked it PAUSED first and "
        "Supervisor.pause returns at once for a PAUSED job, so pause_plan did not wait"
    )


def run_plan(sup: Supervisor) -> Plan:
    plan = sup.run_phases([PHASE], shards=SHARDS)
    assert plan.state is PlanState.RUNNING, plan.message
    return plan


def test_a_plan_on_ray_cancel_ends_every_run_then_a_second_plan_fills_the_table(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = short_tables(pipe)
    assert len(tables) >= 2, "the sample in RANGE leaves several Phase 3 tables short"
    monkeypatch.setenv(PACE_ENV, "0.5")
    sup = Supervisor(pipe)
    plan = run_plan(sup)
    wait_for(lambda: len(running_on_ray(sup, plan.id)) >= 2, 60, "two shards running on Ray")
    for rec in plan_records(sup, plan.id):
        assert rec.engine == "ray" and rec.shard, (rec.id, rec.engine, rec.shard)
    submitted = [r for r in plan_records(sup, plan.id) if r.remote_id]
    assert len(submitted) <= pipe.jobs.max_parallel
    for rec in submitted:  # the record's run id is the Ray submission carrying its labels
        [run] = runs_of(pipe, rec)
        assert run.id == rec.remote_id and run.labels[LABEL_JOB] == label_value(
            submission_name(rec)
        )

    cancelled = sup.cancel_plan(plan.id)
    assert cancelled.state is PlanState.CANCELLED, cancelled.message
    wait_for(lambda: not procs.alive(plan.runner_pid), 15, "the plan's runner exited")
    runs = ray_runs(pipe)
    assert runs, "the plan submitted nothing to Ray"
    assert all(r.state.ended for r in runs), [(r.id, r.state) for r in runs if not r.state.ended]
    recs = plan_records(sup, plan.id)
    assert recs and not any(r.state.active for r in recs), [(r.id, r.state) for r in recs]
    assert any(r.state is JobState.STOPPED and r.remote_id for r in recs), (
        "no shard was stopped while its Ray run went on: cancel came too late to test it"
    )
    claimed: set[str] = set()
    for rec in recs:
        mine = runs_of(pipe, rec)
        claimed |= {r.id for r in mine}
        assert len(mine) == (1 if rec.remote_id else 0), (rec.id, [r.id for r in mine])
        if not rec.remote_id:  # queued, never started: stopped with the plan
            assert rec.state is JobState.STOPPED, (rec.id, rec.state, rec.message)
            continue
        run = mine[0]
        assert run.state in (RemoteState.CANCELLED, RemoteState.SUCCEEDED), (rec.id, run.state)
        if run.state is RemoteState.CANCELLED:  # never reported done
            assert rec.state is JobState.STOPPED, (rec.id, rec.state, rec.message)
        else:  # it ended as the cancel came: done, or stopped if the stop was first to write
            assert rec.state in (JobState.DONE, JobState.STOPPED), (rec.id, rec.state)
        assert not sup.engine.members(rec), f"{rec.id}: its bridge still runs here"
    assert claimed == {r.id for r in runs}, "a Ray run of the pipeline no job of the plan claims"
    assert all(duplicate_keys(pipe, t) == 0 for t in tables)

    monkeypatch.setenv(PACE_ENV, "0.05")
    second = run_plan(sup)
    assert second.id != plan.id
    wait_for(lambda: plan_ended(sup, second.id), 300, "the second plan ended")
    done = sup.plan(second.id)
    assert done.state is PlanState.DONE, done.message
    recs = plan_records(sup, second.id)
    assert recs and all(r.state is JobState.DONE and r.engine == "ray" for r in recs)
    for rec in recs:
        [run] = runs_of(pipe, rec)
        assert run.id == rec.remote_id and run.state is RemoteState.SUCCEEDED, (rec.id, run.state)
    assert_filled(pipe, tables)
    assert all(r.state.ended for r in ray_runs(pipe))


def test_pause_plan_stops_every_shard_on_ray_resume_plan_finishes(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = short_tables(pipe)
    monkeypatch.setenv(PACE_ENV, "0.5")
    sup = Supervisor(pipe)
    plan = run_plan(sup)
    wait_for(lambda: len(running_on_ray(sup, plan.id)) >= 2, 60, "two shards running on Ray")

    paused = sup.pause_plan(plan.id)
    assert paused.paused and paused.state is PlanState.RUNNING
    recs = plan_records(sup, plan.id)
    stopped_there = [r for r in recs if r.state is JobState.PAUSED]
    assert len(stopped_there) >= 2, [(r.id, r.state) for r in recs]
    for rec in recs:
        assert rec.state in (JobState.PAUSED, JobState.QUEUED, JobState.DONE), (rec.id, rec.state)
        if sup.engine.members(rec) or (rec.state is JobState.PAUSED and rec.remote_left is None):
            fail_still_pausing(sup, plan, rec)
    for rec in stopped_there:
        assert rec.remote_left is not None, f"{rec.id}: paused without the dates it keeps"
        assert set(rec.remote_left) <= set(missing(pipe, rec.table)), "kept a present date"
        assert rec.message == f"stopped on ray, {len(rec.remote_left)} dates left"
        [run] = runs_of(pipe, rec)
        assert run.state in (RemoteState.CANCELLED, RemoteState.SUCCEEDED), (rec.id, run.state)
        if run.state is RemoteState.SUCCEEDED:  # it ended as the pause came: nothing fillable left
            assert set(rec.remote_left) <= inputs_lack(pipe, rec.table), (rec.id, rec.remote_left)
    running = [r for r in ray_runs(pipe) if not r.state.ended]
    assert not running, f"Ray runs still going while the plan is paused: {running}"
    queued = [r for r in recs if r.state is JobState.QUEUED]
    assert all(r.remote_id is None and not r.shim_pid for r in queued), "a queued shard started"

    monkeypatch.setenv(PACE_ENV, "0.05")
    resumed = sup.resume_plan(plan.id)
    assert not resumed.paused
    wait_for(lambda: plan_ended(sup, plan.id), 300, "the resumed plan ended")
    done = sup.plan(plan.id)
    recs = plan_records(sup, plan.id)
    orphaned = [r.id for r in recs if r.message == ORPHAN and r.launches > 1]
    assert not orphaned, (
        f"DEFECT: resumed shard(s) {orphaned} ended STOPPED as orphans: RemoteRuns.resume "
        "(jobs/remote_runs.py) writes the job QUEUED with no shim_pid before it spawns the shim, "
        "and the plan runner's tick (jobs/autopilot.py `orphans`) stops such a job meanwhile"
    )
    assert done.state is PlanState.DONE, done.message
    assert all(r.state is JobState.DONE for r in recs), [(r.id, r.state, r.message) for r in recs]
    for before in stopped_there:
        rec = sup.job(before.id).record
        runs = sorted(runs_of(pipe, rec), key=lambda r: r.labels[LABEL_JOB])
        if not before.remote_left:  # nothing kept: resume ends it done without a new run
            assert rec.launches == 1 and len(runs) == 1, (rec.id, rec.launches, runs)
            continue
        assert rec.launches == 2, (rec.id, rec.launches)  # relaunched once, as the same job
        first, second = runs
        assert first.state in (RemoteState.CANCELLED, RemoteState.SUCCEEDED), first
        assert second.state is RemoteState.SUCCEEDED and second.id == rec.remote_id, second
    assert all(r.state.ended for r in ray_runs(pipe))
    assert_filled(pipe, tables)
