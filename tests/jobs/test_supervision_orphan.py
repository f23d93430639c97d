"""A plan whose runner and watchdog die together is adopted by its shards' shims
(jobs/guard.py); a frozen runner is replaced by its watchdog (jobs/beat.py). Real processes,
real signals."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

from jobs_helpers import wait_for

from nba_tui.cli.listings import render_plan
from nba_tui.jobs import beat, procs
from nba_tui.jobs.model import JobState, Plan, PlanState
from nba_tui.jobs.plan_text import progress
from nba_tui.jobs.supervisor import Supervisor

LONG = {"alpha": ["--delay", "1.5"]}
"""One table of 10 dates at 1.5 s each: its shard outlives several of its shim's looks."""


def running_shard(sup: Supervisor, plan_id: str) -> str:
    return wait_for(
        lambda: next(
            (v.id for v in sup.jobs() if v.record.plan == plan_id and v.state is JobState.RUNNING),
            None,
        ),
        60,
        "a running shard",
    )


def finish_cleanly(sup: Supervisor, plan_id: str, pids: list[int]) -> None:
    """The plan ends done and leaves no process: runners, watchdogs, shims, programs."""
    wait_for(lambda: sup.plan(plan_id).state not in (PlanState.RUNNING, PlanState.LOST), 180, "end")
    plan = sup.plan(plan_id)
    assert plan.state is PlanState.DONE, plan.message
    shims = [v.record.shim_pid for v in sup.jobs() if v.record.plan == plan_id]
    for pid in [*pids, plan.runner_pid, plan.watchdog_pid, *shims]:
        if pid:
            wait_for(lambda p=pid: procs.proc_stat(p) is None, 30, f"process {pid} gone")


def test_runner_and_watchdog_killed_together_a_shim_adopts_the_plan(make_pipeline) -> None:  # noqa: ANN001
    sup = Supervisor(make_pipeline(LONG, max_parallel=1))
    plan = sup.run_phases(["p1"])
    running_shard(sup, plan.id)
    dog = wait_for(lambda: sup.plan(plan.id).watchdog_pid, 30, "a watchdog")
    runner = sup.plan(plan.id).runner_pid
    os.kill(dog, signal.SIGKILL)
    os.kill(runner, signal.SIGKILL)
    new = wait_for(
        lambda: (
            (p := sup.plan(plan.id)).runner_pid != runner
            and procs.same_process(p.runner_pid, p.runner_start_time)
            and p.runner_pid
        ),
        30,
        "a new runner",
    )
    restarts = sup.plan(plan.id).restarts
    assert len(restarts) == 1 and restarts[0]["by"].startswith("shim of ")  # one adoption

    # the adopter records the restart, starts the runner, then appends the event
    def restarted() -> list:
        return [e for e in sup.events() if e.plan == plan.id and e.kind == "runner_restarted"]

    assert len(wait_for(restarted, 30, "the runner_restarted event")) == 1
    finish_cleanly(sup, plan.id, [dog, runner, new])


def test_a_stopped_runner_is_said_not_responding_then_replaced(make_pipeline) -> None:  # noqa: ANN001
    sup = Supervisor(make_pipeline(LONG, max_parallel=1))
    plan = sup.run_phases(["p1"])
    running_shard(sup, plan.id)
    dog = wait_for(lambda: sup.plan(plan.id).watchdog_pid, 30, "a watchdog")
    runner = sup.plan(plan.id).runner_pid
    os.kill(dog, signal.SIGSTOP)  # holds its look while `plans` is read
    os.kill(runner, signal.SIGSTOP)
    try:
        seen = wait_for(lambda: sup.plan(plan.id).message, 30, "a note")
        assert "runner not responding (stopped)" in seen
        assert sup.plan(plan.id).state is PlanState.RUNNING
        assert "runner not responding (stopped)" in render_plan(sup.plan(plan.id))
    finally:
        os.kill(dog, signal.SIGCONT)
    new = wait_for(
        lambda: (
            (p := sup.plan(plan.id)).runner_pid != runner
            and procs.same_process(p.runner_pid, p.runner_start_time)
            and p.runner_pid
        ),
        30,
        "a new runner",
    )
    wait_for(lambda: procs.proc_stat(runner) is None, 30, "the stopped runner gone")
    assert [r["by"] for r in sup.plan(plan.id).restarts] == ["watchdog"]
    finish_cleanly(sup, plan.id, [runner, new])


def test_a_live_runner_without_a_heartbeat_counts_as_hung(tmp_path) -> None:  # noqa: ANN001
    me, born = os.getpid(), procs.create_time(os.getpid())
    ticker = beat.Beat(tmp_path, "p1")
    ticker.touch()
    pulse = beat.read(tmp_path, "p1")
    assert pulse is not None and pulse.pid == me and pulse.age < beat.STALE_AFTER
    assert beat.hung(pulse, me, born) is None and beat.responding(tmp_path, "p1")
    old = time.time() - beat.STALE_AFTER - 5
    os.utime(beat.beat_path(tmp_path, "p1"), (old, old))
    stale = beat.read(tmp_path, "p1")
    assert beat.hung(stale, me, born) == f"no heartbeat for {int(stale.age)} s"
    assert not beat.responding(tmp_path, "p1")
    assert beat.hung(stale, me, born + 100) is None  # another process's beat says nothing


def test_a_lost_plan_counts_down_no_forecast() -> None:
    p = Plan("p0a0b0c", "run", ["phase4"], "u", 1000.0)
    p.planned, p.left, p.forecast_end = {"a": 60}, {"a": 20}, 1000.0 + 3900
    assert "ends " in progress(p, 1600.0)  # running: its forecast end
    lost = dataclasses.replace(p, state=PlanState.LOST)
    assert progress(lost, 1600.0) == "40/60 dates (66%), no runner: no forecast"
    assert "ends " not in render_plan(lost)
