"""A plan runner's heartbeat: `locks/runner-<plan>.beat` (docs/JOBS.md, "Supervision").

The runner writes its identity (pid, create time) there once and touches the file's mtime every
tick (a touch needs no disk space, so a full disk never stops the beat). Its watchdog replaces a
runner that is stopped (SIGSTOP, a tracer) or whose beat is older than `STALE_AFTER`; `plans`
says "runner not responding" meanwhile; a shim reads it to see, without parsing the plan,
whether anyone still supervises the plan it runs for. Imports only the standard library and
jobs.procs (the shim imports it).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nba_tui.jobs import procs

STALE_AFTER = 20.0
"""Seconds without a beat after which a live runner counts as hung (ticks take < 1 s; a slow
disk or a loaded machine may stretch one to several seconds, never to this)."""


def beat_path(locks_dir: Path, plan_id: str) -> Path:
    return locks_dir / f"runner-{plan_id}.beat"


@dataclass(frozen=True)
class Pulse:
    """What the beat file says: whose beat, and how old it is."""

    pid: int
    start_time: float
    age: float


def read(locks_dir: Path, plan_id: str, now: float | None = None) -> Pulse | None:
    """The last beat, or None without a readable beat file."""
    path = beat_path(locks_dir, plan_id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            data = json.loads(os.read(fd, 4096) or b"null")
        finally:
            os.close(fd)
        pulse = Pulse(int(data["pid"]), float(data["start_time"]), 0.0)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return Pulse(pulse.pid, pulse.start_time, (now or time.time()) - st.st_mtime)


def hung(pulse: Pulse | None, pid: int | None, start_time: float | None) -> str | None:
    """Why the recorded runner (`pid`, `start_time`), alive, does not respond; None if it does
    (or nothing is known: a beat file of another process says nothing about this one)."""
    st = procs.proc_stat(pid) if pid else None
    if st is None or start_time is None or abs(st.create_time - start_time) >= procs.SAME_START:
        return None
    if st.state in ("T", "t"):
        return "stopped"
    if pulse is not None and pulse.pid == pid and pulse.age > STALE_AFTER:
        return f"no heartbeat for {int(pulse.age)} s"
    return None


def responding(locks_dir: Path, plan_id: str) -> bool:
    """Does the plan have a live runner whose beat is fresh? (A read and a /proc look.)"""
    pulse = read(locks_dir, plan_id)
    if pulse is None or not procs.same_process(pulse.pid, pulse.start_time):
        return False
    return hung(pulse, pulse.pid, pulse.start_time) is None


class Beat:
    """The runner's side: `start` once it holds the plan's runner lock, `touch` every tick."""

    def __init__(self, locks_dir: Path, plan_id: str) -> None:
        self.path = beat_path(locks_dir, plan_id)
        self.written = False

    def touch(self) -> None:
        """Never raises: a beat that cannot be written leaves the pid check alone."""
        with contextlib.suppress(OSError):
            if not self.written:
                me = os.getpid()
                body = json.dumps({"pid": me, "start_time": procs.create_time(me)}).encode()
                tmp = self.path.with_name(f".{self.path.name}.{me}")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                try:
                    os.write(fd, body)
                finally:
                    os.close(fd)
                os.replace(tmp, self.path)
                self.written = True
            os.utime(self.path)

    @contextlib.contextmanager
    def keep(self, every: float = STALE_AFTER / 4) -> Iterator[None]:
        """Beat from a thread while the runner waits on a step that is bounded but may outlast
        `STALE_AFTER` (a remote pause: the engine's cancel, then a look at the warehouse), so
        its watchdog does not take a wait for a hang. Outside such a step only the loop beats."""
        done = threading.Event()

        def beating() -> None:
            while not done.wait(every):
                self.touch()

        worker = threading.Thread(target=beating, name="beat", daemon=True)
        worker.start()
        try:
            yield
        finally:
            done.set()
            worker.join()
            self.touch()
