"""The embedded NBA pipeline: schedule, raw data, and the real backfill programs.

`ensure_warehouse(pipeline)` builds the sample warehouse on first run; `build_warehouse` rebuilds
it (`nba-tui demo reset`); `python -m nba_tui.sample.backfill TABLE ...` fills one table.
"""

from nba_tui.sample.build import BuildStats, build_warehouse, ensure_warehouse

__all__ = ["BuildStats", "build_warehouse", "ensure_warehouse"]
