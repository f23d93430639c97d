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
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_makespan import prepare  # noqa: E402
from harness import Figure, figure  # noqa: E402

from nba_tui import config  # noqa: E402
from nba_tui.jobs import forecast  # noqa: E402
from nba_tui.jobs.plans import PlanState  # noqa: E402
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


def night(cfg: Path) -> tuple[float, float, list[tuple[float, float]]]:
    """(start, end, [(time, forecast end)]) of one plan."""
    sup = Supervisor(config.load(cfg))
    t0 = time.time()
    plan = sup.run_phases(PHASES)
    seen: list[tuple[float, float]] = []
    while True:
        p = sup.plan(plan.id)
        if p.forecast_end is not None and (not seen or seen[-1][1] != p.forecast_end):
            seen.append((p.forecast_at or time.time(), p.forecast_end))
        if p.state not in (PlanState.RUNNING, PlanState.LOST):
            settle([p.runner_pid, p.watchdog_pid])
            return t0, p.ended_at or time.time(), seen
        time.sleep(0.25)


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


def run(work: Path, start: str, end: str, max_parallel: int) -> list[Figure]:
    cfg = prepare(work, start, end, max_parallel)
    before = dry_forecast(cfg)
    t0, t1, seen = night(cfg)
    span = t1 - t0
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
    args = ap.parse_args(argv)
    print(f"range {args.start}..{args.end}, max_parallel {args.max_parallel}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_forecast_") as tmp:
        figs = run(Path(tmp), args.start, args.end, args.max_parallel)
    at25 = next(f for f in figs if f.name == "forecast error at 25%")
    shown = "n/a" if at25.value is None else f"{at25.value:.1f}%"
    print(f"forecast error at 25%={shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
