"""Per-table change counters for a SQLite warehouse: what `tables.get`'s last-modified time is
to the BigQuery backend.

SQLite says only that a dataset *file* changed (`PRAGMA data_version`), so without these
counters, while one backfill writes a table, every table of its dataset is counted again on
every poll, the biggest unchanged one included (the sample's `player_game_summary`).

A dataset may hold a `_nba_tui_changes` table (table name -> version) kept by three triggers per
table (AFTER INSERT/UPDATE/DELETE, FOR EACH ROW: every writer is caught, not only ours). The
embedded warehouse creates them with each table (`sample/tables.py`). A poll reads the versions
of a changed dataset *before* counting (a write after the read is seen by the next poll) and
counts again only the tables whose version moved; a table without its three triggers, or any
schema change in the dataset (`PRAGMA schema_version`: a table dropped and recreated), is counted
again with the whole dataset, as every table of a warehouse without the counters is.

Names are validated identifiers (`check_name`); no value is pasted into SQL.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from nba_tui.identifiers import IdentifierError, check_name

CHANGES_TABLE = "_nba_tui_changes"
OPS = ("insert", "update", "delete")


def trigger_name(table: str, op: str) -> str:
    return f"_nba_tui_{op}_{check_name(table, 'table')}"


def change_ddl(dataset: str, table: str) -> list[str]:
    """The counter table (once per dataset) and the three triggers of `dataset.table`."""
    ds, t = check_name(dataset, "dataset"), check_name(table, "table")
    out = [
        f'CREATE TABLE IF NOT EXISTS "{ds}"."{CHANGES_TABLE}" '
        "(table_name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID"
    ]
    for op in OPS:
        out.append(_trigger_sql(t, op, f'IF NOT EXISTS "{ds}".'))
    return out


def _trigger_sql(table: str, op: str, qualifier: str = "") -> str:
    """One trigger's CREATE statement; without `qualifier` exactly as SQLite stores it in
    `sqlite_master.sql` (it drops IF NOT EXISTS and the schema name), so a trigger with our name
    but another body (planted, or edited by hand) is not trusted."""
    # `table` is a validated identifier ([A-Za-z0-9_]): safe as a literal inside the trigger
    # body, which cannot take parameters.
    body = (
        f"INSERT OR IGNORE INTO \"{CHANGES_TABLE}\" (table_name, version) VALUES ('{table}', 0); "  # noqa: S608
        f"UPDATE \"{CHANGES_TABLE}\" SET version = version + 1 WHERE table_name = '{table}';"
    )
    return (
        f'CREATE TRIGGER {qualifier}"{trigger_name(table, op)}" '
        f'AFTER {op.upper()} ON "{table}" FOR EACH ROW BEGIN {body} END'
    )


@dataclass
class DatasetChanges:
    """What one read of a dataset's counters saw."""

    schema: int
    tracked: frozenset[str]
    """Tables with all three triggers."""
    versions: dict[str, int] = field(default_factory=dict)


def read(conn: sqlite3.Connection, dataset: str) -> DatasetChanges:
    """The dataset's schema version, tracked tables and their versions (a few small reads)."""
    ds = check_name(dataset, "dataset")
    (schema,) = conn.execute(f'PRAGMA "{ds}".schema_version').fetchone()
    rows = conn.execute(
        f'SELECT type, name, sql FROM "{ds}".sqlite_master WHERE type IN (?, ?)',  # noqa: S608
        ("trigger", "table"),
    ).fetchall()
    triggers = {name: sql for kind, name, sql in rows if kind == "trigger"}
    tables = {name for kind, name, _ in rows if kind == "table"}
    tracked = frozenset(
        t
        for t in tables
        if _valid(t) and all(triggers.get(trigger_name(t, op)) == _trigger_sql(t, op) for op in OPS)
    )
    versions: dict[str, int] = {}
    if CHANGES_TABLE in tables and tracked:
        versions = dict(
            conn.execute(f'SELECT table_name, version FROM "{ds}"."{CHANGES_TABLE}"').fetchall()  # noqa: S608
        )
    return DatasetChanges(int(schema), tracked, versions)


def _valid(name: str) -> bool:
    try:
        check_name(name, "table")
    except IdentifierError:
        return False
    return True


def moved(before: DatasetChanges | None, now: DatasetChanges, tables: set[str]) -> set[str]:
    """Which of `tables` (names in the dataset) may have changed between two reads."""
    if before is None or before.schema != now.schema:
        return set(tables)
    return {
        t for t in tables if t not in now.tracked or before.versions.get(t) != now.versions.get(t)
    }


__all__ = ["CHANGES_TABLE", "DatasetChanges", "change_ddl", "moved", "read", "trigger_name"]
