"""The embedded backend within SQLite's limits (1,000 tables: more terms than one compound SELECT
may hold) and a forced recount that bypasses every change detection once."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from nba_tui.identifiers import TableRef
from nba_tui.warehouse.base import TableSpec
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect
from nba_tui.warehouse.sqlite_count import max_terms

ROOT = Path(__file__).parents[2]
D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(3)]
SCHEDULE = TableSpec("__expected__", TableRef("raw", "schedule"), "game_date")
DATASETS = ["raw", "a", "b"]


def _many(root: Path, n: int) -> list[TableSpec]:
    """`n` tables over two datasets; table i has i % 5 + 1 rows on D[i % 3]."""
    conn = connect(root, DATASETS)
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    specs = []
    conn.execute("BEGIN")
    for i in range(n):
        ds = "ab"[i % 2]
        conn.execute(f"CREATE TABLE {ds}.t{i:04d} (game_date TEXT)")
        conn.executemany(
            f"INSERT INTO {ds}.t{i:04d} VALUES (?)", [(D[i % 3].isoformat(),)] * (i % 5 + 1)
        )
        specs.append(TableSpec(f"t{i:04d}", TableRef(ds, f"t{i:04d}"), "game_date"))
    conn.execute("COMMIT")
    conn.close()
    return specs


def test_a_thousand_tables_are_counted_in_statements_within_the_compound_limit(
    tmp_path: Path,
) -> None:
    root = tmp_path / "wh"
    specs = _many(root, 1000)
    wh = SqliteWarehouse(root, DATASETS)
    try:
        assert max_terms(wh._connection()) < 1000  # SQLite's own limit is what is split for
        c = wh.counts(SCHEDULE, specs, D[0], D[-1])
    finally:
        wh.close()
    assert c.expected == D and len(c.rows) == 1000 and not c.missing_tables
    for i, spec in enumerate(specs):
        assert c.rows[spec.name] == {D[i % 3]: i % 5 + 1}


def _sneak_update(db: Path, old: str, new: str) -> None:
    """Rewrite one date value in place (same size) and put both files' mtimes back: a change no
    file fact, `data_version` of a new reader or counts cache entry can see."""
    files = [db, db.with_name(db.name + "-wal")]
    stamps = {f: os.stat(f) for f in files if f.exists()}
    conn = connect(db.parent, ["raw"])
    conn.execute("UPDATE raw.box SET game_date = ? WHERE game_date = ?", (new, old))
    conn.execute("PRAGMA raw.wal_checkpoint(TRUNCATE)")
    conn.close()
    for f, st in stamps.items():
        if f.exists():
            os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


def _status(config: Path, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--json", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _box(data: dict) -> dict:
    return next(t for p in data["phases"] for t in p["tables"] if t["name"] == "box")


def test_status_recount_bypasses_the_counts_cache(tmp_path: Path) -> None:
    """`status --json` answers from the counts cache while the files' facts are unchanged;
    `--recount` counts again and sees a change those facts hide."""
    root = tmp_path / "wh"
    conn = connect(root, ["raw"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.execute("CREATE TABLE raw.box (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    conn.executemany("INSERT INTO raw.box VALUES (?)", [(d.isoformat(),) for d in D])
    conn.execute("PRAGMA raw.wal_checkpoint(TRUNCATE)")
    conn.close()
    past = time.time() - 60
    for f in root.iterdir():
        os.utime(f, (past, past))
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        f"pipeline: t\nrange: {{start: {D[0]}, end: {D[-1]}}}\n"
        "expected_dates: {table: raw.schedule}\n"
        f"warehouse: {{backend: sqlite, sqlite: {{path: {root}}}}}\n"
        f"jobs: {{state_dir: {tmp_path / 'state'}}}\n"
        "phases:\n  - name: p\n    tables:\n      - {name: box, table: raw.box}\n"
    )
    first = _status(config)
    assert _box(first)["present"] == 3
    assert _status(config)["queries"] == 0  # served from the cache
    _sneak_update(root / "raw.db", D[1].isoformat(), "1999-01-01")
    assert _box(_status(config))["present"] == 3  # the cache cannot see it
    recounted = _status(config, "--recount")
    assert recounted["queries"] == 1 and _box(recounted)["present"] == 2


def test_recount_next_counts_every_table_once(tmp_path: Path) -> None:
    root = tmp_path / "wh"
    specs = _many(root, 4)
    wh = SqliteWarehouse(root, DATASETS)
    try:
        first = wh.counts(SCHEDULE, specs, D[0], D[-1])
        assert wh.counts(SCHEDULE, specs, D[0], D[-1]).queries == 0
        wh.recount_next()
        again = wh.counts(SCHEDULE, specs, D[0], D[-1])
        assert again.queries == 1 and again.rows == first.rows
        assert all(again.rows[s.name] is not first.rows[s.name] for s in specs)  # new counts
        assert wh.counts(SCHEDULE, specs, D[0], D[-1]).queries == 0  # once
    finally:
        wh.close()
