"""Plans: which tables to backfill, with which dates, in which order (typed records + pure rules).

A plan is a phase launch (`launch_phase`: its jobs queued at once) or a chained run (`run_phases`:
each phase queued when its preflight passes). It is stored like a job, one JSON file per plan
(see store.py), and advanced by the detached plan runner (runner.py). Everything here is pure:

* `plan_phase` picks the phase's tables that have a backfill and are short (or all of them),
  in dependency order (`pipeline.topological_order()`, graphlib), with their missing dates;
* `startable` decides which queued jobs of a stage may start now: a free slot under
  `jobs.max_parallel` (counting every running or paused job of the pipeline, whoever launched
  it), one at a time in a non-parallel phase (the seed's cascade), and never before the jobs of
  the tables it reads (inside the same plan) have finished;
* `blocked` names the queued jobs that can never start because a job they read from failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nba_tui.jobs.model import JobState, JobView

if TYPE_CHECKING:  # only annotations: the shim imports store -> plans and must start fast
    from nba_tui.config import Pipeline


class PlanState(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
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
    """`phase` (launch_phase: jobs queued at once) or `run` (phases chained behind preflight)."""
    phases: list[str]
    user: str
    created_at: float
    missing: bool = True
    skip_preflight: bool = False
    state: PlanState = PlanState.RUNNING
    stage: int = 0
    """Index in `phases` of the phase being run."""
    stage_queued: bool = False
    """The current phase's jobs are queued (else the runner is waiting for its preflight)."""
    stage_jobs: dict[str, list[str]] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    """Tables not queued: {"table": name, "reason": one line}."""
    failed_stages: list[str] = field(default_factory=list)
    runner_pid: int | None = None
    runner_start_time: float | None = None
    log: str | None = None
    message: str | None = None
    ended_at: float | None = None

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["state"] = str(self.state)
        return d

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        known = {f.name for f in dataclasses.fields(cls)}
        out = cls(**{k: v for k, v in data.items() if k in known})
        out.state = PlanState(out.state)
        return out

    @property
    def phase(self) -> str:
        """The phase being run (the last one once the plan has ended)."""
        return self.phases[min(self.stage, len(self.phases) - 1)]

    def finish(self, state: PlanState, message: str | None, when: float) -> None:
        self.state, self.message, self.ended_at = state, message, when


def runner_argv(pipeline: Pipeline, plan_id: str) -> list[str]:
    """The detached plan runner's command line (see jobs/runner.py)."""
    return [sys.executable, "-m", "nba_tui.jobs.runner", str(pipeline.source), plan_id]


def phase_tables(pipeline: Pipeline, phase: str) -> list[str]:
    """The phase's tables with a backfill, inputs before the tables derived from them."""
    own = {t.name for t in pipeline.phase(phase).tables if t.backfill is not None}
    return [n for n in pipeline.topological_order() if n in own]


def plan_phase(
    pipeline: Pipeline, snapshot: Any, phase: str, missing: bool = True
) -> list[PlannedJob]:
    """Jobs for `phase`: short tables with their missing dates, or every table's whole range."""
    out = []
    for name in phase_tables(pipeline, phase):
        if not missing:
            out.append(PlannedJob(name))
            continue
        cov = snapshot.tables.get(name)
        if cov is None or not cov.missing:
            continue
        span = cov.gap_span()
        if span:  # one contiguous gap: ask for the range, not hundreds of --dates
            out.append(PlannedJob(name, None, *span))
        else:
            out.append(PlannedJob(name, list(cov.missing)))
    return out


def order_phases(pipeline: Pipeline, phases: Sequence[str]) -> list[str]:
    """Requested phases in pipeline (dependency) order; unknown names raise KeyError."""
    for p in phases:
        pipeline.phase(p)
    wanted = set(phases)
    return [p.name for p in pipeline.phases if p.name in wanted]


def _waiting(v: JobView) -> bool:
    return v.state is JobState.QUEUED and v.record.shim_pid is None


def startable(
    pipeline: Pipeline,
    phase: str,
    stage: Sequence[JobView],
    running_now: int,
    max_parallel: int | None = None,
) -> list[str]:
    """Queued jobs of the stage that may start now (see the module docstring for the rules)."""
    slots = (max_parallel or pipeline.jobs.max_parallel) - running_now
    started = [v for v in stage if v.record.pid is not None or v.record.shim_pid is not None]
    if not pipeline.phase(phase).parallel:
        slots = min(slots, 0 if any(v.state.active for v in started) else 1)
    by_table = {v.record.table: v for v in stage}
    out: list[str] = []
    for v in stage:
        if len(out) >= slots:
            break
        if not _waiting(v):
            continue
        deps = [by_table[d] for d in pipeline.table(v.record.table).all_inputs if d in by_table]
        if all(d.state is JobState.DONE for d in deps):
            out.append(v.id)
    return out


def blocked(pipeline: Pipeline, stage: Sequence[JobView]) -> dict[str, str]:
    """Queued jobs that can never start because a job they read from failed: id -> reason."""
    by_table = {v.record.table: v for v in stage}
    out = {}
    for v in stage:
        if not _waiting(v):
            continue
        for d in pipeline.table(v.record.table).all_inputs:
            dep = by_table.get(d)
            if dep is not None and not dep.state.active and dep.state is not JobState.DONE:
                out[v.id] = f"input {d} ended {dep.state}"
    return out
