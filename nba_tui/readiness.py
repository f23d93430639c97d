"""Date-level readiness: which dates of a table may be computed now, from one coverage poll.

Phase-level preflight (`preflight.py`) answers "may phase 4 start?"; the autopilot needs the finer
question "which dates of this table may start?", so that a downstream table starts on the dates
its inputs already cover and picks up more as they fill (a wavefront), instead of waiting for the
whole previous table.

Date d of a table is **ready** when every input (hard and, unless told otherwise, soft) has rows
for every date *the input expects* in `[d - lookback_days, d]` (calendar days; `lookback_days`
from the table's `depends_on` entry, 0 by default). "Has rows" is the input's coverage state:
`present` and `thin` count as rows, `missing` does not, and `bootstrap` dates (a season start the
input does not expect to fill) never block. Dates outside the snapshot's range are unknown and do
not block either.

Everything is computed from the `Snapshot` of one poll: no extra warehouse round trip per date.
Each input's missing dates are one sorted array of day ordinals (cached on the `TableCoverage`,
which `CoverageCache` reuses while a table is unchanged); they become merged blocked spans, and
the candidate dates are swept once against them (`blocked_by` bisects one date's window). The
whole sample pipeline (15 tables x 917 dates) takes a few milliseconds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from collections.abc import Iterable

from nba_tui.config import Input, Pipeline, Table
from nba_tui.coverage import Snapshot, TableCoverage

__all__ = ["blocked_by", "degraded_by_choice", "ready_dates", "runnable"]


def _inputs(table: Table, include_soft: bool) -> list[Input]:
    return [i for i in table.inputs if include_soft or not i.soft]


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans merged where they overlap or touch."""
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _input_spans(cov: TableCoverage, lookback: int) -> list[tuple[int, int]]:
    """Reader dates (ordinal spans) one input blocks: its missing date m blocks m .. m + lookback.
    Kept on the coverage, which is reused while the input's table is unchanged."""
    key = ("readiness.spans", lookback)
    hit = cov.memo.get(key)
    if hit is None:
        hit = cov.memo[key] = _merge((m, m + lookback) for m in cov.missing_ordinals())
    return hit  # type: ignore[return-value]


def _blocked_spans(snapshot: Snapshot, inputs: list[Input]) -> list[tuple[int, int]]:
    """Merged, sorted ordinal spans of reader dates that some input blocks."""
    lists = [_input_spans(snapshot.tables[i.name], i.lookback_days) for i in inputs]
    lists = [x for x in lists if x]
    if len(lists) <= 1:
        return lists[0] if lists else []
    return _merge(heapq.merge(*lists))


def _ready(snapshot: Snapshot, table: Table, days: list[int], include_soft: bool) -> list[dt.date]:
    """The sorted ordinals `days` outside every blocked span, as dates: one sweep,
    O(days + spans)."""
    spans = _blocked_spans(snapshot, _inputs(table, include_soft))
    out: list[int] = []
    k, n = 0, len(spans)
    for o in days:
        while k < n and spans[k][1] < o:
            k += 1
        if k == n or o < spans[k][0]:
            out.append(o)
    return [dt.date.fromordinal(o) for o in out]


def ready_dates(
    pipeline: Pipeline, snapshot: Snapshot, table: str, *, include_soft: bool = True
) -> list[dt.date]:
    """The table's expected dates (bootstrap ones included, sorted) whose inputs all have rows
    for every date they expect in `[d - lookback_days, d]`; soft inputs count unless
    `include_soft` is false. A table without inputs is ready on every expected date."""
    t = pipeline.table(table)
    days = sorted(d.toordinal() for d in snapshot.tables[t.name].states)
    return _ready(snapshot, t, days, include_soft)


def runnable(
    pipeline: Pipeline, snapshot: Snapshot, table: str, *, skip_preflight: bool = False
) -> list[dt.date]:
    """The table's missing dates that are ready now, sorted: what a backfill may compute.

    With `skip_preflight` soft inputs are not required (the program falls back to synthetic rows
    on those dates: `degraded_by_choice` lists them, for the plan to record and show); hard inputs
    always are (a program fails a date whose hard input is missing)."""
    t = pipeline.table(table)
    return _ready(snapshot, t, snapshot.tables[t.name].missing_ordinals(), not skip_preflight)


def degraded_by_choice(pipeline: Pipeline, snapshot: Snapshot, table: str) -> list[dt.date]:
    """Dates `runnable(..., skip_preflight=True)` adds to plain `runnable`: missing dates whose
    hard inputs are there but a soft input is not, so they would be computed on fallbacks."""
    t = pipeline.table(table)
    missing = snapshot.tables[t.name].missing_ordinals()
    strict = set(_ready(snapshot, t, missing, True))
    return [d for d in _ready(snapshot, t, missing, False) if d not in strict]


def blocked_by(
    pipeline: Pipeline,
    snapshot: Snapshot,
    table: str,
    date: dt.date,
    *,
    include_soft: bool = True,
) -> list[tuple[str, list[dt.date]]]:
    """Which inputs keep `date` of `table` from being ready, each with the dates it lacks in its
    look-back window (sorted), in the table's input order (hard first); empty when ready."""
    t = pipeline.table(table)
    day = date.toordinal()
    out: list[tuple[str, list[dt.date]]] = []
    for inp in _inputs(t, include_soft):
        missing = snapshot.tables[inp.name].missing_ordinals()
        lo = bisect.bisect_left(missing, day - inp.lookback_days)
        hi = bisect.bisect_right(missing, day)
        if lo < hi:
            out.append((inp.name, [dt.date.fromordinal(o) for o in missing[lo:hi]]))
    return out
