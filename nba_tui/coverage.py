"""Coverage maths: pure functions over one poll's `Counts`.

A table's coverage is measured against the *expected game dates* (the schedule), not calendar days.
Each expected date is in one state:

- ``present``: rows exist;
- ``thin``: rows exist but far fewer than the table's usual (below `thin_ratio` x median);
- ``missing``: no rows;
- ``bootstrap``: no rows, but the date lies in the table's bootstrap window at a season start
  (rolling windows need history), so it is not counted as missing.

Bootstrap dates are left out of both sides of the share; thin dates count as present (the data is
there) but are listed so someone can look.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nba_tui.config import Pipeline, Table
from nba_tui.coverage_rate import Rate as Rate  # re-exported: callers import it here
from nba_tui.coverage_states import DateRun as DateRun  # re-exported: callers import it here
from nba_tui.coverage_states import DateState as DateState
from nba_tui.coverage_states import bootstrap_dates as bootstrap_dates
from nba_tui.coverage_states import per_game, season_starts, states_of
from nba_tui.coverage_store import CoverageStore, table_key
from nba_tui.coverage_table import TableCoverage as TableCoverage  # re-exported: callers use it
from nba_tui.jsontext import RawJson
from nba_tui.warehouse.base import Counts, Deferred, entry, resolved


def _in_range(d: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or d >= start) and (end is None or d <= end)


def _narrow(
    per_date: dict[dt.date, int], start: dt.date | None, end: dt.date | None
) -> dict[dt.date, int]:
    """The dates of `per_date` within [start, end]; the dict itself when unbounded."""
    if start is None and end is None:
        return per_date
    return {d: n for d, n in per_date.items() if _in_range(d, start, end)}


def _median(data: list) -> float:
    """`statistics.median` of sorted `data`: the middle value, or the mean of the middle two."""
    n = len(data)
    return data[n // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2


def table_coverage(
    table: Table,
    phase: str,
    counts: Counts,
    starts: Sequence[dt.date],
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    expected: Sequence[dt.date] | None = None,
    boot: set[dt.date] | None = None,
    index: dict[dt.date, int] | None = None,
    all_present: dict[dt.date, DateState] | None = None,
) -> TableCoverage:
    """One table's coverage. `expected`/`boot`/`index`/`all_present` (see `states_of`) may be
    passed precomputed (snapshot() shares them between tables: a poll must stay cheap)."""
    if expected is None:
        expected = [d for d in counts.expected if _in_range(d, start, end)]
    if boot is None:
        boot = bootstrap_dates(expected, starts, table.bootstrap_days)
    rows = _narrow(counts.rows.get(table.name, {}), start, end)
    flagged = _narrow(counts.degraded.get(table.name, {}), start, end)
    have = list(filter(rows.__contains__, expected))  # in C: per table, per date, per poll
    counted = list(map(rows.__getitem__, have))
    has = rows.__contains__
    ordered = sorted(counted)
    if ordered and ordered[0] <= 0:
        have = [d for d, n in zip(have, counted, strict=True) if n > 0]
        counted = [n for n in counted if n > 0]
        ordered = [n for n in ordered if n > 0]
        has = set(have).__contains__
    median = float(_median(ordered)) if have else 0.0
    ratios = per_game(have, counted, counts.expected_rows)
    median_per_game = float(_median(sorted(ratios))) if ratios else 0.0
    thin_below = table.thin_ratio * median_per_game
    states, lists, missing_runs = states_of(
        expected, have, ratios, has, boot, thin_below, index, all_present
    )
    cov = TableCoverage(
        name=table.name,
        table=table.table,
        phase=phase,
        threshold=table.min_coverage,
        expected=len(expected) - (sum(1 for d in expected if d in boot) if boot else 0),
        present=len(have) - (sum(1 for d in have if d in boot) if boot else 0),
        exists=table.name not in counts.missing_tables,
        states=states,
        rows=rows,
        first_date=have[0] if have else None,
        last_date=have[-1] if have else None,
        median_rows=median,
        missing_runs=missing_runs,
        degraded_rows=flagged,
    )
    cov._lists = lists
    return cov


@dataclass
class Snapshot:
    """Coverage of every table from one poll."""

    tables: dict[str, TableCoverage]
    expected_dates: list[dt.date]
    season_starts: list[dt.date]
    taken_at: float
    """`time.time()` when the poll finished."""
    queries: int
    bytes_processed: int | None
    elapsed: float
    bytes_billed: int | None = None
    """Bytes the poll's query jobs billed, from their own statistics (0: no job ran; None: the
    backend does not say: SQLite, or an emulator)."""
    note: str | None = None
    """The warehouse's note at this poll (BigQuery: why the partitions strategy fell back to the
    plain query), for one-shot commands that only get the snapshot; None: nothing to say."""
    asked_at: float | None = None
    """`time.time()` when the poll asked the warehouse (`Monitor`): every write committed before
    is counted; a job that ended later may have written rows this snapshot lacks. None: unknown
    (then `taken_at` is the best bound)."""

    @property
    def counted_at(self) -> float:
        """The time up to which every committed write is in the counts."""
        return self.asked_at if self.asked_at is not None else self.taken_at

    def phase_tables(self, pipeline: Pipeline, phase: str) -> list[TableCoverage]:
        return [self.tables[t.name] for t in pipeline.phase(phase).tables]

    def to_json(self, pipeline: Pipeline, raw: bool = False) -> dict:
        """The snapshot as JSON values; `raw`: each table's as `RawJson` (for `jsontext.dumps`:
        a table read back from the store is written out without being parsed)."""

        def table(cov: TableCoverage) -> dict | RawJson:
            return RawJson(cov.json_text()) if raw else cov.to_json()

        return {
            "pipeline": pipeline.pipeline,
            "expected_dates": len(self.expected_dates),
            "range": {
                "start": self.expected_dates[0].isoformat() if self.expected_dates else None,
                "end": self.expected_dates[-1].isoformat() if self.expected_dates else None,
            },
            "taken_at": dt.datetime.fromtimestamp(self.taken_at, dt.UTC).isoformat(),
            "queries": self.queries,
            "bytes_processed": self.bytes_processed,
            "bytes_billed": self.bytes_billed,
            "note": self.note,
            "elapsed_s": round(self.elapsed, 4),
            "phases": [
                {
                    "name": p.name,
                    "tables": [table(self.tables[t.name]) for t in p.tables],
                }
                for p in pipeline.phases
            ],
        }


def snapshot(
    pipeline: Pipeline,
    counts: Counts,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Snapshot:
    """Coverage of all tables. `counts` covers the pipeline's whole range (so season starts are
    found correctly); `start`/`end` narrow what is measured."""
    return CoverageCache().snapshot(pipeline, counts, start, end)


_Entry = dict[dt.date, int] | Deferred
_Cached = tuple[_Entry, _Entry, bool, TableCoverage]
"""A table's rows, flagged rows (as the counts held them: `Deferred` ones are built only to be
compared with other rows) and existence at its last computation, and the coverage."""


class CoverageCache:
    """Coverage of successive polls, recomputing only the tables whose inputs changed.

    Why: the maths cost far more than an unchanged fetch, and a quiet night is almost all
    unchanged polls. A table's coverage depends only on its own rows,
    whether it exists, and the context shared by every table (the pipeline, `start`/`end`, the
    schedule's rows per date); when none of those changed, its previous `TableCoverage` object is
    reused as is (so callers may compare coverages with `is` to skip redrawing). Backends that
    return the same rows dict for an unchanged table make the check O(1); others cost one dict
    comparison per table.
    """

    def __init__(self, store: CoverageStore | None = None) -> None:
        self.store = store
        """Coverage of earlier processes (`coverage_store`), for tables whose counts carry a
        digest; None: always computed."""
        self.computed = 0
        """`table_coverage()` calls so far (tests and the bench count them)."""
        self._pipeline: Pipeline | None = None
        self._range: tuple[dt.date | None, dt.date | None] = (None, None)
        self._schedule: dict[dt.date, int] | None = None
        self._dates: list[dt.date] = []
        self._expected: list[dt.date] = []
        self._index: dict[dt.date, int] = {}
        self._all_present: dict[dt.date, DateState] = {}
        self._starts: list[dt.date] = []
        self._boots: dict[int, set[dt.date]] = {}
        self._tables: dict[str, _Cached] = {}

    def _context(
        self, pipeline: Pipeline, counts: Counts, start: dt.date | None, end: dt.date | None
    ) -> None:
        """Recompute what every table shares when the pipeline, range or schedule changed."""
        sched = counts.expected_rows
        same = (
            pipeline is self._pipeline
            and (start, end) == self._range
            and self._schedule is not None
            and (sched is self._schedule or sched == self._schedule)
            and (counts.expected is self._dates or counts.expected == self._dates)
        )
        if same:
            return
        self._pipeline, self._range, self._schedule = pipeline, (start, end), sched
        self._dates = counts.expected
        self._starts = season_starts(counts.expected, pipeline.expected_dates.season_gap_days)
        self._expected = [d for d in counts.expected if _in_range(d, start, end)]
        self._index = {d: i for i, d in enumerate(self._expected)}
        self._all_present = dict.fromkeys(self._expected, DateState.PRESENT)
        self._boots = {}
        self._tables = {}

    def snapshot(
        self,
        pipeline: Pipeline,
        counts: Counts,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> Snapshot:
        self._context(pipeline, counts, start, end)
        tables: dict[str, TableCoverage] = {}
        keys: list[str] = []
        for p in pipeline.phases:
            for t in p.tables:
                rows = entry(counts.rows, t.name, {})
                flagged = entry(counts.degraded, t.name, {})
                exists = t.name not in counts.missing_tables
                hit = self._tables.get(t.name)
                if (
                    hit is not None
                    and hit[2] == exists
                    and (hit[0] is rows or resolved(hit[0]) == resolved(rows))
                    and (hit[1] is flagged or resolved(hit[1]) == resolved(flagged))
                ):
                    tables[t.name] = hit[3]
                    continue
                cov = self._coverage(pipeline, t, p.name, counts, start, end, keys)
                self._tables[t.name] = (rows, flagged, exists, cov)
                tables[t.name] = cov
        if self.store is not None and keys:
            self.store.save(keys)
        return Snapshot(
            tables=tables,
            expected_dates=self._expected,
            season_starts=self._starts,
            taken_at=time.time(),
            queries=counts.queries,
            bytes_processed=counts.bytes_processed,
            elapsed=counts.elapsed,
            bytes_billed=counts.bytes_billed,
        )

    def _coverage(
        self,
        pipeline: Pipeline,
        t: Table,
        phase: str,
        counts: Counts,
        start: dt.date | None,
        end: dt.date | None,
        keys: list[str],
    ) -> TableCoverage:
        """A table's coverage: read back from the store when its key is there (the maths run on
        first use of its per-date fields), else computed (and put in the store). Appends the
        table's key to `keys` when its counts have a digest."""

        # This poll's context, not the cache's at call time: a stored coverage may be computed
        # later, after the schedule changed.
        expected, starts, boots = self._expected, self._starts, self._boots
        index, all_present = self._index, self._all_present

        def compute() -> TableCoverage:
            if t.bootstrap_days not in boots:
                boots[t.bootstrap_days] = bootstrap_dates(expected, starts, t.bootstrap_days)
            self.computed += 1
            boot = boots[t.bootstrap_days]
            return table_coverage(
                t,
                phase,
                counts,
                starts,
                start,
                end,
                expected=expected,
                boot=boot,
                index=index,
                all_present=all_present,
            )

        digest = counts.digests.get(t.name)
        if self.store is None or digest is None or counts.expected_digest is None:
            return compute()
        gap = pipeline.expected_dates.season_gap_days
        key = table_key(t, phase, gap, start, end, counts.expected_digest, digest)
        keys.append(key)
        stored = self.store.get(key)
        if stored is not None:
            try:
                return _Stored.make(t, phase, stored, compute)
            except (KeyError, TypeError, ValueError):  # a malformed entry: compute it
                pass
        cov = compute()
        self.store.put(key, cov.figures(), cov.json_text())
        return cov


class _Stored(TableCoverage):
    """A coverage read back from `CoverageStore`: its figures and `to_json()` (text) as stored,
    and its per-date fields (`states`, `rows`, `missing_runs`, `degraded_rows`) computed from the
    same counts on first use of any of them (`status --json` uses none)."""

    _LAZY = frozenset({"states", "rows", "missing_runs", "degraded_rows"})

    @classmethod
    def make(
        cls, t: Table, phase: str, stored: tuple[dict, str], compute: Callable[[], TableCoverage]
    ) -> TableCoverage:
        cov = cls.__new__(cls)
        data, text = stored
        first, last = data.get("first_date"), data.get("last_date")
        cov.__dict__.update(
            name=t.name,
            table=t.table,
            phase=phase,
            threshold=t.min_coverage,
            expected=data["expected"],
            present=data["present"],
            exists=True,
            first_date=dt.date.fromisoformat(first) if first else None,
            last_date=dt.date.fromisoformat(last) if last else None,
            median_rows=data["median_rows"],
            memo={},
            _text=text,
            _degraded=bool(data["degraded"]),
            _compute=compute,
        )
        return cov

    def __getattr__(self, name: str) -> object:
        if name not in _Stored._LAZY:
            raise AttributeError(name)
        full = self.__dict__["_compute"]()
        for f in ("states", "rows", "missing_runs", "degraded_rows", "_lists"):
            self.__dict__[f] = full.__dict__[f]
        return self.__dict__[name]

    @property
    def has_degraded(self) -> bool:
        return self.__dict__["_degraded"]

    def to_json(self) -> dict:
        return json.loads(self.__dict__["_text"])

    def json_text(self) -> str:
        return self.__dict__["_text"]
