"""Backfill jobs on a real Ray head through the supervisor, as the dashboard and CLI drive them:
launch, progress from the copied log, honest pause (stop + the dates the warehouse still lacks)
and resume, stop with nothing left on Ray, adoption after the local side is killed -9, orphaned
runs cancelled, and never a date written twice."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
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
from nba_tui.jobs.engines.drivers import (
    LABEL_JOB,
    LABEL_PIPELINE,
    RemoteState,
    label_value,
)
from nba_tui.jobs.engines.registry import driver_for
from nba_tui.jobs.model import JobState
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample.backfill import PACE_ENV


@pytest.fixture
def pipe(tmp_path: Path, ray_head: str) -> Pipeline:
    p = remote_pipeline(tmp_path, "ray", {"address": ray_head, "num_cpus": 0.5}, **RANGE)
    sample_warehouse(p)
    return p


def launch(sup: Supervisor, pipe: Pipeline) -> str:
    return sup.launch_missing(TABLE, snapshot_once(pipe)).id


def test_a_table_backfills_on_ray(pipe: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PACE_ENV, "0.05")
    before = missing(pipe)
    assert len(before) >= 10
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    assert sup.job(job).record.engine == "ray"
    wait_for(lambda: ended(sup, job), 120, "the Ray job ended")
    rec = sup.job(job).record
    assert rec.state is JobState.DONE, (rec.message, Path(rec.log).read_text()[-2000:])
    assert rec.remote_id and rec.remote_state == "succeeded"
    log = Path(rec.log).read_text()
    never = unfillable(pipe)  # launch --missing offers only the dates something can fill
    for day in before:  # every launched date's progress line reached the local log
        assert (f"Processing {day}" in log) is (day not in never), day
    assert missing(pipe) == unfillable(pipe) and duplicate_keys(pipe) == 0
    assert driver_for(pipe, "ray").get(rec.remote_id).state is RemoteState.SUCCEEDED


def test_pause_stops_the_run_and_keeps_what_is_missing_resume_finishes(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PACE_ENV, "0.6")
    total = len(missing(pipe))
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: progressed(sup, job, 3), 90, "three dates done on Ray")
    first_run = sup.job(job).record.remote_id
    paused = sup.pause(job)
    rec = paused.record
    assert paused.state is JobState.PAUSED and rec.pause_requested
    assert rec.remote_left is not None and 0 < len(rec.remote_left) < total
    assert rec.remote_left == fillable(pipe)  # from the warehouse, not a checkpoint
    assert f"stopped on ray, {len(rec.remote_left)} dates left" == rec.message
    assert first_run and driver_for(pipe, "ray").get(first_run).state is RemoteState.CANCELLED
    assert not sup.engine.members(rec)  # nothing of it runs here either
    assert sup.job(job).state is JobState.PAUSED  # stays paused while nothing runs
    with pytest.raises(JobError, match="already has an active job"):
        sup.launch(TABLE)  # the paused job still holds its table
    monkeypatch.setenv(PACE_ENV, "0.05")
    resumed = sup.resume(job)
    assert resumed.record.launches == 2 and resumed.record.dates == rec.remote_left
    wait_for(lambda: ended(sup, job), 120, "the resumed job ended")
    rec = sup.job(job).record
    assert rec.state is JobState.DONE, rec.message
    assert rec.remote_id != first_run
    assert missing(pipe) == unfillable(pipe) and duplicate_keys(pipe) == 0


def test_stop_cancels_the_run_and_nothing_is_left(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PACE_ENV, "2")
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: progressed(sup, job, 1), 90, "the run started")
    run_id = sup.job(job).record.remote_id
    view = sup.stop(job)
    assert view.state is JobState.STOPPED
    assert run_id and driver_for(pipe, "ray").get(run_id).state is RemoteState.CANCELLED
    assert not sup.engine.members(view.record)
    assert "cancelling ray run" in Path(view.record.log).read_text()


def test_a_killed_bridge_is_adopted_and_the_run_is_not_submitted_twice(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PACE_ENV, "0.4")
    sup = Supervisor(pipe)
    job = launch(sup, pipe)
    wait_for(lambda: progressed(sup, job, 1), 90, "the run started")
    rec = sup.job(job).record
    for pid in (rec.shim_pid, rec.pid):  # the local side dies (kill -9, a reboot)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: sup.job(job).state is JobState.LOST, 20, "the job reads as lost")
    done = sup.adopt_remote()
    assert done == [f"following ray run {rec.remote_id} of job {job} again"]
    wait_for(lambda: ended(sup, job), 120, "the adopted job ended")
    after = sup.job(job).record
    assert after.state is JobState.DONE, after.message
    assert after.remote_id == rec.remote_id
    runs = driver_for(pipe, "ray").find({LABEL_PIPELINE: label_value(pipe.pipeline)})
    assert [r.id for r in runs] == [rec.remote_id]  # one submission, adopted, not resubmitted
    assert missing(pipe) == unfillable(pipe) and duplicate_keys(pipe) == 0


def test_a_labelled_run_no_job_claims_is_cancelled(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = driver_for(pipe, "ray")
    labels = {LABEL_PIPELINE: label_value(pipe.pipeline), LABEL_JOB: "gone00-1"}
    run_id = driver.submit(["sleep", "60"], {}, labels)
    sup = Supervisor(pipe)
    assert sup.adopt_remote() == [f"cancelled ray run {run_id}: no running job claims it"]
    wait_for(lambda: driver.get(run_id).state.ended, 30, "the orphan ended")
    assert driver.get(run_id).state is RemoteState.CANCELLED


def test_the_bridge_submits_the_backfill_the_config_renders_never_a_stored_argv(
    pipe: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planted record's argv (here: create a canary file) is never what runs remotely: the
    bridge renders the table's backfill from the pipeline file and the record's dates."""
    import subprocess
    import sys
    import time

    from nba_tui.jobs.engines.remote import CONFIG_ENV
    from nba_tui.jobs.model import JobRecord
    from nba_tui.jobs.store import Store

    monkeypatch.setenv(PACE_ENV, "0")
    canary = tmp_path / "canary"
    day = missing(pipe)[0]
    store = Store(pipe.state_dir)
    store.ensure()
    rec = JobRecord(
        id="0a1b2c",
        table=TABLE,
        argv=["touch", str(canary)],
        log="",
        created_at=time.time(),
        user="someone",
        dates=[day],
        engine="ray",
    )
    store.insert_job(rec)
    env = {**os.environ, CONFIG_ENV: str(pipe.source)}
    argv = [sys.executable, "-m", "nba_tui.jobs.engines.bridge", str(pipe.state_dir), rec.id]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not canary.exists()
    assert f"Processing {day}" in out.stdout
    assert day not in missing(pipe)
