"""Per-table change counters (`warehouse/sqlite_changes.py`): while one table of a dataset is
written, a poll counts again only that table; without counters, after a schema change, or for a
table without its triggers, every table of the changed dataset is counted again."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from nba_tui.identifiers import IdentifierError, TableRef
from nba_tui.warehouse import sqlite_changes
from nba_tui.warehouse.base import TableSpec
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(4)]
SCHEDULE = TableSpec("__expected__", TableRef("raw", "schedule"), "game_date")
BIG = TableSpec("big", TableRef("analytics", "big"), "game_date")
SMALL = TableSpec("small", TableRef("analytics", "small"), "game_date")
SPECS = [BIG, SMALL]


def _build(root: Path, counters: bool) -> None:
    conn = connect(root, ["raw", "analytics"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    for name in ("big", "small"):
        conn.execute(f"CREATE TABLE analytics.{name} (game_date TEXT)")
        if counters:
            for stmt in sqlite_changes.change_ddl("analytics", name):
                conn.execute(stmt)
    conn.executemany("INSERT INTO analytics.big VALUES (?)", [(d.isoformat(),) for d in D] * 3)
    conn.execute("INSERT INTO analytics.small VALUES (?)", (D[0].isoformat(),))
    conn.close()


def _write(root: Path, sql: str, *params: object) -> None:
    """Another process's writer: plain sqlite3, knowing nothing of the counters."""
    conn = sqlite3.connect(root / "analytics.db")
    conn.execute(sql, params)
    conn.commit()
    conn.close()


@pytest.fixture
def tracked(tmp_path: Path) -> Path:
    _build(tmp_path / "wh", counters=True)
    return tmp_path / "wh"


def test_only_the_written_table_is_counted_again(tracked: Path) -> None:
    wh = SqliteWarehouse(tracked, ["raw", "analytics"])
    first = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert first.rows["big"] == {d: 3 for d in D} and first.rows["small"] == {D[0]: 1}
    _write(tracked, "INSERT INTO small VALUES (?)", D[2].isoformat())
    after = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert after.queries == 1
    assert after.rows["small"] == {D[0]: 1, D[2]: 1}
    # Same dataset, not written: served from the cache (the same dict; a recount builds a new one).
    assert after.rows["big"] is first.rows["big"]
    # Deletes and updates move the counter too.
    _write(tracked, "DELETE FROM big WHERE game_date = ?", D[1].isoformat())
    gone = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert gone.rows["big"] == {D[0]: 3, D[2]: 3, D[3]: 3}
    assert gone.rows["small"] is after.rows["small"]
    _write(
        tracked,
        "UPDATE big SET game_date = ? WHERE game_date = ?",
        D[1].isoformat(),
        D[3].isoformat(),
    )
    moved = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert moved.rows["big"] == {D[0]: 3, D[1]: 3, D[2]: 3}
    wh.close()


def test_a_schema_change_counts_every_table_again(tracked: Path) -> None:
    """A table dropped and recreated (with its triggers, but no row yet) keeps its old counter
    value: only the schema version says it changed."""
    wh = SqliteWarehouse(tracked, ["raw", "analytics"])
    wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    conn = connect(tracked, ["analytics"])
    conn.execute("DROP TABLE analytics.big")
    conn.execute("CREATE TABLE analytics.big (game_date TEXT)")
    for stmt in sqlite_changes.change_ddl("analytics", "big"):
        conn.execute(stmt)
    conn.close()
    after = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert after.rows["big"] == {}
    wh.close()


def test_a_table_without_its_triggers_is_counted_again_whenever_its_dataset_changed(
    tracked: Path,
) -> None:
    conn = connect(tracked, ["analytics"])
    conn.execute(f'DROP TRIGGER analytics."{sqlite_changes.trigger_name("big", "delete")}"')
    conn.close()
    wh = SqliteWarehouse(tracked, ["raw", "analytics"])
    first = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    _write(tracked, "DELETE FROM big WHERE game_date = ?", D[0].isoformat())  # no counter moves
    after = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert after.rows["big"] == {d: 3 for d in D[1:]}
    assert after.rows["small"] is first.rows["small"]
    wh.close()


def test_without_counters_every_table_of_a_changed_dataset_is_counted(tmp_path: Path) -> None:
    _build(tmp_path / "wh", counters=False)
    wh = SqliteWarehouse(tmp_path / "wh", ["raw", "analytics"])
    first = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    _write(tmp_path / "wh", "INSERT INTO small VALUES (?)", D[3].isoformat())
    after = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert after.rows["small"] == {D[0]: 1, D[3]: 1}
    assert after.rows["big"] == first.rows["big"] and after.rows["big"] is not first.rows["big"]
    wh.close()


def test_the_sample_warehouse_tables_carry_counters(tmp_path: Path) -> None:
    from nba_tui.sample import engine
    from nba_tui.sample.tables import BY_NAME

    tdef = BY_NAME["player_game_summary"]
    conn = connect(tmp_path, [tdef.ref.dataset])
    engine.ensure_table(conn, tdef)
    changes = sqlite_changes.read(conn, tdef.ref.dataset)
    assert tdef.ref.table in changes.tracked
    conn.close()


def test_names_are_validated_before_any_sql() -> None:
    with pytest.raises(IdentifierError):
        sqlite_changes.change_ddl("analytics", "x'); DROP TABLE y; --")
    with pytest.raises(IdentifierError):
        sqlite_changes.change_ddl('a"b', "t")


def test_a_planted_trigger_with_our_name_but_another_body_is_not_trusted(tracked: Path) -> None:
    """A trigger named like ours that never moves the counter would freeze a table's counts:
    only our exact trigger text counts as tracked; otherwise the table is counted again."""
    name = sqlite_changes.trigger_name("big", "delete")
    conn = connect(tracked, ["analytics"])
    conn.execute(f'DROP TRIGGER analytics."{name}"')
    conn.execute(f'CREATE TRIGGER analytics."{name}" AFTER DELETE ON "big" BEGIN SELECT 1; END')
    assert "big" not in sqlite_changes.read(conn, "analytics").tracked
    conn.close()
    wh = SqliteWarehouse(tracked, ["raw", "analytics"])
    wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    _write(tracked, "DELETE FROM big WHERE game_date = ?", D[0].isoformat())
    after = wh.counts(SCHEDULE, SPECS, D[0], D[-1])
    assert after.rows["big"] == {d: 3 for d in D[1:]}
    wh.close()
