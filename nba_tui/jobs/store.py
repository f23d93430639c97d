"""The state directory: job and plan records as small JSON files, locks, private modes.

Why files and not a database: the shim (a process per job), the plan runner and any number of
dashboards read and write the same records, each of them may be killed at any moment, and an
engineer must be able to `cat` a record at 3 a.m. So each record is one JSON file replaced
atomically (write a temp file in the same directory, fsync, `os.replace`), and every
read-modify-write holds an `fcntl.flock` on a lock file next to it (the record itself cannot be
locked: `os.replace` swaps its inode); the writer is `nba_tui.fsutil.write_json_atomic`.
Directories are 0700 and files 0600 because argv and logs can carry project names and credentials
paths. Plans are typed records (`plans.Plan`) kept with the same habits as jobs.

Layout::

    <state_dir>/jobs/<id>.json      one JobRecord per job
    <state_dir>/plans/<id>.json     one plan (phase launch / chained run) per file
    <state_dir>/locks/<name>.lock   flock targets (table launch locks, per-record locks)
    <state_dir>/actions.jsonl       the action log (see actions.py)

This module imports nothing heavy (no pydantic, no yaml): the shim imports it on every launch.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from nba_tui.fsutil import FILE_MODE, private_dirs, read_json, write_json_atomic
from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.plans import Plan


class LockTimeout(TimeoutError):
    """Another process held a lock for longer than we were willing to wait."""


def ensure_dir(path: Path) -> Path:
    """Create `path` (mode 0700, parents too) and tighten it: state and log dirs are ours alone."""
    return private_dirs(path, tighten=True)


@contextlib.contextmanager
def flock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Exclusive advisory lock on `path`, waiting at most `timeout` seconds.

    flock locks die with their process, so a dashboard killed while launching never leaves a
    stale lock behind (pid files in /tmp did).
    """
    ensure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise LockTimeout(f"lock {path} held by another process") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _reserve(path_of: Callable[[str], Path], prefix: str = "") -> str:
    """A short random id whose file did not exist: created empty (O_EXCL), replaced atomically
    by the real record; readers skip the empty file meanwhile."""
    while True:
        ident = prefix + secrets.token_hex(3)
        try:
            fd = os.open(path_of(ident), os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        os.close(fd)
        return ident


def record_exit(rec: JobRecord, rc: int | None, message: str | None, now: float) -> None:
    """Set the exit of `rec` (rc < 0: killed by signal -rc); the state follows from it and from a
    stop request. Used by whatever waits for the program (the local shim, another engine)."""
    rec.ended_at = now
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
        rec.paused_total += now - rec.paused_at
        rec.paused_at = None
    if message:
        rec.message = message


class Store:
    """Typed access to one state directory. Reading never creates anything (read-only mode)."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir)
        self.jobs_dir = self.root / "jobs"
        self.plans_dir = self.root / "plans"
        self.locks_dir = self.root / "locks"
        self.actions_path = self.root / "actions.jsonl"

    # -- setup -----------------------------------------------------------------------------------
    def ensure(self) -> None:
        for d in (self.root, self.jobs_dir, self.plans_dir, self.locks_dir):
            ensure_dir(d)

    # -- locks -----------------------------------------------------------------------------------
    def table_lock(self, table: str, timeout: float = 30.0) -> contextlib.AbstractContextManager:
        """Held while checking for an active job of `table` and creating a new one."""
        self.ensure()
        return flock(self.locks_dir / f"table-{table}.lock", timeout)

    def record_lock(self, kind: str, ident: str) -> contextlib.AbstractContextManager:
        self.ensure()
        return flock(self.locks_dir / f"{kind}-{ident}.lock")

    # -- jobs ------------------------------------------------------------------------------------
    def job_path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def new_job_id(self) -> str:
        """Short random ids (6 hex digits) fit an 80-column table and are easy to type."""
        self.ensure()
        return _reserve(self.job_path)

    def save_job(self, rec: JobRecord) -> None:
        self.ensure()
        write_json_atomic(self.job_path(rec.id), rec.to_json())

    def load_job(self, job_id: str) -> JobRecord | None:
        if not _safe_id(job_id):
            return None
        data = read_json(self.job_path(job_id))
        if not isinstance(data, dict) or "id" not in data:
            return None
        try:
            return JobRecord.from_json(data)
        except (TypeError, ValueError):
            return None

    def update_job(self, job_id: str, fn: Callable[[JobRecord], None]) -> JobRecord | None:
        """Read-modify-write under the record's lock (the shim and dashboards race otherwise)."""
        with self.record_lock("job", job_id):
            rec = self.load_job(job_id)
            if rec is None:
                return None
            fn(rec)
            self.save_job(rec)
            return rec

    def finish_job(self, job_id: str, rc: int | None, message: str | None = None) -> None:
        """Record the program's exit atomically (see `record_exit`)."""
        self.update_job(job_id, lambda r: record_exit(r, rc, message, time.time()))

    def job_ids(self) -> list[str]:
        return _ids(self.jobs_dir)

    def load_jobs(self) -> list[JobRecord]:
        out = [r for r in (self.load_job(i) for i in self.job_ids()) if r is not None]
        out.sort(key=lambda r: r.created_at, reverse=True)
        return out

    # -- plans -----------------------------------------------------------------------------------
    def plan_path(self, plan_id: str) -> Path:
        return self.plans_dir / f"{plan_id}.json"

    def new_plan_id(self) -> str:
        """`p` + 6 hex digits (a plan id never looks like a job id)."""
        self.ensure()
        return _reserve(self.plan_path, "p")

    def save_plan(self, plan: Plan) -> None:
        self.ensure()
        write_json_atomic(self.plan_path(plan.id), plan.to_json())

    def load_plan(self, plan_id: str) -> Plan | None:
        if not _safe_id(plan_id):
            return None
        data = read_json(self.plan_path(plan_id))
        if not isinstance(data, dict) or "id" not in data:
            return None
        try:
            return Plan.from_json(data)
        except (TypeError, ValueError):
            return None

    def update_plan(self, plan_id: str, fn: Callable[[Plan], None]) -> Plan | None:
        """Read-modify-write under the plan's lock (the runner and dashboards race otherwise)."""
        with self.record_lock("plan", plan_id):
            plan = self.load_plan(plan_id)
            if plan is None:
                return None
            fn(plan)
            self.save_plan(plan)
            return plan

    def load_plans(self) -> list[Plan]:
        out = [p for p in (self.load_plan(i) for i in _ids(self.plans_dir)) if p is not None]
        out.sort(key=lambda p: p.created_at, reverse=True)
        return out


def _ids(directory: Path) -> list[str]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return [n[:-5] for n in names if n.endswith(".json") and not n.startswith(".")]


def _safe_id(ident: str) -> bool:
    """Ids come from the command line: never let one walk out of the state directory."""
    return bool(ident) and all(c.isalnum() or c in "-_" for c in ident)


def open_log(log_dir: Path, table: str, when: float | None = None) -> Path:
    """Create `<log_dir>/<table>_<YYYYmmdd_HHMMSS>.log` (0600), suffixing _2, _3 on collision."""
    ensure_dir(log_dir)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(when or time.time()))
    n = 1
    while True:
        name = f"{table}_{stamp}.log" if n == 1 else f"{table}_{stamp}_{n}.log"
        path = log_dir / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            n += 1
            continue
        os.close(fd)
        return path
