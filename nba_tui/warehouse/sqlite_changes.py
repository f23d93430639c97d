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

With the table's date column (`change_ddl(..., date_column=...)`, as the embedded warehouse
builds its tables), the triggers also note each written date in `_nba_tui_dates` (table name,
date value -> the table's version when it was last written), and a poll counts again only the
dates written since the last one (`changed_dates`), not the whole table: while a backfill writes
a date at a time, a poll reads a few dates instead of 40,000 rows. Counters without dates (older
warehouses), more than `MAX_DATES` dates, or a schema change count the whole table, as before.

Names are validated identifiers (`check_name`); no value is pasted into SQL.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nba_tui.identifiers import IdentifierError, check_name

CHANGES_TABLE = "_nba_tui_changes"
DATES_TABLE = "_nba_tui_dates"
OPS = ("insert", "update", "delete")
NOTED = re.compile(r'SELECT \'[A-Za-z0-9_]+\', NEW\."([A-Za-z0-9_]+)", version')
MAX_DATES = 256
"""More dates written since the last poll than this: count the whole table (one scan)."""


def trigger_name(table: str, op: str) -> str:
    return f"_nba_tui_{op}_{check_name(table, 'table')}"


def change_ddl(dataset: str, table: str, date_column: str | None = None) -> list[str]:
    """The counter table (once per dataset) and the three triggers of `dataset.table`; with
    `date_column`, the dates table too, and triggers that note the dates they write."""
    ds, t = check_name(dataset, "dataset"), check_name(table, "table")
    out = [
        f'CREATE TABLE IF NOT EXISTS "{ds}"."{CHANGES_TABLE}" '
        "(table_name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID"
    ]
    if date_column is not None:
        check_name(date_column, "column")
        out += [
            f'CREATE TABLE IF NOT EXISTS "{ds}"."{DATES_TABLE}" (table_name TEXT NOT NULL, '
            "d NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (table_name, d)) WITHOUT ROWID",
            f'CREATE INDEX IF NOT EXISTS "{ds}"."{DATES_TABLE}_version" '
            f'ON "{DATES_TABLE}" (table_name, version)',
        ]
    for op in OPS:
        out.append(_trigger_sql(t, op, f'IF NOT EXISTS "{ds}".', date_column))
    return out


def _note_date(table: str, row: str, column: str) -> str:
    """The trigger statement that notes `row`'s (NEW or OLD) date with the table's version."""
    return (
        f'INSERT INTO "{DATES_TABLE}" (table_name, d, version) '  # noqa: S608
        f'SELECT \'{table}\', {row}."{column}", version FROM "{CHANGES_TABLE}" '
        f"WHERE table_name = '{table}' AND {row}.\"{column}\" IS NOT NULL "
        "ON CONFLICT (table_name, d) DO UPDATE SET version = excluded.version;"
    )


def _trigger_sql(table: str, op: str, qualifier: str = "", column: str | None = None) -> str:
    """One trigger's CREATE statement; without `qualifier` exactly as SQLite stores it in
    `sqlite_master.sql` (it drops IF NOT EXISTS and the schema name), so a trigger with our name
    but another body (planted, or edited by hand) is not trusted."""
    # `table` and `column` are validated identifiers ([A-Za-z0-9_]): safe as literals inside the
    # trigger body, which cannot take parameters.
    body = (
        f"INSERT OR IGNORE INTO \"{CHANGES_TABLE}\" (table_name, version) VALUES ('{table}', 0); "  # noqa: S608
        f"UPDATE \"{CHANGES_TABLE}\" SET version = version + 1 WHERE table_name = '{table}';"
    )
    if column is not None:
        rows = {"insert": ("NEW",), "update": ("NEW", "OLD"), "delete": ("OLD",)}[op]
        body += "".join(" " + _note_date(table, row, column) for row in rows)
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
    dated: frozenset[str] = frozenset()
    """Of those, the tables whose triggers note the dates they write (on their date column)."""


def read(
    conn: sqlite3.Connection, dataset: str, columns: Mapping[str, str] | None = None
) -> DatasetChanges:
    """The dataset's schema version, tracked tables and their versions (a few small reads);
    `columns`: table -> its date column: a table is `dated` when its triggers note that one."""
    ds = check_name(dataset, "dataset")
    (schema,) = conn.execute(f'PRAGMA "{ds}".schema_version').fetchone()
    rows = conn.execute(
        f'SELECT type, name, sql FROM "{ds}".sqlite_master WHERE type IN (?, ?)',  # noqa: S608
        ("trigger", "table"),
    ).fetchall()
    triggers = {name: sql for kind, name, sql in rows if kind == "trigger"}
    tables = {name for kind, name, _ in rows if kind == "table"}
    columns = columns or {}

    def kept(t: str, column: str | None) -> bool:
        want = {op: _trigger_sql(t, op, "", column) for op in OPS}
        return all(triggers.get(trigger_name(t, op)) == sql for op, sql in want.items())

    valid = [t for t in tables if _valid(t)]
    noted = {t: _noted_column(triggers.get(trigger_name(t, "insert"))) for t in valid}
    with_dates = {t for t, c in noted.items() if c and DATES_TABLE in tables and kept(t, c)}
    tracked = frozenset(with_dates | {t for t in valid if kept(t, None)})
    dated = frozenset(t for t in with_dates if columns.get(t) == noted[t])
    versions: dict[str, int] = {}
    if CHANGES_TABLE in tables and tracked:
        versions = dict(
            conn.execute(f'SELECT table_name, version FROM "{ds}"."{CHANGES_TABLE}"').fetchall()  # noqa: S608
        )
    return DatasetChanges(int(schema), tracked, versions, dated)


def _noted_column(sql: str | None) -> str | None:
    """The date column an insert trigger of ours notes (verified by its whole text after)."""
    found = NOTED.search(sql or "")
    return found.group(1) if found else None


def _valid(name: str) -> bool:
    try:
        check_name(name, "table")
    except IdentifierError:
        return False
    return True


def changed_dates(
    conn: sqlite3.Connection,
    dataset: str,
    before: DatasetChanges | None,
    now: DatasetChanges,
    tables: set[str],
) -> dict[str, list[Any]]:
    """Of `tables` (moved since `before`), those whose written dates are known, with the date
    values written since (at most MAX_DATES; a table with more is left out: count it whole)."""
    if before is None or before.schema != now.schema:
        return {}
    ds = check_name(dataset, "dataset")
    out: dict[str, list[Any]] = {}
    for t in tables & before.dated & now.dated:
        rows = conn.execute(
            f'SELECT d FROM "{ds}"."{DATES_TABLE}" WHERE table_name = ? AND version > ? LIMIT ?',  # noqa: S608
            (t, before.versions.get(t, 0), MAX_DATES + 1),
        ).fetchall()
        if len(rows) <= MAX_DATES:
            out[t] = [r[0] for r in rows]
    return out


def moved(before: DatasetChanges | None, now: DatasetChanges, tables: set[str]) -> set[str]:
    """Which of `tables` (names in the dataset) may have changed between two reads."""
    if before is None or before.schema != now.schema:
        return set(tables)
    return {
        t for t in tables if t not in now.tracked or before.versions.get(t) != now.versions.get(t)
    }


__all__ = [
    "CHANGES_TABLE",
    "DATES_TABLE",
    "MAX_DATES",
    "DatasetChanges",
    "change_ddl",
    "changed_dates",
    "moved",
    "read",
    "trigger_name",
]
