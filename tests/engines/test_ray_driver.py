"""The Ray driver against a real single-node Ray head (ray_helpers.ray_head): the sample backfill
submitted as a Ray job writes its rows, its log arrives line by line, cancel stops its process,
find lists it by labels, a retried submission does not start a second run."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from ray_helpers import free_port
from waiting import wait_for

from nba_tui.backfill_argv import render_argv
from nba_tui.config import Pipeline, RaySettings
from nba_tui.jobs.engines.drivers import (
    LABEL_JOB,
    EngineError,
    RemoteRun,
    RemoteState,
    labels_for,
)
from nba_tui.jobs.engines.ray_driver import RayDriver, submission_id_for
from nba_tui.monitor import snapshot_once
from nba_tui.sample import ensure_warehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from autopilot_helpers import sample_pipeline  # noqa: E402

PACE_ENV = "NBA_TUI_SAMPLE_PACE"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The sample pipeline over three weeks of January 2024, its warehouse built (Phase 4 short)."""
    tmp = tmp_path_factory.mktemp("raypipe")
    pipeline = sample_pipeline(tmp, start="2024-01-02", end="2024-01-20", hook=False)
    ensure_warehouse(pipeline)
    return pipeline


@pytest.fixture
def driver(ray_head: str) -> RayDriver:
    return RayDriver(RaySettings(address=ray_head, num_cpus=1))


def follow(driver: RayDriver, run_id: str, timeout: float = 30.0) -> RemoteRun:
    last: list[RemoteRun] = []

    def ended() -> bool:
        last[:] = [driver.get(run_id)]
        return last[0].state.ended

    wait_for(ended, timeout, f"ray job {run_id} to end")
    return last[0]


def job_labels(pipe: Pipeline | None, table: str) -> dict[str, str]:
    job = f"{table[:20]}-{uuid.uuid4().hex[:8]}"
    if pipe is None:
        return {LABEL_JOB: job, "nba-tui-table": table}
    return labels_for(pipe, table, job, plan="p1")


def processes_naming(text: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmd and "nba_tui.sample.backfill" in cmd and state != "Z":
            out.append(int(entry.name))
    return out


def test_the_sample_backfill_runs_as_a_ray_job_logs_line_by_line_and_writes_rows(
    pipe: Pipeline, driver: RayDriver
) -> None:
    table = "team_defense_zone_analysis"
    dates = snapshot_once(pipe).tables[table].missing[:3]
    assert len(dates) == 3, "the sample leaves Phase 4 short"
    argv = render_argv(pipe, pipe.table(table), dates=dates)
    labels = job_labels(pipe, table)
    driver.check()
    run_id = driver.submit(argv, {PACE_ENV: "0.6", "PYTHONUNBUFFERED": "1"}, labels)
    assert run_id == submission_id_for(labels[LABEL_JOB])

    batches: list[list[str]] = []
    cursor: str | None = None

    def done() -> bool:
        nonlocal cursor
        state = driver.get(run_id).state  # before the logs: an ended run's log is complete
        lines, cursor = driver.logs(run_id, cursor)
        if lines:
            batches.append(lines)
        return state.ended

    wait_for(done, 45, "the backfill to end")
    run = driver.get(run_id)
    assert run.state is RemoteState.SUCCEEDED, run.message
    assert run.labels == labels
    assert 1.8 <= run.task_seconds < 40  # 3 dates at 0.6 s: the env reached the job
    progress = [ln for batch in batches for ln in batch if ln.startswith("Processing ")]
    assert [ln.split()[1] for ln in progress] == [d.isoformat() for d in dates]
    seen = [sum(ln.startswith("Processing ") for ln in b) for b in batches]
    assert max(seen) < 3, f"the log came in one piece, not line by line: {batches}"
    assert driver.logs(run_id, cursor) == ([], cursor)  # nothing handed out twice
    assert set(dates).isdisjoint(snapshot_once(pipe).tables[table].missing)  # rows written


def test_cancel_stops_the_process_find_lists_it_and_a_retry_does_not_submit_twice(
    pipe: Pipeline, driver: RayDriver
) -> None:
    table = "player_shot_zone_analysis"
    dates = snapshot_once(pipe).tables[table].missing[:3]
    argv = render_argv(pipe, pipe.table(table), dates=dates, shard="cancel")
    checkpoint = argv[argv.index("--checkpoint") + 1]
    labels = job_labels(pipe, table)
    run_id = driver.submit(argv, {PACE_ENV: "20", "PYTHONUNBUFFERED": "1"}, labels)
    assert driver.submit(argv, {PACE_ENV: "20"}, labels) == run_id  # a retry after a crash
    got: list[str] = []
    cursor: str | None = None

    def processing() -> bool:
        nonlocal cursor
        lines, cursor = driver.logs(run_id, cursor)
        got.extend(lines)
        return any(ln.startswith("Processing ") for ln in got)

    wait_for(processing, 30, "the first Processing line")
    assert driver.get(run_id).state is RemoteState.RUNNING
    pids = processes_naming(checkpoint)
    assert pids, "the backfill's process runs on the head (this machine)"

    found = driver.find({k: labels[k] for k in (LABEL_JOB, "nba-tui-table")})
    assert [(r.id, r.state) for r in found] == [(run_id, RemoteState.RUNNING)]
    assert driver.find({**labels, LABEL_JOB: "someone-else"}) == []

    driver.cancel(run_id)
    run = follow(driver, run_id)
    assert run.state is RemoteState.CANCELLED
    driver.cancel(run_id)  # idempotent once ended
    wait_for(lambda: not processes_naming(checkpoint), 15, "the backfill process to exit")
    assert driver.submit(argv, {PACE_ENV: "20"}, labels) == run_id
    assert [r.state for r in driver.find(labels)] == [RemoteState.CANCELLED]


def test_the_entrypoint_is_quoted_and_a_last_line_without_newline_arrives_at_the_end(
    driver: RayDriver,
) -> None:
    text = 'it\'s $HOME; a|b "q" `x`'
    code = f"import sys; sys.stdout.write({text!r} + '\\nlast')"
    labels = job_labels(None, "quote")
    run_id = driver.submit([sys.executable, "-c", code], {}, labels)
    assert follow(driver, run_id).state is RemoteState.SUCCEEDED
    lines, cursor = driver.logs(run_id, None)
    assert lines[-2:] == [text, "last"]
    assert driver.logs(run_id, cursor) == ([], cursor)


def test_the_program_is_the_process_ray_starts_so_a_stop_at_start_reaches_it(
    driver: RayDriver,
) -> None:
    """Ray runs the entrypoint with `/bin/sh -c` and stops a job by signalling the processes it
    finds at that instant. The shell must have become the program (`exec`): a shell that forks
    it instead can be found alone by a stop that comes as the job starts, and the program it
    forks a moment later then outlives the stop and writes its dates after Ray said STOPPED."""
    code = "import os; print('parent', os.readlink(f'/proc/{os.getppid()}/exe'))"
    run_id = driver.submit([sys.executable, "-c", code], {}, job_labels(None, "exec"))
    assert follow(driver, run_id).state is RemoteState.SUCCEEDED
    lines, _ = driver.logs(run_id, None)
    parents = [ln.split(" ", 1)[1] for ln in lines if ln.startswith("parent ")]
    shell = os.path.realpath("/bin/sh")
    assert parents and parents[0] != shell, f"the program runs under {shell}, not in its place"


def test_unknown_runs_and_a_failing_command(driver: RayDriver) -> None:
    for call in (driver.get, driver.cancel, lambda rid: driver.logs(rid, None)):
        with pytest.raises(EngineError, match="no Ray job 'nba-tui-nope'"):
            call("nba-tui-nope")
    run_id = driver.submit([sys.executable, "-c", "raise SystemExit(3)"], {}, job_labels(None, "f"))
    run = follow(driver, run_id)
    assert run.state is RemoteState.FAILED
    assert run.message == "Job entrypoint command failed with exit code 3"


def test_an_unreachable_cluster_is_one_line_with_the_fix() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    driver = RayDriver(RaySettings(address=address))
    for call in (driver.check, lambda: driver.submit(["true"], {}, {LABEL_JOB: "x"})):
        with pytest.raises(EngineError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg
        assert msg.startswith(f"cannot reach the Ray cluster at {address}: ")
        assert "Connection refused" in msg
        assert msg.endswith("start it (ray start --head) or fix jobs.ray.address")
