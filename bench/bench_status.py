"""Benchmark: `nba-tui status --json` on an embedded warehouse of 20 tables x ~900 dates.

Target (issue #2): under 0.5 s for the whole command. Run by hand:

    .venv/bin/python bench/bench_status.py [--tables 20] [--dates 900] [--rows 30] [--runs 5]

Prints the wall time of the real command (a new process each run, as a cron job would see it) and
of the coverage poll alone, next to the target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nba_tui import config, coverage
from nba_tui.warehouse import fetch
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect


def build(root: Path, n_tables: int, n_dates: int, rows: int) -> Path:
    start = dt.date(2021, 10, 19)
    dates = [start + dt.timedelta(days=i * 5 // 3) for i in range(n_dates)]
    tables = "\n".join(
        f"      - {{name: t{i:02d}, table: ds{i % 4}.t{i:02d}, min_coverage: 0.9}}"
        for i in range(n_tables)
    )
    path = root / "pipeline.yaml"
    path.write_text(
        f"pipeline: bench\nrange: {{start: {dates[0]}, end: {dates[-1]}}}\n"
        "expected_dates: {table: raw.schedule}\nwarehouse: {sqlite: {path: wh}}\n"
        f"phases:\n  - name: all\n    tables:\n{tables}\n"
    )
    pipe = config.load(path)
    conn = connect(pipe.sqlite_dir, pipe.datasets())
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in dates])
    for i in range(n_tables):
        ds = f"ds{i % 4}"
        conn.execute(f"CREATE TABLE {ds}.t{i:02d} (game_date TEXT, player INTEGER, v REAL)")
        conn.execute(f"CREATE INDEX {ds}.t{i:02d}_d ON t{i:02d} (game_date)")
        keep = [d for j, d in enumerate(dates) if (j * (i + 3)) % 11]  # some holes per table
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO {ds}.t{i:02d} VALUES (?, ?, ?)",
            [(d.isoformat(), p, 1.0) for d in keep for p in range(rows)],
        )
        conn.execute("COMMIT")
    conn.close()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=20)
    ap.add_argument("--dates", type=int, default=900)
    ap.add_argument("--rows", type=int, default=30, help="rows per table per date")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = build(Path(tmp), args.tables, args.dates, args.rows)
        built = time.perf_counter() - t0
        pipe = config.load(path)
        polls = []
        for _ in range(args.runs):
            wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets())
            t = time.perf_counter()
            snap = coverage.snapshot(pipe, fetch(pipe, wh))
            polls.append(time.perf_counter() - t)
            wh.close()
        cmd = [sys.executable, "-m", "nba_tui", "status", "--json", "--config", str(path)]
        walls = []
        for _ in range(args.runs):
            t = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, check=True)
            walls.append(time.perf_counter() - t)
        assert b'"phases"' in out.stdout
    total_rows = sum(sum(c.rows.values()) for c in snap.tables.values())
    print(
        f"warehouse: {args.tables} tables x {len(snap.expected_dates)} dates, "
        f"{total_rows:,} rows (built in {built:.1f}s)"
    )
    print(f"{'measure':<40}{'median':>10}{'max':>10}{'target':>10}")
    print(
        f"{'coverage poll + maths (in process)':<40}{statistics.median(polls):>9.3f}s"
        f"{max(polls):>9.3f}s{'':>10}"
    )
    print(
        f"{'nba-tui status --json (new process)':<40}{statistics.median(walls):>9.3f}s"
        f"{max(walls):>9.3f}s{'< 0.5s':>10}"
    )


if __name__ == "__main__":
    main()
