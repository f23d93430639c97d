"""Local processes: identity (create time), state, the session scan and signalling a job.

The one place that reads the process table (through psutil; process group and session through
`os.getpgid`/`os.getsid`). Everything here is about *not* hurting the wrong process:

* identity is (pid, create_time): a recorded pid whose create_time differs belongs to someone else
  now (pid reuse after a reboot or a wrap-around) and is never signalled;
* a job's processes are its program's process group plus every other process of the shim's
  session (a grandchild that called setpgid() left the group, not the session), scanned only
  while the session id still names the job's session, and only processes born after the shim.

See docs/JOBS.md for the process layout (shim = session leader, program = group leader).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from nba_tui.jobs.model import JobRecord

_LETTER = {
    psutil.STATUS_RUNNING: "R",
    psutil.STATUS_SLEEPING: "S",
    psutil.STATUS_DISK_SLEEP: "D",
    psutil.STATUS_STOPPED: "T",
    psutil.STATUS_TRACING_STOP: "t",
    psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X",
    psutil.STATUS_IDLE: "I",
    psutil.STATUS_WAKING: "W",
    psutil.STATUS_PARKED: "P",
}
_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError, PermissionError)
POLL = 0.005
"""Default interval of `wait_until` (pause must see every process stopped within ms)."""
SAME_START = 0.05
"""Seconds two create_time readings of one process may differ by (clock tick rounding)."""


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    """One letter as in ps: R running, S sleeping, D disk, T stopped, t traced, Z zombie, X dead."""
    ppid: int
    pgrp: int
    session: int
    create_time: float


def proc_stat(pid: int) -> ProcStat | None:
    """What the kernel says about `pid` now, or None when there is no such process."""
    try:
        p = psutil.Process(pid)
        with p.oneshot():
            status, ppid, created = p.status(), p.ppid(), p.create_time()
        group, session = os.getpgid(pid), os.getsid(pid)
        return ProcStat(pid, _LETTER.get(status, "?"), ppid, group, session, created)
    except _GONE:
        return None


def create_time(pid: int) -> float | None:
    """psutil's create_time (boot time + start ticks): stable for the life of the process."""
    try:
        return psutil.Process(pid).create_time()
    except _GONE:
        return None


def same_process(pid: int | None, start_time: float | None) -> bool:
    """True if `pid` is alive (not a zombie) and is the process recorded (same create_time)."""
    if not pid or start_time is None:
        return False
    st = proc_stat(pid)
    if st is None or st.state in ("Z", "X"):
        return False
    return abs(st.create_time - start_time) < SAME_START


def kill_same(pid: int, start_time: float | None, sig: int) -> bool:
    """Signal `pid` only while it is the recorded process (create time); False if it is not."""
    if not same_process(pid, start_time):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
    return True


def alive(pid: int | None, start_time: float | None = None) -> bool:
    """`pid` runs (not a zombie); when `start_time` is known, it must be the recorded process."""
    if not pid:
        return False
    if start_time is not None:
        return same_process(pid, start_time)
    st = proc_stat(pid)
    return st is not None and st.state not in ("Z", "X")


def session_members(sid: int, exclude: int | None = None) -> list[ProcStat]:
    """Live processes of session `sid` (zombies are already dead), except `exclude`."""
    out = []
    for pid in psutil.pids():
        if pid == exclude:
            continue
        try:
            if os.getsid(pid) != sid:
                continue
        except OSError:
            continue
        st = proc_stat(pid)
        if st is not None and st.session == sid and st.state not in ("Z", "X"):
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
    if rec.sid and session_ok(rec):
        floor = (rec.shim_start_time or 0) - 1
        members = session_members(rec.sid, exclude=rec.shim_pid)
        return [st for st in members if st.create_time >= floor]
    if same_process(rec.pid, rec.start_time):
        st = proc_stat(rec.pid)  # type: ignore[arg-type]
        return [st] if st else []
    return []


def signal_job(rec: JobRecord, sig: int) -> bool:
    """Signal the job's group and the session members that left it. False: program gone.

    The group only if the program is still the recorded process (create_time), strays only
    through the verified session scan: a reused pid is never signalled.
    """
    is_alive = same_process(rec.pid, rec.start_time)
    if is_alive and rec.pgid:
        # ProcessLookupError: it ended meanwhile; the next reconcile shows how
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pgid, sig)
    for st in job_members(rec):
        if st.pgrp == rec.pgid and is_alive:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(st.pid, sig)
    return is_alive


def wait_until(cond: Callable[[], object], timeout: float, interval: float = POLL) -> bool:
    """Poll `cond` until truthy or `timeout` seconds passed; True if it became true.

    Processes give no event for "stopped" or "gone" to a non-parent, so waits poll, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
