"""The engine seam: the Supervisor runs and controls jobs through any `Engine`, not only the
local shim. `DirectEngine` below is a second, real engine: no shim, the program is started in its
own session by this process and a thread of ours waits for it and records its exit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from jobs_helpers import wait_for

from nba_tui.jobs import procs
from nba_tui.jobs.engines.base import Engine, ProgramStatus
from nba_tui.jobs.engines.local import LocalEngine
from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.procs import ProcStat
from nba_tui.jobs.store import Store
from nba_tui.jobs.supervisor import Supervisor


class DirectEngine:
    """Runs `rec.argv` directly (session leader, no shim); records every call it gets."""

    name = "direct"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int | None]] = []
        self.waiters: dict[str, threading.Thread] = {}

    def start(self, rec: JobRecord, store: Store) -> None:
        self.calls.append(("start", rec.id, None))
        fd = os.open(rec.log, os.O_WRONLY | os.O_APPEND)
        try:
            proc = subprocess.Popen(
                rec.argv,
                cwd=rec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                start_new_session=True,
            )
        finally:
            os.close(fd)
        started = procs.create_time(proc.pid)

        def running(r: JobRecord) -> None:
            r.pid = r.pgid = r.sid = proc.pid
            r.start_time, r.started_at, r.state = started, time.time(), JobState.RUNNING

        store.update_job(rec.id, running)
        waiter = threading.Thread(target=lambda: store.finish_job(rec.id, proc.wait()))
        waiter.start()
        self.waiters[rec.id] = waiter

    def alive(self, rec: JobRecord) -> bool:
        waiter = self.waiters.get(rec.id)
        return waiter is not None and waiter.is_alive()

    def status(self, rec: JobRecord) -> ProgramStatus:
        st = procs.proc_stat(rec.pid) if rec.pid else None
        if st is None or st.state in ("Z", "X") or st.create_time != rec.start_time:
            return ProgramStatus.GONE
        return ProgramStatus.PAUSED if st.state == "T" else ProgramStatus.RUNNING

    def signal(self, rec: JobRecord, sig: int) -> bool:
        self.calls.append(("signal", rec.id, sig))
        if self.status(rec) is ProgramStatus.GONE:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pid, sig)  # type: ignore[arg-type]
        return True

    def members(self, rec: JobRecord) -> list[ProcStat]:
        return procs.session_members(rec.sid) if rec.sid else []


def test_both_engines_satisfy_the_protocol(make_pipeline) -> None:
    for engine in (LocalEngine(), DirectEngine()):
        assert isinstance(engine, Engine)  # every method the supervisor calls is there
    assert isinstance(Supervisor(make_pipeline()).engine, LocalEngine)  # the default


def test_supervisor_runs_jobs_on_another_engine(make_pipeline) -> None:
    engine = DirectEngine()
    sup = Supervisor(
        make_pipeline({"alpha": ["--fork", "--delay", "0.2"], "beta": []}), engine=engine
    )
    v = sup.launch("alpha")
    assert v.record.shim_pid is None and v.record.pid == v.record.sid  # no shim: direct
    assert v.state is JobState.RUNNING and engine.calls == [("start", v.id, None)]
    wait_for(lambda: len(engine.members(sup.job(v.id).record)) == 3, what="program + 2 children")

    assert sup.pause(v.id).state is JobState.PAUSED
    assert all(p.state == "T" for p in engine.members(v.record))
    assert sup.job(v.id).state is JobState.PAUSED  # reconciled through engine.status
    assert sup.resume(v.id).state is JobState.RUNNING
    out = sup.stop(v.id, grace=5)
    assert out.state is JobState.STOPPED and out.record.signal == signal.SIGTERM
    assert engine.members(v.record) == []
    sent = [sig for call, job, sig in engine.calls if call == "signal" and job == v.id]
    assert sent[:4] == [signal.SIGSTOP, signal.SIGCONT, signal.SIGTERM, signal.SIGCONT]

    r = sup.restart(v.id)  # a new job through the same engine
    assert r.record.restarted_from == v.id and ("start", r.id, None) in engine.calls
    sup.stop(r.id, grace=5)
    done = sup.launch("beta")
    wait_for(lambda: sup.job(done.id).state is JobState.DONE, what="beta done")
    assert sup.job(done.id).record.exit_code == 0  # recorded by the engine's waiter


def test_another_supervisor_adopts_the_engines_jobs(make_pipeline) -> None:
    engine = DirectEngine()
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "1"]}), engine=engine)
    v = sup.launch("alpha")
    fresh = Supervisor(sup.pipeline, engine=DirectEngine())  # a new process: no waiter thread
    assert fresh.job(v.id).state is JobState.RUNNING  # adopted from the record
    os.kill(v.record.pid, signal.SIGKILL)
    engine.waiters[v.id].join(5)
    assert sup.job(v.id).record.signal == signal.SIGKILL
    assert fresh.job(v.id).state is JobState.FAILED
