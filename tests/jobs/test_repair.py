"""A plan's failed job restarted to done updates the plan: real programs (the sample backfill
with its always-failing-date knob, then without it), real shims, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from autopilot_helpers import sample_pipeline
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobState, PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.sample import backfill as sample
from nba_tui.sample import ensure_warehouse

TABLE, BAD = "team_defense_game_summary", "2023-12-21"  # a missing date of the sample


def test_restarting_a_plans_failed_job_to_done_updates_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # betting lines exist then: every phase 3 table can meet its threshold, the plan be done
    pipe = sample_pipeline(tmp_path, start="2023-12-10", end="2023-12-25", retries=0)
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0")
    monkeypatch.setenv(sample.FAIL_ENV, f"{TABLE}:{BAD}")
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase3"])
    wait_for(lambda: sup.plan(plan.id).ended_at is not None, 240, "the plan's end")
    failed = sup.plan(plan.id)
    assert failed.state is PlanState.FAILED and failed.quarantined == {TABLE: [BAD]}
    assert failed.failed_tables == [TABLE]
    (job,) = [
        r
        for r in (sup.job(j).record for j in failed.jobs)
        if r.table == TABLE and r.state is JobState.FAILED
    ]

    monkeypatch.delenv(sample.FAIL_ENV)  # the cause is fixed; the restart fills the date
    again = sup.restart(job.id)
    wait_for(lambda: sup.job(again.id).state is JobState.DONE, 60, "the restart's end")
    mended = wait_for(
        lambda: (p := sup.plan(plan.id)).state is not PlanState.FAILED and p, 30, "plan mended"
    )
    assert mended.failed_tables == [] and mended.quarantined == {}
    assert (
        mended.message is not None and f"restarted job {again.id} filled {TABLE}" in mended.message
    )
    # done now: plan_done, once, in events.jsonl and to the alert hook
    assert mended.state is PlanState.DONE, mended.message
    kinds = [e.kind for e in sup.events() if e.plan == plan.id and e.kind.startswith("plan_")]
    assert kinds == ["plan_failed", "plan_done"], kinds
    hooked = wait_for(lambda: _hooked(tmp_path, plan.id, "plan_done"), 30, "plan_done's hook")
    assert len(hooked) == 1
    listing = subprocess.run(
        [sys.executable, "-m", "nba_tui", "plans", "--config", str(tmp_path / "pipeline.yaml")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    head, *notes = listing.splitlines()
    assert head.split()[2] == mended.state.value != "failed", listing
    assert f"restarted job {again.id}" in listing and "failed:" not in listing
    report = subprocess.run(
        [sys.executable, "-m", "nba_tui", "report", "--config", str(tmp_path / "pipeline.yaml")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    failure = [ln for ln in report.splitlines() if ln.startswith(f"  {job.id} {TABLE} ")][-1]
    assert failure.endswith(": failed (exit 1), attempt 1"), report
    assert len(failure) > 80  # piped: never cut at 80 columns
    assert f"    ! FAILED {BAD}: test-only failure (--fail-dates)" in report.splitlines()
    assert f"restarted as job {again.id}: done" in report


def _hooked(tmp: Path, plan: str, kind: str) -> list[dict]:
    """The events of `plan` of `kind` the alert hook received (tests/jobs/autopilot_helpers)."""
    out = tmp / "hook.out"
    lines = out.read_text().splitlines() if out.exists() else []
    return [e for e in map(json.loads, lines) if e.get("plan") == plan and e.get("kind") == kind]


def test_mend_keeps_a_plan_failed_while_dates_of_it_still_failed() -> None:
    from nba_tui.jobs.model import Plan
    from nba_tui.jobs.repair import mend

    plan = Plan("p0c0ffe", "run", ["phase4"], "me", 1.0, state=PlanState.FAILED)
    plan.quarantined = {"a": ["2024-01-05", "2024-01-09"], "b": ["2024-01-05"]}
    plan.failed_tables = ["a", "b"]
    assert mend(plan, "a", {"2024-01-05"}.__contains__, "j1")  # one of a's two dates
    assert plan.quarantined["a"] == ["2024-01-09"] and plan.state is PlanState.FAILED
    assert mend(plan, "a", {"2024-01-09"}.__contains__, "j2")
    assert plan.failed_tables == ["b"] and plan.state is PlanState.FAILED
    assert not mend(plan, "c", lambda d: True, "j3")  # nothing of the plan failed there
    assert mend(plan, "b", lambda d: True, "j4")
    assert (plan.state, plan.failed_tables, plan.quarantined) == (PlanState.DONE, [], {})
    assert plan.message == "restarted job j4 filled b's failed dates"
    assert not mend(plan, "b", lambda d: True, "j5")  # a done plan is left alone


def test_mend_a_phase_launch_whose_job_failed() -> None:
    from nba_tui.jobs.model import Plan
    from nba_tui.jobs.repair import mend

    plan = Plan("p0c0ffe", "launch", ["phase3"], "me", 1.0, state=PlanState.FAILED)
    plan.failed_tables, plan.failed_stages, plan.message = ["a"], ["phase3"], "failed: a"
    plan.stopped_tables = ["c"]
    assert mend(plan, "a", lambda d: True, "j1")
    assert (plan.state, plan.failed_tables, plan.failed_stages) == (PlanState.STOPPED, [], [])


def test_a_mended_plan_sends_the_event_of_its_new_end_once(tmp_path: Path) -> None:
    """Without a pipeline file (no poll) the plan's own lines say how it ends: short here (a
    table it left short), so `plan_short`; the same restart seen again sends nothing."""
    from nba_tui.jobs.events import read_events
    from nba_tui.jobs.model import JobRecord, Plan
    from nba_tui.jobs.repair import after_exit
    from nba_tui.jobs.store import Store

    store = Store(tmp_path / "state")
    store.ensure()
    plan = Plan("p0c0ffe", "run", ["phase3"], "me", 1.0, state=PlanState.FAILED)
    plan.quarantined, plan.failed_tables = {"a": ["2024-01-05"]}, ["a"]
    plan.short = {"b": "b: 3 dates missing: 3 held by input x that nothing fills"}
    store.save_plan(plan)
    base = {"argv": ["x"], "log": "l", "created_at": 1.0, "user": "me"}
    store.save_job(JobRecord(id="aaa111", table="a", plan=plan.id, state=JobState.FAILED, **base))
    again = JobRecord(
        id="bbb222", table="a", restarted_from="aaa111", dates=["2024-01-05"],
        state=JobState.DONE, **base,
    )  # fmt: skip
    plan_after, event = after_exit(store, again)
    assert plan_after.state is PlanState.SHORT and event is not None
    assert event.kind == "plan_short" and event.plan == plan.id
    assert after_exit(store, again) is None  # no longer failed: nothing to mend, no event
    kinds = [e.kind for e in read_events(store) if e.plan == plan.id]
    assert kinds == ["plan_short"]
