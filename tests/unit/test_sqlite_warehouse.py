"""The embedded backend's poll: one query, skipped when nothing changed, never on a stale file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nba_tui.identifiers import TableRef
from nba_tui.warehouse.base import TableSpec, WarehouseError
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(5)]
SCHEDULE = TableSpec("__expected__", TableRef("raw", "schedule"), "game_date")
SPECS = [
    TableSpec("box", TableRef("raw", "box"), "game_date"),
    TableSpec("summary", TableRef("analytics", "summary"), "game_date"),
]


def _build(root: Path, summary_days: int) -> None:
    conn = connect(root, ["raw", "analytics"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.execute("CREATE TABLE raw.box (game_date TEXT)")
    conn.execute("CREATE TABLE analytics.summary (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    conn.executemany("INSERT INTO raw.box VALUES (?)", [(d.isoformat(),) for d in D for _ in "ab"])
    conn.executemany(
        "INSERT INTO analytics.summary VALUES (?)", [(d.isoformat(),) for d in D[:summary_days]]
    )
    conn.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _build(tmp_path / "wh", summary_days=2)
    return tmp_path / "wh"


def test_counts_and_modes(root: Path) -> None:
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    c = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert c.expected == D and c.expected_rows == {d: 1 for d in D}
    assert c.rows["box"] == {d: 2 for d in D}
    assert c.rows["summary"] == {D[0]: 1, D[1]: 1}
    assert c.queries == 1
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in root.glob("*.db"))
    narrowed = wh.counts(SCHEDULE, SPECS, D[1], D[2])
    assert narrowed.expected == D[1:3] and narrowed.rows["summary"] == {D[1]: 1}
    wh.close()


def test_unchanged_warehouse_costs_no_query_and_writes_are_seen(root: Path) -> None:
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    first = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    again = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert again.queries == 0 and again.rows == first.rows and again.expected == first.expected
    # The same (read-only) dicts: coverage then skips unchanged tables without comparing rows.
    assert again.rows["summary"] is first.rows["summary"]
    assert again.expected_rows is first.expected_rows
    writer = connect(root, ["analytics"])
    writer.execute("INSERT INTO analytics.summary VALUES (?)", (D[4].isoformat(),))
    writer.close()
    after = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert after.queries == 1
    assert after.rows["summary"] == {D[0]: 1, D[1]: 1, D[4]: 1}
    assert after.rows["box"] == first.rows["box"]
    assert after.rows["summary"] is not first.rows["summary"]  # a recount builds a new dict
    assert first.rows["summary"] == {D[0]: 1, D[1]: 1}  # and never touches the old one
    wh.close()


def test_a_replaced_dataset_file_is_reopened(root: Path, tmp_path: Path) -> None:
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    assert len(wh.counts(SCHEDULE, SPECS, D[0], D[-1]).rows["summary"]) == 2
    _build(tmp_path / "new", summary_days=5)  # what `demo reset` does: build aside, rename in
    for f in (tmp_path / "new").glob("*.db"):
        os.replace(f, root / f.name)
    assert len(wh.counts(SCHEDULE, SPECS, D[0], D[-1]).rows["summary"]) == 5
    wh.close()


def test_missing_schedule_is_a_warehouse_error(root: Path) -> None:
    shutil.move(root / "raw.db", root.parent / "raw.db")
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    with pytest.raises(WarehouseError, match="schedule table raw.schedule not found"):
        wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    wh.close()


def test_flagged_rows_counted_in_the_same_query_and_recounted_on_a_flip(tmp_path: Path) -> None:
    """A table with a degraded column: non-zero numbers are flagged (NULL and 0 are not), in the
    poll's one query; re-running a date that replaces synthetic rows with real ones keeps the
    row count but changes the flags, and the next poll sees it."""
    root = tmp_path / "wh"
    conn = connect(root, ["raw", "pre"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.execute('CREATE TABLE pre.factors (game_date TEXT, "synthetic" INTEGER)')
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    flags = {D[0]: [0, 0, 0], D[1]: [1, 0, None], D[2]: [1, 2, 1]}
    conn.executemany(
        "INSERT INTO pre.factors VALUES (?, ?)",
        [(d.isoformat(), f) for d, fs in flags.items() for f in fs],
    )
    spec = TableSpec("factors", TableRef("pre", "factors"), "game_date", "synthetic")
    plain = TableSpec("same", TableRef("pre", "factors"), "game_date")
    wh = SqliteWarehouse(root, ["raw", "pre"])
    try:
        first = wh.counts(SCHEDULE, [spec, plain], D[0], D[-1])
        assert first.queries == 1
        assert first.rows["factors"] == {D[0]: 3, D[1]: 3, D[2]: 3}
        assert first.degraded == {"factors": {D[0]: 0, D[1]: 1, D[2]: 3}}  # no entry for "same"
        again = wh.counts(SCHEDULE, [spec, plain], D[0], D[-1])
        assert again.queries == 0 and again.degraded["factors"] is first.degraded["factors"]
        conn.execute(
            "UPDATE pre.factors SET synthetic = 0 WHERE game_date = ?", (D[2].isoformat(),)
        )
        flipped = wh.counts(SCHEDULE, [spec, plain], D[0], D[-1])
        assert flipped.queries == 1 and flipped.rows["factors"] == first.rows["factors"]
        assert flipped.degraded == {"factors": {D[0]: 0, D[1]: 1, D[2]: 0}}
    finally:
        wh.close()
        conn.close()


# --- counts that survive the process (sqlite_cache) ------------------------------------------

DATASETS = ["raw", "analytics"]
FLAGGED = TableSpec("flagged", TableRef("raw", "box"), "game_date", "game_date")
"""A degraded column holding dates: text with a numeric prefix is true to SQLite (2 per date)."""
WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "restart":  # the next commit rewrites the WAL from its start: same size
    conn.execute("PRAGMA wal_checkpoint(RESTART)")
conn.execute("INSERT INTO box VALUES (?)", (sys.argv[3],))
conn.close()
"""


def _age(root: Path, seconds: float = 30.0) -> None:
    """Make every file of the warehouse look last written `seconds` ago (old enough to cache)."""
    past = time.time() - seconds
    for f in root.iterdir():
        os.utime(f, (past, past))


def _poll(root: Path, cache: Path) -> tuple[int, dict]:
    """A new reader, as a new process has one: its query count and the rows it answered."""
    wh = SqliteWarehouse(root, DATASETS, cache_dir=cache)
    try:
        c = wh.counts(SCHEDULE, [*SPECS, FLAGGED], D[0], D[-1])
    finally:
        wh.close()
    return c.queries, {**c.rows, "flags": c.degraded["flagged"]}


def test_a_new_reader_is_served_from_disk_when_nothing_was_written(root: Path) -> None:
    cache = root.parent / "state" / "cache"
    _age(root)
    queries, rows = _poll(root, cache)
    assert queries == 1
    assert sorted(p.name for p in cache.iterdir()) == ["sqlite-analytics.json", "sqlite-raw.json"]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in cache.iterdir())
    again_queries, again = _poll(root, cache)
    assert again_queries == 0 and again == rows
    assert again["box"] == {d: 2 for d in D} and again["flags"] == {d: 2 for d in D}


def test_files_written_just_now_are_not_cached(root: Path) -> None:
    """A later write could carry the same coarse mtime: such facts are never stored."""
    cache = root.parent / "cache"
    assert _poll(root, cache)[0] == 1
    assert not cache.exists() or not list(cache.iterdir())
    assert _poll(root, cache)[0] == 1


@pytest.mark.parametrize("mode", ["append", "restart"])
def test_a_write_by_another_process_is_always_seen(root: Path, mode: str) -> None:
    """Stored, then another process commits (appending to the WAL, or rewriting it from its
    start so that its size does not change): every new reader sees the new row."""
    cache = root.parent / "cache"
    db = str(root / "raw.db")
    keeper = connect(root, ["raw"])  # another process's open connection: the WAL stays
    for n in range(3, 9):
        _age(root)
        _poll(root, cache)  # stores the old facts
        assert _poll(root, cache)[0] == 0
        size = os.stat(root / "raw.db-wal").st_size if mode == "restart" and n > 3 else None
        subprocess.run([sys.executable, "-c", WRITER, db, mode, D[0].isoformat()], check=True)
        if size is not None:
            assert os.stat(root / "raw.db-wal").st_size == size  # the hard case did happen
        queries, rows = _poll(root, cache)
        assert queries == 1 and rows["box"][D[0]] == n
    keeper.close()


def test_a_damaged_foreign_or_stale_cache_is_a_miss(root: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _age(root)
    _, rows = _poll(root, cache)
    raw = cache / "sqlite-raw.json"
    good = raw.read_bytes()
    raw.write_bytes(good.replace(b'"n":"', b'"n":"!'))  # not base64
    assert _poll(root, cache) == (1, rows)
    raw.write_bytes(good)
    raw.chmod(0o666)  # anyone could have written it
    assert _poll(root, cache) == (1, rows)
    # The same bytes, mtime and size in a new file (a restored copy): a new inode is a miss.
    copy = tmp_path / "raw.db"
    shutil.copy2(root / "raw.db", copy)
    os.replace(copy, root / "raw.db")
    assert _poll(root, cache)[0] == 1
