"""Phase plans: pure planning, and the detached runner over real jobs (max_parallel, cascade)."""

from __future__ import annotations

from jobs_helpers import wait_for

from nba_tui import config
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.orchestrator import order_phases, phase_tables, startable

SHORT = ["--n", "3", "--delay", "0.15"]


def view(table: str, state: JobState, started: bool = False) -> JobView:
    rec = JobRecord(table[:6], table, [], "", 0.0, "u", state=state)
    if started:
        rec.shim_pid = rec.pid = 1
    return JobView(rec, Progress())


def test_startable_rules(make_pipeline) -> None:
    pipe = make_pipeline({"a": [], "b": [], "c": [], "d": []}, deps={"c": ["a"]}, max_parallel=2)
    q = JobState.QUEUED
    stage = [view("a", q), view("b", q), view("c", q), view("d", q)]
    assert startable(pipe, "p1", stage, running_now=0) == ["a", "b"]
    assert startable(pipe, "p1", stage, running_now=1) == ["a"]
    assert startable(pipe, "p1", stage, running_now=2) == []
    stage[0] = view("a", JobState.RUNNING, started=True)
    assert startable(pipe, "p1", stage, running_now=1) == ["b"]  # c waits for a
    stage[0] = view("a", JobState.DONE, started=True)
    assert startable(pipe, "p1", stage, running_now=0) == ["b", "c"]
    assert phase_tables(pipe, "p1") == ["a", "b", "d", "c"]
    assert order_phases(pipe, ["p1", "src"]) == ["src", "p1"]


def test_cascade_phase_one_at_a_time(make_pipeline) -> None:
    pipe: config.Pipeline = make_pipeline(
        {"a": [], "b": [], "c": []}, parallel=False, deps={"a": ["sched", "b"]}
    )
    q = JobState.QUEUED
    stage = [view(t, q) for t in phase_tables(pipe, "p1")]
    assert [v.record.table for v in stage] == ["b", "c", "a"]
    assert startable(pipe, "p1", stage, running_now=0) == ["b"]
    stage[0] = view("b", JobState.RUNNING, started=True)
    assert startable(pipe, "p1", stage, running_now=1) == []


def overlap(recs: list[JobRecord]) -> int:
    return max(sum(1 for o in recs if o.started_at <= r.started_at < o.ended_at) for r in recs)


def test_phase_plan_respects_max_parallel(make_pipeline) -> None:
    tables = {n: SHORT for n in ("a", "b", "c", "d", "e")}
    pipe = make_pipeline(tables, max_parallel=2, present={"c": 10})
    sup = Supervisor(pipe)
    from nba_tui.cli import take_snapshot

    class Args:
        start = end = None

    plan = sup.launch_phase("p1", take_snapshot(Args(), pipe))
    assert len(plan.jobs) == 4  # c is complete
    assert sup.active("a").state in (JobState.QUEUED, JobState.RUNNING)
    with __import__("pytest").raises(JobError, match="already has an active job"):
        sup.launch("e")
    wait_for(lambda: sup.plans()[0].state == "done", 30, "plan done")
    recs = [sup.job(j).record for j in plan.jobs]
    assert all(r.state is JobState.DONE and r.plan == plan.id for r in recs)
    assert overlap(recs) == 2
    assert sup.history()[0]["action"] == "plan"


def test_cascade_plan_runs_in_dependency_order(make_pipeline) -> None:
    pipe = make_pipeline(
        {"a": SHORT, "b": SHORT, "c": SHORT}, parallel=False, deps={"a": ["sched", "b"]}
    )
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: sup.plans()[0].state == "done", 30, "plan done")
    plan = sup.plans()[0]
    recs = sorted((sup.job(j).record for j in plan.jobs), key=lambda r: r.started_at)
    assert [r.table for r in recs] == ["b", "c", "a"]
    assert all(x.ended_at <= y.started_at for x, y in zip(recs, recs[1:], strict=False))


def test_chained_run_waits_for_preflight(make_pipeline) -> None:
    pipe = make_pipeline(
        {"alpha": SHORT[2:]}, phase2={"delta": SHORT[2:]}, deps={"delta": ["alpha"]}
    )
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p2", "p1"])
    assert plan.phases == ["p1", "p2"]
    wait_for(lambda: sup.plans()[0].state in ("done", "failed"), 40, "plan ended")
    plan = sup.plans()[0]
    assert plan.state == "done", plan.message
    alpha, delta = (sup.job(j).record for j in plan.jobs)
    assert (alpha.table, delta.table) == ("alpha", "delta")
    assert alpha.ended_at <= delta.started_at
    # delta was wholly missing: one gap, asked for as the range of its 10 dates
    assert delta.dates is None and (delta.start, delta.end) == (
        pipe.range.start.isoformat(),
        pipe.range.end.isoformat(),
    )
