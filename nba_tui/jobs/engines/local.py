"""The local engine: each job under a detached shim on this machine (see jobs/shim.py).

Process layout (why it survives an SSH drop and why stop reaches everything)::

    dashboard / CLI / plan runner         (any session; may die at any time)
      └─ shim   python -m nba_tui.jobs.shim   setsid(): session leader, sid == shim pid
           └─ program (the backfill argv)     own process group: pgid == program pid,
                └─ its children ...           same session as the shim

The shim records the program's pid, pgid, sid and create times in the job's record, waits for it
and records its exit; signals go to the program's group and to the session members that left it
(jobs/procs.py), never to the shim, which must survive to record the exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from nba_tui.jobs import procs
from nba_tui.jobs.engines.base import ProgramStatus
from nba_tui.jobs.model import JobRecord
from nba_tui.jobs.procs import ProcStat
from nba_tui.jobs.store import Store


def spawn_detached(
    argv: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a process that outlives us: its own session, stdin /dev/null, output appended to
    `log` (a file, never a pipe someone must drain). Used for job shims and plan runners alike;
    `env`: variables added to ours."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            argv,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            close_fds=True,
            cwd=str(cwd),
            env={**os.environ, **env} if env else None,
        )
    finally:
        os.close(fd)
    # reap it when it exits, so it never lingers as a zombie of a long-lived dashboard
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    return proc


class LocalEngine:
    """Jobs as detached shims on this machine; identity by (pid, create_time)."""

    name = "local"
    config: Path | None = None
    """The pipeline file, given to the shim of a plan's shard (it looks after the plan) and of a
    restarted job (a plan it makes done alerts its hook)."""

    def __init__(self, config: Path | None = None) -> None:
        self.config = config

    def start(self, rec: JobRecord, store: Store) -> None:
        self.spawn_shim(rec, store)

    def spawn_shim(self, rec: JobRecord, store: Store, env: dict[str, str] | None = None) -> None:
        """The job's detached shim, its pid recorded in the job's record."""
        argv = [sys.executable, "-m", "nba_tui.jobs.shim", str(store.root), rec.id]
        if (rec.plan or rec.restarted_from) and self.config is not None:
            argv.append(str(self.config))
        proc = spawn_detached(
            argv,
            Path(rec.log),
            Path(rec.cwd or "."),
            env,
        )
        started = procs.create_time(proc.pid)

        def spawned(r: JobRecord) -> None:
            r.shim_pid, r.shim_start_time = proc.pid, started

        store.update_job(rec.id, spawned)

    def alive(self, rec: JobRecord) -> bool:
        return procs.alive(rec.shim_pid, rec.shim_start_time)

    def status(self, rec: JobRecord) -> ProgramStatus:
        if procs.same_process(rec.pid, rec.start_time):
            st = procs.proc_stat(rec.pid)  # type: ignore[arg-type]
            return ProgramStatus.PAUSED if st and st.state == "T" else ProgramStatus.RUNNING
        if rec.pid and procs.alive(rec.pid):
            return ProgramStatus.REUSED
        return ProgramStatus.GONE

    def signal(self, rec: JobRecord, sig: int) -> bool:
        return procs.signal_job(rec, sig)

    def members(self, rec: JobRecord) -> list[ProcStat]:
        return procs.job_members(rec)
