"""Benchmark: building the embedded NBA sample warehouse (the first run of the shipped demo).

Target: under 30 s (a first `nba-tui` on a laptop should not feel broken). Run by hand:

    .venv/bin/python bench/bench_build.py [--runs 3]

Builds the warehouse of the shipped pipeline.yaml into a temporary directory `runs` times and
prints the wall time of each build next to the target, and the CPU time it took (about the wall
time on an idle machine; a loaded one stretches only the wall time). (Kept out of the test suite: a wall-clock
bound fails on a loaded CI machine without anything being broken.)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from nba_tui import config
from nba_tui.sample import build_warehouse

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 30.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    walls: list[float] = []
    cpus: list[float] = []
    rows = 0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nba-tui-bench-build-") as tmp:
            shutil.copy(REPO / "pipeline.yaml", Path(tmp) / "pipeline.yaml")
            pipe = config.load(Path(tmp) / "pipeline.yaml")
            t0, c0 = time.perf_counter(), time.process_time()
            stats = build_warehouse(pipe)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            rows = sum(stats.rows.values())
    print(f"sample warehouse: {stats.expected_dates} game dates, {rows:,} rows")
    print(f"{'measure':<40}{'median':>10}{'max':>10}{'target':>10}")
    print(
        f"{'build_warehouse (in process)':<40}{statistics.median(walls):>9.2f}s"
        f"{max(walls):>9.2f}s{f'< {TARGET_S:.0f}s':>10}"
    )
    # CPU time is what a busy machine does not inflate: the wall time on an idle one.
    print(
        f"{'build_warehouse CPU (one core)':<40}{statistics.median(cpus):>9.2f}s{max(cpus):>9.2f}s"
    )


if __name__ == "__main__":
    main()
