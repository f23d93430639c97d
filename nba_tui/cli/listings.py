"""`nba-tui jobs | history | plans | cancel`: what the supervisor knows, as text or JSON.

    nba-tui jobs [--all] [--json]   the active jobs (running, paused, queued), then the latest job
                                    of every other table; --all: every job ever run, newest first;
                                    a remote job (cloudrun, ray) gets a line with its engine,
                                    its state in words and its cost
    nba-tui history [--limit N] [--all] [--json]
    nba-tui plans [--json]
    nba-tui cancel PLAN [--json]    the plan starts nothing more: its queued jobs become stopped
                                    and its running jobs are stopped (= `nba-tui stop PLAN`)

Everything shown was recorded by some process in the state directory (argv, names, messages),
so it is printed through `fmt.printable`: an escape sequence is shown, never obeyed. The
Supervisor (psutil, the engines) is imported by `supervised()`, when a command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nba_tui.backfill_argv import display
from nba_tui.cli.common import (
    EXIT_OK,
    InputError,
    bounded_int,
    check_ref,
    config_option,
    did_you_mean,
    emit,
    json_option,
    out_width,
)
from nba_tui.config import Pipeline
from nba_tui.fmt import clock, fit, plural, printable
from nba_tui.fsutil import full_disk
from nba_tui.jobs.facts import cost_text, cost_usd, run_seconds
from nba_tui.jobs.model import JobRecord, JobState, JobView
from nba_tui.jobs.plans import restarts_note
from nba_tui.jobs.words import (
    is_remote,
    job_state_text,
    killed_by,
    remote_state_text,
    state_text,
    state_word,
)

if TYPE_CHECKING:
    from nba_tui.jobs.model import Damaged, Plan
    from nba_tui.jobs.supervisor import Supervisor

#: The STATE and TABLE columns' least widths; a row is ROW_WIDTH columns wide at these widths.
STATE_WIDTH = 10
TABLE_WIDTH = 21
ROW_WIDTH = 80
WIDTH = 80
"""The width `render_jobs` fits when no terminal says otherwise."""
#: Job ids shown on a plan's line (a pipelined plan has one job per shard: `--json` lists all).
MAX_PLAN_JOBS = 4
#: Active jobs first, in this order; then the ended ones, newest first.
ACTIVE_ORDER = {JobState.RUNNING: 0, JobState.PAUSED: 1, JobState.QUEUED: 2}


class Refused(Exception):
    """The supervisor refused an action (already active, not running): one line, exit 1."""


@contextlib.contextmanager
def supervised(pipeline: Pipeline) -> Iterator[Supervisor]:
    """The Supervisor, with its refusals as `Refused` (exit 1) and a state directory that cannot
    be used (not ours, unreadable, a path that cannot exist) as `InputError` (exit 2)."""
    from nba_tui.jobs import supervisor as api  # psutil, the engines: when a command runs

    try:
        yield api.Supervisor(pipeline)
    except api.PreflightFailed:
        raise
    except (api.EngineRefused, api.BadState) as e:  # a setting, the environment, the state
        raise InputError(str(e)) from None
    except api.JobError as e:
        raise Refused(str(e)) from None
    except api.StateError as e:
        raise InputError(str(e)) from None
    except OSError as e:  # the last guard: a traceback is never the answer
        raise InputError(state_text_of(e)) from None


def state_text_of(e: Exception) -> str:
    """One line for a state directory or log that cannot be used."""
    if isinstance(e, OSError) and e.filename:
        return printable(f"state: {e.filename}: {e.strerror or e}", escape=True)
    return printable(f"state: {e}", escape=True)


def resolve_job(sup: Supervisor, ref: str) -> JobView:
    """A job by id or table name; an unknown one is bad input (exit 2)."""
    from nba_tui.jobs.supervisor import JobError

    check_ref(ref, "job")
    try:
        return sup.resolve(ref)
    except JobError as e:
        names = [t.name for t in sup.pipeline.tables()]
        hint = "" if ref in names else did_you_mean(ref, names)  # never "did you mean" itself
        raise InputError(f"{e}{hint}") from None


# -- rendering --------------------------------------------------------------------------------


def view_json(
    v: JobView, now: float | None = None, pipeline: Pipeline | None = None
) -> dict[str, Any]:
    """A job as JSON: its record, its progress and its run time in seconds (`elapsed_s`, paused
    time left out: `jobs.facts.run_seconds`); `state_text` as the listing words it and
    `cost_usd` (a remote job's task-seconds x its engine's price; null for an engine without
    one or without `pipeline`). A remote run its engine reports
    cancelled is never `done`, a killed one is `killed`: `state` is then the word shown
    (`jobs.words.state_word`) and `recorded_state` the record's."""
    r = v.record
    data = r.to_json()
    shown = state_word(r)
    if shown != r.state.value:
        data["state"], data["recorded_state"] = shown, r.state.value
    data["state_text"] = job_state_text(r)
    usd = cost_usd(r, pipeline) if pipeline is not None else None
    data["cost_usd"] = round(usd, 6) if usd is not None else None
    data["progress"] = dataclasses.asdict(v.progress)
    data["elapsed_s"] = elapsed(v, now)
    return data


def elapsed(v: JobView, now: float | None = None) -> float | None:
    """The job's run time in seconds, to a tenth (`jobs.facts.run_seconds`)."""
    ran = run_seconds(v.record, now or time.time())
    return round(ran, 1) if ran is not None else None


def select(views: list[JobView]) -> list[JobView]:
    """The default listing: every active job (running, paused, then queued), then the latest job
    of each table that has no active one, newest first. `views` come newest first."""
    active = sorted(
        (v for v in views if v.state.active),
        key=lambda v: (ACTIVE_ORDER.get(v.state, 3), -(v.record.created_at or 0)),
    )
    seen = {v.record.table for v in active}
    latest = []
    for v in views:
        if v.record.table not in seen:
            seen.add(v.record.table)
            latest.append(v)
    return [*active, *latest]


def _cell(text: object, width: int) -> str:
    text = printable(str(text), escape=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def remote_line(r: JobRecord, pipeline: Pipeline | None = None) -> str:
    """The line under a remote job's row: its engine, its state in words and what it cost,
    e.g. '  cloudrun: paused (stopped on cloudrun, 3 dates left) · $0.12 (5,000 task-s)'
    (78 columns; never cut: a cost is not shown in part)."""
    parts = [remote_state_text(r)]
    cost = cost_text(r, pipeline)
    if cost:
        parts.append(cost)
    return "  " + printable(f"{r.engine}: " + " · ".join(parts), escape=True)


def render_jobs(
    views: list[JobView],
    now: float | None = None,
    hidden: int = 0,
    pipeline: Pipeline | None = None,
    width: int | None = WIDTH,
) -> str:
    """A table: id, table, state, pid, elapsed, date, dates/min, ETA. A remote job (Cloud Run,
    Ray) has a second line: its engine, its state in words and its cost (`remote_line`); a local
    job's row is all there is.

    The columns are as wide as what they hold: the state as `jobs.words` words it ('killed
    (SIGKILL)', 'failed (exit 1)') and whole table names, unless a row would be wider than
    `width` (a terminal's columns): then the states are short ('killed', 'failed 1') and the
    names cut, to no less than TABLE_WIDTH. `width=None` (piped output): nothing is cut."""
    states = [state_text(v.record) for v in views]
    names = [printable(v.record.table, escape=True) for v in views]
    rest = ROW_WIDTH - TABLE_WIDTH - STATE_WIDTH  # the row without its table and state
    tw = max([5, *map(len, names)])
    if width is not None and rest + min(tw, TABLE_WIDTH) + max(map(len, states), default=0) > width:
        states = [short_state(v.record) for v in views]
    sw = max([STATE_WIDTH, *map(len, states)])
    if width is not None and rest + tw + sw > width:
        tw = max(TABLE_WIDTH, width - rest - sw)
    lines = [
        f"{'ID':<6} {'TABLE':<{tw}} {'STATE':<{sw}} {'PID':>7} {'ELAPSED':>7} {'DATE':<10} "
        f"{'D/MIN':>6} {'ETA':>6}"
    ]
    for v, state in zip(views, states, strict=True):
        r, p = v.record, v.progress
        rate = f"{p.dates_per_min:.1f}" if p.dates_per_min else "-"
        eta = p.eta_s if r.state is JobState.RUNNING else None  # a paused job has no ETA
        pid = r.pid or "-"
        if is_remote(r) and r.state is JobState.PAUSED:
            pid = "-"  # stopped on its engine: no process anywhere
        lines.append(
            f"{_cell(r.id, 6):<6} {_cell(r.table, tw):<{tw}} {state:<{sw}} "
            f"{pid:>7} {clock(elapsed(v, now)):>7} "
            f"{_cell(p.current_date or '-', 10):<10} {rate:>6} {clock(eta):>6}"
        )
        if is_remote(r):
            lines.append(remote_line(r, pipeline))
    if not views:
        lines.append("(no jobs yet: nba-tui launch TABLE)")
    if hidden:
        lines.append(f"({hidden} older job{'s' if hidden != 1 else ''}: nba-tui jobs --all)")
    return "\n".join(lines)


def short_state(r: JobRecord) -> str:
    """The state in at most STATE_WIDTH columns: the word, with the exit code or the signal
    number when it fits ('failed 1', 'killed -9')."""
    word, sig = state_word(r), killed_by(r)
    if word == "killed" and sig is not None:
        text = f"{word} -{sig}"
    elif word == "failed" and r.exit_code not in (None, 0):
        text = f"{word} {r.exit_code}"
    else:
        return word
    return text if len(text) <= STATE_WIDTH else word


def render_damaged(damaged: list[Damaged]) -> list[str]:
    """Records that cannot be read, as rows in state `damaged` with their path and reason."""
    return [
        f"{_cell(d.id, 6):<6} {'?':<{TABLE_WIDTH}} {'damaged':<{STATE_WIDTH}} "
        f"{printable(str(d.path), escape=True)}: {printable(str(d.reason), escape=True)}"
        for d in damaged
    ]


def _fitted(lines: list[str], width: int | None) -> str:
    """The lines within `width` (wrapped under their indent, `fmt.fit`); a line holding a
    command to copy (`nba-tui ...`) stays whole."""
    out: list[str] = []
    for line in lines:
        out += [line] if "nba-tui " in line else fit(line, width)
    return "\n".join(out)


def render_plan(p: Plan, width: int | None = None) -> str:
    """One plan in words ('p1a2b3c  run   failed    phase4 > phase5  jobs: ...', or for a run
    plan its dates done of its total and forecast end: `plan_text.progress`), then why:
    which tables failed or were stopped by hand, quarantined and skipped dates, fallbacks."""
    state = "paused" if p.paused and p.state == "running" else str(p.state)
    jobs = " ".join(p.jobs[:MAX_PLAN_JOBS]) or "-"
    if len(p.jobs) > MAX_PLAN_JOBS:
        jobs = f"{jobs} … ({len(p.jobs)})"
    head = f"{p.id}  {p.kind:<5} {state:<9} {' > '.join(p.phases)}"
    line = f"{head}  jobs: {jobs}"
    if p.planned or p.forecast_end is not None:  # a forecast plan: its progress and end
        from nba_tui.jobs.plan_text import progress

        line = f"{head}  {progress(p, time.time())}; {plural(len(p.jobs), 'job')}"
    notes = []
    if p.failed_tables:
        notes.append(f"failed: {', '.join(p.failed_tables)}")
    elif p.failed_stages:
        notes.append(f"failed in {', '.join(p.failed_stages)}")
    if p.stopped_tables:
        notes.append(f"stopped by hand: {', '.join(p.stopped_tables)}")
    if p.restarts:
        notes.append(restarts_note(p.restarts))
    notes += [_dates_note("quarantined", t, d) for t, d in sorted(p.quarantined.items()) if d]
    notes += [_dates_note("skipped", t, d) for t, d in sorted(p.skipped_dates.items()) if d]
    notes += [_dates_note("on fallbacks", t, d) for t, d in sorted(p.degraded.items()) if d]
    notes += [
        f"on fallbacks by necessity {t}: {len(d)} dates"
        for t, d in sorted(p.necessity.items())
        if d
    ]
    notes += _message_news(p, notes)
    notes += [f"skipped {s.get('table')}: {s.get('reason')}" for s in p.skipped]
    if p.state not in ("running", "done"):  # what each table lacks, and why
        notes += [line for line in p.short.values() if not any(line in n for n in notes)]
    lines = [printable(line, escape=True)]
    lines += [f"    {printable(str(n), escape=True)}" for n in notes]
    return _fitted(lines, width)


def _message_news(p: Plan, notes: list[str]) -> list[str]:
    """The parts of the plan's message ('failed: a; stopped: c') the lines above do not say
    already: its failed and stopped tables are listed there, once."""
    listed = {"failed": bool(p.failed_tables or p.failed_stages), "stopped": bool(p.stopped_tables)}
    news = []
    for part in (p.message or "").split("; "):
        part = part.strip()
        head = part.split(":", 1)[0]
        if part and part not in notes and not listed.get(head) and part not in news:
            news.append(part)
    return news


def _dates_note(what: str, table: str, dates: list[str]) -> str:
    """'quarantined player_daily_cache: 2024-01-05, 2024-01-06 (+3 more)'."""
    shown = ", ".join(dates[:4]) + (f" (+{len(dates) - 4} more)" if len(dates) > 4 else "")
    return f"{what} {table}: {shown}"


def render_history(entries: list[dict], width: int | None = None) -> str:
    """The action log, one action a line, its argv on the next (escaped as recorded); a plan
    line ends with the counts of its folded job actions (`action_log.fold_plans`)."""

    def text(value: Any) -> str:
        return printable(str(value), escape=True)

    lines = []
    for e in entries:
        phases = e.get("phases")
        what = e.get("table") or (",".join(map(str, phases)) if isinstance(phases, list) else "")
        folded = e.get("folded")
        shards = ""
        if isinstance(folded, dict) and folded:
            counts = ", ".join(f"{n} {text(a)}" for a, n in folded.items())
            shards = f"  jobs: {counts} (history --all lists them)"
        head = (
            f"{text(e.get('time', '?'))}  {text(e.get('user', '?')):<10} "
            f"{text(e.get('action', '?')):<8} {text(what or '-')} "
            f"{text(e.get('job') or e.get('plan') or '')}".rstrip()
            + shards
        )
        lines += fit(head, width)
        argv = e.get("argv")
        if isinstance(argv, list):
            lines.append(f"    {text(display([str(a) for a in argv]))}")
    return "\n".join(lines) if lines else "(no actions yet)"


# -- handlers ---------------------------------------------------------------------------------


def cmd_jobs(args: argparse.Namespace, pipeline: Pipeline) -> int:
    with supervised(pipeline) as sup:
        views = sup.jobs()
        damaged = sup.damaged()
    shown = views if args.all else select(views)
    now = time.time()
    data = [view_json(v, now, pipeline) for v in shown] + [
        {"id": d.id, "state": "damaged", "path": str(d.path), "reason": d.reason} for d in damaged
    ]
    hidden = len(views) - len(shown)
    text = render_jobs(shown, now, hidden=hidden, pipeline=pipeline, width=out_width())
    if damaged:
        text += "\n" + "\n".join(render_damaged(damaged))
    emit(args, data, text)
    return EXIT_OK


def cmd_history(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.jobs.action_log import history_lines

    with supervised(pipeline) as sup:
        if args.all:
            entries = sup.history(limit=args.limit)
        else:  # the same lines as the dashboard's `h`
            entries = history_lines(lambda n: sup.history(limit=n), args.limit)
    emit(args, entries, render_history(entries, out_width()))
    return EXIT_OK


def cmd_plans(args: argparse.Namespace, pipeline: Pipeline) -> int:
    with supervised(pipeline) as sup:
        plans = sup.plans()
        damaged = sup.damaged_plans()
    data = [p.to_json() for p in plans] + [
        {"id": d.id, "state": "damaged", "path": str(d.path), "reason": d.reason} for d in damaged
    ]
    emit(args, data, render_plans(plans, damaged, full_disks(pipeline), out_width()))
    return EXIT_OK


def render_plans(
    plans: list[Plan], damaged: list[Damaged], disks: list[str], width: int | None
) -> str:
    """`plans`: each plan (`render_plan`), each damaged plan file, each full disk's line."""
    lines = [line for p in plans for line in render_plan(p, width).splitlines()]
    lines += [
        f"{d.id}  damaged   {printable(str(d.path), escape=True)}: "
        f"{printable(str(d.reason), escape=True)}"
        for d in damaged
    ]
    return _fitted([*(lines or ["(no plans yet)"]), *disks], width)


def full_disks(pipeline: Pipeline) -> list[str]:
    """A line per full filesystem the night writes to (state, logs): a running plan's runner
    can record nothing there, so `plans` would show it as it was; it waits, and goes on by
    itself once there is room."""
    out: list[str] = []
    seen: set[str] = set()
    for what, path in (("state", pipeline.state_dir), ("logs", pipeline.log_dir)):
        free = full_disk(path)
        if free is None or str(path) in seen:
            continue
        seen.add(str(path))
        out.append(
            f"disk full: {what} {printable(str(path), escape=True)} has {free // 1024} KB free: "
            "running plans record nothing and wait, and go on once there is room (free some)"
        )
    return out


def cmd_cancel(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.jobs.model import PlanState
    from nba_tui.jobs.supervisor import JobError

    check_ref(args.plan, "plan")
    with supervised(pipeline) as sup:
        try:
            plan = sup.plan(args.plan)
        except JobError as e:
            raise InputError(f"{printable(str(e), escape=True)} (see `nba-tui plans`)") from None
        if plan.state not in (PlanState.RUNNING, PlanState.LOST):  # lost: its runner vanished
            raise Refused(f"plan {plan.id} is {plan.state}: nothing left to cancel")
        plan = sup.cancel_plan(plan.id)
    text = f"cancel: plan {plan.id} is {plan.state}; its jobs are stopped, nothing more starts"
    emit(args, plan.to_json(), text)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add jobs, history, plans and cancel; each gets only the options it reads."""
    plain = [config_option(), json_option()]
    p = sub.add_parser("jobs", parents=plain, help="backfill jobs and their progress")
    p.add_argument("--all", action="store_true", help="every job ever run, newest first")
    p.set_defaults(func=cmd_jobs)
    p = sub.add_parser("history", parents=plain, help="the action log (who did what)")
    p.add_argument("--limit", type=bounded_int(1, 100_000), default=200, metavar="N")
    p.add_argument(
        "--all", action="store_true", help="every job action of a plan too (one line each)"
    )
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("plans", parents=plain, help="phase launches and chained runs")
    p.set_defaults(func=cmd_plans)
    p = sub.add_parser("cancel", parents=plain, help="cancel PLAN: stop its jobs, start no more")
    p.add_argument("plan", metavar="PLAN", help="plan id (see `nba-tui plans`)")
    p.set_defaults(func=cmd_cancel)
