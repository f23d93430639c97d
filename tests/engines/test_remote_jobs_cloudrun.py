"""Backfill jobs on Cloud Run Jobs through the supervisor: the real google-cloud-run and Cloud
Logging clients against the loopback contract server (tests/engines/cloudrun_contract.py, which
stands in for Google's servers and runs every task as a real local process). Launch as one
execution of several tasks, each on its slice of the dates; honest pause and resume; stop cancels
the execution (shown cancelled, never success); an execution cancelled elsewhere fails the job;
the launch of an unknown job is refused with one line before anything is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from cloudrun_contract import ContractServer
from engine_helpers import (
    RANGE,
    TABLE,
    duplicate_keys,
    ended,
    fillable,
    missing,
    progressed,
    remote_pipeline,
    sample_warehouse,
    unfillable,
    wait_for,
)

from nba_tui.config import Pipeline
from nba_tui.jobs.engines.drivers import RemoteState
from nba_tui.jobs.engines.registry import driver_for
from nba_tui.jobs.model import JobState
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample.backfill import PACE_ENV

TASKS = 3


def make(tmp: Path, server: ContractServer, job: str | None = None) -> Pipeline:
    settings = {
        "project": server.project,
        "region": server.region,
        "job": job or server.job,
        "endpoint": server.endpoint,
        "tasks": TASKS,
        "max_requests_per_minute": 6000,
        "price_per_task_second": 0.5,
    }
    p = remote_pipeline(tmp, "cloudrun", settings, **RANGE)
    sample_warehouse(p)
    return p


def launch(sup: Supervisor, pipe: Pipeline) -> str:
    return sup.launch_missing(TABLE, snapshot_once(pipe)).id


def test_a_table_backfills_as_one_execution_of_tasks(
    tmp_path: Path,
    cloudrun_server: ContractServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PACE_ENV, "0.05")
    pipe = make(tmp_path, cloudrun_server)
    before = missing(pipe)
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: ended(sup, job), 120, "the execution ended")
    rec = sup.job(job).record
    assert rec.state is JobState.DONE, (rec.message, Path(rec.log).read_text()[-2000:])
    assert rec.engine == "cloudrun" and rec.remote_state == "succeeded"
    assert rec.task_seconds and rec.task_seconds > 0
    run = driver_for(pipe, "cloudrun").get(rec.remote_id or "")
    assert run.state is RemoteState.SUCCEEDED and run.tasks == TASKS
    log = Path(rec.log).read_text()
    never = unfillable(pipe)  # launch --missing offers only the dates something can fill
    for day in before:  # every launched date's progress line reached the local log
        assert (f"Processing {day}" in log) is (day not in never), day
    assert missing(pipe) == unfillable(pipe) and duplicate_keys(pipe) == 0


def test_pause_cancels_the_execution_keeps_the_missing_dates_and_resume_ends_them(
    tmp_path: Path,
    cloudrun_server: ContractServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PACE_ENV, "0.8")
    pipe = make(tmp_path, cloudrun_server)
    total = len(missing(pipe))
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: progressed(sup, job, TASKS + 1), 90, "some dates done")
    first = sup.job(job).record.remote_id
    view = sup.pause(job)
    rec = view.record
    assert view.state is JobState.PAUSED
    assert rec.remote_left == fillable(pipe) and 0 < len(rec.remote_left) < total
    assert rec.message == f"stopped on cloudrun, {len(rec.remote_left)} dates left"
    assert driver_for(pipe, "cloudrun").get(first or "").state is RemoteState.CANCELLED
    assert not cloudrun_server.alive_pids()  # no task runs while it is paused
    monkeypatch.setenv(PACE_ENV, "0.05")
    sup.resume(job)
    wait_for(lambda: ended(sup, job), 120, "the resumed execution ended")
    rec = sup.job(job).record
    assert rec.state is JobState.DONE and rec.remote_id != first
    assert missing(pipe) == unfillable(pipe) and duplicate_keys(pipe) == 0


def test_stop_cancels_and_a_cancel_elsewhere_is_never_success(
    tmp_path: Path,
    cloudrun_server: ContractServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PACE_ENV, "3")
    pipe = make(tmp_path, cloudrun_server)
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: progressed(sup, job, 1), 90, "the tasks started")
    view = sup.stop(job)
    assert view.state is JobState.STOPPED and view.record.remote_state == "cancelled"
    assert not cloudrun_server.alive_pids()
    # someone cancels the next one in the console: the job fails, it does not read as done
    job = sup.restart(job).id
    wait_for(lambda: sup.job(job).record.remote_id, 60, "the second execution")
    driver_for(pipe, "cloudrun").cancel(sup.job(job).record.remote_id or "")
    wait_for(lambda: ended(sup, job), 60, "the job noticed the cancel")
    rec = sup.job(job).record
    assert rec.state is JobState.FAILED and "cancelled" in (rec.message or "")


def test_an_unknown_cloud_run_job_is_refused_before_anything_is_recorded(
    tmp_path: Path,
    cloudrun_server: ContractServer,
) -> None:
    pipe = make(tmp_path, cloudrun_server, job="no-such-job")
    sup = Supervisor(pipe)
    with pytest.raises(JobError) as info:
        launch(sup, pipe)
    assert "no-such-job not found" in str(info.value) and "\n" not in str(info.value)
    assert sup.jobs() == []


def test_stopping_a_paused_job_ends_it_without_waiting_for_a_process(
    tmp_path: Path,
    cloudrun_server: ContractServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PACE_ENV, "2")
    pipe = make(tmp_path, cloudrun_server)
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: progressed(sup, job, 1), 90, "the tasks started")
    left = sup.pause(job).record.remote_left or []
    view = sup.stop(job)
    assert view.state is JobState.STOPPED
    assert view.record.message == f"stopped while paused ({len(left)} dates were left)"
    assert [e["action"] for e in sup.history()][-2:] == ["pause", "stop"]
    with pytest.raises(JobError, match="is stopped; only a paused job can be resumed"):
        sup.resume(job)
