"""Job records as stored in the state directory, and the views the UI and CLI show."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


class JobState(enum.StrEnum):
    QUEUED = "queued"
    """Waiting for a free slot (max_parallel) or for its inputs (a phase plan)."""
    RUNNING = "running"
    PAUSED = "paused"
    """SIGSTOPped as a whole process group."""
    DONE = "done"
    """Exited 0."""
    FAILED = "failed"
    """Exited non-zero (or killed by a signal it did not get from us)."""
    STOPPED = "stopped"
    """Stopped on request (TERM, then KILL after the grace period)."""
    LOST = "lost"
    """The recorded process is gone (or its pid now belongs to another process) without an exit
    status: e.g. the machine rebooted."""

    @property
    def active(self) -> bool:
        """Queued, running or paused."""
        return self in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED)


@dataclass
class JobRecord:
    """One job, as persisted in `<state_dir>/jobs/<id>.json` (atomic writes, mode 0600)."""

    id: str
    table: str
    argv: list[str]
    log: str
    created_at: float
    user: str
    start: str | None = None
    end: str | None = None
    dates: list[str] | None = None
    state: JobState = JobState.QUEUED
    shim_pid: int | None = None
    pid: int | None = None
    """The backfill program's pid (the leader of the job's process group/session)."""
    pgid: int | None = None
    start_time: float | None = None
    """Process start time (psutil create_time) of `pid`, to never signal a reused pid."""
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    restarted_from: str | None = None
    plan: str | None = None
    """The phase plan that queued this job, if any."""
    cwd: str | None = None
    """Working directory of the program (the pipeline file's directory)."""
    shim_start_time: float | None = None
    """create_time of `shim_pid` (the shim is the session leader: sid == shim_pid)."""
    sid: int | None = None
    """Session id of the job: every process in it belongs to the job (stop kills them all)."""
    stop_requested: bool = False
    """Set before a stop's signals, so the shim records STOPPED rather than FAILED."""
    paused_at: float | None = None
    paused_total: float = 0.0
    """Seconds spent paused (excluded from the dates/min rate)."""
    message: str | None = None
    """Why the job ended as it did, when the exit code alone does not say (lost, spawn error)."""
    shard: str | None = None
    """A plan's shard (its label, first_last date): its own checkpoint and run lock, so several
    shards of one plan run on disjoint dates of one table."""
    attempt: int = 1
    """1 for a first run; n for the (n-1)th retry of dates that failed."""
    engine: str = "local"
    """Where it runs: local, cloudrun or ray (jobs/engines)."""
    remote_id: str | None = None
    """A remote job's run on its engine (Ray submission id, Cloud Run execution name)."""
    remote_state: str | None = None
    """What the engine last said of that run (pending, running, succeeded, failed, cancelled)."""
    task_seconds: float | None = None
    """Task time the remote run used (Cloud Run bills per task-second)."""
    pause_requested: bool = False
    """A remote job being "paused": no engine pauses a remote task, so it is stopped and its
    exit is recorded as PAUSED with the dates still missing (`remote_left`)."""
    launches: int = 1
    """How many times the job was submitted (a resumed remote job is submitted again under a
    new name: `<id>-<launches>`)."""
    remote_left: list[str] | None = None
    """A remote job paused: the dates of it the warehouse still lacked when it stopped (`resume`
    relaunches them)."""

    def to_json(self) -> dict:
        d = asdict(self)
        d["state"] = self.state.value
        return d

    @classmethod
    def from_json(cls, data: dict) -> JobRecord:
        """A record from its JSON; ValueError naming the first field of the wrong type.

        Every field is checked, so a record edited by hand (`"created_at": "yesterday"`) is
        reported as damaged instead of crashing whoever formats it later."""
        data = dict(data)
        data["state"] = JobState(data.get("state", "queued"))
        for name, kinds in _FIELD_TYPES.items():
            if name in data and not _is(data[name], kinds):
                raise ValueError(f"field {name!r} has a {type(data[name]).__name__} value")
        for name in ("argv", "dates", "remote_left"):
            if isinstance(data.get(name), list) and not all(isinstance(x, str) for x in data[name]):
                raise ValueError(f"field {name!r} is not a list of strings")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_NUM = (int, float)
_OPT_NUM = (int, float, type(None))
_OPT_INT = (int, type(None))
_OPT_STR = (str, type(None))
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "table": (str,),
    "argv": (list,),
    "log": (str,),
    "created_at": _NUM,
    "user": (str,),
    "start": _OPT_STR,
    "end": _OPT_STR,
    "dates": (list, type(None)),
    "shim_pid": _OPT_INT,
    "pid": _OPT_INT,
    "pgid": _OPT_INT,
    "start_time": _OPT_NUM,
    "started_at": _OPT_NUM,
    "ended_at": _OPT_NUM,
    "exit_code": _OPT_INT,
    "signal": _OPT_INT,
    "restarted_from": _OPT_STR,
    "plan": _OPT_STR,
    "cwd": _OPT_STR,
    "shim_start_time": _OPT_NUM,
    "sid": _OPT_INT,
    "stop_requested": (bool,),
    "paused_at": _OPT_NUM,
    "paused_total": _NUM,
    "message": _OPT_STR,
    "shard": _OPT_STR,
    "attempt": (int,),
    "engine": (str,),
    "remote_id": _OPT_STR,
    "remote_state": _OPT_STR,
    "task_seconds": _OPT_NUM,
    "pause_requested": (bool,),
    "remote_left": (list, type(None)),
    "launches": (int,),
}


def run_key(rec: JobRecord) -> str:
    """The run lock the shim holds: the table's, or `<table>-<job id>` for a plan's shard
    (shards of one plan run side by side; runlock.live_unrecorded checks both)."""
    return f"{rec.table}-{rec.id}" if rec.shard else rec.table


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    """isinstance without bool passing for a number, and without nan/inf times."""
    if isinstance(value, bool) and bool not in kinds:
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, kinds)


@dataclass(frozen=True)
class Damaged:
    """A record in the state directory that cannot be read: shown, never silently dropped."""

    id: str
    path: str
    reason: str
    """One line: why it cannot be read (truncated, not JSON, a field of the wrong type, ...)."""


@dataclass
class Progress:
    """What the job's log says about its progress (parsed with the table's `progress` regex)."""

    current_date: str | None = None
    """The date of the last progress line (in progress while the job runs)."""
    done: int = 0
    """Dates finished: those before `current_date` (and it too once the job ended with exit 0)."""
    total: int | None = None
    dates_per_min: float | None = None
    eta_s: float | None = None
    last_line: str = ""
    failed_dates: list[str] = field(default_factory=list)


@dataclass
class JobView:
    record: JobRecord
    progress: Progress

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> JobState:
        return self.record.state


def record_exit(rec: JobRecord, rc: int | None, message: str | None, now: float) -> None:
    """Set the exit of `rec` (rc < 0: killed by signal -rc); the state follows from it and from a
    stop request. Used by whatever waits for the program (the local shim, another engine)."""
    if rec.pause_requested and rec.stop_requested and rec.state.active:
        # a remote job "paused": stopped on its engine, its remaining dates kept (remote_ops)
        rec.state, rec.paused_at = JobState.PAUSED, rec.paused_at or now
        rec.message = message or f"stopped on {rec.engine} to pause"
        return
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
