"""A plan whose state directory is removed, or replaced by another one at the same path: its
watchdog and runner exit and never write the plan back nor start runners for it. Real processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

import psutil
import pytest
from jobs_helpers import wait_for

from nba_tui.jobs.supervisor import Supervisor

SLOW = {"alpha": ["--delay", "0.4"], "beta": ["--delay", "0.4"]}


def plan_procs(plan_id: str) -> list[int]:
    """Live runners and watchdogs of the plan (their argv ends with its id)."""
    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        argv = p.info["cmdline"] or []
        if p.info["status"] == psutil.STATUS_ZOMBIE or not argv or argv[-1] != plan_id:
            continue
        if any(a in ("nba_tui.jobs.runner", "nba_tui.jobs.watchdog") for a in argv):
            out.append(p.pid)
    return out


def shim_gone(pid: int | None) -> bool:
    with contextlib.suppress(psutil.Error):
        return pid is None or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    return True


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_a_plan_whose_state_dir_is_gone_leaves_no_process(
    make_pipeline,  # noqa: ANN001 - fixture
    tmp_path: Path,
    how: str,
) -> None:
    pipe = make_pipeline(SLOW, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: sup.plan(plan.id).watchdog_pid, 30, "a watchdog")
    wait_for(lambda: any(sup.job(j).record.shim_pid for j in sup.plan(plan.id).jobs), 30, "a shard")
    shims = [sup.job(j).record.shim_pid for j in sup.plan(plan.id).jobs]
    assert len(plan_procs(plan.id)) == 2  # its runner and its watchdog
    root, aside = sup.store.root, tmp_path / "old-state"
    try:
        root.rename(aside)  # the path loses the directory at one instant
        shutil.rmtree(aside)
        if how == "replaced":  # (a tick under way may have made it again: also a new one)
            root.mkdir(mode=0o700, exist_ok=True)
        wait_for(lambda: not plan_procs(plan.id), 60, "the runner and the watchdog exit")
        wait_for(lambda: all(shim_gone(s) for s in shims), 60, "its shard ends")
        assert not plan_procs(plan.id)  # none started again meanwhile
        assert not sup.store.plan_path(plan.id).exists()  # never written back
    finally:
        for pid in plan_procs(plan.id) + [s for s in shims if s]:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
