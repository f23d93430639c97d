"""The forecast: when will a plan end? (pure: no Textual, no warehouse, no processes).

Two parts:

* `learn` turns this pipeline's own jobs into seconds per date per table. Ended shards give a
  fit of `overhead + dates x seconds_per_date` (their records: dates asked, unpaused running
  time); a running shard's progress lines (its dates done over its running time) count with
  them, weighted by dates, so a night without history uses its first shards' rates as soon
  as they exist. A table with neither borrows the median of the others (`source`: "guess").
* `simulate` plays the plan on a virtual clock through the runner's own per-tick decision
  (`decide.decide`: readiness, look-backs, the free `max_parallel` slots, shard sizes, reserved
  jobs, quarantined dates and the retries' back-off at the virtual `now`), so the forecast and
  the real run cannot disagree about order. Every shard is taken to succeed; a shard running
  now fills the dates the warehouse still lacks and ends when a shard of its size would, or
  later when it runs behind (`running_now`). A shard's dates fill in steps while it runs
  (`FILLS`), as the runner's polls see a program write them, so readers start on them before
  it ends.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from nba_tui.config import Pipeline
from nba_tui.coverage import DateState, Snapshot
from nba_tui.jobs import decide, facts, schedule
from nba_tui.jobs.model import JobState, JobView, Plan
from nba_tui.jobs.plans import order_phases

GUESS_SECONDS = 1.0
"""Seconds per date of a table when no table of the pipeline has any history or live rate."""
OVERHEAD = 1.0
"""Seconds a shard costs beyond its dates (a process start, a warehouse open), until the
pipeline's own ended shards tell (`Rates.overhead`)."""
HANDOFF = 0.3
"""Seconds between a slot freeing and the runner starting the next shard (its tick's poll),
until the pipeline's own jobs tell (`Rates.handoff`)."""
HANDOFF_MAX = 10.0
"""A start further than this after the last end was not waiting for that slot."""
EVERY = 10.0
"""Seconds between two forecasts of a running plan by its runner."""
FILLS = 4
"""A simulated shard fills its dates in this many steps (each at least MIN_SHARD_DATES)."""
MAX_EVENTS = 20_000
"""A simulation stops after this many shard starts (`Forecast.complete` is then false)."""


@dataclass
class Rates:
    """Seconds per date per table, and where each figure comes from."""

    per_date: dict[str, float] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    """table -> "history" (ended shards), "live" (running shards' progress) or "guess"."""
    overhead: float = 0.0
    """Seconds a shard costs beyond its dates (process start, warehouse open)."""
    handoff: float = HANDOFF

    def of(self, table: str) -> float:
        if table in self.per_date:
            return self.per_date[table]
        known = list(self.per_date.values())
        return statistics.median(known) if known else GUESS_SECONDS

    def seconds(self, table: str, n: int) -> float:
        """How long a shard of `n` dates of `table` runs."""
        return self.overhead + n * self.of(table)

    def guessed(self, tables: Iterable[str]) -> list[str]:
        """The tables among `tables` whose rate is a guess (no history, no running shard)."""
        return [t for t in tables if self.source.get(t) not in ("history", "live")]


def record_dates(view: JobView, expected: set[dt.date] | None = None) -> int:
    """Dates a shard's record asks for (of a range: the expected dates in it)."""
    return facts.date_count(view.record, expected)


def _fit(points: dict[str, Sequence[tuple[int, float]]]) -> tuple[float, dict[str, float]]:
    """One overhead shared by every table and seconds per date per table, by least squares over
    each table's (dates, seconds) of ended shards: seconds = overhead + dates x rate(table).

    With the overhead fixed, each table's rate is its least-squares slope through it; the
    overhead is then the one that minimises the squared error over every shard (closed form).
    When no table has shards of different sizes the overhead cannot be told from the rates: the
    default `OVERHEAD` is kept, so a shard of the sizes seen is still predicted at what it took.
    The overhead stays within 0 and the shortest shard's seconds."""
    pts = {t: p for t, p in points.items() if p and sum(n * n for n, _ in p) > 0}
    a = {t: sum(n * s for n, s in p) / sum(n * n for n, _ in p) for t, p in pts.items()}
    b = {t: sum(n for n, _ in p) / sum(n * n for n, _ in p) for t, p in pts.items()}
    num = sum((s - n * a[t]) * (1 - n * b[t]) for t, p in pts.items() for n, s in p)
    den = sum((1 - n * b[t]) ** 2 for t, p in pts.items() for n, _ in p)
    over = num / den if den > 1e-9 else OVERHEAD
    if pts:
        over = min(max(0.0, over), min(s for p in pts.values() for _, s in p))
    return over, {t: max(0.0, a[t] - over * b[t]) for t in pts}


def learn(
    views: Iterable[JobView],
    expected: set[dt.date] | None = None,
    *,
    history: int = 40,
    now: float | None = None,
) -> Rates:
    """Rates from ended shards (the last `history` done ones per table) and running ones (their
    dates done so far over their running time less a shard's overhead), weighted by dates."""
    done: dict[str, list[tuple[int, float]]] = {}
    live: dict[str, list[tuple[int, float]]] = {}
    now = time.time() if now is None else now
    for v in sorted(views, key=lambda v: v.record.ended_at or 0.0):
        r = v.record
        if r.state is JobState.DONE and r.started_at and r.ended_at:
            n = record_dates(v, expected)
            took = r.ended_at - r.started_at - (r.paused_total or 0.0)
            if n > 0 and took > 0:
                done.setdefault(r.table, []).append((n, took))
        elif r.state is JobState.RUNNING and r.started_at and v.progress.done > 0:
            ran = now - r.started_at - (r.paused_total or 0.0)
            live.setdefault(r.table, []).append((v.progress.done, ran))
    out = Rates()
    # what a shard costs beyond its dates (start, commit, exit) is one figure for the pipeline
    out.overhead, fitted = _fit({t: p[-history:] for t, p in done.items()})
    for table, rate in fitted.items():
        out.per_date[table], out.source[table] = rate, "history"
    for table, points in live.items():
        n = sum(p[0] for p in points)
        rate = max(0.0, sum(p[1] - out.overhead for p in points)) / n
        known = sum(p[0] for p in done.get(table, [])[-history:])
        old = out.per_date.get(table, rate)
        out.per_date[table] = (old * known + rate * n) / (known + n)
        out.source[table] = "history" if known else "live"
    out.handoff = _handoff(views) or HANDOFF
    return out


def _handoff(views: Iterable[JobView], last: int = 200) -> float | None:
    """The median time from a job's end to the next job's start (the runner's tick), over
    the `last` jobs started; None without such a pair."""
    recs = sorted((v.record for v in views), key=lambda r: r.started_at or 0.0)[-last:]
    ends = sorted(r.ended_at for r in recs if r.ended_at)
    gaps = []
    for r in recs:
        i = bisect.bisect_right(ends, r.started_at or 0.0)
        if r.started_at and i and r.started_at - ends[i - 1] < HANDOFF_MAX:
            gaps.append(r.started_at - ends[i - 1])
    return statistics.median(gaps) if gaps else None


@dataclass
class Running:
    """A shard running now: its dates and the seconds it still needs."""

    table: str
    dates: list[dt.date]
    left: float
    id: str = ""


def running_now(
    views: Iterable[JobView], rates: Rates, now: float, snap: Snapshot | None = None
) -> list[Running]:
    """The plan's jobs that take a slot now (`decide.member(v).active`), each with the dates it
    has still to fill (its game dates the poll `snap` still finds missing: the warehouse's
    committed progress) and its remaining seconds: what a shard of its size costs less its
    running time, and at least its dates still to do at its table's rate (a shard running
    behind)."""
    expected = set(snap.expected_dates) if snap is not None and snap.expected_dates else None
    out = []
    for v in views:
        m = decide.member(v)
        if not m.active:
            continue
        r = v.record
        days = sorted(d for d in m.dates if expected is None or d in expected)
        cov = snap.tables.get(r.table) if snap is not None else None
        todo = [d for d in days if cov is None or cov.states.get(d) is DateState.MISSING]
        ran = now - r.started_at - (r.paused_total or 0.0) if r.started_at else 0.0
        whole = rates.seconds(r.table, v.progress.total or len(days))
        left = max(0.0, whole - ran, len(todo) * rates.of(r.table) if ran else 0.0)
        out.append(Running(r.table, todo, left, v.id))
    return out


@dataclass
class TableForecast:
    table: str
    dates: int = 0
    """Dates this plan will still start for the table (running shards included)."""
    shards: int = 0
    start: float | None = None
    """Seconds from now when its first new shard starts (0: one runs now)."""
    end: float = 0.0
    """Seconds from now when its last shard ends."""
    rate: float = 0.0
    source: str = "guess"


@dataclass
class Forecast:
    now: float
    """Epoch seconds the simulation started from."""
    seconds: float
    """Seconds from `now` to the plan's end."""
    tables: dict[str, TableForecast]
    guessed: list[str]
    """Tables with dates to run whose rate is a guess."""
    complete: bool = True
    starts: list[tuple[float, schedule.Shard]] = field(default_factory=list, repr=False)
    """Every shard the simulation started, with its start (seconds from `now`), in order."""
    final: Snapshot | None = field(default=None, repr=False)
    """The snapshot once every simulated shard filled its dates (what is left is held)."""
    played: list[tuple[str, int, float, float]] = field(default_factory=list, repr=False)
    """Every shard the simulation ran, those running now included: (table, dates, start, end),
    in seconds from `now`."""

    @property
    def end(self) -> float:
        return self.now + self.seconds

    def note(self) -> str:
        """One line on how sure the forecast is ("" when every rate is learned)."""
        if not self.guessed:
            return ""
        n = len(self.guessed)
        what = self.guessed[0] if n == 1 else f"{n} tables"
        return f"no history for {what} yet: rates guessed"


def dry_plan(
    pipeline: Pipeline,
    phases: Sequence[str],
    *,
    shards: int | None = None,
    strict_cascade: bool = False,
    skip_preflight: bool = False,
) -> Plan:
    """The plan `run PHASES` would create (never stored): what a dry run simulates."""
    plan = Plan("dry-run", "run", order_phases(pipeline, phases), "", 0.0)
    plan.skip_preflight, plan.strict_cascade = skip_preflight, strict_cascade
    plan.shards_per_table = shards
    return plan


def with_max_parallel(pipeline: Pipeline, n: int | None) -> Pipeline:
    """The pipeline with `jobs.max_parallel` = n (a what-if; the file is not touched)."""
    if n is None or n == pipeline.jobs.max_parallel:
        return pipeline
    jobs = pipeline.jobs.model_copy(update={"max_parallel": n})
    return pipeline.model_copy(update={"jobs": jobs})


class _Night:
    """One simulated night: the runner's decisions on a virtual clock (see `simulate`)."""

    def __init__(
        self, pipeline: Pipeline, snapshot: Snapshot, plan: Plan, rates: Rates, now: float
    ) -> None:
        self.pipeline, self.snap, self.plan, self.rates, self.now = (
            pipeline,
            snapshot,
            plan,
            rates,
            now,
        )
        self.heap: list[tuple[float, int, Running, int]] = []
        """Events: (time, order, shard, dates of it filled by then); the last one ends it."""
        self.active: dict[str, Running] = {}
        self.fixed: dict[str, decide.Member] = {}
        """Members that take no slot: ended jobs, reserved jobs not started yet."""
        self.tables = {
            n: TableForecast(n, rate=rates.of(n), source=rates.source.get(n, "guess"))
            for n in decide.plan_tables(pipeline, plan)
        }
        self.starts: list[tuple[float, schedule.Shard]] = []
        self.played: list[tuple[str, int, float, float]] = []
        self.seq = 0

    def members(self) -> list[decide.Member]:
        live = [
            decide.Member(r.id, r.table, frozenset(r.dates), True) for r in self.active.values()
        ]
        return [*self.fixed.values(), *live]

    def run(self, t: float, r: Running) -> None:
        """Start `r`: a program writes its dates one by one, so readers may start on its first
        dates before it ends (the runner's polls see them): up to FILLS events fill them."""
        self.active[r.id] = r
        n = len(r.dates)
        self.played.append((r.table, n, t, t + r.left))
        parts = min(FILLS, n // schedule.MIN_SHARD_DATES)
        for k in range(1, parts):
            heapq.heappush(self.heap, (t + r.left * k / parts, self.seq, r, n * k // parts))
            self.seq += 1
        heapq.heappush(self.heap, (t + r.left, self.seq, r, n))
        self.seq += 1
        tf = self.tables.setdefault(r.table, TableForecast(r.table))
        cov = self.snap.tables.get(r.table)
        left = sum(1 for d in r.dates if cov is None or cov.states.get(d) is DateState.MISSING)
        tf.dates, tf.shards = tf.dates + left, tf.shards + 1  # a running shard's dates to do
        tf.start = t if tf.start is None else tf.start
        tf.end = max(tf.end, t + r.left)

    def step(self, t: float, busy: int) -> decide.Decision:
        """The runner's tick at virtual time `t`: start and release what `decide` says."""
        slots = self.pipeline.jobs.max_parallel - busy - len(self.active)
        choice = decide.decide(
            self.pipeline, self.snap, self.plan, self.members(), slots, self.now + t
        )
        for s in choice.shards:
            self.starts.append((t, s))
            took = self.rates.seconds(s.table, len(s.dates))
            self.run(t, Running(s.table, list(s.dates), took, f"sim{self.seq}"))
        for jid in choice.start:
            m = self.fixed.pop(jid)
            cov = self.snap.tables.get(m.table)
            days = sorted(
                d for d in m.dates if cov is None or cov.states.get(d) is DateState.MISSING
            )
            self.run(t, Running(m.table, days, self.rates.seconds(m.table, len(days)), jid))
        for jid in choice.release:
            m = self.fixed[jid]
            self.fixed[jid] = decide.Member(m.id, m.table, m.dates, False, False)
        return choice

    def end_next(self) -> float:
        """Play the next events: dates filled, shards ended; the time they happened."""
        t = self.heap[0][0]
        done: dict[str, list[dt.date]] = {}
        while self.heap and self.heap[0][0] <= t:
            _, _, r, filled = heapq.heappop(self.heap)
            done.setdefault(r.table, []).extend(r.dates[:filled])
            if filled == len(r.dates):
                self.active.pop(r.id, None)
        self.snap = schedule.filled(self.snap, done)
        return t

    def next_retry(self, t: float) -> float | None:
        """Seconds from `now` of the next back-off end after `t`, if a retry waits."""
        if not decide.waiting_retry(self.plan, self.now + t):
            return None
        at = min(a for w in self.plan.retry_at.values() for a in w.values() if a > self.now + t)
        return at - self.now


def simulate(
    pipeline: Pipeline,
    snapshot: Snapshot,
    plan: Plan,
    rates: Rates,
    *,
    now: float,
    members: Sequence[decide.Member] = (),
    running: Sequence[Running] = (),
    busy: int = 0,
) -> Forecast:
    """Play `plan` from `snapshot` on a virtual clock through `decide.decide` (see the module
    docstring). `members`: the plan's jobs that take no slot (ended, reserved); `running`: those
    running now; `busy`: slots held by jobs outside the plan."""
    night = _Night(pipeline, snapshot, plan, rates, now)
    night.fixed = {m.id: m for m in members if not m.active}
    for r in running:
        night.run(0.0, r)
    t = 0.0
    while len(night.starts) < MAX_EVENTS:
        choice = night.step(t, busy)
        if night.heap:
            t = night.end_next() + rates.handoff
        elif choice.release:
            continue  # the runner decides again once a reserved job is let go
        elif (later := night.next_retry(t)) is not None:
            t = later
        else:
            break
    end = max((tf.end for tf in night.tables.values()), default=0.0)
    end += rates.handoff if night.starts or running else 0.0  # the runner's tick that ends it
    busy_tables = [n for n, tf in night.tables.items() if tf.dates]
    complete = len(night.starts) < MAX_EVENTS
    return Forecast(
        now,
        end,
        night.tables,
        rates.guessed(busy_tables),
        complete,
        night.starts,
        night.snap,
        night.played,
    )


def clock(epoch: float) -> str:
    """An epoch as local HH:MM (a forecast end)."""
    return dt.datetime.fromtimestamp(epoch).strftime("%H:%M")


def duration(seconds: float) -> str:
    """`45s`, `12m`, `3h05m`."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s" if s < 600 else f"{s // 60}m"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def for_plan(
    pipeline: Pipeline,
    plan: Plan,
    snap: Snapshot,
    views: Sequence[JobView],
    now: float,
    rates: Rates | None = None,
) -> Forecast:
    """A running plan's forecast: rates from every job of the pipeline (unless given), the
    plan's own jobs (running ones end at their rate, reserved ones wait their turn), the slots
    others' jobs hold. A paused plan is played as if resumed now, so its `left` still counts
    every date it has to run (a paused plan starts nothing, and would count only its running
    shards)."""
    if rates is None:
        rates = learn(views, set(snap.expected_dates or ()), now=now)
    if plan.paused:
        plan = replace(plan, paused=False)
    mine = [v for v in views if v.record.plan == plan.id]
    busy = sum(
        1
        for v in views
        if v.record.plan != plan.id and v.state in (JobState.RUNNING, JobState.PAUSED)
    )
    return simulate(
        pipeline,
        snap,
        plan,
        rates,
        now=now,
        members=[decide.member(v) for v in mine],
        running=running_now(mine, rates, now, snap),
        busy=busy,
    )


def recorded(plan: Plan, f: Forecast, now: float) -> tuple[Callable[[Plan], None], str | None]:
    """How the runner records forecast `f` in the plan, and the plan_late detail when the
    forecast end passes the plan's deadline for the first time (else None)."""
    late = None
    if plan.deadline is not None and f.end > plan.deadline and not plan.late_sent:
        late = f"forecast end {clock(f.end)} passes the deadline {clock(plan.deadline)}"

    def apply(p: Plan) -> None:
        p.forecast_end, p.forecast_at, p.forecast_note = f.end, now, f.note()
        if p.forecast_first is None:
            p.forecast_first, p.forecast_first_guessed = f.end, bool(f.guessed)
        p.planned = p.planned or {t: tf.dates for t, tf in f.tables.items()}
        p.left = {t: tf.dates for t, tf in f.tables.items()}
        p.late_sent = p.late_sent or late is not None

    return apply, late
