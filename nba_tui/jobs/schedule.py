"""Shards and waves: how a plan's missing-and-ready dates become jobs (pure, no IO).

The pipelined runner (autopilot.py) and `nba-tui run --dry-run` share these rules:

* `make_shards(dates, n)` splits a table's dates into at most `n` balanced shards, each a
  contiguous run of dates where the dates allow it (shards follow the dates' own runs first);
* `allocate(demands, slots, ...)` gives the free `jobs.max_parallel` slots to the tables that have
  dates to run: one shard to each table with none running and at least MIN_SHARD_DATES ready
  (a reader starts on its ready dates while its inputs go on: the wavefront), then one to each
  other table, upstream first (they unblock the others), then to the table with the most dates
  per shard (a table holds up to `max_parallel` shards, running ones included); a table whose
  backfill is not `shardable` never has more than one job at a time;
* `demands` + `allocate` make one tick's decision (decide.py), which the runner takes on the
  real clock and the forecast (forecast.py, `run --dry-run`) on a virtual one;
* `shard_argv` is the argv the runner launches for a shard (engine included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from nba_tui import readiness
from nba_tui.config import Pipeline
from nba_tui.coverage import DateState, Snapshot
from nba_tui.jobs.engines.registry import launch_argv

MAX_SHARD_DATES = 60
"""A pipelined shard holds at most this many dates: small shards hand their slot back often, so
the slots re-balance towards the tables whose dates just became ready (the wavefront)."""
MIN_SHARD_DATES = 4
"""...and at least this many (a shard costs a process start and a warehouse open)."""


@dataclass(frozen=True)
class Shard:
    """Some dates of one table, run by one job with its own checkpoint."""

    table: str
    dates: list[dt.date]
    index: int
    """0-based position among the table's shards of the same wave."""
    count: int

    @property
    def start(self) -> dt.date:
        return self.dates[0]

    @property
    def end(self) -> dt.date:
        return self.dates[-1]

    @property
    def contiguous(self) -> bool:
        """Its dates are a run of the expected dates (set by `make_shards`, see `runs`)."""
        return self._contiguous

    _contiguous: bool = field(default=True, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The checkpoint's shard name (backfill_argv.checkpoint_path's `{shard}`)."""
        return shard_label(self.dates)


def shard_label(dates: Sequence[dt.date]) -> str:
    """`first_last`: distinct for disjoint shards of a table (they never share both ends)."""
    return f"{min(dates).isoformat()}_{max(dates).isoformat()}"


@dataclass
class Demand:
    """One table's dates that no running or queued shard covers, for `allocate`."""

    table: str
    dates: list[dt.date]
    active: int = 0
    """Shards of this table already running, paused or queued."""
    shardable: bool = True


def runs_of(
    dates: Sequence[dt.date], expected: Sequence[dt.date] | None = None
) -> list[list[dt.date]]:
    """Sorted `dates` cut into runs of consecutive expected dates (consecutive days without
    `expected`): an off day does not cut a run, a missing game date in between does."""
    days = sorted(set(dates))
    if not days:
        return []
    pos = {d: i for i, d in enumerate(expected)} if expected else None
    out: list[list[dt.date]] = [[days[0]]]
    for prev, d in zip(days, days[1:], strict=False):
        if pos is not None and prev in pos and d in pos:
            adjacent = pos[d] == pos[prev] + 1
        else:
            adjacent = (d - prev).days == 1
        if adjacent:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def make_shards(
    dates: Sequence[dt.date], n: int, expected: Sequence[dt.date] | None = None
) -> list[list[dt.date]]:
    """At most `n` balanced shards of `dates` (sorted), contiguous runs where they exist.

    Runs are kept whole while there are more runs than shards (the smallest neighbours merge, so
    a shard's dates stay close); a long run is cut so that every shard gets about the same count."""
    days = sorted(set(dates))
    n = max(1, min(n, len(days)))
    if not days:
        return []
    runs = runs_of(days, expected)
    if len(runs) >= n:
        target = -(-len(days) // n)
        out: list[list[dt.date]] = []
        for r in runs:
            if out and len(out[-1]) + len(r) <= target or len(out) >= n:
                out[-1].extend(r)
            else:
                out.append(list(r))
        return out
    ks = [1] * len(runs)  # shards per run: one each, then to the run with most dates/shard
    for _ in range(n - len(runs)):
        i = max(range(len(runs)), key=lambda j: len(runs[j]) / ks[j])
        ks[i] += 1
    out = []
    for r, k in zip(runs, ks, strict=True):
        q, extra = divmod(len(r), k)
        pos = 0
        for i in range(k):
            step = q + (1 if i < extra else 0)
            out.append(r[pos : pos + step])
            pos += step
    return out


def allocate(
    demands: Sequence[Demand],
    slots: int,
    *,
    shards_per_table: int | None = None,
    max_dates: int | None = MAX_SHARD_DATES,
    expected: Sequence[dt.date] | None = None,
    width: int | None = None,
) -> list[Shard]:
    """Shards to start now in `slots` free slots (see the module docstring for the rules).

    With `max_dates` (pipelined), a shard holds about 1/`width` (jobs.max_parallel) of its
    table's dates, within MIN_SHARD_DATES..max_dates: a table's first shards end early, so the
    tables reading it start on those dates while it goes on (the wavefront)."""
    # a table with a shard running waits until MIN_SHARD_DATES of its dates are ready (a
    # process per date or two costs more than it brings); one with none starts at once
    want = [
        d
        for d in demands
        if d.dates and (d.active == 0 or (d.shardable and len(d.dates) >= MIN_SHARD_DATES))
    ]
    order = {d.table: i for i, d in enumerate(want)}
    given = dict.fromkeys(order, 0)

    def room(d: Demand) -> bool:
        cap = 1 if not d.shardable else (shards_per_table or width or slots) - d.active
        return given[d.table] < min(cap, -(-len(d.dates) // MIN_SHARD_DATES))

    # one each: first the tables with no shard running and a shard's worth of ready dates (a
    # reader starts on them instead of queueing behind its inputs' backlog: the wavefront;
    # smaller batches would cost a process each), then the others; upstream first
    for d in sorted(want, key=lambda d: d.active > 0 or len(d.dates) < MIN_SHARD_DATES):
        if sum(given.values()) < slots and room(d):
            given[d.table] = 1
    while sum(given.values()) < slots:  # then to the table with the most dates per shard
        open_ = [d for d in want if given[d.table] and room(d)]
        if not open_:
            break
        best = max(open_, key=lambda d: (len(d.dates) / given[d.table], -order[d.table]))
        given[best.table] += 1
    out: list[Shard] = []
    for d in want:
        n = given.get(d.table, 0)
        if n == 0:
            continue
        days = sorted(d.dates)
        if max_dates and d.shardable:
            per = -(-len(days) // max(1, width or slots))
            days = days[: n * min(max_dates, max(MIN_SHARD_DATES, per))]
        parts = make_shards(days, n, expected)
        for i, part in enumerate(parts):
            contiguous = len(runs_of(part, expected)) == 1
            out.append(Shard(d.table, part, i, len(parts), contiguous))
    return out


def shard_argv(pipeline: Pipeline, shard: Shard) -> list[str]:
    """The exact argv the runner launches for a shard: a range when its dates are contiguous,
    else `--dates`; its own checkpoint; its engine's dates and python (`registry.launch_argv`)."""
    t = pipeline.table(shard.table)
    if shard.contiguous:
        return launch_argv(pipeline, t, start=shard.start, end=shard.end, shard=shard.label)
    return launch_argv(pipeline, t, dates=shard.dates, shard=shard.label)


@dataclass
class Gate:
    """What the runner knows beyond the snapshot, for `demands`."""

    covered: dict[str, set[dt.date]] = field(default_factory=dict)
    """Dates of running, paused or queued shards, per table."""
    active: dict[str, int] = field(default_factory=dict)
    """Running, paused or queued shards per table."""
    excluded: dict[str, set[dt.date]] = field(default_factory=dict)
    """Dates not to start now: quarantined, waiting for a retry's back-off, stopped by hand."""
    started: set[str] = field(default_factory=set)
    """Tables that had a shard in this plan (strict cascade: each table runs once)."""
    only: dict[str, set[dt.date]] | None = None
    """A plan with a scope (`watch --heal`, `launch-phase --start/--end`): the only dates it
    runs, per table (None: every missing date)."""


def demands(
    pipeline: Pipeline,
    snapshot: Snapshot,
    tables: Sequence[str],
    gate: Gate,
    *,
    skip_preflight: bool = False,
    strict_cascade: bool = False,
) -> list[Demand]:
    """Per table (in the given, dependency, order) the dates that may start now.

    Pipelined: the missing-and-ready dates (`readiness.runnable`) no shard covers. Strict cascade
    (today's behaviour): a table starts once, after every table of the earlier phases finished
    and, in a `parallel: false` phase, after the phase's earlier tables finished."""

    def free(name: str) -> list[dt.date]:
        bad = gate.covered.get(name, set()) | gate.excluded.get(name, set())
        days = readiness.runnable(pipeline, snapshot, name, skip_preflight=skip_preflight)
        if gate.only is not None:
            scope = gate.only.get(name, set())
            return [d for d in days if d not in bad and d in scope]
        return [d for d in days if d not in bad]

    def shardable(name: str) -> bool:
        bf = pipeline.table(name).backfill
        return bool(bf and bf.shardable)

    if not strict_cascade:
        return [Demand(n, free(n), gate.active.get(n, 0), shardable(n)) for n in tables]
    out: list[Demand] = []
    earlier_done = True
    for phase in pipeline.phases:
        own = {t.name for t in phase.tables}
        names = [n for n in tables if n in own]  # dependency order inside the phase
        if not names:
            continue
        phase_done = True
        for name in names:
            if not earlier_done:
                phase_done = False
                continue
            if name in gate.started:
                finished = gate.active.get(name, 0) == 0
            else:
                days = free(name)
                if days:
                    out.append(Demand(name, days, gate.active.get(name, 0), False))
                finished = not days
            phase_done = phase_done and finished
            if not finished and not phase.parallel:
                earlier_done = False  # the phase's later tables wait (the seed's cascade)
        earlier_done = earlier_done and phase_done
    return out


def filled(snapshot: Snapshot, done: dict[str, list[dt.date]]) -> Snapshot:
    """The snapshot as it would read once `done`'s dates have rows (for the forecast)."""
    tables = dict(snapshot.tables)
    for name, days in done.items():
        cov = tables[name]
        states = dict(cov.states)
        for d in days:
            if states.get(d) is DateState.MISSING:
                states[d] = DateState.PRESENT
        present = cov.present + sum(1 for d in days if cov.states.get(d) is DateState.MISSING)
        tables[name] = replace(cov, states=states, present=present)
    return replace(snapshot, tables=tables)
