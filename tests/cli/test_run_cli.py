"""`nba-tui run --dry-run` prints the plan and its forecast and launches nothing, `--argv` what
`run` launches; `pause|resume|stop
PLAN` act on every job of a plan (real backfill processes on the sample warehouse)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cli_helpers import run_cli, sample_built_fixture, sample_fixture  # noqa: F401 (fixtures)
from waiting import wait_for

from nba_tui import config as cfg
from nba_tui.jobs import procs
from nba_tui.jobs.model import JobState, Plan, PlanState
from nba_tui.jobs.supervisor import Supervisor


def test_dry_run_prints_a_summary_and_launches_nothing(sample: Path) -> None:
    out = run_cli(sample, "run", "phase5", "phase4", "--dry-run", "--shards", "2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("at max_parallel 3; nothing is launched")
    assert any(line.startswith("player_composite_factors ") for line in lines)
    assert any(line.startswith("forecast end ") for line in lines)
    last = lines.index("the exact commands: add --argv")
    assert all(len(line) <= 80 for line in lines[: last + 1])
    assert not (sample / ".nba_tui" / "plans").exists() or not os.listdir(
        sample / ".nba_tui" / "plans"
    )
    assert not (sample / ".nba_tui" / "jobs").exists() or not [
        n for n in os.listdir(sample / ".nba_tui" / "jobs") if n.endswith(".json")
    ]
    # what-if: more slots end the night sooner; one slot later
    wide = json.loads(run_cli(sample, "run", "phase4", "--dry-run", "--json").stdout)
    wider = run_cli(sample, "run", "phase4", "--dry-run", "--json", "--max-parallel", "8")
    narrow = run_cli(sample, "run", "phase4", "--dry-run", "--json", "--max-parallel", "1")
    assert json.loads(wider.stdout)["seconds"] < wide["seconds"]
    assert json.loads(narrow.stdout)["seconds"] > wide["seconds"]
    refused = run_cli(sample, "run", "phase4", "--max-parallel", "8")
    assert refused.returncode == 2 and "--max-parallel goes with --dry-run" in refused.stderr


def test_dry_run_argv_is_what_run_launches(sample: Path) -> None:
    listing = run_cli(sample, "run", "phase4", "--dry-run", "--argv")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[1].startswith("+0s ")
    planned = json.loads(run_cli(sample, "run", "phase4", "--dry-run", "--json").stdout)
    first = sorted(s["argv"] for s in planned["shards"] if s["start_s"] == 0)
    assert first, "the incident's state has phase 4 dates ready now"
    pipeline = cfg.load(sample / "pipeline.yaml")
    sup = Supervisor(pipeline)
    os.environ["NBA_TUI_SAMPLE_PACE"] = "5"  # slow: nothing ends before the first shards start
    try:
        plan = sup.run_phases(["phase4"])
        wait_for(lambda: len(sup.plan(plan.id).jobs) >= len(first), 60, "the first shards launched")
        launched = sorted(sup.job(j).record.argv for j in sup.plan(plan.id).jobs[: len(first)])
    finally:
        del os.environ["NBA_TUI_SAMPLE_PACE"]
        sup.cancel_plan(plan.id)
    assert launched == first


def _wait(sup: Supervisor, job_id: str, state: JobState, timeout: float = 30) -> None:
    wait_for(lambda: sup.job(job_id).state is state, timeout, f"job {job_id} to be {state}")


def test_pause_resume_stop_a_plan_act_on_all_its_jobs(sample: Path) -> None:
    pipeline = cfg.load(sample / "pipeline.yaml")
    sup = Supervisor(pipeline)
    me = os.getpid()  # this test stands in for the plan's runner
    plan = Plan(sup.store.new_plan_id(), "run", ["phase3"], "me", time.time())
    plan.runner_pid, plan.runner_start_time = me, procs.create_time(me)
    sup.store.save_plan(plan)
    # a date takes 10 minutes: the jobs outlive every CLI call below, however loaded the machine
    os.environ["NBA_TUI_SAMPLE_PACE"] = "600"
    try:
        ids = [
            sup.start_queued(sup.queue(t, plan.id, dates=[pipeline.range.start]).id).id
            for t in ("player_game_summary", "team_offense_game_summary")
        ]
    finally:
        del os.environ["NBA_TUI_SAMPLE_PACE"]
    ended = sup.queue("team_defense_game_summary", plan.id, dates=[pipeline.range.start]).id
    sup.lifecycle.mark_stopped(ended, "ended before the plan was paused")
    for i in ids:
        _wait(sup, i, JobState.RUNNING)
    paused = run_cli(sample, "pause", plan.id)
    assert paused.returncode == 0, paused.stderr
    assert f"pause: plan {plan.id} is paused; paused 2 jobs " in paused.stdout
    assert sorted(paused.stdout.split("paused 2 jobs ")[1].split()) == sorted(ids)
    assert {sup.job(i).state for i in ids} == {JobState.PAUSED}
    listed = run_cli(sample, "plans")
    assert f"{plan.id}  run   paused" in listed.stdout
    resumed = run_cli(sample, "resume", plan.id)
    assert resumed.returncode == 0, resumed.stderr
    assert {sup.job(i).state for i in ids} == {JobState.RUNNING}
    stopped = run_cli(sample, "stop", plan.id)
    assert stopped.returncode == 0, stopped.stderr
    assert sorted(stopped.stdout.split("stopped 2 jobs ")[1].split()) == sorted(ids)
    assert ended not in paused.stdout + resumed.stdout + stopped.stdout
    assert {sup.job(i).state for i in ids} == {JobState.STOPPED}
    assert sup.plan(plan.id).state is PlanState.CANCELLED
    again = run_cli(sample, "stop", plan.id)
    assert again.returncode == 1 and "already ended" in again.stderr


def test_report_command_text_json_and_bad_since(sample: Path) -> None:
    out = run_cli(sample, "report", "--since", "1h")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Morning report · nba-props-platform")
    assert "Next: nba-tui run phase3" in out.stdout
    assert max(len(line) for line in out.stdout.splitlines()) <= 80
    data = json.loads(run_cli(sample, "report", "--json").stdout)
    assert data["next_command"].startswith("nba-tui run phase3")
    bad = run_cli(sample, "report", "--since", "yesterday")
    assert bad.returncode == 2 and "not a duration" in bad.stderr


def test_a_real_plan_run_then_the_morning_report(sample: Path) -> None:
    started = run_cli(sample, "run", "phase3", "--shards", "2", "--json")
    assert started.returncode == 0, started.stderr
    plan_id = json.loads(started.stdout)["id"]
    sup = Supervisor(cfg.load(sample / "pipeline.yaml"))
    ended = lambda: sup.plan(plan_id).state is not PlanState.RUNNING  # noqa: E731
    wait_for(ended, 120, f"plan {plan_id} to end")
    assert sup.plan(plan_id).state is PlanState.DONE, sup.plan(plan_id).message
    data = json.loads(run_cli(sample, "report", "--json").stdout)
    assert [p["id"] for p in data["plans"]] == [plan_id]
    tables = {t["table"]: t for t in data["tables"]}
    tdgs = tables["team_defense_game_summary"]
    assert tdgs["before"] < tdgs["after"] == tdgs["expected"]  # its gaps filled
    assert tdgs["filled"] == tdgs["after"] - tdgs["before"]
    assert {s["exit_code"] for s in data["shards"]} == {0}
    assert data["next_command"] == "nba-tui run phase4 phase5"
    text = run_cli(sample, "report").stdout
    assert f"  {plan_id}  done " in text
    assert "…" not in text  # piped: every line whole (a terminal's width is test_morning's)
