"""Benchmark: the dashboard under load. Run by hand (or through bench/run_all.py):

    .venv/bin/python bench/bench_load.py [--presses 50] [--cycles 300] [--log-gb 1] [--grow-mb 100]

Every job here is `bench/flood.py` (a backfill that only floods its log) in a temporary plain-SQLite
pipeline; the dashboard runs in a private tmux server at 80x24 and keys are sent with tmux.

- key -> SIGSTOP: `p` on the selected job while 10 jobs each log 5,000 lines/s, until every
  process of its group is in state T (/proc); then `r`. p50/p99 over N presses.  p99 ≤ 100 ms
- RSS after N `?`/Escape help-modal cycles, against the RSS after 10 warm-up cycles. ± 5 MB
- RSS after 10 jobs wrote 1 GB of logs between them, against the RSS before.    ± 5 MB
- CPU of the dashboard from the start of a job whose log grows by 100 MB (as fast as it can
  write) until 20 s after it ended.                                                ≤ 2 %
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench_tui import has_data
from harness import (
    CLK_TCK,
    Dashboard,
    Figure,
    cpu_ticks,
    dashboard,
    figure,
    group_states,
    missing,
    print_figures,
    rss_mb,
    stop_jobs,
    tools_missing,
    wait_for,
)
from pipelines import shared, synthetic

from nba_tui import config
from nba_tui.jobs.supervisor import Supervisor

HELP_TEXT = "Esc close"


def row(screen: str, table: str) -> str:
    return next((ln for ln in screen.splitlines() if ln.startswith(table + " ")), "")


def flood_pipeline(root: Path, n_tables: int, flood: list[str]) -> tuple[Path, Supervisor]:
    """A pipeline of empty tables (all short: the cursor starts on t00) backfilled by flood.py."""
    cfg = synthetic(root, n_tables, n_dates=100, rows=0, flood=flood)
    return cfg, Supervisor(config.load(cfg))


def launch_all(sup: Supervisor, n_tables: int) -> None:
    for i in range(n_tables):
        sup.launch(f"t{i:02d}")


def all_done(sup: Supervisor) -> bool:
    return all(not v.state.active for v in sup.jobs())


def _press(d: Dashboard, pgid: int) -> float:
    """`p` until the whole group is stopped (ms); then `r` until it runs again and shows so."""
    t0 = time.monotonic()
    d.keys("p")
    t1 = wait_for(lambda: group_states(pgid) == {"T"}, "the job to stop after p", 5, 0.001)
    d.wait_screen(lambda s: "paused" in row(s, "t00"), "t00 paused on screen", 15)
    d.keys("r")
    wait_for(lambda: "T" not in group_states(pgid), "the job to run after r", 5)
    d.wait_screen(lambda s: "running" in row(s, "t00"), "t00 running on screen", 15)
    return (t1 - t0) * 1000


def key_latency(work: Path, presses: int) -> list[Figure]:
    """p -> SIGSTOP of t00's job while 10 jobs each log 5,000 lines/s."""
    cfg, sup = flood_pipeline(work / "keys", 10, ["--rate", "5000"])
    try:
        launch_all(sup, 10)
        with dashboard(cfg) as d:
            d.wait_screen(lambda s: "running" in row(s, "t00"), "t00 running on screen", 60)
            job = sup.active("t00")
            assert job is not None
            pgid = job.record.pgid or job.record.pid
            assert pgid
            ms = [_press(d, pgid) for _ in range(presses)]
    finally:
        stop_jobs(cfg)
    p50 = statistics.median(ms)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    name = f"key p -> SIGSTOP, 10 floods ({len(ms)} presses)"
    return [
        figure(f"{name}: p50", p50, "ms"),
        figure(f"{name}: p99", p99, "ms", "≤ 100 ms", lambda v: v <= 100),
    ]


def _modal_cycle(d: Dashboard) -> None:
    d.keys("?")
    d.wait_screen(lambda s: HELP_TEXT in s, "the help modal", 10)
    d.keys("Escape")
    d.wait_screen(lambda s: HELP_TEXT not in s, "the help modal to close", 10)


def rss_modal(work: Path, cycles: int) -> list[Figure]:
    """RSS growth over `cycles` help-modal open/close cycles, after 10 warm-up cycles."""
    cfg = shared(work, 15)
    with dashboard(cfg) as d:
        d.wait_screen(has_data, "the first data frame")
        for _ in range(10):
            _modal_cycle(d)
        before = rss_mb(d.pid)
        for _ in range(cycles):
            _modal_cycle(d)
        time.sleep(1)
        after = rss_mb(d.pid)
    return [
        figure(
            f"RSS growth over {cycles} ?/Esc modal cycles",
            after - before,
            "MB",
            "± 5 MB",
            lambda v: abs(v) <= 5,
        )
    ]


def rss_logs(work: Path, gb: float) -> list[Figure]:
    """RSS before and after 10 jobs wrote `gb` GB of logs between them (as fast as they can)."""
    per_job = str(gb * 1000 / 10)
    cfg, sup = flood_pipeline(
        work / "logs", 10, ["--rate", "0", "--line-bytes", "200", "--total-mb", per_job]
    )
    try:
        with dashboard(cfg) as d:
            d.wait_screen(has_data, "the first data frame")
            time.sleep(3)
            before = rss_mb(d.pid)
            launch_all(sup, 10)
            wait_for(lambda: all_done(sup), f"10 jobs to write {gb} GB", 900, 1.0)
            time.sleep(15)  # the dashboard sees them end and catches up
            after = rss_mb(d.pid)
    finally:
        stop_jobs(cfg)
    return [
        figure(
            f"RSS growth while jobs wrote {gb:g} GB of logs",
            after - before,
            "MB",
            "± 5 MB",
            lambda v: abs(v) <= 5,
        )
    ]


def cpu_log_growth(work: Path, mb: float, tail: float = 20.0) -> list[Figure]:
    """Dashboard CPU from the launch of a job writing `mb` MB to its log until `tail` s after."""
    cfg, sup = flood_pipeline(
        work / "grow", 1, ["--rate", "0", "--line-bytes", "100", "--total-mb", str(mb)]
    )
    try:
        with dashboard(cfg) as d:
            d.wait_screen(has_data, "the first data frame")
            time.sleep(3)
            c0, t0 = cpu_ticks(d.pid), time.monotonic()
            launch_all(sup, 1)
            wait_for(lambda: all_done(sup), f"the job to write {mb} MB", 600, 0.5)
            wrote = time.monotonic() - t0
            time.sleep(tail)
            c1, t1 = cpu_ticks(d.pid), time.monotonic()
    finally:
        stop_jobs(cfg)
    cpu = (c1 - c0) / CLK_TCK / (t1 - t0) * 100
    fig = figure(
        f"CPU while a log grows by {mb:g} MB (+{tail:.0f} s)", cpu, "%", "≤ 2 %", lambda v: v <= 2
    )
    fig.extra = {"write_seconds": round(wrote, 1), "window_seconds": round(t1 - t0, 1)}
    return [fig]


def run(work: Path, presses: int, cycles: int, log_gb: float, grow_mb: float) -> list[Figure]:
    why = tools_missing()
    if why:
        return [missing("dashboard under load (tmux)", why)]
    figs = key_latency(work, presses) if presses else []
    figs += rss_modal(work, cycles) if cycles else []
    figs += cpu_log_growth(work, grow_mb) if grow_mb else []
    figs += rss_logs(work, log_gb) if log_gb else []
    return figs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=50)
    ap.add_argument("--cycles", type=int, default=300)
    ap.add_argument("--log-gb", type=float, default=1.0)
    ap.add_argument("--grow-mb", type=float, default=100.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nba-tui-bench-load-"))
    try:
        figs = run(work, args.presses, args.cycles, args.log_gb, args.grow_mb)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    print_figures(figs)
    return 0 if all(f.ok is not False for f in figs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
