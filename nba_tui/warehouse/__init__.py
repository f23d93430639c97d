"""Warehouse backends behind one small synchronous protocol (see `base.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nba_tui.warehouse.base import Counts, TableSpec, Warehouse, WarehouseError

if TYPE_CHECKING:
    from nba_tui.config import Pipeline

__all__ = ["Counts", "TableSpec", "Warehouse", "WarehouseError", "open_warehouse", "specs", "fetch"]


def open_warehouse(pipeline: Pipeline) -> Warehouse:
    """The configured backend (imported lazily: the BigQuery client is heavy)."""
    if pipeline.warehouse.backend == "bigquery":
        from nba_tui.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(pipeline.warehouse.bigquery)
    from nba_tui.warehouse.sqlite import SqliteWarehouse

    # Counts survive the process in the state directory (`sqlite_cache`): `status --json` and a
    # dashboard's first poll then count only the datasets written since.
    return SqliteWarehouse(
        pipeline.sqlite_dir,
        pipeline.datasets(),
        pipeline.warehouse.sqlite.busy_timeout_ms,
        cache_dir=pipeline.state_dir / "cache",
    )


def specs(pipeline: Pipeline) -> tuple[TableSpec, list[TableSpec]]:
    exp = pipeline.expected_dates
    expected = TableSpec("__expected__", exp.ref, exp.column)
    tables = [TableSpec(t.name, t.ref, t.date_column, t.degraded_column) for t in pipeline.tables()]
    return expected, tables


def fetch(pipeline: Pipeline, warehouse: Warehouse) -> Counts:
    """One poll: the pipeline's whole range, every table, one round trip."""
    expected, tables = specs(pipeline)
    return warehouse.counts(expected, tables, pipeline.range.start, pipeline.range.end)
