"""The state directory: job and plan records as small JSON files, locks, private modes.

Why files and not a database: the shim (a process per job), the plan runner and any number of
dashboards read and write the same records, each of them may be killed at any moment, and an
engineer must be able to `cat` a record at 3 a.m. So each record is one JSON file replaced
atomically (write a temp file in the same directory, fsync, `os.replace`), and every
read-modify-write holds an `fcntl.flock` on a lock file next to it (the record itself cannot be
locked: `os.replace` swaps its inode). Directories are 0700 and files 0600 because argv and logs
can carry project names and credentials paths.

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
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nba_tui.jobs.model import JobRecord

DIR_MODE = 0o700
FILE_MODE = 0o600


class LockTimeout(TimeoutError):
    """Another process held a lock for longer than we were willing to wait."""


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it private. Existing dirs we own are tightened."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with contextlib.suppress(PermissionError):
        if path.stat().st_mode & 0o777 != DIR_MODE:
            os.chmod(path, DIR_MODE)
    return path


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` so that readers see the old file or the new one, never half of either."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any | None:
    """The file's JSON, or None if it is absent or unreadable (a half-copied file by hand)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


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
        while True:
            ident = secrets.token_hex(3)
            try:
                fd = os.open(self.job_path(ident), os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            except FileExistsError:
                continue
            os.close(fd)  # reserved; the real content replaces it atomically
            return ident

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

    def job_ids(self) -> list[str]:
        try:
            names = os.listdir(self.jobs_dir)
        except FileNotFoundError:
            return []
        return [n[:-5] for n in names if n.endswith(".json") and not n.startswith(".")]

    def load_jobs(self) -> list[JobRecord]:
        out = [r for r in (self.load_job(i) for i in self.job_ids()) if r is not None]
        out.sort(key=lambda r: r.created_at, reverse=True)
        return out

    # -- plans -----------------------------------------------------------------------------------
    def plan_path(self, plan_id: str) -> Path:
        return self.plans_dir / f"{plan_id}.json"

    def save_plan(self, data: dict) -> None:
        self.ensure()
        write_json_atomic(self.plan_path(data["id"]), data)

    def load_plan(self, plan_id: str) -> dict | None:
        if not _safe_id(plan_id):
            return None
        data = read_json(self.plan_path(plan_id))
        return data if isinstance(data, dict) else None

    def update_plan(self, plan_id: str, fn: Callable[[dict], None]) -> dict | None:
        with self.record_lock("plan", plan_id):
            data = self.load_plan(plan_id)
            if data is None:
                return None
            fn(data)
            self.save_plan(data)
            return data

    def load_plans(self) -> list[dict]:
        try:
            names = os.listdir(self.plans_dir)
        except FileNotFoundError:
            return []
        plans = [self.load_plan(n[:-5]) for n in names if n.endswith(".json")]
        out = [p for p in plans if p]
        out.sort(key=lambda p: p.get("created_at", 0), reverse=True)
        return out


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
