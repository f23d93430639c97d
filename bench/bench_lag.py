"""Benchmark: how long a committed write takes to reach the dashboard's grid, over a backfill.

A writer process fills the missing dates of one table of a synthetic embedded warehouse, one
commit per date at random gaps, and prints each commit's wall time once it returned. The dashboard
runs headless in this process (Textual's `run_test`) with its real monitor and poll cadence; the
moment each new count is written to the table's "dates" cell is recorded. The lag of a write is
that moment minus its commit time. Target: p99 ≤ the poll interval. By design it is about half
that: polls start on a fixed cadence, and half an interval after a poll began the embedded
warehouse's change token (a few stat() calls) starts the next one at once if anything was
committed since, so a write waits at most half an interval, plus a poll and a repaint.

    .venv/bin/python bench/bench_lag.py [--interval 2] [--dates 600] [--tables 15]

Prints `write→screen p50=Xs p99=Ys` and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import Figure, figure, print_figures
from pipelines import synthetic

from nba_tui import config
from nba_tui.coverage import snapshot
from nba_tui.warehouse import fetch
from nba_tui.warehouse.sqlite import SqliteWarehouse

TABLE = "t00"
ROWS = 30

WRITER = """
import random, sqlite3, sys, time
db, table, gap, rows, dates = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
conn = sqlite3.connect(db, isolation_level=None, timeout=30)
rng = random.Random(7)
for d in dates:
    time.sleep(rng.uniform(0.1, 2 * gap - 0.1))  # pacing of the backfill, not synchronisation
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO {table} VALUES (?, ?, 1.0)", [(d, p) for p in range(rows)])
    conn.execute("COMMIT")
    print(time.time(), flush=True)
"""


def missing_dates(path: Path) -> list[str]:
    """The dates `TABLE` lacks (the synthetic warehouse leaves holes in every table)."""
    pipe = config.load(path)
    wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets())
    try:
        cov = snapshot(pipe, fetch(pipe, wh)).tables[TABLE]
    finally:
        wh.close()
    return [d.isoformat() for d in cov.missing]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def watch(path: Path, dates: list[str], gap: float) -> list[float]:
    """Run the dashboard and the writer; the lag of every write, in commit order."""
    from nba_tui.tui.app import NbaTuiApp

    pipe = config.load(path)
    app = NbaTuiApp(pipe, supervisor=None)
    commits: list[float] = []
    seen: dict[int, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        grid = app.board.grid

        def present() -> int | None:
            cell = grid.cell_value(TABLE, "dates")
            text = cell[0] if cell else ""
            return int(text.split("/")[0]) if "/" in text else None

        while present() is None:
            await pilot.pause(0.01)
        base = present() or 0
        db = pipe.sqlite_dir / "ds0.db"
        argv = [sys.executable, "-c", WRITER, str(db), TABLE, str(gap), str(ROWS), *dates]
        writer = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        reader = threading.Thread(
            target=lambda: commits.extend(float(line) for line in writer.stdout), daemon=True
        )
        reader.start()
        deadline = time.monotonic() + len(dates) * 2 * gap + 60
        while len(seen) < len(dates) and time.monotonic() < deadline:
            now, shown = time.time(), present() or 0
            for k in range(len(seen) + 1, shown - base + 1):
                seen[k] = now
            await pilot.pause(0.01)
        writer.wait(timeout=30)
        reader.join(timeout=5)
    if len(seen) < len(dates):
        raise RuntimeError(f"only {len(seen)} of {len(dates)} writes reached the grid")
    return [seen[k + 1] - t for k, t in enumerate(commits)]


def run(work: Path, interval: float = 2.0, n_dates: int = 600, n_tables: int = 15) -> list[Figure]:
    path = synthetic(work / "lag", n_tables, n_dates, ROWS, poll=f"{interval:g}s")
    dates = missing_dates(path)
    lags = asyncio.run(watch(path, dates, gap=interval / 2))
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    print(f"write→screen p50={p50:.2f}s p99={p99:.2f}s ({len(lags)} writes, poll {interval:g}s)")
    target = f"≤ {interval:g} s (the poll interval)"
    return [
        figure(f"write→screen p50, poll every {interval:g}s", p50, "s"),
        figure(
            f"write→screen p99, poll every {interval:g}s", p99, "s", target, lambda v: v <= interval
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=2.0, help="poll interval (s, ≥ 0.5)")
    ap.add_argument("--dates", type=int, default=600, help="game dates (about 1 in 11 is filled)")
    ap.add_argument("--tables", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nba-tui-bench-lag-") as tmp:
        print_figures(run(Path(tmp), args.interval, args.dates, args.tables))


if __name__ == "__main__":
    main()
