"""The supervised plan runner (jobs/watchdog.py): the watchdog and the runner restart each
other, back-off and limit, damaged plan files kept and rewritten, one plan per table set even
for 20 `run`s started at the same instant. Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui import morning_report
from nba_tui.fsutil import lock_held
from nba_tui.jobs import procs
from nba_tui.jobs.model import Damaged, JobState, Plan, PlanState
from nba_tui.jobs.plans import RESTART_LIMIT, restart_wait
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.jobs.watchdog import lock_path
from nba_tui.monitor import snapshot_once

SLOW = {"alpha": ["--delay", "0.4"], "beta": ["--delay", "0.4"]}


def ended(sup: Supervisor, plan_id: str) -> bool:
    return sup.plan(plan_id).state not in (PlanState.RUNNING, PlanState.LOST)


def test_restart_back_off_doubles_and_a_crash_loop_hits_the_limit() -> None:
    plan = Plan("p000001", "run", ["p1"], "me", 0.0)
    now = 10_000.0
    assert restart_wait(plan, now) == 0.0  # the first restart: at once
    plan.restarts = [{"at": now - 0.5, "by": "watchdog"}]
    assert restart_wait(plan, now) == pytest.approx(0.5)  # 1 s after the first
    plan.restarts = [{"at": now - 3 + i, "by": "watchdog"} for i in range(3)]
    assert restart_wait(plan, now) == pytest.approx(3.0)  # 4 s after the third
    plan.restarts = [{"at": now - 100 - i, "by": "watchdog"} for i in range(10)]
    assert restart_wait(plan, now) == 0.0  # capped at 16 s, long past
    plan.restarts = [{"at": now - i, "by": "watchdog"} for i in range(RESTART_LIMIT)]
    assert restart_wait(plan, now) is None  # a crash loop waits for a human
    plan.restarts = [{"at": now - 700 - i, "by": "watchdog"} for i in range(RESTART_LIMIT)]
    assert restart_wait(plan, now) == 0.0  # outside the window they no longer count


def test_kill_9_of_the_watchdog_its_runner_starts_another(make_pipeline) -> None:  # noqa: ANN001
    pipe = make_pipeline(SLOW, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    first = wait_for(lambda: sup.plan(plan.id).watchdog_pid, 30, "a watchdog")
    assert procs.proc_stat(first).session == first  # its own session: it outlives callers
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: sup.plan(plan.id).watchdog_pid not in (None, first), 30, "a new watchdog")
    assert lock_held(lock_path(sup, plan.id))
    sup.cancel_plan(plan.id)
    second = sup.plan(plan.id).watchdog_pid
    wait_for(lambda: procs.proc_stat(second) is None, 30, "the watchdog exits with its plan")


def test_with_no_watchdog_left_run_adopts_the_lost_plan(make_pipeline) -> None:  # noqa: ANN001
    pipe = make_pipeline(SLOW, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    dog = wait_for(lambda: sup.plan(plan.id).watchdog_pid, 30, "a watchdog")
    os.kill(plan.runner_pid, signal.SIGSTOP)  # it cannot start a new watchdog meanwhile
    os.kill(dog, signal.SIGKILL)
    os.kill(plan.runner_pid, signal.SIGKILL)
    wait_for(lambda: sup.plan(plan.id).state is PlanState.LOST, 10, "plan lost")
    again = sup.run_phases(["p1"])
    assert again.id == plan.id and again.runner_pid != plan.runner_pid
    assert [r["by"] for r in again.restarts] == ["run"]
    wait_for(lambda: ended(sup, plan.id), 120, "plan ended")
    assert sup.plan(plan.id).state is PlanState.DONE, sup.plan(plan.id).message


def test_an_emptied_plan_file_is_rewritten_and_the_plan_ends_done(
    make_pipeline,  # noqa: ANN001 - fixture
) -> None:
    pipe = make_pipeline(SLOW, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: sup.plan(plan.id).jobs, 30, "a shard started")
    path = sup.store.plan_path(plan.id)
    path.write_text("")
    wait_for(lambda: isinstance(sup.store.read_plan(plan.id), Plan), 30, "the file rewritten")
    wait_for(lambda: ended(sup, plan.id), 120, "plan ended")
    done = sup.plan(plan.id)
    assert done.state is PlanState.DONE, done.message
    assert not done.restarts  # its runner never died
    assert {sup.job(j).record.table for j in done.jobs} == {"alpha", "beta"}


def test_a_damaged_plan_is_listed_and_holds_its_tables(make_pipeline) -> None:  # noqa: ANN001
    pipe = make_pipeline({"alpha": ["--delay", "5"], "beta": []}, max_parallel=2)
    sup = Supervisor(pipe)
    me = os.getpid()  # this test stands in for the plan's runner (it keeps no copy)
    plan = Plan(sup.store.new_plan_id(), "run", ["p1"], "me", time.time())
    plan.runner_pid, plan.runner_start_time = me, procs.create_time(me)
    sup.store.save_plan(plan)
    job = sup.start_queued(sup.queue("alpha", plan.id, dates=[pipe.range.start]).id)
    assert job.state is JobState.RUNNING
    path = sup.store.plan_path(plan.id)
    path.write_text('{"id": "' + plan.id + '", "phases": 7}')  # mistyped
    [bad] = sup.damaged_plans()
    assert isinstance(bad, Damaged) and bad.id == plan.id and str(path) == str(bad.path)
    with pytest.raises(JobError, match=f"plan {plan.id} \\(damaged: {path}\\).*alpha"):
        sup.run_phases(["p1"])
    assert [p.id for p in sup.store.scan_plans()[0]] == []  # no second plan
    out = subprocess.run(
        [sys.executable, "-m", "nba_tui", "plans", "--config", str(pipe.source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert f"{plan.id}  damaged   {path}: " in out.stdout
    rep = morning_report.build_report(pipe, sup, snapshot_once(pipe), 0.0)
    assert rep.damaged_plans == [{"id": plan.id, "path": str(path), "reason": bad.reason}]
    assert f"{plan.id}  damaged" in morning_report.render_report(rep)
    sup.stop(job.id)


BARRIER = """import os, sys, time
from nba_tui.cli import main
open(sys.argv[1], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.002)
sys.exit(main(sys.argv[3:]))
"""


def test_twenty_racing_runs_make_one_plan(make_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    pipe = make_pipeline(SLOW, max_parallel=2)
    go = tmp_path / "go"
    procs_ = [
        subprocess.Popen(  # noqa: S603 - a fixed argument list
            [sys.executable, "-c", BARRIER, str(tmp_path / f"ready-{i}"), str(go)]
            + ["run", "p1", "--config", str(pipe.source)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    try:
        wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 20, 180, "20 runs ready")
        go.touch()  # the start barrier
        outs = [p.communicate(timeout=180) for p in procs_]
    finally:
        for p in procs_:
            if p.poll() is None:
                p.kill()
    codes = [p.returncode for p in procs_]
    sup = Supervisor(pipe)
    plans = sup.plans()
    assert len(plans) == 1, [p.id for p in plans]
    pid = plans[0].id
    assert sorted(codes) == [0] + [1] * 19, outs
    refusals = [err for (_, err), c in zip(outs, codes, strict=True) if c == 1]
    for err in refusals:
        assert len(err.strip().splitlines()) == 1, err
        assert f"plan {pid} already runs" in err and f"nba-tui cancel {pid}" in err, err
    if not ended(sup, pid):  # (under load it may have run to its end meanwhile)
        sup.cancel_plan(pid)


def test_a_damaged_plan_whose_runner_lives_refuses_a_new_run(make_pipeline) -> None:  # noqa: ANN001
    pipe = make_pipeline(SLOW, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    dog = wait_for(lambda: sup.plan(plan.id).watchdog_pid, 30, "a watchdog")
    with pytest.raises(JobError, match=f"plan {plan.id} already runs alpha, beta"):
        sup.launch_phase("p1", snapshot_once(pipe))  # a phase launch over its tables too
    for pid in (plan.runner_pid, dog):  # frozen: they hold their locks but rewrite nothing
        os.kill(pid, signal.SIGSTOP)
    try:
        sup.store.plan_path(plan.id).write_text("")
        with pytest.raises(JobError, match=f"plan {plan.id} \\(damaged: .*\\) still has a live"):
            sup.run_phases(["p1"])
    finally:
        for pid in (plan.runner_pid, dog):
            os.kill(pid, signal.SIGCONT)
    wait_for(lambda: isinstance(sup.store.read_plan(plan.id), Plan), 30, "the file rewritten")
    assert len(sup.plans()) == 1
    sup.cancel_plan(plan.id)


def test_a_runner_started_on_a_damaged_plan_stops_with_one_line(make_pipeline) -> None:  # noqa: ANN001
    pipe = make_pipeline(SLOW)
    sup = Supervisor(pipe)
    plan = Plan(sup.store.new_plan_id(), "run", ["p1"], "me", time.time())
    sup.store.save_plan(plan)
    sup.store.plan_path(plan.id).write_text("{not json")
    out = subprocess.run(
        [sys.executable, "-m", "nba_tui.jobs.runner", str(pipe.source), plan.id],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stdout.count("\n") == 1 and out.stdout.startswith(f"plan {plan.id}: damaged")
    assert "Traceback" not in out.stdout + out.stderr


def test_runner_log_lines_survive_a_full_disk(tmp_path: Path) -> None:
    from nba_tui.fsutil import LineLog

    full = os.open("/dev/full", os.O_WRONLY)
    try:
        log = LineLog(full)  # what fsutil.say writes through
        assert not log.write("lost 1") and not log.write("lost 2")  # ENOSPC: never raised
    finally:
        os.close(full)
    path = tmp_path / "runner.log"
    log.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        assert log.write("back")
    finally:
        os.close(log.fd)
    assert path.read_text() == "[nba-tui] 2 log lines dropped: No space left on device\nback\n"


def test_a_runner_or_watchdog_on_a_config_broken_overnight_says_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("pipeline: [unclosed\n")
    for module in ("nba_tui.jobs.runner", "nba_tui.jobs.watchdog"):
        out = subprocess.run(
            [sys.executable, "-m", module, str(bad), "p123456"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert out.returncode == 2, (module, out.stderr)
        assert "Traceback" not in out.stdout + out.stderr, (module, out.stderr)
        assert out.stdout.count("\n") == 1 and str(bad) in out.stdout, (module, out.stdout)


def test_the_watchdog_gives_up_at_the_limit_then_restarts_once_it_aged_out(
    make_pipeline,  # noqa: ANN001 - fixture
) -> None:
    from nba_tui.jobs.watchdog import Watchdog

    pipe = make_pipeline(SLOW)
    sup = Supervisor(pipe)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a runner that died
    born = procs.create_time(gone.pid)
    gone.wait()
    plan = Plan(sup.store.new_plan_id(), "run", ["p1"], "me", time.time())
    plan.runner_pid, plan.runner_start_time = gone.pid, born
    now = time.time()
    plan.restarts = [{"at": now - i, "by": "watchdog", "old_pid": 1} for i in range(RESTART_LIMIT)]
    sup.store.save_plan(plan)
    dog = Watchdog(sup, plan.id)
    assert dog.look() is None and dog.look() is None
    assert sup.plan(plan.id).state is PlanState.LOST  # a crash loop waits for a human
    assert [e.kind for e in sup.events()].count("runner_gave_up") == 1  # said once
    old = [{**r, "at": r["at"] - 3600} for r in plan.restarts]  # the window moved on
    sup.store.update_plan(plan.id, lambda p: setattr(p, "restarts", old))
    assert dog.look() is None
    back = sup.plan(plan.id)
    assert back.runner_pid != gone.pid and back.restarts[-1]["by"] == "watchdog"
    sup.cancel_plan(back.id)
