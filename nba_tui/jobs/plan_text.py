"""A plan's forecast in words (pure): the dry-run summary, its `--argv` listing, the progress
`nba-tui plans` prints on each plan's line, and the dashboard's plan view. Every line fits 80
columns."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Callable, Sequence

from nba_tui import readiness
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot
from nba_tui.jobs import schedule
from nba_tui.jobs.decide import plan_tables
from nba_tui.jobs.facts import record_dates
from nba_tui.jobs.forecast import Forecast, clock, duration
from nba_tui.jobs.model import JobView, Plan, PlanState

WIDTH = 80
CUT_SHORT = (PlanState.CANCELLED, PlanState.STOPPED)
"""Plans ended by hand: their end says nothing about the forecast."""


def held_back(
    pipeline: Pipeline, f: Forecast, table: str, *, skip_preflight: bool
) -> list[tuple[int, str]]:
    """The table's dates the simulated plan never starts, counted by reason (most first)."""
    if f.final is None or table not in f.final.tables:
        return []
    reasons: dict[str, int] = {}
    never = readiness.unfillable(pipeline, f.final, table)
    for d in f.final.tables[table].missing:
        lacks = readiness.blocked_by(pipeline, f.final, table, d, include_soft=not skip_preflight)
        if d in never:  # the one rule: nothing can ever fill it (no rows at the root)
            why = f"unfillable: no {never[d]}"
        elif lacks:
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


def done_dates(plan: Plan) -> dict[str, tuple[int, int]]:
    """Table -> (dates done, dates planned) of a plan's own total (its first forecast's)."""
    return {t: (min(n, max(0, n - plan.left.get(t, n))), n) for t, n in plan.planned.items() if n}


def progress(plan: Plan, now: float) -> str:
    """'412/1,019 dates (40%), ends 05:12 (in 1h34m)'; 'paused' instead of the end while the
    plan is paused; once ended, its end against the first forecast ('ended 05:20, forecast
    05:12'); '' before the first forecast; a lost plan (no runner) counts down nothing."""
    per = done_dates(plan)
    out = []
    if per:
        done, total = (sum(x) for x in zip(*per.values(), strict=True))
        out.append(f"{done:,}/{total:,} dates ({100 * done // max(1, total)}%)")
    if plan.state is not PlanState.RUNNING and plan.state is not PlanState.LOST:
        if plan.ended_at is not None:
            end = f"ended {clock(plan.ended_at)}"
            if plan.forecast_first is not None and plan.state not in CUT_SHORT:
                end += f", forecast {clock(plan.forecast_first)}"
            out.append(end)
    elif plan.state is PlanState.LOST:
        out.append("no runner: no forecast")
    elif plan.paused:
        out.append("paused")
    elif plan.forecast_end is not None:
        out.append(f"ends {until(plan.forecast_end, now)}")
        if plan.deadline is not None:
            out.append(f"deadline {clock(plan.deadline)}")
    return ", ".join(out)


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


def _days(kept: dict[str, list[str]], table: str) -> set[dt.date]:
    return {dt.date.fromisoformat(d) for d in kept.get(table, [])}


def waiting(
    pipeline: Pipeline,
    plan: Plan,
    snap: Snapshot | None,
    table: str,
    busy: set[dt.date],
    now: float,
) -> tuple[int, int, int]:
    """(dates waiting for input dates, ready dates waiting for a free slot, dates waiting for a
    retry's back-off) of a table: its missing dates in `snap` that the plan may still run (not
    in `busy`, its active shards' dates; not quarantined, left unfilled or skipped by the plan;
    not unfillable; within the plan's scope), each counted under one reason."""
    if snap is None or table not in snap.tables:
        return 0, 0, 0
    todo = set(snap.tables[table].missing) - busy - set(readiness.unfillable(pipeline, snap, table))
    for kept in (plan.quarantined, plan.unfilled, plan.skipped_dates):
        todo -= _days(kept, table)
    if plan.scope is not None:
        todo &= _days(plan.scope, table)
    later = {d: at for d, at in plan.retry_at.get(table, {}).items() if at > now}
    retry = _days({table: list(later)}, table) & todo
    ready = set(readiness.runnable(pipeline, snap, table, skip_preflight=plan.skip_preflight))
    slot = (ready & todo) - retry
    return len(todo - retry - slot), len(slot), len(retry)


def degraded(plan: Plan, snap: Snapshot | None, table: str) -> int:
    """A table's dates on soft-input fallbacks: those the plan ran so (by choice or by
    necessity) and those whose rows `snap` finds flagged (what `status` counts)."""
    days = _days(plan.degraded, table) | _days(plan.necessity, table)
    if snap is not None and table in snap.tables:
        days |= set(snap.tables[table].degraded)
    return len(days)


def render_plan_view(
    pipeline: Pipeline, plan: Plan, views: Sequence[JobView], snap: Snapshot | None, now: float
) -> str:
    """The dashboard's plan view (and `plans`' numbers, per table): dates done of the plan's
    own total, its active shards, its dates still missing in `snap` by why they wait (`waiting`),
    quarantined and degraded dates (`degraded`); the plan's progress and forecast end, and the
    active jobs that are not the plan's. Rows fit 72 columns."""
    state = "paused" if plan.paused and plan.state is PlanState.RUNNING else str(plan.state)
    out = [
        f"plan {plan.id} · {plan.kind} · {state} · {' > '.join(plan.phases)}",
        progress(plan, now) or "no forecast yet (its runner writes one every few seconds)",
    ]
    if plan.forecast_note:
        out.append(f"({plan.forecast_note})")
    out += [
        "",
        f"{'table':<29}{'done/plan':>10}{'run':>4}{'inputs':>7}{'slot':>6}{'retry':>6}"
        f"{'quar':>5}{'degr':>5}",
    ]
    active = [v for v in views if v.state.active]
    mine = [v for v in active if v.record.plan == plan.id]
    per = done_dates(plan)
    for table in plan_tables(pipeline, plan):
        done, total = per.get(table, (0, 0))
        shards = [v for v in mine if v.record.table == table]
        busy = {d for v in shards for d in record_dates(v.record)}
        inputs, slot, retry = waiting(pipeline, plan, snap, table, busy, now)
        quar, degr = len(plan.quarantined.get(table, [])), degraded(plan, snap, table)
        if not (total or shards or quar or degr):
            continue
        out.append(
            f"{table[:28]:<29}{f'{done}/{total}':>10}{len(shards):>4}{inputs:>7}{slot:>6}"
            f"{retry:>6}{quar:>5}{degr:>5}"
        )
    out.append("")
    if others := len(active) - len(mine):
        out.append(f"{others} active job{'s' if others != 1 else ''} outside this plan")
    out.append("inputs: waiting for input dates · slot: ready, waiting for a free slot")
    return "\n".join(_fit(line) for line in out) + "\n"


def forecast_json(plan: Plan) -> dict:
    """A plan's forecast for the morning report's JSON."""
    return {
        "forecast_first": plan.forecast_first,
        "forecast_first_guessed": plan.forecast_first_guessed,
        "forecast_end": plan.forecast_end,
        "deadline": plan.deadline,
    }


def forecast_line(p: dict, when: Callable[[float | None], str]) -> str:
    """The report's forecast against the actual end of a plan (`_plan_json`'s dict), the error
    as a share of the actual duration: 'forecast at its start 05:12 (1h30m); ended 8m later,
    +9% of its 1h38m'; where the forecast is off by more than the night itself, as how many
    times the actual it was: 'ended 31m sooner: the forecast was 6.6x its 5m28s'. '' without
    a forecast."""
    first, ended = p.get("forecast_first"), p.get("ended_at")
    deadline = f", deadline {when(p['deadline'])}" if p.get("deadline") else ""
    if first is None:
        return ""
    if ended is None:
        return f"forecast end {when(p.get('forecast_end'))}{deadline}"
    guessed = " (no history then: rates were guesses)" if p.get("forecast_first_guessed") else ""
    head = f"forecast at its start {when(first)}, {duration(first - p['created_at'])}{guessed}"
    if p.get("state") in CUT_SHORT:
        return f"{head}; {p['state']} before it ended"
    off, took = ended - first, ended - p["created_at"]
    side = "later" if off >= 0 else "sooner"
    said = f"ended {duration(abs(off))} {side}"
    if took <= 0:
        return f"{head}; {said}{deadline}"
    if abs(off) > took:
        times = (first - p["created_at"]) / took
        return f"{head}; {said}: the forecast was {times:.1f}x its {duration(took)}{deadline}"
    return f"{head}; {said}, {off / took:+.0%} of its {duration(took)}{deadline}"
