"""The detached parent of one backfill job, and the /proc helpers the supervisor shares.

Process layout (why it survives an SSH drop and why stop reaches everything)::

    dashboard / CLI / plan runner         (any session; may die at any time)
      └─ shim   python -m nba_tui.jobs.shim   setsid(): session leader, sid == shim pid
           └─ program (the backfill argv)     own process group: pgid == program pid,
                └─ its children ...           same session as the shim

* The shim is started with `start_new_session=True`, stdin /dev/null and stdout/stderr on the log
  *file*, so nothing ties it to the dashboard's terminal: a hangup or `kill -9` of the dashboard
  does not reach it, and nobody has to drain a pipe.
* The program gets its own process group (not the shim's), so `killpg(pgid, SIGSTOP/SIGTERM)`
  reaches the program and its children but never the shim: the shim stays able to `wait()` and to
  record `{exit_code, signal, ended_at}` even while the job is being stopped.
* Everything the job ever forks stays in the shim's *session* unless it calls setsid() itself
  (a daemon would): a grandchild that calls setpgid() escapes `killpg` but not a scan of
  /proc for `session == sid`, which pause and stop also do.
* The program's group is never orphaned while the shim lives (its parent is in another group of
  the same session), so the kernel does not SIGHUP a paused job.

The shim imports only the standard library, psutil and `jobs.store` (fast to start).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.store import Store

# -- /proc helpers (Linux) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    """One letter: R running, S sleeping, D disk, T stopped, t traced, Z zombie, X dead."""
    ppid: int
    pgrp: int
    session: int


def proc_stat(pid: int) -> ProcStat | None:
    """Parse /proc/PID/stat (the command name may contain spaces and parentheses)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = raw[raw.rfind(b")") + 2 :].split()
    try:
        return ProcStat(pid, rest[0].decode(), int(rest[1]), int(rest[2]), int(rest[3]))
    except (IndexError, ValueError):
        return None


def create_time(pid: int) -> float | None:
    """psutil's create_time (boot time + start ticks): stable for the life of the process."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def same_process(pid: int | None, start_time: float | None) -> bool:
    """True if `pid` is alive (not a zombie) and is the process recorded (same create_time).

    A recorded pid whose create_time differs belongs to someone else now (PID reuse after a
    reboot or a wrap-around): it must never be signalled.
    """
    if not pid or start_time is None:
        return False
    st = proc_stat(pid)
    if st is None or st.state in ("Z", "X"):
        return False
    ct = create_time(pid)
    return ct is not None and abs(ct - start_time) < 0.05


def session_members(sid: int, exclude: int | None = None) -> list[ProcStat]:
    """Live processes of session `sid` (zombies are already dead), except `exclude`."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st.session == sid and st.pid != exclude and st.state not in ("Z", "X"):
            out.append(st)
    return out


def session_ok(rec: JobRecord) -> bool:
    """May we scan the job's session? Only while the sid still names *our* session.

    The sid is the shim's pid; Linux does not reuse it while any process of the session lives,
    but if the shim is gone and a process with pid == sid exists, it is someone else's.
    """
    if not rec.sid or rec.sid in (0, 1, os.getsid(0)):
        return False
    if rec.sid == rec.shim_pid and proc_stat(rec.sid) is not None:
        return same_process(rec.shim_pid, rec.shim_start_time)
    return True


def job_members(rec: JobRecord) -> list[ProcStat]:
    """Live processes of the job: its group, plus session members that left the group."""
    out = []
    if rec.sid and session_ok(rec):
        floor = (rec.shim_start_time or 0) - 1
        for st in session_members(rec.sid, exclude=rec.shim_pid):
            ct = create_time(st.pid)
            if ct is not None and ct >= floor:
                out.append(st)
    elif same_process(rec.pid, rec.start_time):
        st = proc_stat(rec.pid)  # type: ignore[arg-type]
        if st:
            out.append(st)
    return out


def signal_job(rec: JobRecord, sig: int) -> bool:
    """Signal the job's group and the session members that left it. False: program gone.

    The group only if the program is still the recorded process (create_time), strays only
    through the verified session scan: a reused pid is never signalled.
    """
    alive = same_process(rec.pid, rec.start_time)
    if alive and rec.pgid:
        # ProcessLookupError: it ended meanwhile; the next reconcile shows how
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pgid, sig)
    for st in job_members(rec):
        if st.pgrp == rec.pgid and alive:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(st.pid, sig)
    return alive


def shim_alive(rec: JobRecord) -> bool:
    """Is the job's shim (the session leader that records the exit) still running?"""
    if rec.shim_pid is None:
        return False
    if rec.shim_start_time is None:
        st = proc_stat(rec.shim_pid)
        return st is not None and st.state not in ("Z", "X")
    return same_process(rec.shim_pid, rec.shim_start_time)


# -- the shim ----------------------------------------------------------------------------------


def _log(msg: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stdout.write(f"[nba-tui {stamp}] {msg}\n")
    sys.stdout.flush()


def _finish(store: Store, job_id: str, rc: int | None, message: str | None = None) -> None:
    """Record the exit atomically; the state follows from it and from a stop request."""

    def apply(rec: JobRecord) -> None:
        rec.ended_at = time.time()
        if rc is None:
            rec.exit_code, rec.signal = None, None
        elif rc < 0:
            rec.exit_code, rec.signal = None, -rc
        else:
            rec.exit_code, rec.signal = rc, None
        if rec.stop_requested:
            rec.state = JobState.STOPPED
        elif rc == 0:
            rec.state = JobState.DONE
        else:
            rec.state = JobState.FAILED
        if rec.paused_at is not None:
            rec.paused_total += rec.ended_at - rec.paused_at
            rec.paused_at = None
        if message:
            rec.message = message

    store.update_job(job_id, apply)


def run(state_dir: Path, job_id: str) -> int:
    store = Store(state_dir)
    rec = store.load_job(job_id)
    if rec is None:
        _log(f"job {job_id}: no record in {state_dir}")
        return 2
    child: subprocess.Popen | None = None

    def forward_term(signum: int, frame: object) -> None:
        # Someone signalled the shim itself (e.g. `kill SHIM`): pass it on to the job, keep waiting
        # so the exit status is still recorded.
        if child is not None:
            for sig in (signal.SIGTERM, signal.SIGCONT):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, sig)

    signal.signal(signal.SIGTERM, forward_term)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTTOU, signal.SIGTTIN, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)

    _log(f"job {rec.id} ({rec.table}) by {rec.user}: {shlex.join(rec.argv)}")
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # progress lines reach the log as they happen
    try:
        child = subprocess.Popen(  # noqa: S603 - an argument list from pipeline.yaml, no shell
            rec.argv,
            cwd=rec.cwd or None,
            stdin=subprocess.DEVNULL,
            process_group=0,
            close_fds=True,
            env=env,
            # restore default dispositions in the program (we ignore HUP/INT/PIPE ourselves)
            restore_signals=True,
            preexec_fn=_default_signals,
        )
    except OSError as e:
        _log(f"cannot start {rec.argv[0]!r}: {e.strerror or e}")
        _finish(store, job_id, 127, f"cannot start: {e.strerror or e}")
        return 127
    started = create_time(child.pid)
    me = os.getpid()
    me_started = create_time(me)

    def started_rec(r: JobRecord) -> None:
        r.pid, r.pgid, r.start_time = child.pid, child.pid, started
        r.shim_pid, r.shim_start_time, r.sid = me, me_started, os.getsid(0)
        r.started_at = time.time()
        if r.state is JobState.QUEUED:
            r.state = JobState.RUNNING

    rec = store.update_job(job_id, started_rec) or rec
    if rec.stop_requested:  # a stop arrived before we could record the pid
        forward_term(signal.SIGTERM, None)
    rc = child.wait()
    how = f"signal {-rc}" if rc < 0 else f"code {rc}"
    _log(f"job {job_id} exited with {how}")
    _finish(store, job_id, rc)
    return 0


def _default_signals() -> None:
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m nba_tui.jobs.shim STATE_DIR JOB_ID", file=sys.stderr)
        return 2
    return run(Path(args[0]), args[1])


if __name__ == "__main__":
    raise SystemExit(main())
