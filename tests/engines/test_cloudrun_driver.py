"""CloudRunDriver through the REAL google-cloud-run (run_v2, REST) and google-cloud-logging
clients, against the loopback contract server (cloudrun_contract.py), which runs each task as a
real local process: the real sample backfill writing the real SQLite warehouse."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from cloudrun_contract import ContractServer
from waiting import wait_for

from nba_tui.backfill_argv import render_argv
from nba_tui.config import CloudRunSettings, Pipeline
from nba_tui.jobs.engines.cloudrun_driver import CloudRunDriver
from nba_tui.jobs.engines.drivers import (
    LABEL_JOB,
    LABEL_TABLE,
    EngineError,
    RemoteRun,
    RemoteState,
)
from nba_tui.monitor import snapshot_once
from nba_tui.sample import backfill as sample
from nba_tui.sample import ensure_warehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from autopilot_helpers import sample_pipeline  # noqa: E402

TABLE = "player_game_summary"


def settings(server: ContractServer, **kw: object) -> CloudRunSettings:
    values: dict[str, object] = {
        "project": server.project,
        "region": server.region,
        "job": server.job,
        "endpoint": server.endpoint,
        "tasks": 3,
        "max_requests_per_minute": 60_000,
    }
    values.update(kw)
    return CloudRunSettings(**values)


def setup(tmp_path: Path, n: int) -> tuple[Pipeline, list[dt.date]]:
    """The sample pipeline with `n` dates of TABLE (complete in the sample) deleted."""
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-02-20", hook=False)
    ensure_warehouse(pipe)
    con = sqlite3.connect(pipe.sqlite_dir / "nba_analytics.db")
    dates = [r[0] for r in con.execute(f"SELECT DISTINCT game_date FROM {TABLE} ORDER BY 1")]
    dates = [d for d in dates if "2024-01-02" <= d <= "2024-02-20"][:n]
    con.executemany(f"DELETE FROM {TABLE} WHERE game_date = ?", [(d,) for d in dates])
    con.commit()
    con.close()
    missing = {d.isoformat() for d in snapshot_once(pipe).tables[TABLE].missing}
    assert len(dates) == n and set(dates) <= missing
    return pipe, [dt.date.fromisoformat(d) for d in dates]


def job_env(dates: list[str], pace: str) -> dict[str, str]:
    return {"NBA_TUI_DATES": ",".join(dates), "PYTHONUNBUFFERED": "1", sample.PACE_ENV: pace}


def follow(
    driver: CloudRunDriver, run_id: str, timeout: float
) -> tuple[RemoteRun, list[list[str]]]:
    """Poll like the bridge: logs then state, until ended; the log batches read."""
    cursor: str | None = None
    batches: list[list[str]] = []

    def ended() -> RemoteRun | None:
        nonlocal cursor
        lines, cursor = driver.logs(run_id, cursor)
        batches.append(lines)
        run = driver.get(run_id)
        return run if run.state.ended else None

    run = wait_for(ended, timeout, f"execution {run_id} to end", interval=0.2)
    lines, cursor = driver.logs(run_id, cursor)
    batches.append(lines)
    return run, batches


def test_submit_runs_the_sample_backfill_as_three_tasks_to_success(
    tmp_path: Path,
    cloudrun_server: ContractServer,
) -> None:
    pipe, dates = setup(tmp_path, 9)
    iso = [d.isoformat() for d in dates]
    argv = render_argv(pipe, pipe.table(TABLE), dates=dates)
    driver = CloudRunDriver(settings(cloudrun_server))
    driver.check()
    labels = {LABEL_TABLE: TABLE, LABEL_JOB: "job-1"}
    run_id = driver.submit(argv, job_env(iso, "0.15"), labels)
    assert run_id.startswith(cloudrun_server.job_name + "/executions/")

    run, batches = follow(driver, run_id, 120)
    assert run.state is RemoteState.SUCCEEDED, run.message
    assert run.tasks == 3
    assert run.task_seconds > 0
    assert run.labels[LABEL_JOB] == "job-1"

    lines = [line for batch in batches for line in batch]
    processed = [m[1] for line in lines if (m := re.search(r"Processing (\S+)", line))]
    assert sorted(processed) == iso  # every date by exactly one task
    assert sum(1 for b in batches if any("Processing" in line for line in b)) >= 2  # incremental
    short = run_id.rsplit("/", 1)[-1]
    written = [
        e["textPayload"]
        for e in cloudrun_server.entries
        if e["labels"]["run.googleapis.com/execution_name"] == short
    ]
    assert sorted(lines) == sorted(written)  # every line once across cursors, none lost
    slices = sorted(line for line in lines if line.startswith("task "))
    assert [s.split(":")[0] for s in slices] == ["task 1/3", "task 2/3", "task 3/3"]

    left = {d.isoformat() for d in snapshot_once(pipe).tables[TABLE].missing}
    assert not left & set(iso)
    con = sqlite3.connect(pipe.sqlite_dir / "nba_analytics.db")
    marks = ",".join("?" for _ in iso)
    rows = con.execute(
        "SELECT game_date, COUNT(*), COUNT(DISTINCT game_id || ':' || player_id) "
        f"FROM player_game_summary WHERE game_date IN ({marks}) GROUP BY game_date",
        iso,
    ).fetchall()
    con.close()
    assert sorted(r[0] for r in rows) == iso
    assert all(total == distinct > 0 for _, total, distinct in rows)

    # the run's args: the task entry point with the dates slot, the image's python first
    ex = cloudrun_server.executions[run_id]
    slot = argv.index(",".join(iso))
    assert ex.args[:6] == ["-m", "nba_tui.task", "--slot", str(slot), "--", "python"]
    assert ex.args[6:] == argv[1:]
    assert ex.task_count == 3
    assert driver.get(run_id) == run  # ended: answered from the cache
    assert driver.logs(run_id, batches and _last_cursor(driver, run_id))[0] == []


def _last_cursor(driver: CloudRunDriver, run_id: str) -> str | None:
    cursor: str | None = None
    while True:
        lines, cursor = driver.logs(run_id, cursor)
        if not lines:
            return cursor


def test_cancel_of_a_slow_run_ends_cancelled_and_leaves_no_process(
    tmp_path: Path,
    cloudrun_server: ContractServer,
) -> None:
    pipe, dates = setup(tmp_path, 6)
    iso = [d.isoformat() for d in dates]
    argv = render_argv(pipe, pipe.table(TABLE), dates=dates)
    driver = CloudRunDriver(settings(cloudrun_server))
    run_id = driver.submit(argv, job_env(iso, "30"), {LABEL_JOB: "slow"})
    cursor: str | None = None
    seen: list[str] = []

    def processing() -> bool:  # the tasks really run
        nonlocal cursor
        lines, cursor = driver.logs(run_id, cursor)
        seen.extend(lines)
        return any("Processing" in line for line in seen)

    wait_for(processing, 60, "a task's 'Processing' line")
    assert driver.get(run_id).state is RemoteState.RUNNING

    def ended() -> RemoteRun | None:
        run = driver.get(run_id)
        assert run.state is not RemoteState.SUCCEEDED
        return run if run.state.ended else None

    driver.cancel(run_id)
    run = wait_for(ended, 30, "the cancelled execution to end")
    assert run.state is RemoteState.CANCELLED
    assert cloudrun_server.alive_pids() == []
    driver.cancel(run_id)  # idempotent once ended
    assert driver.get(run_id).state is RemoteState.CANCELLED
    fresh = CloudRunDriver(settings(cloudrun_server))  # no cache: from the server's answer
    assert fresh.get(run_id).state is RemoteState.CANCELLED
    left = {d.isoformat() for d in snapshot_once(pipe).tables[TABLE].missing}
    assert set(iso) <= left  # abandoned before writing (pace 30 s a date)


def test_a_failing_task_fails_the_execution(
    tmp_path: Path,
    cloudrun_server: ContractServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe, dates = setup(tmp_path, 4)
    iso = [d.isoformat() for d in dates]
    argv = render_argv(pipe, pipe.table(TABLE), dates=dates)
    driver = CloudRunDriver(settings(cloudrun_server, tasks=2))
    env = {**job_env(iso, "0"), sample.FAIL_ENV: iso[-1]}
    run, _ = follow(driver, driver.submit(argv, env, {LABEL_JOB: "fails"}), 60)
    assert run.state is RemoteState.FAILED
    assert run.message and "\n" not in run.message


def test_find_by_labels(cloudrun_server: ContractServer) -> None:
    driver = CloudRunDriver(settings(cloudrun_server))
    argv = [sys.executable, "-c", "print('hi')"]
    a = driver.submit(argv, {}, {LABEL_TABLE: "t1", LABEL_JOB: "a"})
    b = driver.submit(argv, {}, {LABEL_TABLE: "t1", LABEL_JOB: "b"})
    assert [r.id for r in driver.find({LABEL_JOB: "a"})] == [a]
    assert sorted(r.id for r in driver.find({LABEL_TABLE: "t1"})) == sorted([a, b])
    assert driver.find({LABEL_TABLE: "other"}) == []
    wait_for(lambda: driver.get(a).state.ended and driver.get(b).state.ended, 30, "ended")
    assert cloudrun_server.executions[a].task_count == 1  # no dates slot: one task


def test_unknown_job_fails_check_and_submit_with_one_line(
    cloudrun_server: ContractServer,
) -> None:
    driver = CloudRunDriver(settings(cloudrun_server, job="no-such-job"))
    with pytest.raises(EngineError) as info:
        driver.check()
    text = str(info.value)
    assert "\n" not in text
    assert text == (
        f"Cloud Run job no-such-job not found in {cloudrun_server.project}/"
        f"{cloudrun_server.region}; create it (gcloud run jobs create ...) or fix "
        "jobs.cloudrun.job"
    )
    with pytest.raises(EngineError, match="no-such-job not found"):
        driver.submit([sys.executable, "-c", "pass"], {}, {LABEL_JOB: "x"})
    assert cloudrun_server.executions == {}


def test_quota_exhausted_is_one_line_with_the_fix(
    cloudrun_server: ContractServer,
) -> None:
    cloudrun_server.quota_exhausted = True
    driver = CloudRunDriver(settings(cloudrun_server))
    with pytest.raises(EngineError) as info:
        driver.submit([sys.executable, "-c", "pass"], {}, {LABEL_JOB: "q"})
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("Cloud Run quota exhausted (")
    assert text.endswith("lower jobs.max_parallel or jobs.cloudrun.tasks, or ask for more quota")
    assert cloudrun_server.executions == {}


def test_unreachable_endpoint_is_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed after: nothing listens there
    cfg = CloudRunSettings(
        project="project-1", region="us-west2", job="j", endpoint=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(EngineError) as info:
        CloudRunDriver(cfg).check()
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"cannot reach Cloud Run at http://127.0.0.1:{port}")


def test_no_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud ADC file
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # no metadata server
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    cfg = CloudRunSettings(project="project-1", region="us-west2", job="j")
    with pytest.raises(EngineError) as info:
        CloudRunDriver(cfg).check()
    assert str(info.value) == (
        "no Google credentials: run `gcloud auth application-default login` "
        "or set GOOGLE_APPLICATION_CREDENTIALS"
    )


def test_importing_the_driver_loads_no_google_client() -> None:
    import subprocess

    code = (
        "import sys; import nba_tui.jobs.engines.cloudrun_driver; "
        "print(any(m.startswith(('google.cloud.run_v2', 'google.cloud.logging')) "
        "for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"
