"""Job and plan records as stored in the state directory, and the views the UI and CLI show."""

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
        # a remote job "paused": stopped on its engine, its remaining dates kept (remote_runs.py)
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


# -- plans -------------------------------------------------------------------------------------


class PlanState(enum.StrEnum):
    """How a plan stands (docs/JOBS.md, "Plans"). Every state but RUNNING is final."""

    RUNNING = "running"
    """Its runner starts queued jobs as slots free (or waits for a phase's preflight)."""
    DONE = "done"
    """Every table of the plan meets its threshold over the plan's range (its scope's dates all
    have rows), no date quarantined (jobs/plan_end.py)."""
    FAILED = "failed"
    """Dates failed in every attempt (`quarantined`); `short` says per table what is missing."""
    STOPPED = "stopped"
    """Someone stopped some of its jobs by hand (`stopped_tables`); the rest ran (none failed)."""
    SHORT = "short"
    """It ran what it could, and a table is still below its threshold: `short` says why."""
    CANCELLED = "cancelled"
    """`cancel_plan`: its running jobs were stopped and its queued ones never started."""
    LOST = "lost"
    """Shown (never stored) when the runner of a running plan vanished."""


@dataclass
class Plan:
    """A phase launch or a chained run, persisted in `<state_dir>/plans/<id>.json`."""

    id: str
    kind: str
    """`phase` (launch_phase: one job per table queued up front), `heal` (watch --heal: the same
    over the gaps found) or `run` (shards made as dates become ready); one scheduler for all."""
    phases: list[str]
    user: str
    created_at: float
    missing: bool = True
    skip_preflight: bool = False
    state: PlanState = PlanState.RUNNING
    stage: int = 0
    """Index in `phases` of the phase shown as the plan's (the first)."""
    jobs: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    """Tables not queued: {"table": name, "reason": one line}."""
    failed_stages: list[str] = field(default_factory=list)
    failed_tables: list[str] = field(default_factory=list)
    """Tables whose job failed or was lost (or never started because an input failed)."""
    stopped_tables: list[str] = field(default_factory=list)
    """Tables whose job was stopped by hand (or never started because an input was stopped)."""
    runner_pid: int | None = None
    runner_start_time: float | None = None
    log: str | None = None
    message: str | None = None
    ended_at: float | None = None
    # -- the pipelined run (kind "run"; runner: jobs/autopilot.py) --------------------------------
    strict_cascade: bool = False
    """Today's behaviour: each table once, after the whole previous table of a `parallel: false`
    phase (and every table of the earlier phases); one shard per table."""
    shards_per_table: int | None = None
    """At most this many shards of one table at a time (None: as many as free slots allow)."""
    paused: bool = False
    """`pause_plan`: its jobs are paused and nothing new starts until `resume_plan`."""
    quarantined: dict[str, list[str]] = field(default_factory=dict)
    """Table -> dates that failed in every attempt (retries exhausted) and stayed missing."""
    skipped_dates: dict[str, list[str]] = field(default_factory=dict)
    """Table -> dates not run because an input date they read was quarantined (or skipped)."""
    degraded: dict[str, list[str]] = field(default_factory=dict)
    """Table -> dates run on soft-input fallbacks because of `skip_preflight` (by choice)."""
    necessity: dict[str, list[str]] = field(default_factory=dict)
    """Table -> dates run on soft-input fallbacks because the soft input lacks a date there that
    nothing can fill (degraded by necessity, `readiness.degraded_by_necessity`)."""
    coverage_before: dict[str, int] = field(default_factory=dict)
    """Present dates per table when the plan started."""
    coverage_after: dict[str, int] = field(default_factory=dict)
    """Present dates per table when the plan ended."""
    shards: list[dict] = field(default_factory=list)
    """The plan's account of its ended shards, one entry each as it ends: job, table, dates
    (first/last/count), attempt, exit_code, duration, state. The runner reads it for a failed
    table's error line at the plan's end; `plan show --json` shows it. The report lists jobs
    from their records instead (every job of its window, a plan's or not)."""
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    """Table -> date -> failed attempts so far (a date is retried while below retries + 1)."""
    retry_at: dict[str, dict[str, float]] = field(default_factory=dict)
    """Table -> date -> earliest time of its next attempt (the back-off)."""
    phases_ready: list[str] = field(default_factory=list)
    """Requested phases whose tables all met their thresholds (phase_ready emitted)."""
    unfilled: dict[str, list[str]] = field(default_factory=dict)
    """Table -> dates a shard ended done without filling (the program skipped them): not run
    again by this plan (else it would relaunch them forever)."""
    counted: list[str] = field(default_factory=list)
    """Shard jobs whose end the runner has accounted for (retries, shards list)."""
    short: dict[str, str] = field(default_factory=dict)
    """Table -> how many of its dates are still missing at the plan's end, and why, in words."""
    scope: dict[str, list[str]] | None = None
    """Table -> the only dates the plan runs (`launch-phase`, `watch --heal`); None: every
    missing date of its phases' tables."""
    restarts: list[dict] = field(default_factory=list)
    """One entry per runner started for the plan after its runner died: {"at", "by" (watchdog,
    dashboard, run), "old_pid"} (`restart_wait`: back-off and limit)."""
    watchdog_pid: int | None = None
    """The plan's watchdog (jobs/watchdog.py): it restarts the runner, the runner restarts it."""
    # -- the forecast (jobs/forecast.py; the runner writes it every forecast.EVERY seconds) --
    deadline: float | None = None
    """`run --deadline`: epoch seconds; plan_late is sent once when the forecast end passes it."""
    late_sent: bool = False
    forecast_end: float | None = None
    """Epoch seconds the plan is forecast to end (the runner's last forecast)."""
    forecast_first: float | None = None
    """The first forecast end (for the report's forecast vs actual)."""
    forecast_first_guessed: bool = False
    """Whether that first forecast had rates guessed (no history for some table)."""
    forecast_at: float | None = None
    forecast_note: str = ""
    """How sure the forecast is: which tables' rates are guessed ("" when all are learned)."""
    planned: dict[str, int] = field(default_factory=dict)
    """Table -> dates the plan runs, from its first forecast (a total that does not grow)."""
    left: dict[str, int] = field(default_factory=dict)
    """Table -> dates the last forecast still had to run (running shards' included)."""

    def to_json(self) -> dict:
        d = asdict(self)
        d["state"] = str(self.state)
        return d

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        """A plan from its JSON; ValueError naming the first field of the wrong type."""
        for name, kind in _PLAN_TYPES.items():
            if name in data and not isinstance(data[name], kind):
                raise ValueError(f"field {name!r} has a {type(data[name]).__name__} value")
        for name in (
            "phases",
            "jobs",
            "failed_stages",
            "failed_tables",
            "stopped_tables",
            "counted",
        ):
            if not all(isinstance(x, str) for x in data.get(name) or []):
                raise ValueError(f"field {name!r} is not a list of strings")
        known = {f.name for f in fields(cls)}
        out = cls(**{k: v for k, v in data.items() if k in known})
        out.state = PlanState(out.state)
        if not out.phases:
            raise ValueError("a plan without phases")
        return out

    @property
    def phase(self) -> str:
        """The phase being run (the last one once the plan has ended)."""
        return self.phases[min(self.stage, len(self.phases) - 1)]

    def finish(self, state: PlanState, message: str | None, when: float) -> None:
        self.state, self.message, self.ended_at = state, message, when


_PLAN_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "kind": str,
    "phases": list,
    "user": str,
    "created_at": (int, float),
    "missing": bool,
    "skip_preflight": bool,
    "state": str,
    "stage": int,
    "jobs": list,
    "skipped": list,
    "failed_stages": list,
    "failed_tables": list,
    "stopped_tables": list,
    "runner_pid": (int, type(None)),
    "runner_start_time": _OPT_NUM,
    "log": (str, type(None)),
    "message": (str, type(None)),
    "ended_at": _OPT_NUM,
    "strict_cascade": bool,
    "shards_per_table": (int, type(None)),
    "paused": bool,
    "quarantined": dict,
    "skipped_dates": dict,
    "degraded": dict,
    "necessity": dict,
    "coverage_before": dict,
    "coverage_after": dict,
    "shards": list,
    "failures": dict,
    "retry_at": dict,
    "phases_ready": list,
    "counted": list,
    "unfilled": dict,
    "scope": (dict, type(None)),
    "restarts": list,
    "watchdog_pid": (int, type(None)),
    "deadline": _OPT_NUM,
    "late_sent": bool,
    "forecast_end": _OPT_NUM,
    "forecast_first": _OPT_NUM,
    "forecast_first_guessed": bool,
    "forecast_at": _OPT_NUM,
    "forecast_note": str,
    "planned": dict,
    "left": dict,
    "short": dict,
}
