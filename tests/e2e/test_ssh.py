"""End to end over a real SSH link: the dashboard in a loopback `ssh -tt` session, shown in tmux.

A private sshd on 127.0.0.1 (fresh keys, its own config in tmp_path; see `sshd.py`). In a private
tmux server at 80x24, `ssh -tt ... 127.0.0.1 'cd TMP && env ... python -m nba_tui --config ...'`
runs the dashboard in the remote session's pty: what an engineer sees. Launch the missing dates of
team_defense_game_summary with `m`, then drop the link the way a flaky network does (SIGKILL the
local ssh client: sshd hangs up the remote session). The dashboard dies of the SIGHUP, the job keeps
running. Reconnect, and the new dashboard shows the same job; stop it with `s`, `y`. Nothing is left
behind: jobs, sshd and its sessions, the tmux server.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import TABLE, Tmux, alive, argv_of, descendants, row, stat_fields
from sshd import Sshd, SshdError
from waiting import wait_for

from nba_tui import config

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
# Seconds of simulated work per date: 78 missing dates take ~23 s, much longer than the drop and the
# reconnect need (~5 s), so "still running after the link dropped" is not a race. The job is stopped
# over the second session, so the pace does not lengthen the test.
PACE = "1.0"  # 78 dates take ~78 s: the job is surely still running when checked


def session_members(sid: int) -> list[int]:
    """Live processes in session `sid` (what is left of a job's shim session)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields and fields[0] != "Z" and int(fields[3]) == sid:
                out.append(int(entry))
    return out


def dashboards(cfg: Path) -> list[int]:
    """Dashboards of this config, wherever they run: `python -m nba_tui --config CFG` exactly (not
    the remote `bash -c '...'` around it, a shim, a backfill program or a CLI subcommand)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not alive(int(entry)):
            continue
        argv = argv_of(int(entry))
        joined = " ".join(argv)
        if "backfill" in joined or "shim" in joined:
            continue
        for i in range(len(argv) - 3):
            if argv[i : i + 4] == ["-m", "nba_tui", "--config", str(cfg)]:
                out.append(int(entry))
    return out


def ssh_client(tmux: Tmux, name: str) -> int:
    """The local `ssh` process of a tmux session: the pane's process or one of its children."""
    pane = tmux.pane_pid(name)
    for pid in [pane, *descendants(pane)]:
        argv = argv_of(pid)
        if argv and os.path.basename(argv[0]) == "ssh":
            return pid
    raise AssertionError(f"no ssh client under the pane of {name}")


def nba_tui(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI, run locally (the same as the `nba-tui` entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(workdir / "pipeline.yaml")],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
    )


def jobs(workdir: Path) -> list[dict]:
    out = nba_tui(workdir, "jobs", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def show(title: str, text: str) -> None:
    print(f"\n--- {title} ---\n{text.rstrip()}")  # visible with pytest -s


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    from nba_tui.sample import ensure_warehouse

    work = tmp_path / "work"
    work.mkdir()
    text = (REPO / "pipeline.yaml").read_text()
    text = "\n".join(
        "poll: {interval: 1s}" if line.startswith("poll:") else line for line in text.splitlines()
    )
    (work / "pipeline.yaml").write_text(text.replace("stop_grace: 10s", "stop_grace: 2s"))
    ensure_warehouse(config.load(work / "pipeline.yaml"))
    yield work
    # never leave a job behind, whatever failed above
    if (work / ".nba_tui" / "jobs").is_dir():
        for job in jobs(work):
            if job["state"] in ("queued", "running", "paused"):
                nba_tui(work, "stop", job["id"], "--grace", "1")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    try:
        server = Sshd(tmp_path / "ssh")
    except SshdError as e:
        pytest.fail(str(e))
    with server:
        yield server


def test_dashboard_over_ssh_survives_a_dropped_link(workdir: Path, sshd: Sshd) -> None:
    t0 = time.monotonic()
    cfg = workdir / "pipeline.yaml"
    remote = (
        f"cd {shlex.quote(str(workdir))} && env NBA_TUI_SAMPLE_PACE={PACE} TERM=xterm-256color "
        f"{shlex.quote(sys.executable)} -m nba_tui --config {shlex.quote(str(cfg))}"
    )
    tmux = Tmux(f"nbatui-ssh-{uuid.uuid4().hex[:8]}")
    try:
        # 1. the dashboard over the first SSH session
        tmux.start("link1", sshd.ssh_argv(remote))
        text = tmux.wait(
            "link1", lambda t: "PHASE3" in t and "/" in row(t), "the grid over ssh", timeout=30
        )
        show("link1: the grid over ssh", text)
        assert "gaps " + TABLE in text  # the cursor starts on the first short table
        [dash1] = dashboards(cfg)
        assert dash1 in descendants(sshd.proc.pid), "the dashboard is not in the ssh session"

        tmux("send-keys", "-t", "link1", "m")
        text = tmux.wait("link1", lambda t: "running" in row(t), "the job running")
        show("link1: the job running", text)
        [job] = [j for j in jobs(workdir) if j["table"] == TABLE]
        assert job["state"] == "running" and alive(job["pid"]), job

        # 2. the link drops: the client dies without a word, sshd hangs up the remote session
        os.kill(ssh_client(tmux, "link1"), signal.SIGKILL)
        wait_for(lambda: not alive(dash1), what="the dashboard to die with the ssh session")
        wait_for(lambda: "link1" not in tmux.sessions(), what="the tmux session to close")
        assert dashboards(cfg) == []
        [after] = [j for j in jobs(workdir) if j["id"] == job["id"]]
        assert after["state"] == "running", after
        assert after["pid"] == job["pid"] and alive(job["pid"]), "the job died with the link"
        assert alive(job["shim_pid"]), "the job's shim died with the link"
        drop_s = time.monotonic() - t0

        # 3. reconnect: a new session, a new dashboard, the same job
        tmux.start("link2", sshd.ssh_argv(remote))
        text = tmux.wait(
            "link2",
            lambda t: ("running" in row(t) or "done" in row(t)) and "gaps " + TABLE in t,
            "the same job, selected, after reconnecting",
            timeout=30,
        )
        show("link2: reconnected", text)
        [dash2] = dashboards(cfg)
        assert dash2 != dash1
        [again] = [j for j in jobs(workdir) if j["table"] == TABLE]
        assert again["id"] == job["id"] and again["pid"] == job["pid"]

        if "running" in row(text):
            tmux("send-keys", "-t", "link2", "s")
            text = tmux.wait(
                "link2", lambda t: "Stop it?" in t and job["id"] in t, "the stop confirmation"
            )
            show("link2: stop confirmation", text)
            tmux("send-keys", "-t", "link2", "y")
            text = tmux.wait("link2", lambda t: "stopped" in row(t), "the job stopped")
            show("link2: the job stopped", text)
            final_state = "stopped"
        else:  # a very slow machine: the job ran to its end while the link was down
            final_state = "done"
        wait_for(lambda: not alive(job["shim_pid"]), what="the shim to record and exit")
        [final] = [j for j in jobs(workdir) if j["id"] == job["id"]]
        assert final["state"] == final_state, final
        if final_state == "done":
            assert final["exit_code"] == 0, final
        assert not alive(job["pid"])
        assert session_members(job["sid"]) == [], "a process of the job survived"

        # 4. quit: the dashboard exits, ssh ends, the tmux session closes
        tmux("send-keys", "-t", "link2", "q")
        wait_for(lambda: not alive(dash2), what="the second dashboard to quit")
        wait_for(lambda: "link2" not in tmux.sessions(), what="the second ssh session to end")
        print(
            f"\nlink dropped and job checked at {drop_s:.1f}s; total {time.monotonic() - t0:.1f}s"
        )
    finally:
        for j in jobs(workdir) if (workdir / ".nba_tui" / "jobs").is_dir() else []:
            if j["state"] in ("queued", "running", "paused"):
                nba_tui(workdir, "stop", j["id"], "--grace", "1")
        tmux("kill-server")
