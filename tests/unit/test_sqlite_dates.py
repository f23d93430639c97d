"""Counting only the dates written since the last poll (`sqlite_changes.changed_dates`): a table
whose triggers note the dates they write is counted again on those dates only, and its counts
always equal a whole count by a fresh reader, whatever the writers did (insert, delete, update
moving a row to another date, flags changing); without dated triggers, past MAX_DATES dates or
for a timestamp column, the table is counted whole."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from test_sqlite_changes import _write  # another process's plain sqlite3 writer

from nba_tui.identifiers import TableRef
from nba_tui.warehouse import sqlite_changes
from nba_tui.warehouse.base import TableSpec, resolved
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(30)]
SCHEDULE = TableSpec("__expected__", TableRef("raw", "schedule"), "game_date")
BIG = TableSpec("big", TableRef("analytics", "big"), "game_date", degraded_column="synthetic")
SMALL = TableSpec("small", TableRef("analytics", "small"), "game_date")
SPECS = [BIG, SMALL]


def _build(root: Path, dated: bool = True) -> None:
    conn = connect(root, ["raw", "analytics"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    for name in ("big", "small"):
        conn.execute(f"CREATE TABLE analytics.{name} (game_date TEXT, synthetic INTEGER)")
        for stmt in sqlite_changes.change_ddl("analytics", name, "game_date" if dated else None):
            conn.execute(stmt)
    rows = [(d.isoformat(), i % 2) for d in D for i in range(3)]
    conn.executemany("INSERT INTO analytics.big VALUES (?, ?)", rows)
    conn.execute("INSERT INTO analytics.small VALUES (?, 0)", (D[0].isoformat(),))
    conn.close()


def _whole(root: Path) -> tuple[dict, dict, dict]:
    """What a fresh reader counts: every table whole."""
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    got = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    out = (dict(got.rows["big"]), dict(got.rows["small"]), dict(resolved(got.degraded["big"])))
    wh.close()
    return out


def _seen(wh: SqliteWarehouse) -> tuple[dict, dict, dict]:
    got = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    return dict(got.rows["big"]), dict(got.rows["small"]), dict(resolved(got.degraded["big"]))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _build(tmp_path / "wh")
    return tmp_path / "wh"


def test_only_the_written_dates_are_counted_again(root: Path) -> None:
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    first = _seen(wh)
    assert first[0] == {d: 3 for d in D} and first[2] == {d: 1 for d in D}
    _write(root, "INSERT INTO big VALUES (?, 1)", D[4].isoformat())
    _write(root, "DELETE FROM big WHERE game_date = ?", D[7].isoformat())
    assert _seen(wh) == _whole(root)
    assert wh.partial == {"big": 2}  # two dates read, not the table's 90 rows
    _write(root, "UPDATE big SET game_date = ?, synthetic = 1 WHERE game_date = ?", "2024-01-09", "2024-01-10")  # fmt: skip
    assert _seen(wh) == _whole(root)
    assert wh.partial == {"big": 2}  # the date a row left and the date it went to
    big = _seen(wh)[0]
    assert D[7] not in big and D[9] not in big and big[D[8]] == 6
    wh.close()


def test_random_writes_always_count_as_a_fresh_reader_does(root: Path) -> None:
    rng = random.Random(7)
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    _seen(wh)
    partial = 0
    for _ in range(40):
        for _ in range(rng.randint(0, 4)):
            day, other = rng.choice(D).isoformat(), rng.choice(D).isoformat()
            table = rng.choice(["big", "small"])
            op = rng.choice(["insert", "delete", "move", "flag"])
            if op == "insert":
                _write(root, f"INSERT INTO {table} VALUES (?, ?)", day, rng.randint(0, 1))
            elif op == "delete":
                _write(
                    root,
                    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE game_date = ? LIMIT 1)",
                    day,
                )  # noqa: E501, S608
            elif op == "move":
                _write(root, f"UPDATE {table} SET game_date = ? WHERE game_date = ?", other, day)  # noqa: S608
            else:
                _write(
                    root, f"UPDATE {table} SET synthetic = 1 - synthetic WHERE game_date = ?", day
                )  # noqa: S608
        assert _seen(wh) == _whole(root)
        partial += len(wh.partial)
    assert partial > 20  # the incremental path ran, and was checked
    wh.close()


def test_without_dated_triggers_the_table_is_counted_whole(tmp_path: Path) -> None:
    _build(tmp_path / "wh", dated=False)
    wh = SqliteWarehouse(tmp_path / "wh", ["raw", "analytics"])
    _seen(wh)
    _write(tmp_path / "wh", "INSERT INTO big VALUES (?, 0)", D[3].isoformat())
    assert _seen(wh) == _whole(tmp_path / "wh") and wh.partial == {}
    wh.close()


def test_more_dates_than_max_count_the_table_whole(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_changes, "MAX_DATES", 2)
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    _seen(wh)
    for d in D[:3]:
        _write(root, "INSERT INTO big VALUES (?, 0)", d.isoformat())
    assert _seen(wh) == _whole(root) and wh.partial == {}
    wh.close()


def test_a_planted_dated_trigger_with_another_body_is_not_trusted(root: Path) -> None:
    name = sqlite_changes.trigger_name("big", "delete")
    conn = connect(root, ["analytics"])
    conn.execute(f'DROP TRIGGER analytics."{name}"')
    conn.execute(f'CREATE TRIGGER analytics."{name}" AFTER DELETE ON "big" BEGIN SELECT 1; END')
    read = sqlite_changes.read(conn, "analytics", {"big": "game_date", "small": "game_date"})
    assert "big" not in read.tracked and "big" not in read.dated and "small" in read.dated
    conn.close()
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    _seen(wh)
    _write(root, "DELETE FROM big WHERE game_date = ?", D[1].isoformat())
    assert _seen(wh) == _whole(root) and "big" not in wh.partial


def test_a_null_date_written_does_not_fail_the_writer(root: Path) -> None:
    wh = SqliteWarehouse(root, ["raw", "analytics"])
    _seen(wh)
    _write(root, "INSERT INTO small VALUES (NULL, 0)")
    assert _seen(wh) == _whole(root)
    wh.close()


def test_polls_during_concurrent_writers_end_exact(root: Path) -> None:
    """Two writers' commits race the polls; once they stop, one more poll counts what a fresh
    reader counts (a write between a poll's read of the versions and its count is counted again
    by the next poll, never lost)."""
    import threading

    wh = SqliteWarehouse(root, ["raw", "analytics"])
    _seen(wh)
    writes, polls = [0], [0]
    delete = "DELETE FROM big WHERE rowid IN (SELECT rowid FROM big WHERE game_date = ? LIMIT 1)"

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        while polls[0] < 30 or writes[0] < 60:  # both sides kept going until both did enough
            day = rng.choice(D).isoformat()
            if rng.random() < 0.6:
                _write(root, "INSERT INTO big VALUES (?, ?)", day, rng.randint(0, 1))
            else:
                _write(root, delete, day)
            writes[0] += 1

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    partial = 0
    while any(t.is_alive() for t in threads):
        _seen(wh)
        polls[0] += 1
        partial += len(wh.partial)
    assert _seen(wh) == _whole(root)
    assert partial > 0  # the incremental path ran while they wrote
    wh.close()
