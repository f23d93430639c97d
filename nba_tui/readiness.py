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

**One rule for soft inputs.** A soft input's missing date holds a reader's date only while
something can still fill it: the input has a backfill and each of its hard inputs has rows for
the dates it reads, or can get them the same way (`unfillable`, walked down the pipeline). A
soft-input date nothing can fill (betting lines that never existed) lets the reader's date run
on its fallback: that date is **degraded by necessity** (`degraded_by_necessity`), apart from
`--skip-preflight`'s dates, degraded *by choice* (`degraded_by_choice`). `runnable` applies the
rule; the autopilot, `launch --missing`, `launch-phase`, `watch --heal` and the dashboard's `m`
all go through it.

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
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from nba_tui.config import Input, Pipeline, Table
from nba_tui.coverage import Snapshot, TableCoverage

__all__ = [
    "Fillability",
    "Outlook",
    "blocked_by",
    "degraded_by_choice",
    "degraded_by_necessity",
    "degraded_counts",
    "degraded_split",
    "degraded_words",
    "describe_fallback",
    "describe_never",
    "fallback_lines",
    "fallbacks_ahead",
    "fillability",
    "fillable_missing",
    "missing_note",
    "outlook",
    "phase_note",
    "ready_dates",
    "runnable",
    "unfillable",
    "why_never",
]


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


Spans = list[tuple[int, int]]


@dataclass(frozen=True)
class Fillability:
    """What nothing can fill, per table, from one snapshot (`fillability`)."""

    unfillable: dict[str, dict[int, str]]
    """Table -> its missing dates (ordinals, sorted) that nothing can fill, each with the table
    at the root: one without a backfill that lacks rows the chain reads."""
    direct: dict[str, Spans]
    """Table -> dates (merged ordinal spans) a soft input of its own can never cover: computed
    there, the table runs on its fallback."""
    necessity: dict[str, Spans]
    """Table -> dates degraded by necessity when computed: `direct`, plus dates whose hard inputs
    read such a date in their look-back (ml_feature_store carries player_composite_factors')."""


_memo: list[tuple[Pipeline, Snapshot, Fillability]] = []
_memo_lock = threading.Lock()


def _first_within(keys: list[int], lo: int, hi: int) -> int | None:
    """The first of the sorted `keys` in [lo, hi], or None."""
    i = bisect.bisect_left(keys, lo)
    return keys[i] if i < len(keys) and keys[i] <= hi else None


def _unfillable_of(
    table: Table, missing: list[int], unf: dict[str, dict[int, str]]
) -> dict[int, str]:
    """The table's missing ordinals nothing can fill (its inputs already walked into `unf`)."""
    if table.backfill is None:
        return dict.fromkeys(missing, table.name)
    mine: dict[int, str] = {}
    for inp in _inputs(table, False):
        keys = list(unf[inp.name])
        if not keys:
            continue
        for m in missing:
            if m not in mine:
                hit = _first_within(keys, m - inp.lookback_days, m)
                if hit is not None:
                    mine[m] = unf[inp.name][hit]
    return dict(sorted(mine.items()))


def fillability(pipeline: Pipeline, snapshot: Snapshot) -> Fillability:
    """The one rule's facts for every table, walked in dependency order: a missing date of a
    table can be filled when the table has a backfill and each hard input has, or can get the
    same way, the dates it reads there. Kept for the last snapshot asked about."""
    with _memo_lock:
        for pipe, snap, hit in _memo:
            if pipe is pipeline and snap is snapshot:
                return hit
    unf: dict[str, dict[int, str]] = {}
    direct: dict[str, Spans] = {}
    nec: dict[str, Spans] = {}
    for name in pipeline.topological_order():
        t = pipeline.table(name)
        cov = snapshot.tables.get(name)  # a hand-made snapshot may leave a table out: unknown
        unf[name] = _unfillable_of(t, cov.missing_ordinals() if cov else [], unf)
        soft = [(u, u + i.lookback_days) for i in t.inputs if i.soft for u in unf[i.name]]
        direct[name] = _merge(sorted(soft))
        hard = [(lo, hi + i.lookback_days) for i in _inputs(t, False) for lo, hi in nec[i.name]]
        nec[name] = _merge(sorted(soft + hard))
    out = Fillability(unf, direct, nec)
    with _memo_lock:
        _memo[:] = [(pipeline, snapshot, out)]
    return out


def _in_spans(spans: Spans, o: int) -> bool:
    """Is ordinal `o` inside one of the merged, sorted `spans`?"""
    i = bisect.bisect_left(spans, (o + 1,)) - 1
    return i >= 0 and spans[i][1] >= o


def _blocked_spans(snapshot: Snapshot, inputs: list[Input], fill: Fillability | None) -> Spans:
    """Merged, sorted ordinal spans of reader dates that some input blocks. With `fill`, a soft
    input's dates that nothing can fill do not block (the one rule)."""
    lists = []
    for i in inputs:
        cov = snapshot.tables[i.name]
        never = fill.unfillable.get(i.name) if fill is not None and i.soft else None
        if never:
            lb = i.lookback_days
            lists.append(_merge((m, m + lb) for m in cov.missing_ordinals() if m not in never))
        else:
            lists.append(_input_spans(cov, i.lookback_days))
    lists = [x for x in lists if x]
    if len(lists) <= 1:
        return lists[0] if lists else []
    return _merge(heapq.merge(*lists))


def _ready(
    snapshot: Snapshot,
    table: Table,
    days: list[int],
    include_soft: bool,
    fill: Fillability | None = None,
) -> list[dt.date]:
    """The sorted ordinals `days` outside every blocked span, as dates: one sweep,
    O(days + spans)."""
    spans = _blocked_spans(snapshot, _inputs(table, include_soft), fill)
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
    """The table's missing dates that may be computed now, sorted: what a backfill may run.

    Hard inputs must have rows (a program fails a date whose hard input is missing). A soft
    input's missing date holds the reader's date only while something can still fill it; on
    the dates it can never cover the reader runs on its fallback (`degraded_by_necessity`).
    With `skip_preflight` soft inputs are not required at all (`degraded_by_choice` lists the
    extra dates, for the plan to record and show)."""
    t = pipeline.table(table)
    missing = snapshot.tables[t.name].missing_ordinals()
    if skip_preflight:
        return _ready(snapshot, t, missing, False)
    return _ready(snapshot, t, missing, True, fillability(pipeline, snapshot))


def degraded_by_necessity(
    pipeline: Pipeline, snapshot: Snapshot, table: str, dates: Iterable[dt.date] | None = None
) -> list[dt.date]:
    """Of `dates` (default: `runnable`), sorted, those computed on the fallback because a soft
    input lacks a date in its look-back that nothing can fill."""
    spans = fillability(pipeline, snapshot).direct[pipeline.table(table).name]
    days = runnable(pipeline, snapshot, table) if dates is None else sorted(set(dates))
    return [d for d in days if spans and _in_spans(spans, d.toordinal())]


def degraded_by_choice(pipeline: Pipeline, snapshot: Snapshot, table: str) -> list[dt.date]:
    """Dates `runnable(..., skip_preflight=True)` adds to plain `runnable`: missing dates whose
    hard inputs are there but a soft input lacks a date something could still fill, so they
    would be computed on fallbacks by choice."""
    rule = set(runnable(pipeline, snapshot, table))
    return [d for d in runnable(pipeline, snapshot, table, skip_preflight=True) if d not in rule]


def degraded_split(
    pipeline: Pipeline, snapshot: Snapshot, table: str
) -> tuple[list[dt.date], list[dt.date]]:
    """The table's degraded dates (rows flagged on fallbacks) as (by necessity, by choice): by
    necessity where a soft input it reads, itself or through a hard input, lacks a date nothing
    can fill; by choice (`--skip-preflight`, or an input filled since) otherwise."""
    t = pipeline.table(table)
    spans = fillability(pipeline, snapshot).necessity[t.name]
    need: list[dt.date] = []
    chose: list[dt.date] = []
    for d in snapshot.tables[t.name].degraded:
        (need if spans and _in_spans(spans, d.toordinal()) else chose).append(d)
    return need, chose


def unfillable(pipeline: Pipeline, snapshot: Snapshot, table: str) -> dict[dt.date, str]:
    """The table's missing dates nothing can fill, sorted, each with the table at the root of
    the reason: one without a backfill that has no rows there (e.g. bettingpros_player_props
    before betting lines existed), or the table itself when it has no backfill."""
    never = fillability(pipeline, snapshot).unfillable[pipeline.table(table).name]
    return {dt.date.fromordinal(o): root for o, root in never.items()}


def fillable_missing(pipeline: Pipeline, snapshot: Snapshot, table: str) -> list[dt.date]:
    """The table's missing dates something can still fill (now or once its inputs are)."""
    t = pipeline.table(table)
    never = fillability(pipeline, snapshot).unfillable[t.name]
    missing = snapshot.tables[t.name].missing_ordinals()
    return [dt.date.fromordinal(o) for o in missing if o not in never]


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


@dataclass(frozen=True)
class Outlook:
    """What a gap-only launch of one table can do, by the one rule (`outlook`)."""

    table: str
    fill: list[dt.date]
    """Missing dates something can fill: now, or once their inputs are filled."""
    fallback: list[dt.date]
    """Of `fill`, those that will run on fallbacks by necessity (degraded by necessity)."""
    never: dict[dt.date, str]
    """Missing dates nothing can fill, each with the table at the root of the reason."""
    soft: list[str]
    """The soft inputs that lack, for good, dates the `fallback` dates read."""


def outlook(pipeline: Pipeline, snapshot: Snapshot, table: str) -> Outlook:
    """The table's missing dates split by the one rule: fillable (and, of those, the ones that
    will run on fallbacks) and never fillable (with why)."""
    t = pipeline.table(table)
    fill = fillable_missing(pipeline, snapshot, t.name)
    fallback = degraded_by_necessity(pipeline, snapshot, t.name, fill)
    never = unfillable(pipeline, snapshot, t.name)
    facts = fillability(pipeline, snapshot)
    soft = [i.name for i in t.inputs if i.soft and facts.unfillable[i.name]] if fallback else []
    return Outlook(t.name, fill, fallback, never, soft)


def _roots(pipeline: Pipeline, snapshot: Snapshot, tables: Iterable[str]) -> list[str]:
    facts = fillability(pipeline, snapshot)
    return sorted({r for name in tables for r in facts.unfillable[name].values()})


def _nothing_fills(roots: list[str]) -> str:
    return f"no rows in {', '.join(roots)} there, which nothing backfills"


def why_never(o: Outlook) -> str:
    """Why `o.never`'s dates cannot be filled, in words (`o.never` not empty)."""
    roots = sorted(set(o.never.values()))
    if roots == [o.table]:
        return f"{o.table} has no backfill"
    return _nothing_fills(roots)


def describe_never(o: Outlook) -> str | None:
    """`310 cannot be filled: no rows in bettingpros_player_props there, which nothing
    backfills`, or None when every missing date can be filled."""
    return f"{len(o.never)} cannot be filled: {why_never(o)}" if o.never else None


def describe_fallback(pipeline: Pipeline, snapshot: Snapshot, o: Outlook) -> str | None:
    """`282 will run on fallbacks (degraded by necessity): upcoming_player_game_context lacks
    them for good (no rows in bettingpros_player_props there, ...)`, or None."""
    if not o.fallback:
        return None
    verb = "lacks" if len(o.soft) == 1 else "lack"
    roots = _roots(pipeline, snapshot, o.soft)
    return (
        f"{len(o.fallback)} will run on fallbacks (degraded by necessity): {', '.join(o.soft)} "
        f"{verb} them for good ({_nothing_fills(roots)})"
    )


def fallbacks_ahead(
    pipeline: Pipeline, snapshot: Snapshot, tables: Iterable[str]
) -> dict[str, list[dt.date]]:
    """Per table of a plan (those with any), the missing dates that will run on fallbacks by
    necessity once the plan has filled what it can: what `run` and `launch-phase` announce."""
    out = {}
    for name in tables:
        days = outlook(pipeline, snapshot, name).fallback
        if days:
            out[name] = days
    return out


def fallback_lines(pipeline: Pipeline, snapshot: Snapshot, tables: Iterable[str]) -> list[str]:
    """One line per table of `tables` that will run dates on fallbacks by necessity (empty when
    none): `player_composite_factors: 282 will run on fallbacks (degraded by necessity): ...`."""
    out = []
    for name in tables:
        o = outlook(pipeline, snapshot, name)
        line = describe_fallback(pipeline, snapshot, o)
        if line:
            out.append(f"{name}: {line}")
    return out


def missing_note(pipeline: Pipeline, snapshot: Snapshot, table: str) -> str:
    """What `m` launches, in one phrase: `125 missing dates; 310 cannot be filled: no rows in
    bettingpros_player_props there, which nothing backfills` (fallbacks named likewise)."""
    o = outlook(pipeline, snapshot, table)
    parts = [f"{len(o.fill)} missing date{'s' if len(o.fill) != 1 else ''}"]
    if o.fallback:
        parts.append(f"{len(o.fallback)} on fallbacks by necessity ({', '.join(o.soft)})")
    if o.never:
        parts.append(f"{len(o.never)} cannot be filled: {why_never(o)}")
    return "; ".join(parts)


def what_m_launches(pipeline: Pipeline, snapshot: Snapshot, table: str) -> str:
    """The `l` dialog's line on `m` (a gap-only launch): the dates it launches and the ones
    nothing can fill (`missing_note`), or why it launches none."""
    o = outlook(pipeline, snapshot, table)
    if o.fill:
        return f"m launches only the {missing_note(pipeline, snapshot, table)}."
    if not o.never:
        return "m has nothing to launch: no missing dates."
    return f"m launches nothing: none of its {len(o.never)} missing dates can be filled: " + (
        f"{why_never(o)}."
    )


def degraded_counts(pipeline: Pipeline, snapshot: Snapshot) -> dict[str, tuple[int, int]]:
    """Per table with degraded dates: (by necessity, by choice), for `status` and the report."""
    out = {}
    for t in pipeline.tables():
        cov = snapshot.tables.get(t.name)
        if cov is not None and cov.degraded:
            need, chose = degraded_split(pipeline, snapshot, t.name)
            out[t.name] = (len(need), len(chose))
    return out


def degraded_words(need: int, chose: int) -> str:
    """`282 by necessity`, `3 by choice`, or `282 by necessity, 3 by choice`."""
    parts = [f"{need} by necessity" if need else "", f"{chose} by choice" if chose else ""]
    return ", ".join(p for p in parts if p)


def phase_note(pipeline: Pipeline, snapshot: Snapshot, phase: str) -> str:
    """` (282 dates of player_composite_factors on fallbacks by necessity)` for a phase launch
    that will run such dates, else empty."""
    ahead = fallbacks_ahead(pipeline, snapshot, [t.name for t in pipeline.phase(phase).tables])
    if not ahead:
        return ""
    parts = [f"{len(d)} dates of {t}" for t, d in ahead.items()]
    return f" ({', '.join(parts)} on fallbacks by necessity)"
