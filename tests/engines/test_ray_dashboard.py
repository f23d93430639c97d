"""End to end on a real Ray head: the real dashboard in tmux at 80x24, driven by keys, read with
capture-pane. `m` launches a table's missing dates on Ray (`run@ray` in its row, the date moving);
kill -9 of the dashboard leaves the Ray run going; a new dashboard shows the same job running
(adopted, not submitted again) and `s` + `y` cancels its Ray run, leaving nothing running."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import RANGE, missing, progressed, remote_pipeline, sample_warehouse, wait_for

from nba_tui import config
from nba_tui.config import Pipeline
from nba_tui.jobs import procs
from nba_tui.jobs.engines.drivers import LABEL_PIPELINE, RemoteRun, RemoteState, label_value
from nba_tui.jobs.engines.registry import driver_for
from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.sample.backfill import PACE_ENV

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import e2e_helpers  # noqa: E402 - its folder is put on sys.path just above
from e2e_helpers import row  # noqa: E402

pytestmark = pytest.mark.e2e
TABLE = "team_defense_game_summary"
"""The first short table of RANGE (where the cursor starts): 9 dates missing, input complete."""
PACE = "3.0"
"""Seconds per date on Ray: the run (~27 s) outlives the dashboard's kill and restart."""
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Tmux(e2e_helpers.Tmux):
    """The shared private tmux server; sessions start in the work dir with the sample pace."""

    def __init__(self, socket: str, cwd: Path) -> None:
        super().__init__(socket)
        self.cwd = cwd

    def start(self, name: str, argv: list[str]) -> None:
        env = ["env", f"{PACE_ENV}={PACE}", "TERM=xterm-256color"]
        self.new_session(name, f"cd {shlex.quote(str(self.cwd))} && exec {shlex.join(env + argv)}")


@pytest.fixture
def pipe(tmp_path: Path, ray_head: str) -> Iterator[Pipeline]:
    p = remote_pipeline(tmp_path, "ray", {"address": ray_head, "num_cpus": 0.5}, **RANGE)
    text = re.sub(r"(?m)^poll: .*$", "poll: {interval: 1s}", p.source.read_text())
    p.source.write_text(text)
    p = config.load(p.source)
    sample_warehouse(p)
    yield p
    sup = Supervisor(p)  # a failed test leaves nothing running (its Ray run cancelled too)
    for view in sup.jobs():
        if view.state.active:
            sup.stop(view.id, grace=5)


def ray_runs(pipe: Pipeline) -> list[RemoteRun]:
    return driver_for(pipe, "ray").find({LABEL_PIPELINE: label_value(pipe.pipeline)})


def the_job(sup: Supervisor) -> JobRecord:
    [view] = sup.jobs()
    return view.record


def at_date(screen: str) -> str:
    """The date in the row's "at date" column ("" before the first progress line)."""
    found = DATE.findall(row(screen, TABLE))
    return found[-1] if found else ""


def kill_dashboard(tmux: Tmux, name: str) -> None:
    pid = tmux.pane_pid(name)  # the pane's process is the dashboard (exec'd)
    assert "nba_tui" in e2e_helpers.argv_of(pid), e2e_helpers.argv_of(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: name not in tmux.sessions(), 10, "the killed dashboard's pane closed")


def test_a_ray_job_from_the_dashboard_survives_its_kill_and_is_stopped_by_the_next(
    pipe: Pipeline,
) -> None:
    assert len(missing(pipe, TABLE)) >= 5
    tmux = Tmux(f"nbaray-{uuid.uuid4().hex[:8]}", pipe.base_dir)
    command = [sys.executable, "-m", "nba_tui", "--config", str(pipe.source)]
    sup = Supervisor(pipe)
    try:
        tmux.start("dash1", command)
        tmux.wait(  # after the first poll the cursor moves to the first short table
            "dash1",
            lambda t: "/76" in row(t, TABLE) and "gaps " + TABLE in t,
            "the grid, the table selected",
        )
        tmux("send-keys", "-t", "dash1", "m")
        text = tmux.wait("dash1", lambda t: "run@ray" in row(t, TABLE), "run@ray", timeout=30)
        first = tmux.wait("dash1", lambda t: at_date(t) != "", "a date in the row", timeout=40)
        tmux.wait("dash1", lambda t: at_date(t) not in ("", at_date(first)), "the date moving")
        job = the_job(sup)
        assert job.engine == "ray" and job.remote_id and job.launches == 1, job
        run_id = job.remote_id

        kill_dashboard(tmux, "dash1")
        assert driver_for(pipe, "ray").get(run_id).state is RemoteState.RUNNING
        assert sup.job(job.id).state is JobState.RUNNING  # its bridge lives on, detached
        lines = Path(job.log).read_text().count("Processing ")
        wait_for(lambda: progressed(sup, job.id, lines + 1), 20, "the run going on unwatched")

        tmux.start("dash2", command)
        text = tmux.wait(
            "dash2",
            lambda t: "run@ray" in row(t, TABLE) and "gaps " + TABLE in t,
            "the same job running, selected",
            timeout=40,
        )
        again = sup.job(job.id).record
        assert again.remote_id == run_id and again.launches == 1, again
        assert [r.id for r in ray_runs(pipe)] == [run_id], "submitted to Ray more than once"
        assert len(sup.jobs()) == 1, "the dashboard relaunched the table"
        assert not [e for e in sup.history() if e.get("action") == "adopt"], "re-followed"

        tmux("send-keys", "-t", "dash2", "s")
        tmux.wait("dash2", lambda t: "Stop it?" in t and job.id in t, "the stop confirmation")
        tmux("send-keys", "-t", "dash2", "y")
        text = tmux.wait(
            "dash2",
            lambda t: any(w in row(t, TABLE) for w in ("stp@ray", "cxl@ray")),
            "the row stopped",
            timeout=40,
        )
        assert "run@ray" not in row(text, TABLE)
        end = sup.job(job.id).record
        assert end.state is JobState.STOPPED, (end.state, end.message)
        assert driver_for(pipe, "ray").get(run_id).state is RemoteState.CANCELLED
        assert all(r.state.ended for r in ray_runs(pipe)), ray_runs(pipe)
        for pid, started in ((end.shim_pid, end.shim_start_time), (end.pid, end.start_time)):
            assert not procs.alive(pid, started), f"process {pid} of the job still runs"
        assert not sup.engine.members(end)
        tmux("send-keys", "-t", "dash2", "q")
        wait_for(lambda: "dash2" not in tmux.sessions(), 10, "the dashboard quit")
    finally:
        tmux("kill-server")
