"""Supervisor over real processes and real signals (fake backfill: tests/jobs/fakejob.py)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.procs import create_time, proc_stat, session_members
from nba_tui.jobs.supervisor import JobError, Supervisor


def members(rec: JobRecord) -> list:
    """Every process of the job but the shim."""
    return session_members(rec.sid, exclude=rec.shim_pid) if rec.sid else []


def log_has(sup: Supervisor, job_id: str, text: str) -> bool:
    return any(text in line for line in sup.tail(job_id))


def test_launch_runs_to_done_with_exit_code_and_progress(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0.01"]}))
    v = sup.launch("alpha")
    assert v.record.pid and v.record.state in (JobState.RUNNING, JobState.DONE)
    assert Path(v.record.log).name.startswith("alpha_")
    done = wait_for(lambda: sup.job(v.id).state is JobState.DONE or None, what="done")
    assert done
    j = sup.job(v.id)
    assert j.record.exit_code == 0 and j.record.ended_at
    assert j.progress.current_date == "2024-01-10"
    assert (j.progress.done, j.progress.total) == (10, 10)
    assert sup.active("alpha") is None


def test_failed_exit_code_and_failed_dates(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0", "--fail-at", "4"]}))
    v = sup.launch("alpha")
    wait_for(lambda: sup.job(v.id).state is JobState.FAILED, what="failed")
    j = sup.job(v.id)
    assert j.record.exit_code == 3 and j.record.signal is None
    assert j.progress.failed_dates == ["2024-01-04"]


def test_dates_launch_and_missing_program(make_pipeline) -> None:
    import datetime as dt

    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0"]}))
    days = [dt.date(2024, 1, 3), dt.date(2024, 1, 7)]
    v = sup.launch("alpha", dates=days)
    assert v.record.argv[-2:] == ["--dates", "2024-01-03,2024-01-07"]
    assert v.record.dates == ["2024-01-03", "2024-01-07"]
    wait_for(lambda: sup.job(v.id).state is JobState.DONE, what="done")
    assert sup.job(v.id).progress.total == 2
    with pytest.raises(JobError, match="no backfill"):
        sup.launch("sched")
    with pytest.raises(JobError, match="unknown table"):
        sup.launch("nope")


def test_pause_stops_every_process_then_resume(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--fork", "--escape", "--delay", "0.2"]}))
    v = sup.launch("alpha")
    wait_for(lambda: log_has(sup, v.id, "grandchild"), what="grandchild")
    rec = sup.job(v.id).record
    procs = members(rec)
    assert len(procs) == 3  # program, child, grandchild (own process group)
    assert len({p.pgrp for p in procs}) == 2
    assert sup.pause(v.id).state is JobState.PAUSED
    # pause returns once every process is stopped (its latency is measured in bench/bench_jobs.py)
    assert all(proc_stat(p.pid).state == "T" for p in procs)
    assert proc_stat(rec.shim_pid).state != "T"  # the shim keeps waiting for its child
    assert sup.job(v.id).state is JobState.PAUSED
    assert sup.resume(v.id).state is JobState.RUNNING
    wait_for(lambda: all(proc_stat(p.pid).state in "RS" for p in procs), 2, "all running")
    assert sup.job(v.id).state is JobState.RUNNING
    # a SIGSTOP sent by hand is seen too (reconciled from /proc state T)
    os.kill(rec.pid, signal.SIGSTOP)
    wait_for(lambda: sup.job(v.id).state is JobState.PAUSED, what="paused by hand")
    sup.stop(v.id, grace=1)


def test_stop_ignoring_sigterm_and_escaped_grandchild_leave_nothing(make_pipeline) -> None:
    sup = Supervisor(
        make_pipeline({"alpha": ["--ignore-term", "--fork", "--escape", "--delay", "1"]})
    )
    v = sup.launch("alpha")
    wait_for(lambda: log_has(sup, v.id, "grandchild"), what="grandchild")
    rec = sup.job(v.id).record
    assert len(members(rec)) == 3
    out = sup.stop(v.id, grace=1.0)
    # TERM first (every process logged that it ignores it), KILL after the grace: nothing is left
    assert sum(line.endswith("ignores SIGTERM") for line in sup.tail(v.id)) == 3
    assert out.state is JobState.STOPPED and out.record.signal == signal.SIGKILL
    assert members(rec) == []
    assert not sup.active("alpha")
    last = sup.history()[-1]  # written before the signals: the intent, with its grace
    assert (last["action"], last["job"], last["grace"]) == ("stop", v.id, 1.0)


def test_stop_of_a_polite_paused_job_needs_no_kill(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0.5"]}))
    v = sup.launch("alpha")
    sup.pause(v.id)
    out = sup.stop(v.id, grace=30)  # CONT reaches the paused job: TERM ends it, no KILL needed
    assert out.state is JobState.STOPPED and out.record.signal == signal.SIGTERM
    assert sup.history()[-1]["grace"] == 30
    assert members(sup.job(v.id).record) == []
    with pytest.raises(JobError, match="already stopped"):
        sup.stop(v.id)
    with pytest.raises(JobError, match="only a running job"):
        sup.pause(v.id)


def test_restart_resumes_from_checkpoint_with_same_argv(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0.1"], "beta": ["--delay", "1"]}))
    v = sup.launch("alpha")
    wait_for(lambda: log_has(sup, v.id, "Processing 2024-01-04"), what="4th date")
    sup.stop(v.id, grace=2)
    with pytest.raises(JobError, match="only failed, stopped or lost"):
        sup.restart(sup.launch("beta").id)  # running
    r = sup.restart(v.id)
    assert r.record.argv == v.record.argv and r.record.restarted_from == v.id
    assert r.record.log != v.record.log
    wait_for(lambda: sup.job(r.id).state is JobState.DONE, what="restart done")
    lines = sup.tail(r.id)
    resumed = next(line for line in lines if line.startswith("Resuming"))
    assert int(resumed.split(": ")[1].split()[0]) >= 3
    assert "Processing 2024-01-01 (1/10)" not in lines
    assert [e["action"] for e in sup.history() if e["table"] == "alpha"] == [
        "launch",
        "stop",
        "restart",
    ]


def test_pid_reuse_is_never_signalled(make_pipeline) -> None:
    pipe = make_pipeline()
    sup = Supervisor(pipe)
    other = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        ct = create_time(other.pid)
        rec = JobRecord(
            id="f00001",
            table="alpha",
            argv=["x"],
            log="",
            created_at=time.time() - 60,
            user="u",
            state=JobState.RUNNING,
            shim_pid=other.pid,
            shim_start_time=ct - 100,
            pid=other.pid,
            pgid=other.pid,
            sid=other.pid,
            start_time=ct - 100,  # the recorded process started long before this one
        )
        sup.store.save_job(rec)
        j = sup.job("f00001")
        assert j.state is JobState.LOST and "another process" in (j.record.message or "")
        for action in (sup.pause, sup.stop, sup.resume):
            with pytest.raises(JobError):
                action("f00001")
        assert sup.engine.members(rec) == []
        assert proc_stat(other.pid).state in "RS" and other.poll() is None
        assert sup.active("alpha") is None  # a lost job does not block a new launch
    finally:
        other.kill()
        other.wait()


def test_lost_when_shim_and_program_vanish(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "1"]}))
    v = sup.launch("alpha")
    os.kill(v.record.shim_pid, signal.SIGKILL)
    os.kill(v.record.pid, signal.SIGKILL)
    j = wait_for(lambda: (j := sup.job(v.id)).state is JobState.LOST and j, what="lost")
    assert "without an exit status" in j.record.message
    # kill -9 of the program alone: the shim records the signal (FAILED), restart is offered
    v2 = sup.launch("alpha")
    os.kill(v2.record.pid, signal.SIGKILL)
    wait_for(lambda: sup.job(v2.id).state is JobState.FAILED, what="failed by kill -9")
    assert sup.job(v2.id).record.signal == signal.SIGKILL


def test_file_modes_and_action_log(make_pipeline, tmp_path: Path) -> None:
    os.umask(0o022)
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0"]}))
    v = sup.launch("alpha")
    wait_for(lambda: sup.job(v.id).state is JobState.DONE, what="done")

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    state = tmp_path / "state"
    for d in (state, state / "jobs", state / "locks", tmp_path / "logs"):
        assert mode(d) == 0o700, d
    for f in (state / "jobs" / f"{v.id}.json", state / "actions.jsonl", Path(v.record.log)):
        assert mode(f) == 0o600, f
    (entry,) = sup.history()
    assert entry["action"] == "launch" and entry["job"] == v.id and entry["table"] == "alpha"
    assert entry["argv"] == v.record.argv
    assert entry["argv"][:2] == [sys.executable, str(Path(__file__).parent / "fakejob.py")]
    assert entry["start"] == "2024-01-01" and entry["end"] == "2024-01-10"
    assert entry["user"] == sup.user and entry["time"]


def test_read_only_supervisor_writes_nothing(make_pipeline, tmp_path: Path) -> None:
    sup = Supervisor(make_pipeline())
    assert sup.jobs() == [] and sup.history() == [] and sup.plans() == []
    assert not (tmp_path / "state").exists()
