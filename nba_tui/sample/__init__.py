"""The embedded NBA pipeline: schedule, raw data, and the real backfill programs.

`ensure_warehouse(pipeline)` builds the sample warehouse when it is absent; `build_warehouse`
rebuilds it (`nba-tui demo reset`); `python -m nba_tui.sample.backfill TABLE ...` fills one table.
The CLI builds it on first run only for a pipeline with `warehouse.sqlite.sample: true`.
"""

from nba_tui.sample.build import (
    BuildStats,
    build_warehouse,
    ensure_warehouse,
    remove_checkpoints,
    table_stats,
    warehouse_exists,
)

__all__ = [
    "BuildStats",
    "build_warehouse",
    "ensure_warehouse",
    "remove_checkpoints",
    "table_stats",
    "warehouse_exists",
]
