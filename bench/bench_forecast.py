"""Forecast accuracy: a night on the demo, its forecast end against the real one.

    python bench/bench_forecast.py [--start D --end D] [--max-parallel N]

In a temporary copy of the repository's pipeline.yaml (its own warehouse, state and logs),
after `nba-tui demo reset` (the incident's state, no job history), `run phase3 phase4 phase5`
runs with every table at its own sample pace (no NBA_TUI_SAMPLE_PACE). The bench reads the plan
file every 0.25 s and keeps the runner's forecast end (`Plan.forecast_end`, refreshed every
`forecast.EVERY` s). Once the plan ended, the forecast standing at 10 %, 25 % and
50 % of the real makespan is compared with the real end:

    error = |forecast end - real end| / real makespan

The dry run's forecast before the start (no history: guessed rates) is printed too. The last
line is `forecast error at 25%=X%`. Targets: <= 10 % at 25 %, <= 5 % at 50 %.

`--debug` also simulates the plan each time its runner made a forecast (the same
`forecast.for_plan`, from the bench's own poll) and prints, for the forecasts standing at 25 % and
50 %, the simulated shards next to the real ones (table, dates, start, end in seconds from the
plan's start), then the rates learned from the whole night.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_makespan import prepare  # noqa: E402
from harness import Figure, figure  # noqa: E402

from nba_tui import config  # noqa: E402
from nba_tui.config import Pipeline  # noqa: E402
from nba_tui.coverage import Snapshot  # noqa: E402
from nba_tui.jobs import forecast  # noqa: E402
from nba_tui.jobs.model import (  # noqa: E402
    JobView,  # noqa: E402
    Plan,
    PlanState,
)
from nba_tui.jobs.supervisor import Supervisor  # noqa: E402
from nba_tui.monitor import snapshot_once  # noqa: E402

PHASES = ["phase3", "phase4", "phase5"]
RANGE = ("2023-12-01", "2024-03-03")
POINTS = (10, 25, 50)
TARGETS = {25: 10.0, 50: 5.0}


def dry_forecast(cfg: Path) -> forecast.Forecast:
    """What `run --dry-run` forecasts before the night (no history)."""
    pipe = config.load(cfg)
    snap = snapshot_once(pipe)
    rates = forecast.learn(Supervisor(pipe).jobs(), set(snap.expected_dates or ()))
    plan = forecast.dry_plan(pipe, PHASES)
    return forecast.simulate(pipe, snap, plan, rates, now=time.time())


@dataclass
class Night:
    start: float
    end: float
    seen: list[tuple[float, float]]
    """(time, forecast end) of each forecast the runner made."""
    sims: list[tuple[float, forecast.Forecast]] = field(default_factory=list)
    """--debug: the bench's own forecast next to each of the runner's."""
    states: list[tuple[float, Plan, Snapshot, list[JobView]]] = field(default_factory=list)
    """--debug: what each of those forecasts started from (replayed with the night's rates)."""
    jobs: list[JobView] = field(default_factory=list)
    expected: set[dt.date] = field(default_factory=set)


def night(cfg: Path, debug: bool = False) -> Night:
    """One plan from its start to its end, its forecasts as the plan file showed them."""
    pipe = config.load(cfg)
    sup = Supervisor(pipe)
    t0 = time.time()
    plan = sup.run_phases(PHASES)
    out = Night(t0, 0.0, [])
    while True:
        p = sup.plan(plan.id)
        if p.forecast_end is not None and (not out.seen or out.seen[-1][1] != p.forecast_end):
            out.seen.append((p.forecast_at or time.time(), p.forecast_end))
            if debug and p.state is PlanState.RUNNING:
                now, snap, views = time.time(), snapshot_once(pipe), sup.jobs()
                out.sims.append((now, forecast.for_plan(pipe, p, snap, views, now)))
                out.states.append((now, p, snap, views))
        if p.state not in (PlanState.RUNNING, PlanState.LOST):
            settle([p.runner_pid, p.watchdog_pid])
            out.end = p.ended_at or time.time()
            out.jobs = [v for v in sup.jobs() if v.record.plan == plan.id]
            out.expected = set(snapshot_once(pipe).expected_dates or ())
            return out
        time.sleep(0.25)


def debug_lines(n: Night, at: float) -> list[str]:
    """The simulation standing at `at` next to the real shards running then or later."""
    made = [(when, f) for when, f in n.sims if when <= at]
    if not made:
        return [f"  no simulation by +{at - n.start:.1f} s"]
    when, f = made[-1]
    base = when - n.start
    sim = sorted((base + s, base + e, t, k) for t, k, s, e in f.played)
    real = sorted(
        (v.record.started_at - n.start, v.record.ended_at - n.start, v.record.table,
         forecast.record_dates(v, n.expected))
        for v in n.jobs
        if v.record.started_at and v.record.ended_at and v.record.ended_at >= when
    )  # fmt: skip
    out = [f"  simulated at +{base:.1f} s: end +{base + f.seconds:.1f} s; "
           f"{len(sim)} simulated shards, {len(real)} real"]  # fmt: skip

    def row(x: tuple[float, float, str, int]) -> str:
        return f"{x[0]:6.1f} {x[1]:6.1f} {x[2]:28.28} {x[3]:3d}"

    for i in range(max(len(sim), len(real))):
        a = row(sim[i]) if i < len(sim) else " " * 46
        b = row(real[i]) if i < len(real) else ""
        out.append(f"  {a} | {b}")
    final = forecast.learn(n.jobs, n.expected, now=n.end)
    out.append("  rates then (source) / after the night:")
    out += [
        f"    {t:28} {tf.rate:.3f} ({tf.source}) / {final.of(t):.3f}"
        for t, tf in f.tables.items()
        if tf.dates
    ]
    return out


def oracle_lines(pipe: Pipeline, n: Night) -> list[str]:
    """The forecasts replayed with the rates learned from the whole night: their error is the
    model's (schedule, hand-off, running shards), not the rates' (a load that changed)."""
    rates = forecast.learn(n.jobs, n.expected, now=n.end)
    span = n.end - n.start
    out = ["  replayed with the night's rates:"]
    for when, plan, snap, views in n.states:
        f = forecast.for_plan(pipe, plan, snap, views, when, rates)
        err = (f.end - n.end) / span * 100
        out.append(f"    at +{when - n.start:6.1f} s ({(when - n.start) / span:4.0%}): "
                   f"end +{f.end - n.start:6.1f} s, error {err:+.1f} %")  # fmt: skip
    return out


def learned_lines(n: Night) -> list[str]:
    """The rates, overhead and hand-off learned from the whole night."""
    r = forecast.learn(n.jobs, n.expected, now=n.end)
    out = [f"  learned after the night: overhead {r.overhead:.2f} s, hand-off {r.handoff:.2f} s"]
    out += [f"    {t:28} {s:.3f} s/date ({r.source[t]})" for t, s in sorted(r.per_date.items())]
    recs = sorted((v.record for v in n.jobs if v.record.ended_at), key=lambda x: x.started_at)
    ends = sorted(x.ended_at for x in recs)
    gaps = [
        x.started_at - max(e for e in ends if e <= x.started_at)
        for x in recs
        if any(e <= x.started_at for e in ends)
    ]
    rest = [
        x.ended_at - x.started_at - forecast.record_dates(v, n.expected) * r.of(x.table)
        for v in n.jobs
        if (x := v.record).ended_at and x.started_at
    ]
    for name, xs in (("hand-off", gaps), ("overhead", rest)):
        if xs:
            q = statistics.quantiles(xs, n=10) if len(xs) > 1 else xs
            out.append(
                f"  {name}: n {len(xs)}, mean {statistics.mean(xs):.2f}, median "
                f"{statistics.median(xs):.2f}, p10 {q[0]:.2f}, p90 {q[-1]:.2f}, max {max(xs):.2f}"
            )
    return out


def settle(pids: list[int | None], timeout: float = 30.0) -> None:
    """Wait for the ended plan's runner and watchdog to exit (they write their last records
    into the directory the bench removes next)."""
    deadline = time.monotonic() + timeout
    for pid in filter(None, pids):
        while time.monotonic() < deadline:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)


def standing(seen: list[tuple[float, float]], at: float) -> float | None:
    """The forecast end the plan showed at time `at` (the last one made by then)."""
    made = [end for when, end in seen if when <= at]
    return made[-1] if made else None


def run(work: Path, start: str, end: str, max_parallel: int, debug: bool) -> list[Figure]:
    cfg = prepare(work, start, end, max_parallel)
    before = dry_forecast(cfg)
    n = night(cfg, debug)
    t0, t1, seen = n.start, n.end, n.seen
    span = t1 - t0
    if debug:
        for pct in (25, 50):
            print(f"at {pct}%: simulated (start end table dates) | real", flush=True)
            print("\n".join(debug_lines(n, t0 + span * pct / 100)))
        print("\n".join(learned_lines(n)))
        print("\n".join(oracle_lines(config.load(cfg), n)))
    print(f"real makespan {span:.1f} s; {len(seen)} forecasts made", flush=True)
    err0 = abs(before.end - t1) / span * 100
    print(f"dry run before the night (no history): {before.seconds:.1f} s, error {err0:.1f} %")
    figs = [figure("forecast error, dry run (no history)", err0, "%", note="guessed rates")]
    for pct in POINTS:
        at = t0 + span * pct / 100
        f_end = standing(seen, at)
        if f_end is None:
            print(f"at {pct}%: no forecast yet")
            figs.append(Figure(f"forecast error at {pct}%", None, "%", "", None, "no forecast"))
            continue
        err = abs(f_end - t1) / span * 100
        print(f"at {pct}% ({at - t0:.1f} s): forecast end +{f_end - t0:.1f} s, error {err:.1f} %")
        limit = TARGETS.get(pct)
        target = f"<= {limit:g} %" if limit else ""
        figs.append(
            figure(
                f"forecast error at {pct}%",
                err,
                "%",
                target,
                (lambda v, lim=limit: v <= lim) if limit else None,
            )
        )
    return figs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--start", default=RANGE[0])
    ap.add_argument("--end", default=RANGE[1])
    ap.add_argument("--max-parallel", type=int, default=3)
    ap.add_argument("--debug", action="store_true", help="simulated vs real shards")
    args = ap.parse_args(argv)
    print(f"range {args.start}..{args.end}, max_parallel {args.max_parallel}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_forecast_") as tmp:
        figs = run(Path(tmp), args.start, args.end, args.max_parallel, args.debug)
    at25 = next(f for f in figs if f.name == "forecast error at 25%")
    shown = "n/a" if at25.value is None else f"{at25.value:.1f}%"
    print(f"forecast error at 25%={shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
