"""Pipelines the benchmarks run against, built in temporary directories.

* `sample_template(dir)`: the shipped pipeline.yaml and its embedded NBA warehouse (15 tables),
  built once per run and copied per scenario with `copy_root` (the build takes seconds).
* `synthetic(dir, n_tables, ...)`: plain SQLite, `warehouse.sqlite.sample: false`, a schedule table
  (`raw.schedule`) and N date-partitioned tables with a few holes each; optionally every table's
  backfill command is `bench/flood.py` (the log-flood program) with its own arguments.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from nba_tui import config
from nba_tui.sample import ensure_warehouse
from nba_tui.warehouse.sqlite import connect

REPO = Path(__file__).resolve().parents[1]
FLOOD = REPO / "bench" / "flood.py"


def sample_template(root: Path, poll: str | None = None) -> Path:
    """The shipped pipeline (optionally another poll interval) with its warehouse built."""
    root.mkdir(parents=True, exist_ok=True)
    text = (REPO / "pipeline.yaml").read_text()
    if poll:
        lines = text.splitlines()
        new = f"poll: {{interval: {poll}}}"
        text = "\n".join(new if ln.startswith("poll:") else ln for ln in lines)
    text = text.replace("stop_grace: 10s", "stop_grace: 2s")
    (root / "pipeline.yaml").write_text(text + "\n")
    ensure_warehouse(config.load(root / "pipeline.yaml"))
    return root / "pipeline.yaml"


def copy_root(template: Path, dest: Path) -> Path:
    """A private copy of a pipeline directory (warehouse included); its pipeline.yaml."""
    shutil.copytree(template.parent, dest, symlinks=True)
    return dest / "pipeline.yaml"


def game_dates(n_dates: int) -> list[dt.date]:
    """Game dates with off days (5 games every 3 calendar days)."""
    start = dt.date(2021, 10, 19)
    return [start + dt.timedelta(days=i * 5 // 3) for i in range(n_dates)]


def _yaml(n_tables: int, dates: list[dt.date], flood: list[str] | None, poll: str) -> str:
    backfill = ""
    if flood is not None:
        argv = ["{python}", str(FLOOD), *flood]
        backfill = f", backfill: {{command: {json.dumps(argv)}}}"
    tables = "\n".join(
        f"      - {{name: t{i:02d}, table: ds{i % 4}.t{i:02d}, min_coverage: 0.9{backfill}}}"
        for i in range(n_tables)
    )
    return (
        f"pipeline: bench\nrange: {{start: {dates[0]}, end: {dates[-1]}}}\n"
        "expected_dates: {table: raw.schedule}\n"
        "warehouse: {sqlite: {path: wh, sample: false}}\n"
        f"poll: {{interval: {poll}}}\n"
        f"jobs: {{max_parallel: {min(64, max(3, n_tables))}, stop_grace: 2s}}\n"
        f"phases:\n  - name: all\n    tables:\n{tables}\n"
    )


def synthetic(
    root: Path,
    n_tables: int,
    n_dates: int = 900,
    rows: int = 30,
    flood: list[str] | None = None,
    poll: str = "10s",
) -> Path:
    """A plain-SQLite pipeline of `n_tables` tables over `n_dates` game dates; its pipeline.yaml.

    `flood`: give every table the backfill `python bench/flood.py FLOOD...` (range args appended)."""
    root.mkdir(parents=True, exist_ok=True)
    dates = game_dates(n_dates)
    path = root / "pipeline.yaml"
    path.write_text(_yaml(n_tables, dates, flood, poll))
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


def shared(work: Path, n_tables: int) -> Path:
    """The plain `synthetic(n_tables)` pipeline of this run, built once and reused (read-only
    benchmarks: status, first frame)."""
    path = work / f"synthetic-{n_tables}" / "pipeline.yaml"
    return path if path.exists() else synthetic(path.parent, n_tables)
