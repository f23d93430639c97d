"""The embedded backend's poll: one query, skipped when nothing changed, never on a stale file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from nba_tui.warehouse.base import TableSpec, WarehouseError
from nba_tui.warehouse.identifiers import TableRef
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
