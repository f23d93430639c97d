"""The embedded NBA pipeline: schedule, raw data, and the real backfill programs.

`ensure_warehouse(pipeline)` builds the sample warehouse when it is absent; `build_warehouse`
rebuilds it (`nba-tui demo reset`); `python -m nba_tui.sample.backfill TABLE ...` fills one table.
The CLI builds it on first run only for a pipeline with `warehouse.sqlite.sample: true`.
"""

from typing import Any

__all__ = [
    "BuildStats",
    "build_warehouse",
    "ensure_warehouse",
    "remove_checkpoints",
    "table_stats",
    "warehouse_exists",
]


def __getattr__(name: str) -> Any:
    """The builder is imported on first use (PEP 562): every backfill shard imports this package,
    and the builder's imports (the config models among them) would add to its start's CPU time."""
    if name in __all__:
        from nba_tui.sample import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
