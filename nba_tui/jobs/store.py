"""The state directory: job and plan records as small JSON files, locks, the trust checks.

Why files and not a database: the shim (a process per job), the plan runner and any number of
dashboards read and write the same records, each of them may be killed at any moment, and an
engineer must be able to `cat` a record at 3 a.m. So each record is one JSON file replaced
atomically (`nba_tui.fsutil`: temp file, fsync, `os.replace`; new records are linked in whole, so
there is never an empty placeholder), and every read-modify-write holds an `fcntl.flock` on a lock
file next to it (the record itself cannot be locked: `os.replace` swaps its inode).

Trust (docs/JOBS.md): records name programs to run, so the state directory must be ours alone.
A state directory (or one of its subdirectories) not owned by the current user, or writable by
group or others, raises `StateError`; a record that is not ours, not a regular file, too big, not
JSON or with a field of the wrong type is `Damaged` (listed with its reason, never used).

Layout::

    <state_dir>/jobs/<id>.json      one JobRecord per job (jobs/archive/: ended ones, archived)
    <state_dir>/plans/<id>.json     one plan (phase launch / chained run) per file
    <state_dir>/locks/<name>.lock   flock targets: table-<t> (launch), run-<t> (held by the shim
                                    of the table's running job, for its whole life), job-<id>,
                                    plan-<id> (read-modify-write of a record)
    <state_dir>/actions.jsonl       the action log (see action_log.py)

This module imports nothing heavy (no pydantic, no yaml): the shim imports it on every launch.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from nba_tui.fsutil import FILE_MODE, create_atomic, json_bytes, private_dirs, write_reserved
from nba_tui.jobs import events
from nba_tui.jobs.events import Event
from nba_tui.jobs.model import Damaged, JobRecord, Plan, record_exit

MAX_RECORD = 1024 * 1024
"""A job or plan record is a few KB; anything bigger was planted or corrupted."""
MAX_ID = 64
"""Job and plan ids are at most this long (and `[A-Za-z0-9_-]`)."""
MAX_NAME = 200
"""Table names used in file names (locks, logs) are at most this long (a file name: 255)."""


LOCK_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""A lock file is opened without following a link or waiting on a planted FIFO (flock, not
read or write, is what we do with it)."""


class LockTimeout(TimeoutError):
    """Another process held a lock for longer than we were willing to wait."""


class StateError(Exception):
    """The state directory cannot be trusted (foreign owner, writable by others). One line."""


def ensure_dir(path: Path) -> Path:
    """Create `path` (mode 0700, missing parents too); an existing directory keeps its mode."""
    return private_dirs(path)


def check_private(path: Path) -> None:
    """StateError unless `path` (if it exists) is owned by us and not group/world-writable."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise StateError(f"state directory {path}: {e.strerror or e}") from None
    if st.st_uid != os.geteuid():
        raise StateError(
            f"state directory {path} is owned by uid {st.st_uid}, not by you "
            f"(uid {os.geteuid()}): refusing to use it"
        )
    if st.st_mode & 0o022:
        raise StateError(
            f"state directory {path} is writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):o}): refusing to use it (chmod go-w)"
        )


def safe_id(ident: object, limit: int = MAX_ID) -> bool:
    """Ids come from the command line: short, and never able to walk out of a directory."""
    return (
        isinstance(ident, str)
        and 0 < len(ident) <= limit
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in ident)
    )


@contextlib.contextmanager
def flock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Exclusive advisory lock on `path`, waiting at most `timeout` seconds.

    flock locks die with their process, so a dashboard killed while launching never leaves a
    stale lock behind (pid files in /tmp did). An existing lock file is opened read-only when it
    cannot be opened for writing (a full or read-only disk): flock works on any descriptor.
    """
    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | LOCK_FLAGS, FILE_MODE)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EROFS, errno.EDQUOT) or not path.exists():
            raise
        fd = os.open(path, os.O_RDONLY | LOCK_FLAGS)
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


def read_record(path: Path) -> dict | None:
    """The record's JSON object; None when absent; ValueError(reason) when it cannot be trusted.

    Opened without following symlinks and without blocking (a planted FIFO), checked before
    reading: a regular file of ours, not group/world-writable, at most MAX_RECORD bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        why = "a symbolic link" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise ValueError(why) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_uid != os.geteuid():
            raise ValueError(f"owned by uid {st.st_uid}, not by you")
        if st.st_mode & 0o022:
            raise ValueError(f"writable by group or others (mode {stat.S_IMODE(st.st_mode):o})")
        if st.st_size > MAX_RECORD:
            raise ValueError(f"too large ({st.st_size} bytes)")
        raw = os.read(fd, MAX_RECORD + 1)
    except OSError as e:
        raise ValueError(e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if not raw:
        raise ValueError("empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"not JSON ({str(e)[:80]})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


class Store:
    """Typed access to one state directory. Reading never creates anything (read-only mode)."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir)
        self.jobs_dir = self.root / "jobs"
        self.plans_dir = self.root / "plans"
        self.locks_dir = self.root / "locks"
        self.archive_dir = self.jobs_dir / "archive"
        self.actions_path = self.root / "actions.jsonl"
        self._trusted = False

    # -- setup and trust ---------------------------------------------------------------------------
    def verify(self) -> None:
        """StateError unless the state directory and its subdirectories are ours alone."""
        if self._trusted:
            return
        for d in (self.root, self.jobs_dir, self.plans_dir, self.locks_dir):
            check_private(d)
        self._trusted = self.jobs_dir.exists()

    def ensure(self) -> None:
        """Create the state directory (0700); StateError when it cannot be made or is not ours."""
        self.verify()
        try:
            for d in (self.root, self.jobs_dir, self.plans_dir, self.locks_dir):
                ensure_dir(d)
        except OSError as e:
            raise StateError(
                f"cannot create the state directory {self.root}: {e.strerror or e}"
            ) from None
        self.verify()

    def write_record(self, path: Path, data: object) -> None:
        """An atomic JSON write that a full disk does not refuse at once (`fsutil.write_reserved`:
        the state directory's `.reserve` is freed and the write tried again)."""
        write_reserved(path, json_bytes(data), self.root / ".reserve")

    def append_event(self, event: Event) -> None:
        """One line appended to `<state_dir>/events.jsonl` (jobs/events.py); OSError raises."""
        events.append(self.root, event)

    def version(self) -> int:
        """Changes whenever a record is written (each write renames into jobs/ or plans/)."""
        out = 0
        for d in (self.jobs_dir, self.plans_dir):
            with contextlib.suppress(OSError):
                out = out * 1_000_003 + os.stat(d).st_mtime_ns
        return out

    # -- locks -----------------------------------------------------------------------------------
    def table_lock(self, table: str, timeout: float = 30.0) -> contextlib.AbstractContextManager:
        """Held while checking for an active job of `table` and creating a new one."""
        self.ensure()
        return flock(self.locks_dir / f"table-{table}.lock", timeout)

    def record_lock(self, kind: str, ident: str) -> contextlib.AbstractContextManager:
        self.ensure()
        return flock(self.locks_dir / f"{kind}-{ident}.lock")

    def run_lock_path(self, table: str) -> Path:
        return self.locks_dir / f"run-{table}.lock"

    def hold_run_lock(self, table: str, facts: dict, wait: float = 5.0) -> int | None:
        """For the shim: hold `run-<table>.lock` (the fd; closing it or dying releases it) and
        write `facts` (job id, pids, create times) into it. None: another live job holds it."""
        self.ensure()
        path = self.run_lock_path(table)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | LOCK_FLAGS, FILE_MODE)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    os.close(fd)
                    return None
                time.sleep(0.02)
        with contextlib.suppress(OSError):  # a full disk: the lock holds all the same
            os.ftruncate(fd, 0)
            os.pwrite(fd, json_bytes(facts), 0)
        return fd

    def run_lock(self, table: str) -> tuple[bool, dict | None]:
        """Is the table's run lock held by a live shim, and the facts its last holder wrote."""
        try:
            fd = os.open(self.run_lock_path(table), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return False, None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                held = False
            except OSError:
                held = True
            raw = os.read(fd, 64_000) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        except OSError:
            raw = b""
        finally:
            os.close(fd)
        try:
            facts = json.loads(raw) if raw else None
        except ValueError:
            facts = None
        return held, facts if isinstance(facts, dict) else None

    def run_locks(self) -> dict[str, tuple[bool, dict | None]]:
        """Every table's run lock: {table: (held, facts)}."""
        try:
            names = os.listdir(self.locks_dir)
        except OSError:
            return {}
        tables = [n[4:-5] for n in names if n.startswith("run-") and n.endswith(".lock")]
        return {t: self.run_lock(t) for t in tables if safe_id(t, MAX_NAME)}

    # -- jobs ------------------------------------------------------------------------------------
    def job_path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def new_job_id(self) -> str:
        """A short random id (6 hex digits) with no record yet (`insert_job` makes sure)."""
        self.ensure()
        return _fresh_id(self.job_path)

    def insert_job(self, rec: JobRecord) -> JobRecord:
        """Create `rec`'s record whole (under a fresh id, set on `rec`, if its id is taken), with
        its lock file."""
        self.ensure()
        if not safe_id(rec.id) or os.path.lexists(self.job_path(rec.id)):
            rec.id = _fresh_id(self.job_path)
        while True:
            try:
                create_atomic(self.job_path(rec.id), json_bytes(rec.to_json()))
                break
            except FileExistsError:
                rec.id = _fresh_id(self.job_path)
        with contextlib.suppress(OSError):  # so a later update finds it on a full disk
            os.close(
                os.open(self.locks_dir / f"job-{rec.id}.lock", os.O_CREAT | LOCK_FLAGS, FILE_MODE)
            )
        return rec

    def save_job(self, rec: JobRecord) -> None:
        self.ensure()
        self.write_record(self.job_path(rec.id), rec.to_json())

    def read_job(self, job_id: str) -> JobRecord | Damaged | None:
        """The record, Damaged (with why), or None when there is none."""
        if not safe_id(job_id):
            return None
        self.verify()
        path = self.job_path(job_id)
        try:
            data = read_record(path)
            if data is None:
                return None
            if data.get("id") != job_id:
                raise ValueError(f"its id is {str(data.get('id'))[:70]!r}")
            return JobRecord.from_json(data)
        except (ValueError, TypeError) as e:
            return Damaged(job_id, str(path), str(e) or type(e).__name__)

    def load_job(self, job_id: str) -> JobRecord | None:
        rec = self.read_job(job_id)
        return rec if isinstance(rec, JobRecord) else None

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

    def scan_jobs(self) -> tuple[list[JobRecord], list[Damaged]]:
        """Readable records (newest first) and the damaged ones (never silently dropped)."""
        good: list[JobRecord] = []
        bad: list[Damaged] = []
        for name in _names(self.jobs_dir):
            ident = name[:-5]
            rec = self.read_job(ident) if safe_id(ident) else None
            if isinstance(rec, JobRecord):
                good.append(rec)
            elif isinstance(rec, Damaged):
                bad.append(rec)
            elif not safe_id(ident):
                bad.append(Damaged(ident[:MAX_ID], str(self.jobs_dir / name), "not a job id"))
        good.sort(key=lambda r: r.created_at, reverse=True)
        return good, bad

    def load_jobs(self) -> list[JobRecord]:
        return self.scan_jobs()[0]

    def archive_job(self, job_id: str) -> bool:
        """Move the record into jobs/archive/ (kept, no longer listed)."""
        with self.record_lock("job", job_id):
            ensure_dir(self.archive_dir)
            try:
                os.replace(self.job_path(job_id), self.archive_dir / f"{job_id}.json")
            except FileNotFoundError:
                return False
            return True

    # -- plans -----------------------------------------------------------------------------------
    def plan_path(self, plan_id: str) -> Path:
        return self.plans_dir / f"{plan_id}.json"

    def new_plan_id(self) -> str:
        """`p` + 6 hex digits (a plan id never looks like a job id)."""
        self.ensure()
        return _fresh_id(self.plan_path, "p")

    def save_plan(self, plan: Plan) -> None:
        self.ensure()
        self.write_record(self.plan_path(plan.id), plan.to_json())

    def read_plan(self, plan_id: str) -> Plan | Damaged | None:
        if not safe_id(plan_id):
            return None
        self.verify()
        path = self.plan_path(plan_id)
        try:
            data = read_record(path)
            if data is None:
                return None
            if data.get("id") != plan_id:
                raise ValueError(f"its id is {str(data.get('id'))[:70]!r}")
            return Plan.from_json(data)
        except (ValueError, TypeError) as e:
            return Damaged(plan_id, str(path), str(e) or type(e).__name__)

    def load_plan(self, plan_id: str) -> Plan | None:
        plan = self.read_plan(plan_id)
        return plan if isinstance(plan, Plan) else None

    def update_plan(self, plan_id: str, fn: Callable[[Plan], None]) -> Plan | None:
        """Read-modify-write under the plan's lock (the runner and dashboards race otherwise)."""
        with self.record_lock("plan", plan_id):
            plan = self.load_plan(plan_id)
            if plan is None:
                return None
            fn(plan)
            self.save_plan(plan)
            return plan

    def scan_plans(self) -> tuple[list[Plan], list[Damaged]]:
        good: list[Plan] = []
        bad: list[Damaged] = []
        for ident in _ids(self.plans_dir):
            plan = self.read_plan(ident)
            if isinstance(plan, Plan):
                good.append(plan)
            elif isinstance(plan, Damaged):
                bad.append(plan)
        good.sort(key=lambda p: p.created_at, reverse=True)
        return good, bad

    def load_plans(self) -> list[Plan]:
        return self.scan_plans()[0]


def _fresh_id(path_of: Callable[[str], Path], prefix: str = "") -> str:
    while True:
        ident = prefix + secrets.token_hex(3)
        if not os.path.lexists(path_of(ident)):
            return ident


def _names(directory: Path) -> list[str]:
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [n for n in names if n.endswith(".json") and not n.startswith(".")]


def _ids(directory: Path) -> list[str]:
    return [n[:-5] for n in _names(directory) if safe_id(n[:-5])]


def open_log(log_dir: Path, table: str, when: float | None = None) -> Path:
    """Create `<log_dir>/<table>_<YYYYmmdd_HHMMSS>.log` (0600), suffixing _2, _3 on collision.

    O_EXCL|O_NOFOLLOW: in a shared log directory a planted symlink is never written through.
    A log directory that is a file (or under one) raises NotADirectoryError naming it."""
    log_dir_ready(log_dir)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(when or time.time()))
    n = 1
    while True:
        name = f"{table}_{stamp}.log" if n == 1 else f"{table}_{stamp}_{n}.log"
        path = log_dir / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        except FileExistsError:
            n += 1
            continue
        os.close(fd)
        return path


def log_dir_ready(log_dir: Path) -> None:
    """Create the log directory if need be; a file there (or above it) raises NotADirectoryError."""
    with contextlib.suppress(NotADirectoryError, FileExistsError):
        ensure_dir(log_dir)
    if not log_dir.is_dir():
        why = "not a directory (jobs.log_dir in the pipeline file)"
        raise NotADirectoryError(errno.ENOTDIR, why, str(log_dir))


def log_name_ok(name: str) -> bool:
    """A log file name we could have made (`open_log`): no directory part, no odd characters."""
    return (
        0 < len(name) <= 250
        and name.endswith(".log")
        and not name.startswith(".")
        and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
    )
