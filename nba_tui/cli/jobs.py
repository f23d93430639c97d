"""Headless job control, mirroring the dashboard's keys (for scripts, cron and SSH one-liners).

    nba-tui jobs [--json]
    nba-tui launch TABLE [--missing | --start D --end D | --dates d1,d2] [--json]
    nba-tui launch-phase PHASE [--all] [--skip-preflight] [--start D --end D] [--json]
    nba-tui run PHASE... [--all] [--skip-preflight] [--json]
    nba-tui pause|resume|stop|restart JOB [--json]    (JOB: a job id, or a table name)
    nba-tui history [--json] [--limit N]
    nba-tui plans [--json]

Exit codes as in `nba_tui.cli.common`: 0 ok; 1 refused (already active, not running, preflight
fails); 2 bad input (unknown table/job/phase, bad dates). Every command goes through the same
Supervisor as the dashboard, so both see and control the same jobs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from typing import Any

from nba_tui.cli.common import (
    EXIT_CHECK,
    EXIT_OK,
    Handler,
    InputError,
    check_phases,
    config_option,
    date_range,
    dates_option,
    emit,
    emit_json,
    fail,
    json_option,
    parse_date,
    resolve_table,
    take_snapshot,
)
from nba_tui.commands import display
from nba_tui.config import Pipeline
from nba_tui.fmt import clock
from nba_tui.jobs.model import JobRecord, JobView
from nba_tui.jobs.supervisor import JobError, PreflightFailed, Supervisor

#: Width of the STATE column: "failed 137" and "failed -15" fit; "stopped" needs no exit code.
STATE_WIDTH = 10
TABLE_WIDTH = 21


def view_json(v: JobView, now: float | None = None) -> dict[str, Any]:
    """A job as JSON: its record, its progress and the derived elapsed seconds."""
    data = v.record.to_json()
    data["progress"] = dataclasses.asdict(v.progress)
    data["elapsed_s"] = elapsed(v, now)
    return data


def elapsed(v: JobView, now: float | None = None) -> float | None:
    r = v.record
    if r.started_at is None:
        return None
    return round((r.ended_at or now or time.time()) - r.started_at, 1)


def state_text(r: JobRecord) -> str:
    """The state, with the exit code when it says something and fits: 'failed 1', 'failed -9'.
    A stopped job's 143 or -15 is the stop itself, so 'stopped' stands alone."""
    state = str(r.state)
    if r.state.active or r.exit_code in (None, 0):
        return state
    text = f"{state} {r.exit_code}"
    return text if len(text) <= STATE_WIDTH else state


def render_jobs(views: list[JobView], now: float | None = None) -> str:
    """A table that fits 80 columns: id, table, state, pid, elapsed, date, dates/min, ETA."""
    sw, tw = STATE_WIDTH, TABLE_WIDTH
    lines = [
        f"{'ID':<6} {'TABLE':<{tw}} {'STATE':<{sw}} {'PID':>7} {'ELAPSED':>7} {'DATE':<10} "
        f"{'D/MIN':>6} {'ETA':>6}"
    ]
    for v in views:
        r, p = v.record, v.progress
        table = r.table if len(r.table) <= tw else r.table[: tw - 1] + "…"
        rate = f"{p.dates_per_min:.1f}" if p.dates_per_min else "-"
        lines.append(
            f"{r.id:<6} {table:<{tw}} {state_text(r):<{sw}} {r.pid or '-':>7} "
            f"{clock(elapsed(v, now)):>7} {p.current_date or '-':<10} {rate:>6} "
            f"{clock(p.eta_s):>6}"
        )
    if not views:
        lines.append("(no jobs yet: nba-tui launch TABLE)")
    return "\n".join(lines)


def _job(sup: Supervisor, ref: str) -> JobView:
    try:
        return sup.resolve(ref)
    except JobError as e:
        raise InputError(str(e)) from None


def _dates(text: str) -> list[dt.date]:
    out = [parse_date(d.strip(), "--dates") for d in text.split(",") if d.strip()]
    if not out:
        raise InputError("--dates: give at least one YYYY-MM-DD (comma-separated)")
    return out


# -- handlers --------------------------------------------------------------------------------------


def cmd_jobs(args: argparse.Namespace, pipeline: Pipeline) -> int:
    views = Supervisor(pipeline).jobs()
    now = time.time()
    emit(args, [view_json(v, now) for v in views], render_jobs(views, now))
    return EXIT_OK


def cmd_launch(args: argparse.Namespace, pipeline: Pipeline) -> int:
    table = resolve_table(pipeline, args.table)
    if args.dates and (args.missing or args.start or args.end):
        raise InputError("--dates cannot be combined with --missing, --start or --end")
    start, end = date_range(pipeline, args.start, args.end)
    # The snapshot first: a warehouse that is missing or down is refused before any state is made.
    snap = take_snapshot(pipeline, start, end) if args.missing else None
    sup = Supervisor(pipeline)
    try:
        if snap is not None:
            v = sup.launch_missing(table.name, snap)
        elif args.dates:
            v = sup.launch(table.name, dates=_dates(args.dates))
        else:
            v = sup.launch(table.name, start=start, end=end)
    except JobError as e:
        return fail(str(e), EXIT_CHECK)
    r = v.record
    text = f"launched {r.table}: job {r.id}, pid {r.pid}, log {r.log}\n  {display(r.argv)}"
    emit(args, view_json(v), text)
    return EXIT_OK


def _signal_cmd(action: str) -> Handler:
    def handler(args: argparse.Namespace, pipeline: Pipeline) -> int:
        sup = Supervisor(pipeline)
        v = _job(sup, args.job)
        try:
            if action == "stop":
                v = sup.stop(v.id, grace=args.grace)
            else:
                call = {"pause": sup.pause, "resume": sup.resume, "restart": sup.restart}
                v = call[action](v.id)
        except JobError as e:
            return fail(str(e), EXIT_CHECK)
        r = v.record
        extra = f", log {r.log}" if action == "restart" else ""
        emit(args, view_json(v), f"{action}: {r.table} job {r.id} is {r.state}{extra}")
        return EXIT_OK

    handler.__doc__ = f"nba-tui {action} JOB"
    return handler


def cmd_history(args: argparse.Namespace, pipeline: Pipeline) -> int:
    entries = Supervisor(pipeline).history(limit=args.limit)
    lines = []
    for e in entries:
        what = e.get("table") or ",".join(e.get("phases") or []) or "-"
        lines.append(
            f"{e.get('time', '?')}  {e.get('user', '?'):<10} {e.get('action', '?'):<8} "
            f"{what} {e.get('job') or e.get('plan') or ''}"
        )
        if e.get("argv"):
            lines.append(f"    {display(e['argv'])}")
    emit(args, entries, "\n".join(lines) if lines else "(no actions yet)")
    return EXIT_OK


def cmd_plans(args: argparse.Namespace, pipeline: Pipeline) -> int:
    plans = Supervisor(pipeline).plans()
    lines = [
        f"{p.id}  {p.kind:<5} {p.state:<9} {' > '.join(p.phases)}  jobs: {' '.join(p.jobs) or '-'}"
        + (f"\n    {p.message}" if p.message else "")
        for p in plans
    ]
    emit(args, [p.to_json() for p in plans], "\n".join(lines) if lines else "(no plans yet)")
    return EXIT_OK


def cmd_launch_phase(args: argparse.Namespace, pipeline: Pipeline) -> int:
    check_phases(pipeline, [args.phase])
    snap = take_snapshot(pipeline, *date_range(pipeline, args.start, args.end))
    try:
        plan = Supervisor(pipeline).launch_phase(
            args.phase, snap, missing=not args.all, skip_preflight=args.skip_preflight
        )
    except PreflightFailed as e:
        if args.json:
            emit_json({"error": str(e), "degradation": e.lines})
        print(f"nba-tui: {e}; running anyway would mean:", file=sys.stderr)
        for line in e.lines:
            print(f"  - {line}", file=sys.stderr)
        print("  (re-run with --skip-preflight to accept that)", file=sys.stderr)
        return EXIT_CHECK
    except JobError as e:
        return fail(str(e), EXIT_CHECK)
    text = (
        f"plan {plan.id}: {args.phase}, jobs {' '.join(plan.jobs)} (runner pid {plan.runner_pid})"
    )
    for s in plan.skipped:
        text += f"\n  skipped {s['table']}: {s['reason']}"
    emit(args, plan.to_json(), text)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    check_phases(pipeline, args.phases)
    try:
        plan = Supervisor(pipeline).run_phases(
            args.phases, missing=not args.all, skip_preflight=args.skip_preflight
        )
    except JobError as e:
        return fail(str(e), EXIT_CHECK)
    text = (
        f"plan {plan.id}: {' > '.join(plan.phases)}; each phase starts when its preflight "
        f"passes (runner pid {plan.runner_pid}, log {plan.log}); follow with `nba-tui plans`"
    )
    emit(args, plan.to_json(), text)
    return EXIT_OK


# -- parser ----------------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the job commands to `nba-tui`; each gets only the options it reads."""
    plain = [config_option(), json_option()]
    ranged = [config_option(), dates_option(), json_option()]
    p = sub.add_parser("jobs", parents=plain, help="backfill jobs and their progress")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("launch", parents=ranged, help="start TABLE's backfill (detached)")
    p.add_argument("table")
    p.add_argument("--missing", action="store_true", help="only the table's missing dates")
    p.add_argument("--dates", metavar="D1,D2", help="only these dates")
    p.set_defaults(func=cmd_launch)

    p = sub.add_parser(
        "launch-phase", parents=ranged, help="queue PHASE's short tables (max_parallel)"
    )
    p.add_argument("phase")
    p.add_argument("--all", action="store_true", help="every table, whole range")
    p.add_argument("--skip-preflight", action="store_true", help="launch even if inputs short")
    p.set_defaults(func=cmd_launch_phase)

    p = sub.add_parser("run", parents=plain, help="chain PHASEs, each after its preflight")
    p.add_argument("phases", nargs="+", metavar="PHASE")
    p.add_argument("--all", action="store_true", help="every table, whole range")
    p.add_argument("--skip-preflight", action="store_true", help="do not wait for preflight")
    p.set_defaults(func=cmd_run)

    for action, text in (
        ("pause", "SIGSTOP the job's processes"),
        ("resume", "SIGCONT a paused job"),
        ("stop", "TERM, then KILL after the grace period"),
        ("restart", "relaunch a failed/stopped/lost job (resumes from its checkpoint)"),
    ):
        p = sub.add_parser(action, parents=plain, help=text)
        p.add_argument("job", metavar="JOB", help="job id, or table name")
        if action == "stop":
            p.add_argument("--grace", type=float, help="seconds before SIGKILL")
        p.set_defaults(func=_signal_cmd(action))

    p = sub.add_parser("history", parents=plain, help="the action log (who did what)")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("plans", parents=plain, help="phase launches and chained runs")
    p.set_defaults(func=cmd_plans)
