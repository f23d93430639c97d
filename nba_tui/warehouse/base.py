"""The small synchronous warehouse protocol.

The TUI calls it from thread workers, the CLI directly. One call, `counts()`, answers a whole poll:
the expected dates and the rows per date of every table, in one round trip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nba_tui.identifiers import TableRef


class WarehouseError(Exception):
    """The warehouse could not answer. `str()` is one line for the user; `hint` says what to fix."""

    def __init__(self, message: str, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.retry_after = retry_after


@dataclass(frozen=True)
class TableSpec:
    """What a poll needs to know of one table."""

    name: str
    ref: TableRef
    date_column: str
    degraded_column: str | None = None
    """A validated column whose non-zero/true rows are degraded: counted per date in the same
    query (None: nothing to count)."""


@dataclass
class Counts:
    """One poll's raw facts: expected dates and rows per date per table (tables by name).

    Backends may hand back the *same* dict objects for tables that did not change since their
    previous call (`coverage.CoverageCache` then skips them in O(1)): treat them as read-only.
    """

    expected: list[dt.date]
    rows: dict[str, dict[dt.date, int]]
    expected_rows: dict[dt.date, int] = field(default_factory=dict)
    """Rows of the schedule per expected date (games that day): lets `thin` be judged per game,
    so a one-game playoff night is not flagged next to a fifteen-game Wednesday."""
    missing_tables: list[str] = field(default_factory=list)
    """Tables that do not exist yet (shown as 0 %, not as an error)."""
    queries: int = 1
    """Query jobs (statements) this poll ran; 0 when every table was served from a cache."""
    bytes_processed: int | None = None
    elapsed: float = 0.0
    bytes_billed: int | None = None
    """Bytes billed by this poll's query jobs, from their own statistics (0 when no job ran;
    None when the backend does not report billing: SQLite, an emulator)."""
    degraded: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    """Flagged rows per date, for the tables whose spec has a `degraded_column` (same round trip
    as `rows`; the same dict objects while a table is unchanged, like `rows`)."""
    digests: dict[str, str] = field(default_factory=dict)
    """Table name -> a digest of its rows and flagged rows that is equal in any process exactly
    when they are equal (SQLite: the digest of its counts cache entry); absent when the backend
    has none. Lets the coverage of an unchanged table be read back instead of computed."""
    expected_digest: str | None = None
    """The same digest for the schedule's rows per date (`expected_rows`)."""


class Warehouse(Protocol):
    """A backend. Implementations: `sqlite.SqliteWarehouse`, `bigquery.BigQueryWarehouse`."""

    name: str

    def counts(
        self,
        expected: TableSpec,
        tables: Sequence[TableSpec],
        start: dt.date,
        end: dt.date,
    ) -> Counts: ...

    def close(self) -> None: ...
