"""`nba-tui jobs` with remote jobs: a line under each remote row naming its engine, its state
in words and what it cost; `engine`, `state_text`, `task_seconds`, `cost_usd` in --json; a paused
remote job as "stopped on <engine>, N dates left"; a cancelled run never listed as done. Records
are planted through the real store and read back by the real CLI (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nba_tui import config as cfg
from nba_tui.cli.listings import render_jobs
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.jobs.store import Store

PIPELINE = """\
pipeline: engines
range: {start: 2024-01-01, end: 2024-03-31}
expected_dates: {table: raw.schedule}
warehouse: {sqlite: {path: wh, sample: false}}
jobs:
  state_dir: state
  log_dir: logs
  cloudrun: {project: nba-props-test, region: us-west2, job: backfill,
             price_per_task_second: 0.000024}
phases:
  - name: p2
    tables:
      - {name: schedule, table: raw.schedule}
      - {name: alpha, table: raw.alpha, backfill: {command: ["{python}", "-c", "pass"]}}
      - {name: beta, table: raw.beta, backfill: {command: ["{python}", "-c", "pass"]}}
      - {name: gamma, table: raw.gamma, backfill: {command: ["{python}", "-c", "pass"]}}
      - {name: delta, table: raw.delta, backfill: {command: ["{python}", "-c", "pass"]}}
"""
LEFT = ["2024-01-05", "2024-01-06", "2024-01-09"]


def record(ident: str, table: str, state: JobState, created: float, **kw: object) -> JobRecord:
    return JobRecord(
        ident, table, ["prog", table], f"/logs/{ident}.log", created, "me", state=state, **kw
    )  # type: ignore[arg-type]


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    st = Store(cfg.load(tmp_path / "pipeline.yaml").state_dir)
    now = time.time()
    st.save_job(
        record(
            "aaa001",
            "alpha",
            JobState.PAUSED,
            now - 50,
            engine="cloudrun",
            remote_id="projects/nba-props-test/locations/us-west2/jobs/backfill/executions/e1",
            remote_state="cancelled",
            task_seconds=5000.0,
            pause_requested=True,
            remote_left=LEFT,
            started_at=now - 600,
        )
    )
    st.save_job(
        record(
            "bbb001",
            "beta",
            JobState.DONE,
            now - 40,
            engine="ray",
            remote_id="raysubmit_1",
            remote_state="cancelled",
            exit_code=0,
            task_seconds=42.0,
            started_at=now - 500,
            ended_at=now - 400,
        )
    )
    st.save_job(
        record(
            "ccc001",
            "gamma",
            JobState.DONE,
            now - 30,
            engine="cloudrun",
            remote_id="e2",
            remote_state="succeeded",
            exit_code=0,
            task_seconds=100_000.0,
            started_at=now - 300,
            ended_at=now - 200,
        )
    )
    st.save_job(
        record(
            "ddd001",
            "delta",
            JobState.DONE,
            now - 20,
            exit_code=0,
            started_at=now - 100,
            ended_at=now - 90,
        )
    )
    return tmp_path


def nba(proj: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *argv, "--config", str(proj / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=proj,
        check=False,
    )


def rows(text: str) -> dict[str, list[str]]:
    """Job id -> its row and, for a remote job, the engine line under it."""
    out: dict[str, list[str]] = {}
    last = ""
    for line in text.splitlines()[1:]:
        if line.startswith(" "):
            out[last].append(line.strip())
        else:
            last = line.split()[0]
            out[last] = [line]
    return out


def test_jobs_text_shows_engine_state_words_and_cost(proj: Path) -> None:
    done = nba(proj, "jobs")
    assert done.returncode == 0, done.stderr
    got = rows(done.stdout)
    assert got["aaa001"][1] == (
        "cloudrun: paused (stopped on cloudrun, 3 dates left) · $0.12 (5,000 task-s)"
    )
    assert got["aaa001"][0].split()[2:4] == ["paused", "-"]  # no process anywhere
    assert got["bbb001"][0].split()[2] == "cancelled"  # recorded done: the engine cancelled it
    assert got["bbb001"][1] == "ray: cancelled on ray · 42 task-s"
    assert got["ccc001"][1] == "cloudrun: done on cloudrun · $2.40 (100,000 task-s)"
    assert len(got["ddd001"]) == 1 and got["ddd001"][0].split()[2] == "done"  # local: one row
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_jobs_json_has_engine_state_text_task_seconds_and_cost(proj: Path) -> None:
    done = nba(proj, "jobs", "--json")
    assert done.returncode == 0, done.stderr
    jobs = {j["id"]: j for j in json.loads(done.stdout)}
    paused = jobs["aaa001"]
    assert paused["engine"] == "cloudrun" and paused["state"] == "paused"
    assert paused["state_text"] == "paused (stopped on cloudrun, 3 dates left)"
    assert paused["remote_left"] == LEFT
    assert paused["task_seconds"] == 5000.0 and paused["cost_usd"] == pytest.approx(0.12)
    cancelled = jobs["bbb001"]
    assert cancelled["state"] == "cancelled" and cancelled["recorded_state"] == "done"
    assert cancelled["cost_usd"] is None  # Ray: task time, no price
    assert jobs["ccc001"]["cost_usd"] == pytest.approx(2.4)
    local = jobs["ddd001"]
    assert local["engine"] == "local" and local["state"] == "done"
    assert local["cost_usd"] is None and "recorded_state" not in local


def test_a_running_remote_job_row_and_a_local_only_listing() -> None:
    now = 1_700_000_000.0
    running = record(
        "eee001", "alpha", JobState.RUNNING, now, engine="ray", remote_id="r", pid=4242
    )
    text = render_jobs([JobView(running, Progress(current_date="2024-01-02"))], now)
    lines = text.splitlines()
    assert lines[1].split()[:4] == ["eee001", "alpha", "running", "4242"]
    assert lines[2] == "  ray: running on ray"
    local = record("fff001", "alpha", JobState.RUNNING, now, pid=4242)
    assert len(render_jobs([JobView(local, Progress())], now).splitlines()) == 2  # header + row
