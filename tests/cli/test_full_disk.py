"""A full disk is weather, not death: on a real small tmpfs filled mid-run, a job's shim
and program go on while their log lines are dropped, one marker line says so when space
returns, and the job ends `done`; a record write on a full state disk lands through the
reserve. Needs root (mount); skipped with the reason where a tmpfs cannot be mounted."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import sample_built_fixture, sample_fixture  # noqa: F401 (fixtures)
from waiting import wait_for

from nba_tui import config, readiness
from nba_tui.fsutil import LineLog
from nba_tui.jobs import procs
from nba_tui.jobs.model import Plan, PlanState
from nba_tui.jobs.store import Store
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample import ensure_warehouse

TABLE = "player_game_summary"
RANGE = ("--start", "2021-10-19", "--end", "2021-11-05")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(mode=0o700, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write `directory/filler` until the filesystem says ENOSPC; its path."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (65536, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def cli(proj: Path, *args: str, pace: str = "0") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["NBA_TUI_SAMPLE_PACE"] = pace
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(proj / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=proj,
        check=False,
    )


def done_dates(proj: Path) -> int:
    try:
        data = json.loads((proj / ".nba_tui" / "checkpoints" / f"{TABLE}.json").read_text())
    except (OSError, ValueError):
        return 0
    return max((len(r["completed"]) for r in data.get("requests", {}).values()), default=0)


def job_state(proj: Path, job: str) -> dict:
    listed = cli(proj, "jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    return next(j for j in json.loads(listed.stdout) if j["id"] == job)


def test_a_full_log_disk_kills_neither_shim_nor_program(sample: Path) -> None:
    with tmpfs(sample / "logs", "1m") as logs:
        filler = fill(logs)
        launched = cli(sample, "launch", TABLE, *RANGE, "--json", pace="0.4")
        assert launched.returncode == 0, launched.stderr
        job = json.loads(launched.stdout)["id"]
        log = Path(json.loads(launched.stdout)["log"])
        wait_for(lambda: done_dates(sample) >= 2, 60, "two dates done with the log disk full")
        assert job_state(sample, job)["state"] == "running"  # the shim and program live on
        assert log.stat().st_size == 0  # every line so far was dropped
        filler.unlink()  # space returns: the night goes on by itself
        wait_for(lambda: job_state(sample, job)["state"] != "running", 90, "the job ended")
        assert job_state(sample, job)["state"] == "done"
        text = log.read_text()
        assert text.startswith("[nba-tui] "), text[:200]
        assert "log lines dropped: No space left on device" in text.splitlines()[0]
        assert "Done: " in text  # the program's last lines reached the log
        assert "exited with code 0" in text  # and so did the shim's


def test_a_record_write_on_a_full_state_disk_lands_through_the_reserve(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "state", "2m") as state:
        store = Store(state)
        plan = Plan(id="pabc123", kind="run", phases=["p"], user="me", created_at=time.time())
        store.save_plan(plan)
        assert (state / ".reserve").stat().st_size > 0  # set aside while there was room
        filler = fill(state)
        plan.message = "written on a full disk " + "x" * 20_000
        store.save_plan(plan)  # frees the reserve and lands
        assert store.load_plan(plan.id).message == plan.message
        assert not (state / ".reserve").exists()
        with pytest.raises(OSError) as full:  # no reserve left: the write is refused whole
            plan.message = "y" * 300_000
            store.save_plan(plan)
        assert full.value.errno == errno.ENOSPC
        assert store.load_plan(plan.id).message.startswith("written on a full disk")
        filler.unlink()
        store.save_plan(plan)
        assert (state / ".reserve").exists()  # made again once there is room


def test_a_line_log_drops_lines_and_says_so_once(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "logs", "64k") as logs:
        path = logs / "job.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            out = LineLog(fd)
            filler = fill(logs)  # before the first line: the empty log has no page to fill
            assert not out.write("lost 0")
            assert not out.write("lost 1")
            assert not out.write("lost 2")
            filler.unlink()
            assert out.write("after")
            assert out.write("and on")
        finally:
            os.close(fd)
        lines = path.read_text().splitlines()
    assert lines == [
        "[nba-tui] 3 log lines dropped: No space left on device",
        "after",
        "and on",
    ]


def test_a_night_goes_on_by_itself_through_a_full_state_and_log_disk(tmp_path: Path) -> None:
    """The issue's scene: state and log directories on a 2 MB tmpfs filled mid-run (15 s), then
    freed. Nobody types anything: the plan ends done with every date it could fill, no record
    is left empty, and the runner never stays gone (its watchdog or itself)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chaos"))
    from chaos_night import write_pipeline

    proj = tmp_path / "proj"
    write_pipeline(proj, "2022-12-20", "2023-01-15")
    cfg = proj / "pipeline.yaml"
    text = cfg.read_text().replace(
        "log_dir: logs, state_dir: .nba_tui", "log_dir: d/logs, state_dir: d/state"
    )
    cfg.write_text(text)
    pipe = config.load(cfg)
    ensure_warehouse(pipe)  # the warehouse stays on the real disk
    with tmpfs(proj / "d", "2m") as disk:
        started = cli(proj, "run", "phase3", "phase4", "phase5", "--json", pace="0.2")
        assert started.returncode == 0, started.stderr
        plan_id = json.loads(started.stdout)["id"]
        store = Store(pipe.state_dir)
        sup = Supervisor(pipe)
        wait_for(lambda: any(v.state.active for v in sup.jobs()), 60, "a job running")
        filler = fill(disk)
        full_until = time.monotonic() + 15.0
        gone_since: float | None = None
        longest = 0.0
        while time.monotonic() < full_until or not ended(store, plan_id):
            if filler.exists() and time.monotonic() >= full_until:
                filler.unlink()  # space returns
            plan = store.load_plan(plan_id)
            alive = plan is not None and procs.same_process(plan.runner_pid, plan.runner_start_time)
            now = time.monotonic()
            gone_since = None if alive else (gone_since or now)
            longest = max(longest, now - gone_since if gone_since else 0.0)
            assert time.monotonic() < full_until + 240, "the night did not end"
            time.sleep(0.2)
        plan = store.load_plan(plan_id)
        assert plan is not None and plan.state in (PlanState.DONE, PlanState.SHORT), plan
        if plan.state is PlanState.SHORT:  # short only by dates nothing in this window fills
            held = plan.message.removeprefix("short: ").split("; ")
            assert all(h.endswith("that nothing fills") for h in held), plan.message
        assert longest <= 30.0
        empty = [
            p.name
            for d in ("jobs", "plans")
            for p in (pipe.state_dir / d).glob("*.json")
            if not p.stat().st_size
        ]
        assert empty == []
    snap = snapshot_once(pipe)
    for phase in ("phase3", "phase4", "phase5"):
        for t in pipe.phase(phase).tables:
            assert readiness.fillable_missing(pipe, snap, t.name) == [], t.name


def ended(store: Store, plan_id: str) -> bool:
    plan = store.load_plan(plan_id)
    return plan is not None and plan.state not in (PlanState.RUNNING, PlanState.LOST)


def test_watch_on_a_full_state_disk_is_one_line(sample: Path) -> None:
    cfg = sample / "pipeline.yaml"
    cfg.write_text(cfg.read_text().replace("state_dir: .nba_tui", "state_dir: d/state"))
    with tmpfs(sample / "d", "1m") as disk:
        fill(disk)
        done = cli(sample, "watch", "--once")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nba-tui: "), done.stderr
    assert "No space left on device" in lines[0]


def test_plans_says_a_full_state_disk(sample: Path) -> None:
    cfg = sample / "pipeline.yaml"
    cfg.write_text(cfg.read_text().replace("state_dir: .nba_tui", "state_dir: d/state"))
    with tmpfs(sample / "d", "1m") as disk:
        quiet = cli(sample, "plans")
        assert quiet.returncode == 0 and "disk full" not in quiet.stdout, quiet.stdout
        fill(disk)
        done = cli(sample, "plans")
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[-1]
    assert line.startswith(f"disk full: state {disk / 'state'} has "), done.stdout
    assert line.endswith("go on once there is room (free some)")


def test_the_looping_watch_says_a_full_disk_and_goes_on_when_space_returns(sample: Path) -> None:
    cfg = sample / "pipeline.yaml"
    cfg.write_text(cfg.read_text().replace("state_dir: .nba_tui", "state_dir: d/state"))
    with tmpfs(sample / "d", "1m") as disk:
        filler = fill(disk)
        proc = subprocess.Popen(
            [sys.executable, "-m", "nba_tui", "watch", "--interval", "1s", "--config", str(cfg)],
            cwd=sample,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            said = [proc.stdout.readline() for _ in range(2)]  # one line per cycle
            assert all("No space left on device" in line for line in said), said
            assert proc.poll() is None  # still watching
            filler.unlink()
            later = ""
            for _ in range(30):  # the first cycle with room records the baseline
                later = proc.stdout.readline()
                if "No space left" not in later:
                    break
            assert later.startswith("baseline: "), later
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err
