"""One word per job state wherever a job is shown (`jobs.words`): a real shard killed with
SIGKILL reads 'killed (SIGKILL)' in `nba-tui jobs`, in the morning report and in the alert its
runner sends; its dates are retried to done, so its table is not 'failed' in its plan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from autopilot_helpers import sample_pipeline
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobRecord, JobState, PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.jobs.words import state_text, state_word
from nba_tui.sample import backfill as sample
from nba_tui.sample import ensure_warehouse


def cli(pipe_dir: Path, *args: str) -> str:
    """The real program, its output piped (nothing cut)."""
    out = subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(pipe_dir / "pipeline.yaml")],
        capture_output=True, text=True, timeout=120, cwd=pipe_dir, check=True,
    )  # fmt: skip
    return out.stdout


def test_a_killed_shard_reads_killed_everywhere_and_its_retried_table_is_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-01-25", max_parallel=2)
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0.3")
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase4"])

    def running_shard() -> JobRecord | None:
        for v in sup.jobs():
            if v.record.plan == plan.id and v.state is JobState.RUNNING and v.record.pid:
                return v.record
        return None

    victim = wait_for(running_shard, 60, "a running shard")
    assert isinstance(victim, JobRecord)
    os.kill(victim.pid, signal.SIGKILL)
    wait_for(lambda: sup.plan(plan.id).ended_at is not None, 240, "the plan's end")
    monkeypatch.delenv(sample.PACE_ENV)

    killed = sup.job(victim.id).record
    assert (killed.state, killed.signal) == (JobState.FAILED, signal.SIGKILL)
    assert (state_word(killed), state_text(killed)) == ("killed", "killed (SIGKILL)")
    ended = sup.plan(plan.id)
    # phase 3 is short in the incident's state and not in this plan: short, never failed
    assert ended.state is PlanState.SHORT, ended.message
    assert "not in this plan" in ended.message and not ended.quarantined
    assert ended.failed_tables == []  # its dates were retried to done
    retried = [sup.job(j).record for j in ended.jobs if sup.job(j).record.table == victim.table]
    assert any(r.attempt == 2 and r.state is JobState.DONE for r in retried)

    row = next(ln for ln in cli(tmp_path, "jobs", "--all").splitlines() if ln.startswith(victim.id))
    assert f" {victim.table} " in row and " killed (SIGKILL) " in row
    listed = {j["id"]: j for j in json.loads(cli(tmp_path, "jobs", "--all", "--json"))}
    assert listed[victim.id]["state"] == "killed"
    assert listed[victim.id]["recorded_state"] == "failed"
    report = cli(tmp_path, "report")
    assert f"{victim.id} {victim.table} " in report
    assert "killed (SIGKILL), attempt 1" in report and "lost" not in report
    assert f"failed: {victim.table}" not in cli(tmp_path, "plans")
    alerts = [json.loads(ln) for ln in (tmp_path / "hook.out").read_text().splitlines()]
    (failed,) = [a for a in alerts if a["kind"] == "job_failed" and victim.id in a["detail"]]
    assert failed["detail"] == f"job {victim.id} killed (SIGKILL) (attempt 1)"


def test_the_grid_words_a_killed_job_as_jobs_does() -> None:
    from nba_tui.jobs.model import JobView, Progress
    from nba_tui.tui.cells import job_cells

    rec = JobRecord(
        "abc123", "t", ["x"], "", 0.0, "u", state=JobState.FAILED, pid=4242,
        started_at=0.0, ended_at=60.0, signal=signal.SIGKILL,
    )  # fmt: skip
    cells = job_cells(JobView(rec, Progress()), 60.0)
    assert cells["job"][0] == "killed" and cells["pid"][0] == "SIGKILL"
    rec.signal, rec.exit_code = None, 3
    assert (state_word(rec), state_text(rec)) == ("failed", "failed (exit 3)")
    assert job_cells(JobView(rec, Progress()), 60.0)["pid"][0] == "rc=3"
    rec.engine, rec.remote_state = "cloudrun", "cancelled"  # cancelled on its engine
    assert (state_word(rec), state_text(rec)) == ("cancelled", "cancelled")
