"""Benchmark: `nba-tui status --json` on an embedded warehouse of 20 and 100 tables x ~900 dates,
and at scale (`--tables 1000`).

Targets: a new process answers in ≤ 0.3 s for 20 tables, ≤ 0.5 s for 100 and ≤ 1 s for 1,000
(with the counts cache); at 1,000 tables the first poll (every table counted, no cache) takes
≤ 3 s and the dashboard idles at ≤ 0.5 % of a core (needs tmux and script). Run by hand (or
through bench/run_all.py):

    .venv/bin/python bench/bench_status.py [--tables 20 100] [--dates 900] [--rows 30] [--runs 5]
    .venv/bin/python bench/bench_status.py --tables 1000 --dates 1800 --rows 5 --runs 3

Prints the wall time of the real command (a new process each run, as a cron job would see it) and
of the coverage poll alone, next to the target. The target is met with the counts cache that a
previous run left in the state directory, and the coverage it stored (`coverage_store`; nothing
written since, as on a quiet night); the time
when every table must be counted again (every dataset written since) is printed too, without a
target.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_tui import has_data
from harness import Figure, dashboard, figure, missing, print_figures, tools_missing
from pipelines import shared, synthetic

from nba_tui import config, coverage
from nba_tui.warehouse import fetch
from nba_tui.warehouse.sqlite import SqliteWarehouse
from nba_tui.warehouse.sqlite_cache import RACY_S

TARGET_S = {20: 0.3, 100: 0.5, 1000: 1.0}
FIRST_POLL_TARGET_S = {1000: 3.0}
"""The first poll of a new reader with no counts cache (every table counted), in process."""
IDLE_CPU_TABLES = (1000,)
"""Table counts whose idle dashboard CPU is measured (≤ 0.5 % of a core)."""
IDLE_WINDOW_S = 20.0


def poll_times(path: Path, runs: int) -> tuple[list[float], list[float]]:
    """The coverage poll and maths in this process (a fresh connection each time, no counts
    cache): wall times and CPU seconds (every thread of this process: the count runs on two)."""
    pipe = config.load(path)
    walls, cpus = [], []
    for _ in range(runs):
        wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets())
        t, c = time.perf_counter(), time.process_time()
        coverage.snapshot(pipe, fetch(pipe, wh))
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        wh.close()
    return walls, cpus


def child_cpu() -> float:
    """CPU seconds (user + system) of the ended child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_times(path: Path, runs: int, cold: bool = False) -> tuple[list[float], int, float]:
    """`python -m nba_tui status --json` in a new process each run (one warm-up run first).

    `cold`: the counts cache (`<state dir>/cache`, see nba_tui/warehouse/sqlite_cache.py) is
    removed before each run, as after a write to every dataset: every table is counted.
    Returns the wall times, how many runs counted rows (`queries` > 0 in their answer) and the
    median CPU seconds of a run (user + system: what a loaded machine does not inflate)."""
    cmd = [sys.executable, "-m", "nba_tui", "status", "--json", "--config", str(path)]
    pipe = config.load(path)
    cache = pipe.state_dir / "cache"
    # Files written less than RACY_S ago are never cached (a later write could share their mtime):
    # a warehouse built a moment ago must first age that long, as any real one has.
    newest = max(f.stat().st_mtime for f in pipe.sqlite_dir.iterdir())
    time.sleep(max(0.0, newest + RACY_S + 0.1 - time.time()))
    subprocess.run(cmd, capture_output=True, check=True, timeout=120)
    walls, cpus = [], []
    counted = 0
    for _ in range(runs):
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        t, c = time.perf_counter(), child_cpu()
        out = subprocess.run(cmd, capture_output=True, check=True, timeout=120)
        walls.append(time.perf_counter() - t)
        cpus.append(child_cpu() - c)
        if b'"phases"' not in out.stdout:
            raise RuntimeError(f"unexpected status output: {out.stdout[:200]!r}")
        counted += json.loads(out.stdout)["queries"] > 0
    return walls, counted, statistics.median(cpus)


def run(
    work: Path, tables: list[int], dates: int = 900, rows: int = 30, runs: int = 5
) -> list[Figure]:
    figs = []
    for n in tables:
        path = (
            shared(work, n)
            if (dates, rows) == (900, 30)
            else synthetic(work / f"s{n}", n, dates, rows)
        )
        polls, poll_cpus = poll_times(path, runs)
        first = FIRST_POLL_TARGET_S.get(n)
        figs.append(
            figure(
                f"first poll (every table counted, no cache), {n} tables",
                max(polls),
                "s",
                f"≤ {first} s" if first else "",
                (lambda v, t=first: v <= t) if first else None,
            )
        )
        figs.append(figure(f"first poll CPU (both threads), {n} tables", max(poll_cpus), "s"))
        cold, _, cold_cpu = command_times(path, runs, cold=True)
        walls, counted, cpu = command_times(path, runs)
        target = TARGET_S.get(n)
        figs.append(
            figure(f"status: poll + maths in process, {n} tables", statistics.median(polls), "s")
        )
        figs.append(
            figure(
                f"status --json (new process, every table counted), {n} tables",
                statistics.median(cold),
                "s",
            )
        )
        fig = figure(
            f"status --json (new process), {n} tables",
            statistics.median(walls),
            "s",
            f"≤ {target} s" if target else "",
            (lambda v, t=target: v <= t) if target else None,
        )
        fig.extra = {"max_s": round(max(walls), 3), "runs": runs, "runs_that_counted": counted}
        figs.append(fig)
        figs.append(figure(f"status --json CPU (user+sys), {n} tables", cpu, "s"))
        figs.append(figure(f"status --json CPU, every table counted, {n} tables", cold_cpu, "s"))
        if n in IDLE_CPU_TABLES:
            figs.extend(idle_cpu(path, n))
    return figs


def idle_cpu(path: Path, n: int, seconds: float = IDLE_WINDOW_S) -> list[Figure]:
    """The dashboard at 80x24 over `n` tables, once its first frame is drawn: CPU of one core
    over `seconds` with nothing written (polls, ticks and the clock only)."""
    name, target = f"dashboard idle, {n} tables: CPU", "≤ 0.5 %"
    why = tools_missing()
    if why:
        return [missing(name, why, target)]
    with dashboard(path, 80, 24) as d:
        d.wait_screen(has_data, "the first data frame", 120)
        time.sleep(5)  # the first frame's drawing and the first polls are not idle
        win = d.window(seconds)
    # the ticks charge a whole 1/HZ to a process running as the timer ticks, and an idle
    # process's wake-ups on a quiet machine fall on the ticks: the exact figure is what it ran
    return [
        figure(name, win.cpu_pct, "%"),
        figure(
            f"{name}, the scheduler's exact time",
            win.cpu_exact_pct,
            "%",
            target,
            lambda v: v <= 0.5,
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, nargs="*", default=[20, 100])
    ap.add_argument("--dates", type=int, default=900)
    ap.add_argument("--rows", type=int, default=30, help="rows per table per date")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nba-tui-bench-status-") as tmp:
        print_figures(run(Path(tmp), args.tables, args.dates, args.rows, args.runs))


if __name__ == "__main__":
    main()
