"""Plans: which tables to backfill, with which dates, in which order (typed records + pure rules).

A plan is a phase launch (`launch_phase`: one job per short table queued up front, its "reserved"
jobs), a heal (`watch --heal`: the same, over the gaps found) or a run (`run_phases`: shards made
as dates become ready). It is stored like a job, one JSON file per plan (see store.py), and every
kind is advanced by the same scheduler (runner.py -> autopilot.py -> decide.py). Pure here:

* `plan_phase` picks the phase's tables that have a backfill and are short (or all of them),
  in dependency order (`pipeline.topological_order()`, graphlib), with their missing dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only annotations: the shim imports store -> plans and must start fast
    from nba_tui.config import Pipeline


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
class PlannedJob:
    table: str
    dates: list[dt.date] | None = None
    """None: a range (`start`..`end`, default the pipeline's)."""
    start: dt.date | None = None
    end: dt.date | None = None


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
    """One entry per shard job: job, table, dates (first/last/count), attempt, exit_code,
    duration, state (filled in as the shards end)."""
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
        d = dataclasses.asdict(self)
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
        known = {f.name for f in dataclasses.fields(cls)}
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


_OPT_NUM = (int, float, type(None))
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

RESTART_WINDOW = 600.0
"""Restarts of a plan's runner counted for its back-off and limit (systemd's StartLimitInterval)."""
RESTART_LIMIT = 20
"""At most this many automatic restarts in `RESTART_WINDOW`; then the plan waits for a human."""
RESTART_MAX_WAIT = 16.0
"""The back-off between restarts doubles from 1 s up to this (a lost plan waits < 30 s)."""


def restart_wait(plan: Plan, now: float) -> float | None:
    """Seconds until the plan's runner may be restarted (0: now); None once `RESTART_LIMIT`
    restarts happened in the last `RESTART_WINDOW` (a crash loop: a human must look)."""
    recent = [r.get("at", 0.0) for r in plan.restarts if isinstance(r, dict)]
    recent = sorted(t for t in recent if isinstance(t, (int, float)) and now - t < RESTART_WINDOW)
    if len(recent) >= RESTART_LIMIT:
        return None
    if not recent:
        return 0.0
    backoff = min(2.0 ** (len(recent) - 1), RESTART_MAX_WAIT)
    return max(0.0, recent[-1] + backoff - now)


def restarts_note(restarts: list[dict]) -> str:
    """'runner restarted 2 times (last 03:41:07 UTC by watchdog)': adoptions of a plan whose
    runner died (jobs/watchdog.py); shown by `plans` and the report."""
    last = restarts[-1] if isinstance(restarts[-1], dict) else {}
    at = last.get("at")
    when = time.strftime("%H:%M:%S UTC", time.gmtime(at)) if isinstance(at, (int, float)) else "?"
    n = len(restarts)
    return f"runner restarted {n} time{'s' if n != 1 else ''} (last {when} by {last.get('by')})"


def runner_argv(pipeline: Pipeline, plan_id: str) -> list[str]:
    """The detached plan runner's command line (see jobs/runner.py)."""
    return [sys.executable, "-m", "nba_tui.jobs.runner", str(pipeline.source), plan_id]


def watchdog_argv(pipeline: Pipeline, plan_id: str) -> list[str]:
    """The plan's watchdog's command line (see jobs/watchdog.py)."""
    return [sys.executable, "-m", "nba_tui.jobs.watchdog", str(pipeline.source), plan_id]


def phase_tables(pipeline: Pipeline, phase: str) -> list[str]:
    """The phase's tables with a backfill, inputs before the tables derived from them."""
    own = {t.name for t in pipeline.phase(phase).tables if t.backfill is not None}
    return [n for n in pipeline.topological_order() if n in own]


def missing_job(pipeline: Pipeline, snapshot: Any, name: str) -> PlannedJob | None:
    """The table's missing dates something can fill (`readiness.fillable_missing`: the one
    rule), as one job: a range when they are all of its one gap, else a date list. None when
    there is none (no missing date, or none that can ever be filled)."""
    from nba_tui import readiness

    cov = snapshot.tables.get(name)
    if cov is None or not cov.missing:
        return None
    dates = readiness.fillable_missing(pipeline, snapshot, name)
    if not dates:
        return None
    span = cov.gap_span()
    if span and len(dates) == len(cov.missing):  # ask for the range, not hundreds of --dates
        return PlannedJob(name, None, *span)
    return PlannedJob(name, dates)


def plan_phase(
    pipeline: Pipeline, snapshot: Any, phase: str, missing: bool = True
) -> list[PlannedJob]:
    """Jobs for `phase`: short tables with their fillable missing dates (`missing_job`), or
    every table's whole range."""
    out = []
    for name in phase_tables(pipeline, phase):
        job = missing_job(pipeline, snapshot, name) if missing else PlannedJob(name)
        if job is not None:
            out.append(job)
    return out


def scope_of(snapshot: Any, planned: Sequence[PlannedJob]) -> dict[str, list[str]]:
    """Table -> the dates a plan of these jobs may run: each job's dates, or the expected dates
    of its range (the snapshot's range when it has none)."""
    out = {}
    for pj in planned:
        days = sorted(snapshot.tables[pj.table].states)
        if pj.dates is not None:
            days = sorted(pj.dates)
        elif days:
            lo, hi = pj.start or days[0], pj.end or days[-1]
            days = [d for d in days if lo <= d <= hi]
        out[pj.table] = [d.isoformat() for d in days]
    return out


def order_phases(pipeline: Pipeline, phases: Sequence[str]) -> list[str]:
    """Requested phases in pipeline (dependency) order; unknown names raise KeyError."""
    for p in phases:
        pipeline.phase(p)
    wanted = set(phases)
    return [p.name for p in pipeline.phases if p.name in wanted]


def no_fillable_reason(pipeline: Pipeline, snapshot: Any, name: str) -> str:
    """Why a gap-only launch of `name` has nothing to do: no missing date in the range, or
    missing dates nothing can fill (and why)."""
    from nba_tui import readiness

    cov = snapshot.tables.get(name)
    if cov is None:
        return f"no coverage for {name!r} in the snapshot"
    if not cov.missing:
        exp = getattr(snapshot, "expected_dates", None)
        span = f"{exp[0]}..{exp[-1]}" if exp else "the range"
        return f"{name} has no missing dates in {span}"
    why = readiness.why_never(readiness.outlook(pipeline, snapshot, name))
    return f"{name}: none of its {len(cov.missing)} missing dates can be filled: {why}"
