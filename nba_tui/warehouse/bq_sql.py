"""The SQL parts of the BigQuery coverage query, one per table or per dataset.

Every part yields the same five columns, so any mix of them is one `UNION ALL` job:
`t` (the spec's tag), `tn` (table name, partitions parts only), `d` (the date), `n` (rows) and
`g` (rows flagged by the table's `degraded_column`, NULL when the part does not count them).

Nothing from the config becomes SQL text unchecked: names were validated at config load and are
quoted part by part here (`quote_column` validates again); tags, dates and table names in filters
are query parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from google.cloud import bigquery

from nba_tui.identifiers import quote_column
from nba_tui.warehouse.base import TableSpec

MAX_TABLES_PER_QUERY = 1000
"""BigQuery's limit of tables (and views) one query may reference."""
MAX_QUERY_CHARS = 1_000_000
"""Under BigQuery's limit of 1,024k characters of (unresolved) GoogleSQL per query."""


def flagged_expr(spec: TableSpec) -> str:
    """`g` for a plain part: rows whose degraded column is true or non-zero. `CAST(... AS BOOL)`
    accepts INT64 and BOOL columns (and STRING 'true'/'false'); NULL counts as not flagged."""
    if not spec.degraded_column:
        return "CAST(NULL AS INT64)"
    return f"COUNTIF(CAST({quote_column(spec.degraded_column, 'bigquery')} AS BOOL))"


def plain_part(project: str, i: int, spec: TableSpec) -> tuple[str, list[Any]]:
    """Rows (and flagged rows) per date of one table: a scan of its date column (and of its
    degraded column, when it has one)."""
    col = quote_column(spec.date_column, "bigquery")
    src = spec.ref.bigquery_sql(project)
    sql = (
        f"SELECT @t{i} AS t, CAST(NULL AS STRING) AS tn, {col} AS d, COUNT(*) AS n, "  # noqa: S608
        f"{flagged_expr(spec)} AS g FROM {src} WHERE {col} BETWEEN @start AND @end GROUP BY {col}"
    )
    return sql, [bigquery.ScalarQueryParameter(f"t{i}", "INT64", i)]


def partitions_part(project: str, k: int, dataset: str, names: list[str]) -> tuple[str, list[Any]]:
    """Rows per daily partition of some tables of one dataset, from metadata (no scan). It cannot
    count flagged rows: tables with a degraded column always go through `plain_part`."""
    view = f"`{project}`.`{dataset}`.INFORMATION_SCHEMA.PARTITIONS"
    # Daily partition ids are YYYYMMDD; `__UNPARTITIONED__` holds rows still in the streaming
    # buffer (their dates are unknown: those tables are recounted with the plain query).
    # IF evaluates PARSE_DATE only for the other branch, so `__...__` ids never reach it.
    sql = (
        f"SELECT @p{k} AS t, table_name AS tn, "  # noqa: S608 - validated, quoted identifiers
        "IF(STARTS_WITH(partition_id, '__'), NULL, "
        "PARSE_DATE('%Y%m%d', partition_id)) AS d, "
        f"total_rows AS n, CAST(NULL AS INT64) AS g FROM {view} "
        f"WHERE table_name IN UNNEST(@names{k}) "
        "AND (partition_id BETWEEN @pstart AND @pend OR partition_id = '__UNPARTITIONED__') "
        "AND total_rows > 0"
    )
    params = [
        bigquery.ScalarQueryParameter(f"p{k}", "INT64", -(k + 1)),
        bigquery.ArrayQueryParameter(f"names{k}", "STRING", names),
    ]
    return sql, params


def quads(rows: Sequence[tuple]) -> list[tuple[int, dt.date, int, int | None]]:
    """`(tag, date, rows, flagged rows or None)` from plain-part result rows."""
    return [(int(t), d, int(n), None if g is None else int(g)) for t, _, d, n, g in rows]


def date_params(start: dt.date, end: dt.date) -> list[Any]:
    return [
        bigquery.ScalarQueryParameter("start", "DATE", start),
        bigquery.ScalarQueryParameter("end", "DATE", end),
    ]


def plain_query(
    project: str, live: Sequence[tuple[int, TableSpec]], start: dt.date, end: dt.date
) -> tuple[str, list[Any]]:
    """The UNION ALL coverage query over `(tag, spec)` pairs and its parameters."""
    parts, params = [], date_params(start, end)
    for i, spec in live:
        sql, p = plain_part(project, i, spec)
        parts.append(sql)
        params += p
    return " UNION ALL ".join(parts), params


def partitions_query(
    project: str,
    live: Sequence[tuple[int, TableSpec]],
    start: dt.date,
    end: dt.date,
    is_daily: Callable[[TableSpec], bool],
) -> tuple[str, list[Any], dict[tuple[int, str], list[int]]]:
    """One job: PARTITIONS per dataset for daily-partitioned tables, plain parts for the rest.

    Returns the SQL, its parameters and `(dataset tag, table name) -> spec tags`.
    """
    by_dataset: dict[str, list[tuple[int, TableSpec]]] = {}
    plain: list[tuple[int, TableSpec]] = []
    for i, spec in live:
        # Metadata cannot count flagged rows: tables with a degraded column are scanned.
        if spec.degraded_column is None and is_daily(spec):
            by_dataset.setdefault(spec.ref.dataset, []).append((i, spec))
        else:
            plain.append((i, spec))
    parts: list[str] = []
    params = date_params(start, end) if plain else []
    params += [
        bigquery.ScalarQueryParameter("pstart", "STRING", start.strftime("%Y%m%d")),
        bigquery.ScalarQueryParameter("pend", "STRING", end.strftime("%Y%m%d")),
    ]
    routes: dict[tuple[int, str], list[int]] = {}
    for k, (ds, members) in enumerate(sorted(by_dataset.items())):
        names = sorted({s.ref.table for _, s in members})
        sql, p = partitions_part(project, k, ds, names)
        parts.append(sql)
        params += p
        for i, s in members:
            routes.setdefault((-(k + 1), s.ref.table), []).append(i)
    for i, spec in plain:
        sql, p = plain_part(project, i, spec)
        parts.append(sql)
        params += p
    return " UNION ALL ".join(parts), params, routes


def split(project: str, live: Sequence[tuple[int, TableSpec]]) -> list[list[tuple[int, TableSpec]]]:
    """`live` in groups that each make one query within BigQuery's limits: at most
    `MAX_TABLES_PER_QUERY` tables referenced and `MAX_QUERY_CHARS` of SQL. Each table is sized
    as its plain part (a partitions part, one per dataset, is shorter and references one view),
    so either strategy's query of a group fits. One group when the poll fits in one job."""
    groups: list[list[tuple[int, TableSpec]]] = [[]]
    size = 0
    for item in live:
        part = len(plain_part(project, item[0], item[1])[0]) + len(" UNION ALL ")
        if groups[-1] and (
            len(groups[-1]) >= MAX_TABLES_PER_QUERY or size + part > MAX_QUERY_CHARS
        ):
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += part
    return groups if groups[0] else []
