"""A plan's forecast in words (pure): the dry-run summary, its `--argv` listing, and the one
line per plan `nba-tui plans` prints. Every line fits 80 columns."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Sequence

from nba_tui import readiness
from nba_tui.config import Pipeline
from nba_tui.jobs import schedule
from nba_tui.jobs.forecast import Forecast, clock, duration

WIDTH = 80


def held_back(
    pipeline: Pipeline, f: Forecast, table: str, *, skip_preflight: bool
) -> list[tuple[int, str]]:
    """The table's dates the simulated plan never starts, counted by reason (most first)."""
    if f.final is None or table not in f.final.tables:
        return []
    reasons: dict[str, int] = {}
    for d in f.final.tables[table].missing:
        lacks = readiness.blocked_by(pipeline, f.final, table, d, include_soft=not skip_preflight)
        if lacks:
            why = f"wait for {lacks[0][0]}"
        else:
            why = "excluded (quarantined, or left unfilled by its program)"
        reasons[why] = reasons.get(why, 0) + 1
    return sorted(((n, why) for why, n in reasons.items()), reverse=True)


def _span(start: float | None, end: float) -> str:
    if start is None:
        return "-"
    return f"+{duration(start)}..+{duration(end)}"


def render_summary(
    pipeline: Pipeline,
    f: Forecast,
    tables: Sequence[str],
    *,
    max_parallel: int,
    skip_preflight: bool,
) -> str:
    """The dry run's default output: per table dates, shards, held back and when it runs; the
    night's forecast end and how sure it is."""
    total = sum(tf.dates for tf in f.tables.values())
    shards = sum(tf.shards for tf in f.tables.values())
    if not total:
        return "nothing to run: no table of these phases has missing dates that can be ready\n"
    out = [
        f"{total:,} date(s) in {shards} shard(s) at max_parallel {max_parallel}; "
        "nothing is launched",
        f"{'table':<30}{'dates':>6}{'shards':>7}{'held':>6}  {'runs (from now)':<18}{'s/date':>7}",
    ]
    held: list[str] = []
    for name in tables:
        tf = f.tables[name]
        why = held_back(pipeline, f, name, skip_preflight=skip_preflight)
        n_held = sum(n for n, _ in why)
        if not tf.dates and not n_held:
            continue
        rate = f"{tf.rate:.2f}" + ("?" if tf.source == "guess" else "")
        out.append(
            f"{name[:29]:<30}{tf.dates:>6}{tf.shards:>7}{n_held:>6}  "
            f"{_span(tf.start, tf.end):<18}{rate:>7}"
        )
        held.extend(f"  {name}: {n} {w}" for n, w in why)
    if held:
        out.append("held back (inputs this plan does not fill):")
        out.extend(held)
    out.append(
        f"forecast end {clock(f.end)} (in {duration(f.seconds)})"
        + ("" if f.complete else f"; the simulation stopped after {len(f.starts)} shards")
    )
    if f.guessed:
        out.append(f"('?': {f.note()})")
    out.append("the exact commands: add --argv")
    return "\n".join(_fit(line) for line in out) + "\n"


def _fit(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def _wrap(argv: Sequence[str], indent: str = "    ") -> list[str]:
    """Argv as copy-pasteable shell words, continued with ` \\` within WIDTH columns (a single
    word longer than the line is kept whole)."""
    lines: list[str] = []
    cur = indent
    for word in (shlex.quote(a) for a in argv):
        if cur.strip() and len(cur) + 1 + len(word) + 2 > WIDTH:
            lines.append(cur + " \\")
            cur = indent + "  " + word
        else:
            cur = cur + (" " if cur.strip() else "") + word
    lines.append(cur)
    return lines


def render_argv(pipeline: Pipeline, f: Forecast) -> str:
    """`--argv`: every shard in the order the runner starts it, with its forecast start and the
    exact argv it is launched with (engine included)."""
    if not f.starts:
        return "nothing to run: no table of these phases has missing dates that can be ready\n"
    out = [f"{len(f.starts)} shard(s) in start order; nothing is launched"]
    for t, s in f.starts:
        span = s.start.isoformat() if s.start == s.end else f"{s.start}..{s.end}"
        n = len(s.dates)
        out.append(f"+{duration(t)} {s.table} {span} ({n} date{'s' if n != 1 else ''})")
        out.extend(_wrap(schedule.shard_argv(pipeline, s)))
    return "\n".join(out) + "\n"


def summary_json(pipeline: Pipeline, f: Forecast, *, skip_preflight: bool) -> dict:
    """The dry run as JSON: the forecast per table and every shard with its argv."""
    return {
        "now": f.now,
        "forecast_end": f.end,
        "seconds": f.seconds,
        "note": f.note(),
        "tables": [
            {
                "table": tf.table,
                "dates": tf.dates,
                "shards": tf.shards,
                "start_s": tf.start,
                "end_s": tf.end,
                "seconds_per_date": tf.rate,
                "rate_source": tf.source,
                "held": [
                    {"dates": n, "why": w}
                    for n, w in held_back(pipeline, f, tf.table, skip_preflight=skip_preflight)
                ],
            }
            for tf in f.tables.values()
        ],
        "shards": [
            {
                "table": s.table,
                "dates": [d.isoformat() for d in s.dates],
                "start_s": t,
                "argv": schedule.shard_argv(pipeline, s),
            }
            for t, s in f.starts
        ],
    }


def until(epoch: float | None, now: float) -> str:
    """`05:12 (in 1h34m)`, `05:12 (passed)`, or `-` without a forecast."""
    if epoch is None:
        return "-"
    left = epoch - now
    return f"{clock(epoch)} (in {duration(left)})" if left >= 0 else f"{clock(epoch)} (passed)"


def parse_deadline(text: str, now: dt.datetime) -> float:
    """`HH:MM` (the next such local time) or an ISO date-time: epoch seconds; ValueError."""
    try:
        t = dt.time.fromisoformat(text)
    except ValueError:
        when = dt.datetime.fromisoformat(text)
        return (when if when.tzinfo else when.astimezone()).timestamp()
    when = now.replace(hour=t.hour, minute=t.minute, second=t.second, microsecond=0)
    if when <= now:
        when += dt.timedelta(days=1)
    return when.timestamp()
