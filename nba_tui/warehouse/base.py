"""The small synchronous warehouse protocol.

The TUI calls it from thread workers, the CLI directly. One call, `counts()`, answers a whole poll:
the expected dates and the rows per date of every table, in one round trip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nba_tui.identifiers import TableRef

PerDate = dict[dt.date, int]


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


class Deferred:
    """A table's rows per date built on first use (read from a counts cache: `status --json`
    answers from stored coverage and never needs them), then the same dict for every holder."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], PerDate]) -> None:
        self._make: Callable[[], PerDate] | None = make
        self._value: PerDate | None = None

    def get(self) -> PerDate:
        if self._value is None:
            assert self._make is not None
            self._value, self._make = self._make(), None
        return self._value


def resolved(entry: PerDate | Deferred) -> PerDate:
    return entry.get() if isinstance(entry, Deferred) else entry


class LazyRows(Mapping[str, PerDate]):
    """Rows per date by table name, where an entry may be `Deferred` (built when read)."""

    def __init__(self, entries: dict[str, PerDate | Deferred]) -> None:
        self._entries = entries

    def __getitem__(self, name: str) -> PerDate:
        return resolved(self._entries[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, name: str, default: PerDate) -> PerDate | Deferred:
        """The table's entry as held, unbuilt: the same object while the table is unchanged."""
        return self._entries.get(name, default)


def entry(rows: Mapping[str, PerDate], name: str, default: PerDate) -> PerDate | Deferred:
    """`rows.get(name, default)`, leaving a `Deferred` entry of `LazyRows` unbuilt."""
    if isinstance(rows, LazyRows):
        return rows.entry(name, default)
    return rows.get(name, default)


@dataclass
class Counts:
    """One poll's raw facts: expected dates and rows per date per table (tables by name).

    Backends may hand back the *same* dict objects for tables that did not change since their
    previous call (`coverage.CoverageCache` then skips them in O(1)): treat them as read-only.
    """

    expected: list[dt.date]
    rows: Mapping[str, PerDate]
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
    degraded: Mapping[str, PerDate] = field(default_factory=dict)
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
