"""nba-tui: a terminal dashboard and job supervisor for date-partitioned warehouse backfills."""

__version__ = "0.1.0"
