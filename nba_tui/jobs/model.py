"""Job records as stored in the state directory, and the views the UI and CLI show."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


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

    def to_json(self) -> dict:
        d = asdict(self)
        d["state"] = self.state.value
        return d

    @classmethod
    def from_json(cls, data: dict) -> JobRecord:
        data = dict(data)
        data["state"] = JobState(data.get("state", "queued"))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Progress:
    """What the job's log says about its progress (parsed with the table's `progress` regex)."""

    current_date: str | None = None
    done: int = 0
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
