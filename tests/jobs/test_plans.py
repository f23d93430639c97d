"""Phase plans: pure planning, typed plan records, and the detached runner (jobs/runner.py) over
real jobs (max_parallel, cascade, chained runs behind preflight)."""

from __future__ import annotations

import pytest
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobRecord, JobState, Plan, PlanState
from nba_tui.jobs.plans import order_phases, phase_tables
from nba_tui.jobs.procs import session_members
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.monitor import snapshot_once

SHORT = ["--delay", "0.05"]  # fills its 10 dates: a plan is done only when they have rows


def test_phase_tables_and_order(make_pipeline) -> None:
    pipe = make_pipeline({"a": [], "b": [], "c": [], "d": []}, deps={"c": ["a"]}, max_parallel=2)
    assert phase_tables(pipe, "p1") == ["a", "b", "d", "c"]
    assert order_phases(pipe, ["p1", "src"]) == ["src", "p1"]


def overlap(recs: list[JobRecord]) -> int:
    return max(sum(1 for o in recs if o.started_at <= r.started_at < o.ended_at) for r in recs)


def test_phase_plan_respects_max_parallel(make_pipeline) -> None:
    tables = {n: SHORT for n in ("a", "b", "c", "d", "e")}
    pipe = make_pipeline(tables, max_parallel=2, present={"c": 10})
    sup = Supervisor(pipe)
    plan = sup.launch_phase("p1", snapshot_once(pipe))
    assert len(plan.jobs) == 4  # c is complete
    assert plan.runner_pid and plan.log and plan.state is PlanState.RUNNING
    assert sup.active("a").state in (JobState.QUEUED, JobState.RUNNING)
    with pytest.raises(JobError, match="already has an active job"):
        sup.launch("e")
    wait_for(lambda: sup.plans()[0].state is PlanState.DONE, 30, "plan done")
    recs = [sup.job(j).record for j in plan.jobs]
    assert all(r.state is JobState.DONE and r.plan == plan.id for r in recs)
    assert overlap(recs) == 2
    entry = sup.history()[0]
    assert entry["action"] == "plan" and entry["plan"] == plan.id
    assert entry["argv"][1:] == ["-m", "nba_tui.jobs.runner", str(pipe.source), plan.id]


def test_cascade_plan_runs_in_dependency_order(make_pipeline) -> None:
    pipe = make_pipeline(
        {"a": SHORT, "b": SHORT, "c": SHORT}, parallel=False, deps={"a": ["sched", "b"]}
    )
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"], strict_cascade=True, shards=1)  # today's cascade
    wait_for(lambda: sup.plans()[0].state is PlanState.DONE, 30, "plan done")
    plan = sup.plans()[0]
    recs = sorted((sup.job(j).record for j in plan.jobs), key=lambda r: r.started_at)
    assert [r.table for r in recs] == ["b", "c", "a"]
    assert all(x.ended_at <= y.started_at for x, y in zip(recs, recs[1:], strict=False))


def test_chained_run_waits_for_preflight(make_pipeline) -> None:
    pipe = make_pipeline({"alpha": SHORT}, phase2={"delta": SHORT}, deps={"delta": ["alpha"]})
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p2", "p1"], strict_cascade=True, shards=1)
    assert plan.phases == ["p1", "p2"]
    wait_for(lambda: sup.plans()[0].state in ("done", "failed"), 40, "plan ended")
    plan = sup.plans()[0]
    assert plan.state is PlanState.DONE, plan.message
    alpha, delta = (sup.job(j).record for j in plan.jobs)
    assert (alpha.table, delta.table) == ("alpha", "delta")
    assert alpha.ended_at <= delta.started_at
    # delta was wholly missing: one gap, asked for as the range of its 10 dates
    assert delta.dates is None and (delta.start, delta.end) == (
        pipe.range.start.isoformat(),
        pipe.range.end.isoformat(),
    )


def test_plans_are_typed_records_in_the_store(make_pipeline) -> None:
    sup = Supervisor(make_pipeline())
    plan = Plan(sup.store.new_plan_id(), "run", ["p1"], "u", 1.0)
    sup.store.save_plan(plan)
    sup.store.update_plan(plan.id, lambda p: p.failed_stages.append("p1"))
    sup.store.update_plan(plan.id, lambda p: p.finish(PlanState.FAILED, "why", 2.0))
    back = sup.store.load_plan(plan.id)
    assert isinstance(back, Plan) and back.state is PlanState.FAILED
    assert (back.failed_stages, back.message, back.ended_at) == (["p1"], "why", 2.0)
    assert [p.id for p in sup.plans()] == [plan.id]
    assert sup.store.update_plan("pnope00", lambda p: None) is None


def test_cancel_plan_stops_its_queued_jobs(make_pipeline) -> None:
    pipe = make_pipeline({"a": [], "b": []}, deps={"b": ["a"]})
    sup = Supervisor(pipe)
    plan = Plan(sup.store.new_plan_id(), "phase", ["p1"], sup.user, 1.0)
    sup.store.save_plan(plan)
    queued = sup.queue("b", plan.id)
    assert queued.state is JobState.QUEUED and queued.record.plan == plan.id
    assert sup.job(queued.id).state is JobState.QUEUED  # its plan is running: it waits
    assert sup.cancel_plan(plan.id).state is PlanState.CANCELLED
    j = sup.job(queued.id)
    assert j.state is JobState.STOPPED and "cancelled" in (j.record.message or "")
    # the cancel is logged before it happens, then the stop of its queued job
    assert [e["action"] for e in sup.history()] == ["plan-cancel", "stop"]


SLOW = ["--delay", "0.5"]


def test_cancel_plan_stops_running_jobs_too(make_pipeline) -> None:
    pipe = make_pipeline({"a": SLOW, "b": SLOW}, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.launch_phase("p1", snapshot_once(pipe))
    first = wait_for(lambda: next((v for v in sup.jobs() if v.state is JobState.RUNNING), None))
    out = sup.cancel_plan(plan.id)
    assert out.state is PlanState.CANCELLED
    states = {sup.job(j).record.table: sup.job(j) for j in plan.jobs}
    assert all(v.state is JobState.STOPPED for v in states.values())
    assert states[first.record.table].record.pid is not None  # it ran, and was stopped
    assert all(not session_members(v.record.sid) for v in states.values() if v.record.sid)
    with pytest.raises(JobError, match="already ended"):
        sup.cancel_plan(plan.id)


def test_a_job_stopped_by_hand_ends_the_plan_stopped(make_pipeline) -> None:
    pipe = make_pipeline({"a": SLOW, "b": SHORT, "c": SHORT}, deps={"c": ["a"]})
    sup = Supervisor(pipe)
    plan = sup.launch_phase("p1", snapshot_once(pipe))
    a = wait_for(
        lambda: next((v for v in sup.jobs() if v.record.table == "a" and v.record.pid), None)
    )
    sup.stop(a.id, grace=1)
    wait_for(lambda: sup.plan(plan.id).state is not PlanState.RUNNING, 30, "plan ended")
    out = sup.plan(plan.id)
    assert out.state is PlanState.STOPPED, out.message
    # only the table a human stopped; c's dates wait for it, and its line says so
    assert out.stopped_tables == ["a"] and out.failed_tables == []
    assert out.message.startswith("stopped: a; c: "), out.message  # never a Python repr
    assert "held by input a, stopped by hand" in out.short["c"], out.short
    b = next(sup.job(j) for j in plan.jobs if sup.job(j).record.table == "b")
    assert b.state is JobState.DONE  # what did not depend on the stopped job ran
