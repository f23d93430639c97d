"""The embedded warehouse's counting statements: rows (and flagged rows) per date of many tables,
packed one row per table, in as few statements as SQLite's limits allow.

Identifiers were validated at config load and are quoted; tags and dates are bound parameters.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from nba_tui.identifiers import quote_column
from nba_tui.warehouse.base import TableSpec

SPLIT_MIN_TABLES = 16
"""A count of at least this many tables over two or more datasets runs as two statements on two
connections at once (SQLite counts without the GIL): a cold 100-table count takes about half the
time on two cores (0.39 s -> 0.22 s here)."""


def count_part(spec: TableSpec, tag: str = "? AS t, ", among: int = 0) -> str:
    """One table's rows per date, and its flagged rows per date when it has a degraded column
    (SQLite truth: a non-zero number; NULL and text that is not a number count as not flagged).

    Identifiers were validated at config load and are quoted; the tag and the dates are bound.
    `tag`: the bound table tag column (empty inside `packed_part`, which binds it outside);
    `among`: only the dates among that many bound values (after the two bounds)."""
    col = quote_column(spec.date_column, "sqlite")
    flag = "NULL"
    if spec.degraded_column:
        flag = f"SUM(CASE WHEN {quote_column(spec.degraded_column, 'sqlite')} THEN 1 ELSE 0 END)"
    return (
        f"SELECT {tag}{col} AS d, COUNT(*) AS n, {flag} AS g "  # noqa: S608
        f"FROM {spec.ref.sqlite_sql()} WHERE {col} BETWEEN ? AND ? "
        + (f"AND {col} IN ({', '.join('?' * among)}) " if among else "")
        + f"GROUP BY {col}"
    )


def count_dates(
    conn: sqlite3.Connection, spec: TableSpec, values: list[object], start: dt.date, end: dt.date
) -> list[tuple]:
    """A table's (date, rows, flagged rows) for the given date values only (as its column holds
    them): the dates its writers changed since the last poll (`sqlite_changes.changed_dates`)."""
    if not values:
        return []
    sql = count_part(spec, tag="", among=len(values))
    return conn.execute(sql, [start.isoformat(), end.isoformat(), *values]).fetchall()


SEP = "\x1f"
"""Separates the values of `packed_part`'s lists (ASCII unit separator: never in a date)."""


def packed_part(spec: TableSpec) -> str:
    """`count_part` as ONE row: its dates as a SEP-joined list, its counts and flagged counts
    (NULL without a degraded column) as JSON arrays of integers.

    Why: the sqlite3 module releases the GIL inside each step and takes it back for every row it
    returns; while the dashboard's main thread runs Python (Textual starting up), each of ~90,000
    per-date rows waited for the GIL, doubling a cold 100-table count. One row per table keeps
    the count in C, and a JSON array is parsed in C too. The separators are literals (an
    expression such as char(31) is evaluated again for every row), so the lists come from the
    same rows in the same order, and align."""
    flags = "NULL"
    if spec.degraded_column:
        flags = "'[' || group_concat(g, ',') || ']'"
    return (
        f"SELECT ? AS t, group_concat(d, '{SEP}'), '[' || group_concat(n, ',') || ']', "  # noqa: S608
        f"{flags} FROM ({count_part(spec, tag='')})"
    )


def max_terms(conn: sqlite3.Connection) -> int:
    """Terms one compound SELECT may hold on this connection (SQLite's default: 500)."""
    return max(1, conn.getlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT))


def run_count(
    conn: sqlite3.Connection, counted: list[tuple[int, TableSpec]], start: dt.date, end: dt.date
) -> list[tuple]:
    """Count `counted`: a `packed_part` per table, bound to its index, as one `UNION ALL` of at
    most `max_terms` parts per statement. Several statements run in one read transaction, so each
    dataset file is read as one snapshot whatever the number of statements."""
    if not counted:
        return []
    size = max_terms(conn)
    statements: list[tuple[str, list[object]]] = []
    for k in range(0, len(counted), size):
        chunk = counted[k : k + size]
        params: list[object] = []
        for i, _ in chunk:
            params += [i, start.isoformat(), end.isoformat()]
        sql = " UNION ALL ".join(packed_part(spec) for _, spec in chunk)
        statements.append((sql, params))
    if len(statements) == 1:
        return conn.execute(*statements[0]).fetchall()
    rows: list[tuple] = []
    conn.execute("BEGIN")
    try:
        for sql, params in statements:
            rows += conn.execute(sql, params).fetchall()
    finally:
        conn.execute("COMMIT")
    return rows


def halves(
    counted: list[tuple[int, TableSpec]],
) -> tuple[list[tuple[int, TableSpec]], list[tuple[int, TableSpec]]]:
    """`counted` in two parts of whole datasets with about as many tables each (a dataset is one
    file: its tables are read in one statement, as one snapshot); the second is empty when the
    count is small or holds one dataset."""
    by_ds: dict[str, list[tuple[int, TableSpec]]] = {}
    for item in counted:
        by_ds.setdefault(item[1].ref.dataset, []).append(item)
    if len(counted) < SPLIT_MIN_TABLES or len(by_ds) < 2:
        return counted, []
    halves: tuple[list[tuple[int, TableSpec]], list[tuple[int, TableSpec]]] = ([], [])
    for group in sorted(by_ds.values(), key=len, reverse=True):
        min(halves, key=len).extend(group)
    return halves
