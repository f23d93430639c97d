"""Benchmark: every table's ready and runnable dates of the sample pipeline (15 tables x 917
dates, from cold coverages), the computation the dashboard and `nba-tui run` do on each poll.

Target: ≤ 100 ms on a loaded 2-core machine. Run by hand:

    .venv/bin/python bench/bench_readiness.py [--runs 5]

Prints the best and the median of `--runs` passes next to the target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from harness import REPO, figure, print_figures

from nba_tui import config, coverage, readiness
from nba_tui.warehouse import Counts

TARGET_MS = 100.0


def sample_snapshot() -> tuple[config.Pipeline, coverage.Snapshot]:
    pipe = config.load(REPO / "pipeline.yaml")
    start = dt.date(2021, 10, 19)
    dates = [start + dt.timedelta(days=i) for i in range(1600) if i % 7 != 3][:917]
    rng = random.Random(7)
    rows = {t.name: {d: 10 for d in dates if rng.random() < 0.8} for t in pipe.tables()}
    counts = Counts(expected=dates, rows=rows, expected_rows={d: 5 for d in dates})
    return pipe, coverage.snapshot(pipe, counts)


def one_pass() -> float:
    """Milliseconds for every table's ready and runnable dates (a new snapshot: cold caches)."""
    pipe, snap = sample_snapshot()
    t0 = time.perf_counter()
    for t in pipe.tables():
        readiness.ready_dates(pipe, snap, t.name)
        readiness.runnable(pipe, snap, t.name)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    times = [one_pass() for _ in range(args.runs)]
    ok = lambda ms: ms <= TARGET_MS  # noqa: E731
    print_figures(
        [
            figure("readiness, best", min(times), "ms", f"≤ {TARGET_MS:g} ms", ok),
            figure("readiness, median", statistics.median(times), "ms", f"≤ {TARGET_MS:g} ms", ok),
        ]
    )


if __name__ == "__main__":
    main()
