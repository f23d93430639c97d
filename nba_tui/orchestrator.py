"""Plans: which tables to backfill, with which dates, in which order — and the detached runner.

Pure planning (no IO) is separated from the runner loop so it can be tested without processes:

* `plan_phase` picks the phase's tables that have a backfill and are short (or all of them),
  in dependency order (`pipeline.topological_order()`, graphlib), with their missing dates;
* `startable` decides which queued jobs of a stage may start now: a free slot under
  `jobs.max_parallel` (counting every running or paused job of the pipeline, whoever launched
  it), one at a time in a non-parallel phase (the seed's cascade), and never before the jobs of
  the tables it reads (inside the same plan) have finished;
* `run_plan` is the loop of the detached plan runner (`python -m nba_tui.orchestrator CONFIG
  PLAN`), started like a job's shim in its own session, so a plan goes on when the dashboard that
  launched it is killed. A chained run (`nba-tui run phase3 phase4`) waits for each phase's
  preflight before queueing it: the seed's "auto-trigger Phase 4 after Phase 3 validates".

Importable without Textual (and without the supervisor until the runner needs it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nba_tui.config import Pipeline

if TYPE_CHECKING:  # pragma: no cover
    from nba_tui.jobs.model import JobView
    from nba_tui.jobs.supervisor import Supervisor

PREFLIGHT_RETRIES = 3
"""Polls a chained run waits for a phase's preflight once nothing feeds its inputs any more."""


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
    state: str = "running"
    """running, done, failed, cancelled; `lost` when the runner vanished while running."""
    stage: int = 0
    stage_queued: bool = False
    stage_jobs: dict[str, list[str]] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    failed_stages: list[str] = field(default_factory=list)
    runner_pid: int | None = None
    runner_start_time: float | None = None
    log: str | None = None
    message: str | None = None
    ended_at: float | None = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def phase(self) -> str:
        return self.phases[min(self.stage, len(self.phases) - 1)]


# -- pure planning -------------------------------------------------------------------------------


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
        if span:
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


def startable(
    pipeline: Pipeline,
    phase: str,
    stage: Sequence[JobView],
    running_now: int,
    max_parallel: int | None = None,
) -> list[str]:
    """Queued jobs of the stage that may start now (see the module docstring for the rules)."""
    from nba_tui.jobs.model import JobState

    slots = (max_parallel or pipeline.jobs.max_parallel) - running_now
    started = [v for v in stage if v.record.pid is not None or v.record.shim_pid is not None]
    if not pipeline.phase(phase).parallel:
        slots = min(slots, 0 if any(v.state.active for v in started) else 1)
    by_table = {v.record.table: v for v in stage}
    out: list[str] = []
    for v in stage:
        if len(out) >= slots:
            break
        if v.state is not JobState.QUEUED or v.record.shim_pid is not None:
            continue
        deps = [by_table[d] for d in pipeline.table(v.record.table).all_inputs if d in by_table]
        if all(d.state is JobState.DONE for d in deps):
            out.append(v.id)
    return out


def blocked(pipeline: Pipeline, stage: Sequence[JobView]) -> dict[str, str]:
    """Queued jobs that can never start because a job they read from failed: id -> reason."""
    from nba_tui.jobs.model import JobState

    by_table = {v.record.table: v for v in stage}
    out = {}
    for v in stage:
        if v.state is not JobState.QUEUED or v.record.shim_pid is not None:
            continue
        for d in pipeline.table(v.record.table).all_inputs:
            dep = by_table.get(d)
            if dep is not None and not dep.state.active and dep.state is not JobState.DONE:
                out[v.id] = f"input {d} ended {dep.state}"
    return out


# -- starting a plan (called by the Supervisor) --------------------------------------------------


def start_plan(
    sup: Supervisor,
    kind: str,
    phases: list[str],
    *,
    planned: list[PlannedJob] | None,
    missing: bool,
    skip_preflight: bool,
) -> Plan:
    from nba_tui.jobs import actions
    from nba_tui.jobs.shim import create_time
    from nba_tui.jobs.store import open_log

    sup.store.ensure()
    while True:
        pid_ = "p" + secrets.token_hex(3)
        if not sup.store.plan_path(pid_).exists():
            break
    plan = Plan(pid_, kind, list(phases), sup.user, time.time(), missing, skip_preflight)
    sup.store.save_plan(plan.to_json())
    if planned is not None:
        queue_stage(sup, plan.id, phases[0], planned)
        plan = Plan.from_json(sup.store.load_plan(plan.id) or plan.to_json())
        if not plan.jobs:
            why = "; ".join(f"{s['table']}: {s['reason']}" for s in plan.skipped)
            sup.store.update_plan(plan.id, lambda p: p.update(state="cancelled", message=why))
            from nba_tui.jobs.supervisor import JobError

            raise JobError(f"nothing queued: {why}")
    log = open_log(sup.pipeline.log_dir, f"plan_{plan.id}")
    from nba_tui.jobs.supervisor import spawn_detached

    proc = spawn_detached(
        [sys.executable, "-m", "nba_tui.orchestrator", str(sup.pipeline.source), plan.id],
        log,
        sup.pipeline.base_dir,
    )
    ct = create_time(proc.pid)
    data = sup.store.update_plan(
        plan.id, lambda p: p.update(runner_pid=proc.pid, runner_start_time=ct, log=str(log))
    )
    plan = Plan.from_json(data or plan.to_json())
    actions.record(
        sup.store,
        user=sup.user,
        action="plan",
        plan=plan.id,
        kind=kind,
        phases=phases,
        jobs=plan.jobs,
        skipped=plan.skipped or None,
        missing=missing,
        skip_preflight=skip_preflight,
        argv=[sys.executable, "-m", "nba_tui.orchestrator", str(sup.pipeline.source), plan.id],
    )
    return plan


def queue_stage(sup: Supervisor, plan_id: str, phase: str, planned: list[PlannedJob]) -> None:
    """Create QUEUED records for the stage (each under its table lock; active tables skipped)."""
    from nba_tui import commands
    from nba_tui.jobs.supervisor import JobError

    ids, skipped = [], []
    for pj in planned:
        t = sup.pipeline.table(pj.table)
        argv = commands.render_argv(sup.pipeline, t, start=pj.start, end=pj.end, dates=pj.dates)
        start = pj.start or sup.pipeline.range.start
        end = pj.end or sup.pipeline.range.end
        try:
            rec = sup._create(
                t,
                argv,
                start=None if pj.dates else start.isoformat(),
                end=None if pj.dates else end.isoformat(),
                dates=[d.isoformat() for d in pj.dates] if pj.dates else None,
                plan=plan_id,
            )
        except JobError as e:
            skipped.append({"table": pj.table, "reason": str(e)})
            continue
        ids.append(rec.id)

    def apply(p: dict) -> None:
        p["jobs"] = [*p.get("jobs", []), *ids]
        p.setdefault("stage_jobs", {})[phase] = ids
        p["skipped"] = [*p.get("skipped", []), *skipped]
        p["stage_queued"] = True

    sup.store.update_plan(plan_id, apply)


# -- the runner loop -----------------------------------------------------------------------------


def run_plan(pipeline: Pipeline, plan_id: str, tick: float = 0.2) -> int:
    """Start queued jobs as slots free; chain stages behind preflight; exit when all ended."""
    from nba_tui.jobs.model import JobState
    from nba_tui.jobs.supervisor import JobError, Supervisor

    data = Supervisor(pipeline).store.load_plan(plan_id)
    if data is None:
        print(f"no plan {plan_id}", flush=True)
        return 2
    sup = Supervisor(pipeline, user=data.get("user"))
    store = sup.store
    waits = 0
    while True:
        plan = Plan.from_json(store.load_plan(plan_id) or data)
        if plan.state != "running":
            print(f"plan {plan_id} {plan.state}", flush=True)
            return 0
        phase = plan.phase
        if not plan.stage_queued:
            planned, why = _gate(sup, plan, phase)
            if planned is None:
                waits += 1
                store.update_plan(plan_id, lambda p, w=why: p.update(message=w))
                feeding = _inputs_active(sup, phase)
                if why.startswith("preflight") and not feeding and waits > PREFLIGHT_RETRIES:
                    _finish(sup, plan_id, "failed", why)
                    return 1
                time.sleep(min(pipeline.poll.interval, 5.0))
                continue
            waits = 0
            print(f"stage {phase}: {[p.table for p in planned]}", flush=True)
            queue_stage(sup, plan_id, phase, planned)
            continue
        ids = plan.stage_jobs.get(phase, [])
        views = []
        for i in ids:
            try:
                views.append(sup.job(i))
            except JobError:
                continue
        for jid, reason in blocked(pipeline, views).items():
            sup._mark_stopped(jid, f"not started: {reason}", time.monotonic())
        running = sum(1 for v in sup.jobs() if v.state in (JobState.RUNNING, JobState.PAUSED))
        for jid in startable(pipeline, phase, views, running):
            try:
                v = sup.start_queued(jid)
                print(f"started {v.record.table} job {jid} pid {v.record.pid}", flush=True)
            except JobError as e:
                print(f"cannot start {jid}: {e}", flush=True)
        if all(not v.state.active for v in views):
            ok = all(v.state is JobState.DONE for v in views)
            if not ok:
                store.update_plan(plan_id, lambda p, ph=phase: p["failed_stages"].append(ph))
            if plan.stage + 1 < len(plan.phases):
                store.update_plan(
                    plan_id, lambda p: p.update(stage=p["stage"] + 1, stage_queued=False)
                )
                continue
            failed = plan.failed_stages or ([] if ok else [phase])
            _finish(
                sup,
                plan_id,
                "failed" if failed else "done",
                f"failed: {failed}" if failed else None,
            )
            return 0 if not failed else 1
        time.sleep(tick)


def _gate(sup: Supervisor, plan: Plan, phase: str) -> tuple[list[PlannedJob] | None, str]:
    """For a chained run: a fresh snapshot, the phase's preflight, then its jobs (or why not)."""
    from nba_tui import preflight
    from nba_tui.monitor import Monitor

    mon = Monitor(sup.pipeline)
    try:
        res = mon.poll_once()
    finally:
        mon.close()
    if res.snapshot is None:
        return None, f"warehouse: {res.error}"
    if not plan.skip_preflight:
        report = preflight.check(sup.pipeline, res.snapshot, phase)
        if not report.ready:
            return None, f"preflight for {phase}: " + "; ".join(report.degradation())
    return plan_phase(sup.pipeline, res.snapshot, phase, plan.missing), ""


def _inputs_active(sup: Supervisor, phase: str) -> bool:
    inputs = {t.name for t in sup.pipeline.phase_inputs(phase)}
    return any(v.state.active and v.record.table in inputs for v in sup.jobs())


def _finish(sup: Supervisor, plan_id: str, state: str, message: str | None) -> None:
    sup.store.update_plan(
        plan_id, lambda p: p.update(state=state, message=message, ended_at=time.time())
    )
    print(f"plan {plan_id} {state} {message or ''}", flush=True)


def main(argv: list[str] | None = None) -> int:
    from nba_tui import config

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m nba_tui.orchestrator CONFIG PLAN_ID", file=sys.stderr)
        return 2
    return run_plan(config.load(args[0]), args[1])


if __name__ == "__main__":
    raise SystemExit(main())
