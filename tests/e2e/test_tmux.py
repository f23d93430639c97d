"""End to end: the real `nba-tui` in tmux at 80x24, driven by keys, read with capture-pane.

Launch a table, kill -9 the dashboard while the job runs, start a new dashboard: it shows the same
job, still running, and stops it with keys. A private tmux socket; the server is killed at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import e2e_helpers
import pytest
from e2e_helpers import TABLE, alive, argv_of, descendants, row, stat_fields
from waiting import wait_for

from nba_tui import config

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


class Tmux(e2e_helpers.Tmux):
    """The shared tmux server, but sessions start in the work dir with the sample pace and TERM set
    by the shell command itself (no ssh here to carry them), the argv joined unquoted."""

    def __init__(self, socket: str, cwd: Path) -> None:
        super().__init__(socket)
        self.cwd = cwd

    def start(self, name: str, command: list[str]) -> None:
        env = "env NBA_TUI_SAMPLE_PACE=1.0 TERM=xterm-256color"
        self.new_session(name, f"cd {self.cwd} && exec {env} " + " ".join(command))


def dashboard_pid(tmux: Tmux, name: str) -> int:
    pane = tmux.pane_pid(name)
    for pid in [pane, *descendants(pane)]:
        argv = argv_of(pid)
        if "nba_tui" in argv and "--config" in argv:
            return pid
    raise AssertionError("dashboard process not found")


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    from nba_tui.sample import ensure_warehouse

    text = (REPO / "pipeline.yaml").read_text()
    text = "\n".join(
        "poll: {interval: 1s}" if line.startswith("poll:") else line for line in text.splitlines()
    )
    (tmp_path / "pipeline.yaml").write_text(text.replace("stop_grace: 10s", "stop_grace: 2s"))
    pipe = config.load(tmp_path / "pipeline.yaml")
    ensure_warehouse(pipe)
    yield tmp_path
    from nba_tui.jobs.supervisor import Supervisor

    sup = Supervisor(pipe)
    for view in sup.jobs():
        if view.record.state.active:
            sup.stop(view.record.id, grace=0.5)


def test_dashboard_survives_kill_and_controls_the_same_job(workdir: Path) -> None:
    tmux = Tmux(f"nbatui-{uuid.uuid4().hex[:8]}", workdir)
    command = [sys.executable, "-m", "nba_tui", "--config", str(workdir / "pipeline.yaml")]
    try:
        tmux.start("dash1", command)
        text = tmux.wait("dash1", lambda t: "PHASE3" in t and "/" in row(t), "the grid")
        assert "gaps " + TABLE in text  # the cursor starts on the first short table
        tmux("send-keys", "-t", "dash1", "m")
        tmux.wait("dash1", lambda t: "running" in row(t), "the job running")
        records = [
            json.loads(p.read_text()) for p in (workdir / ".nba_tui" / "jobs").glob("*.json")
        ]
        job = next(r for r in records if r["table"] == TABLE)
        assert alive(job["pid"])

        os.kill(dashboard_pid(tmux, "dash1"), signal.SIGKILL)
        wait_for(lambda: "dash1" not in tmux.sessions(), 10, "the killed dashboard's session")
        assert alive(job["pid"]), "the job died with the dashboard"

        tmux.start("dash2", command)
        tmux.wait(
            "dash2",
            lambda t: "running" in row(t) and "gaps " + TABLE in t,
            "the adopted job running, selected",
            timeout=40,  # a loaded CI machine starts Python slowly; the job runs ~78 s
        )
        tmux("send-keys", "-t", "dash2", "s")
        tmux.wait("dash2", lambda t: "Stop it?" in t and job["id"] in t, "the stop confirmation")
        tmux("send-keys", "-t", "dash2", "y")
        tmux.wait("dash2", lambda t: "stopped" in row(t), "the job stopped", timeout=20)
        wait_for(lambda: not alive(job["pid"]), 10, "the stopped job's process to end")
        tmux("send-keys", "-t", "dash2", "q")
    finally:
        tmux("kill-server")


def test_cli_pause_shows_and_q_quits(workdir: Path) -> None:
    """A pause made by another client (the CLI) shows in the dashboard; `q` quits. Real
    dashboard, real tmux at 80x24, real CLI process. That the state version, not the reconcile
    refresh, brings the pause: test_dashboard_keys.py (a refresh far off)."""
    tmux = Tmux(f"nbatui-{uuid.uuid4().hex[:8]}", workdir)
    cfg = ["--config", str(workdir / "pipeline.yaml")]
    command = [sys.executable, "-m", "nba_tui", *cfg]
    try:
        tmux.start("dash", command)
        tmux.wait("dash", lambda t: "PHASE3" in t and "/" in row(t), "the grid")
        tmux("send-keys", "-t", "dash", "m")
        tmux.wait("dash", lambda t: "running" in row(t), "the job running")
        cli = subprocess.run(
            [sys.executable, "-m", "nba_tui", *cfg, "pause", TABLE],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert cli.returncode == 0, cli.stderr
        tmux.wait("dash", lambda t: "paused" in row(t), "the CLI's pause", timeout=20)
        tmux("send-keys", "-t", "dash", "q")
        wait_for(lambda: "dash" not in tmux.sessions(), 20, "the dashboard to quit on q")
    finally:
        tmux("kill-server")


def test_plan_keys_pause_and_stop_a_running_plan(workdir: Path) -> None:
    """A plan started from the CLI (`nba-tui run phase3`, a detached runner) shows
    its shards in the grid ("run i/n"); P pauses every job of it (the OS says T), S asks first,
    saying how many jobs it stops, and y ends them all. Real runner, real jobs, tmux at 80x24."""
    tmux = Tmux(f"nbatui-{uuid.uuid4().hex[:8]}", workdir)
    cfg = ["--config", str(workdir / "pipeline.yaml")]
    env = {**os.environ, "NBA_TUI_SAMPLE_PACE": "1.0"}
    try:
        tmux.start("dash", [sys.executable, "-m", "nba_tui", *cfg])
        tmux.wait("dash", lambda t: "PHASE3" in t and "/" in row(t), "the grid")
        cli = subprocess.run(
            [sys.executable, "-m", "nba_tui", *cfg, "run", "phase3", "--shards", "2"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        tmux.wait("dash", lambda t: re.search(r"run #\d", row(t)) is not None, "a shard", 40)
        from nba_tui.jobs.supervisor import Supervisor

        sup = Supervisor(config.load(workdir / "pipeline.yaml"))
        tmux("send-keys", "-t", "dash", "P")
        tmux.wait("dash", lambda t: "pau " in row(t), "the shard paused", timeout=20)

        def plan_jobs() -> list:  # noqa: ANN202 - list of JobView
            return [v for v in sup.jobs() if v.record.plan and v.state.active]

        # the grid shows the first paused shard; the others follow within pause_plan's wait
        def all_paused() -> bool:
            jobs = plan_jobs()
            return bool(jobs) and all(v.state.value in ("paused", "queued") for v in jobs)

        wait_for(all_paused, 20, "every shard of the plan paused or queued", interval=0.2)
        for v in plan_jobs():  # the program itself is stopped by SIGSTOP, not just marked
            fields = stat_fields(v.record.pid) if v.record.pid else None
            assert fields is None or fields[0] in ("T", "t"), (v.record.id, fields)
        tmux("send-keys", "-t", "dash", "S")
        tmux.wait("dash", lambda t: "Stop the plan and its" in t, "the stop confirmation")
        tmux("send-keys", "-t", "dash", "y")
        tmux.wait("dash", lambda t: "stop" in row(t), "the shard stopped", timeout=40)
        wait_for(
            lambda: not any(v.state.active for v in sup.jobs()), 30, "every job ended", interval=0.2
        )
        tmux("send-keys", "-t", "dash", "q")
    finally:
        tmux("kill-server")
