"""The plan runner's per-tick decision, as a pure function (no IO, no clock, no processes).

`decide(pipeline, snapshot, plan, members, slots, now)` answers "what starts now?" from what the
runner knows at one tick: the coverage poll, the plan (its quarantined and unfilled dates, its
retries' back-off, its stopped tables, its mode and scope), the plan's jobs (`Member`s) and the
free `max_parallel` slots. The plan runner (jobs/autopilot.py) calls it every tick with the
wall clock; a forecast calls it on a virtual clock with simulated members and snapshots, so the
forecast and the real run cannot disagree about order.

Two kinds of work come out of it:

* **shards**: the missing-and-ready dates no job of the plan covers (`schedule.demands`), packed
  into the free slots (`schedule.allocate`) — the pipelined run, or the strict cascade;
* **reserved jobs**: jobs a plan queued up front (`launch-phase`, `watch --heal`: one job per
  table, its ids shown at launch). One starts when a slot is free, no job of the plan for one
  of its inputs is still to run or running, and every date of it the table lacks is ready.
  When nothing of the plan runs (and no retry is waiting) a reserved job that still cannot
  start is **released**: it never runs, and its table's ready dates go to shards like any other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from nba_tui.config import Pipeline
from nba_tui.coverage import DateState, Snapshot
from nba_tui.jobs import schedule
from nba_tui.jobs.facts import record_dates
from nba_tui.jobs.model import JobState, JobView, Plan
from nba_tui.jobs.plans import phase_tables

MAX_ROUNDS = 500
"""`reachable` stops after this many simulated ticks (each fills at least one date)."""


@dataclass(frozen=True)
class Member:
    """One job of the plan, as the decision sees it."""

    id: str
    table: str
    dates: frozenset[dt.date]
    active: bool
    """Running, paused, or queued and taken by its shim: it covers its dates and takes a slot."""
    reserved: bool = False
    """Queued up front by the plan and never started (see the module docstring)."""


def member(v: JobView) -> Member:
    """A job of the plan as `decide` sees it."""
    r = v.record
    reserved = v.state is JobState.QUEUED and r.shim_pid is None and not r.shard
    active = v.state.active and not reserved
    return Member(v.id, r.table, frozenset(record_dates(r)), active, reserved)


@dataclass
class Decision:
    shards: list[schedule.Shard] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    """Reserved jobs to start now (ids)."""
    release: list[str] = field(default_factory=list)
    """Reserved jobs that will never start (ids): their ready dates go to shards from now on."""

    def __bool__(self) -> bool:
        return bool(self.shards or self.start or self.release)


def plan_tables(pipeline: Pipeline, plan: Plan) -> list[str]:
    """The tables the plan schedules, in dependency order: its phases' tables with a backfill,
    only those of its scope when it has one."""
    tables = phase_tables(pipeline, *plan.phases)
    if plan.scope is None:
        return tables
    return [t for t in tables if t in plan.scope]


def gate(plan: Plan, members: Sequence[Member], now: float) -> schedule.Gate:
    """What keeps dates from starting now beyond the snapshot: the dates active jobs cover,
    quarantined and unfilled dates, dates in a retry's back-off at `now`, the plan's scope."""
    g = schedule.Gate()
    for m in members:
        if m.reserved:
            continue
        g.started.add(m.table)
        if m.active:
            g.active[m.table] = g.active.get(m.table, 0) + 1
            g.covered.setdefault(m.table, set()).update(m.dates)
    for table, days in [*plan.quarantined.items(), *plan.unfilled.items()]:
        g.excluded.setdefault(table, set()).update(map(dt.date.fromisoformat, days))
    for table, when in plan.retry_at.items():
        later = {dt.date.fromisoformat(d) for d, t in when.items() if t > now}
        g.excluded.setdefault(table, set()).update(later)
    if plan.scope is not None:
        g.only = {t: set(map(dt.date.fromisoformat, days)) for t, days in plan.scope.items()}
    return g


def waiting_retry(plan: Plan, now: float) -> bool:
    """Is a failed date waiting for its back-off at `now` (and not quarantined)?"""
    return any(
        t > now and d not in plan.quarantined.get(table, [])
        for table, when in plan.retry_at.items()
        for d, t in when.items()
    )


def decide(
    pipeline: Pipeline,
    snapshot: Snapshot,
    plan: Plan,
    members: Sequence[Member],
    slots: int,
    now: float,
) -> Decision:
    """What the plan starts at `now` (pure: the same inputs give the same answer; see the module
    docstring). `slots`: free `max_parallel` slots (running or paused jobs of the pipeline, and
    the plan's jobs being started, already taken off)."""
    out = Decision()
    if plan.paused:
        return out
    tables = [t for t in plan_tables(pipeline, plan) if t not in plan.stopped_tables]
    want = schedule.demands(
        pipeline,
        snapshot,
        tables,
        gate(plan, members, now),
        skip_preflight=plan.skip_preflight,
        strict_cascade=plan.strict_cascade,
    )
    slots = _reserved(pipeline, snapshot, plan, members, want, slots, now, out)
    held = {m.table for m in members if m.reserved}
    want = [d for d in want if d.table not in held]
    if slots <= 0:
        return out
    out.shards = schedule.allocate(
        want,
        slots,
        shards_per_table=1 if plan.strict_cascade else plan.shards_per_table,
        max_dates=None if plan.strict_cascade else schedule.MAX_SHARD_DATES,
        expected=snapshot.expected_dates,
        width=pipeline.jobs.max_parallel,
    )
    return out


def first_tick(
    pipeline: Pipeline,
    snapshot: Snapshot,
    phases: list[str],
    *,
    skip_preflight: bool = False,
    strict_cascade: bool = False,
    shards: int | None = None,
    now: float = 0.0,
) -> Decision:
    """What a new `run` plan of `phases` would start on this snapshot (its dry run's first
    wave): empty when `run` would have nothing to do."""
    trial = Plan("p000000", "run", phases, "", now, True, skip_preflight)
    trial.strict_cascade, trial.shards_per_table = strict_cascade, shards
    return decide(pipeline, snapshot, trial, [], pipeline.jobs.max_parallel, now)


def reachable(pipeline: Pipeline, snapshot: Snapshot, plan: Plan) -> dict[str, set[dt.date]]:
    """The dates a plan with no job yet would run if every job succeeded (its dry run): the
    first tick's shards, then the next tick's on the snapshot as those dates would read, until
    nothing more starts. What `watch --heal` can heal; the rest waits for something else."""
    out: dict[str, set[dt.date]] = {}
    snap = snapshot
    slots = max(1, pipeline.jobs.max_parallel)
    for _ in range(MAX_ROUNDS):
        shards = decide(pipeline, snap, plan, [], slots, plan.created_at).shards
        if not shards:
            break
        done: dict[str, list[dt.date]] = {}
        for s in shards:
            done.setdefault(s.table, []).extend(s.dates)
            out.setdefault(s.table, set()).update(s.dates)
        snap = schedule.filled(snap, done)
    return out


def _reserved(
    pipeline: Pipeline,
    snapshot: Snapshot,
    plan: Plan,
    members: Sequence[Member],
    want: Sequence[schedule.Demand],
    slots: int,
    now: float,
    out: Decision,
) -> int:
    """Reserved jobs to start or release (into `out`); the slots left."""
    reserved = [m for m in members if m.reserved]
    if not reserved:
        return slots
    ready = {d.table: set(d.dates) for d in want}
    order = {n: i for i, n in enumerate(pipeline.topological_order())}
    pending = {m.table for m in members if m.active or m.reserved}
    idle = not any(m.active for m in members) and not waiting_retry(plan, now)
    for m in sorted(reserved, key=lambda m: order.get(m.table, 0)):
        inputs = set(pipeline.table(m.table).all_inputs) - {m.table}
        if inputs & pending:
            continue  # its inputs' jobs in this plan go first
        cov = snapshot.tables.get(m.table)
        lacks = {d for d in m.dates if cov is not None and cov.states.get(d) is DateState.MISSING}
        if lacks <= ready.get(m.table, set()) and m.table not in plan.stopped_tables:
            if slots > 0:
                out.start.append(m.id)
                slots -= 1
                idle = False
        elif idle and not out.start:
            out.release.append(m.id)
            pending.discard(m.table)
    return slots
