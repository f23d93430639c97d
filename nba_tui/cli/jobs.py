"""Headless job control, mirroring the dashboard's keys (for scripts, cron and SSH one-liners).

    nba-tui launch TABLE [--missing | --start D --end D | --dates d1,d2] [--yes] [--json]
                                    a range launch on a terminal asks before redoing present
                                    dates, as `l` does (--yes: do not ask); without a terminal
                                    (cron, scripts) it launches what it is told
    nba-tui launch-phase PHASE [--all] [--skip-preflight] [--start D --end D] [--json]
    nba-tui run PHASE... [--all] [--skip-preflight] [--strict-cascade] [--shards N]
                 [--deadline HH:MM] [--dry-run [--argv] [--max-parallel N]]
    nba-tui pause|resume|stop|restart JOB [--json]    (JOB: a job id, or a table name)
    nba-tui pause|resume|stop PLAN [--json]           (PLAN: a plan id, `p` + 6 hex digits:
                                                       acts on every job of the plan)

The listings (`jobs`, `history`, `plans`) and `cancel PLAN` are in `listings`. Exit codes as in
`nba_tui.cli.common`: 0 ok; 1 refused (already active, not running, preflight fails); 2 bad
input (unknown table/job/phase, bad or out-of-range dates, a state directory that cannot be
used). Every command goes through the same Supervisor as the dashboard, so both see and control
the same jobs; it is imported when a command runs (`listings.supervised`), not at start-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import sys
from typing import Any

from nba_tui.backfill_argv import display
from nba_tui.cli.common import (
    EXIT_CHECK,
    EXIT_OK,
    Handler,
    InputError,
    bounded_int,
    check_phases,
    config_option,
    date_list,
    date_range,
    dates_option,
    emit,
    emit_json,
    grace,
    json_option,
    out_width,
    resolve_table,
    shown,
    take_snapshot,
)
from nba_tui.cli.dryrun import dry_run
from nba_tui.cli.listings import render_jobs, resolve_job, supervised, view_json
from nba_tui.config import Pipeline
from nba_tui.fmt import fit, printable
from nba_tui.jobs.model import JobState, JobView
from nba_tui.jobs.words import is_remote, job_state_text

__all__ = ["is_plan_ref", "register", "render_jobs", "view_json"]

PLAN_ID = re.compile(r"p[0-9a-f]{6}")
"""A plan id as the store makes them (`Store.new_plan_id`)."""


PACE_ENV = "NBA_TUI_SAMPLE_PACE"
"""The sample backfill's pace (nba_tui/sample/backfill.py), inherited by every job we start."""


def check_pace_env() -> None:
    """A pace the sample's jobs would refuse is refused here, before anything starts."""
    text = os.environ.get(PACE_ENV)
    if not text:
        return
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{PACE_ENV}={shown(text)}: must be a finite number of seconds >= 0")


def cmd_launch(args: argparse.Namespace, pipeline: Pipeline) -> int:
    check_pace_env()
    table = resolve_table(pipeline, args.table)
    if args.dates is not None and (args.missing or args.start or args.end):
        raise InputError("--dates cannot be combined with --missing, --start or --end")
    start, end = date_range(pipeline, args.start, args.end)
    dates = date_list(pipeline, args.dates) if args.dates is not None else None
    # The snapshot first: a warehouse that is missing or down is refused before any state is made.
    snap = take_snapshot(pipeline, start, end) if args.missing else None
    outlook = _outlook(args, pipeline, snap, table.name) if snap is not None else None
    asking = snap is None and dates is None and not args.yes and asks()
    if asking and not _redo_confirmed(take_snapshot(pipeline, start, end), table.name):
        print("launch: nothing launched", file=sys.stderr)
        return EXIT_CHECK
    with supervised(pipeline) as sup:
        if snap is not None:
            v = sup.launch_missing(table.name, snap)
        elif dates is not None:
            v = sup.launch(table.name, dates=dates)
        else:
            v = sup.launch(table.name, start=start, end=end)
    r = v.record
    where = f"on {r.engine}" if is_remote(r) else f"pid {r.pid}"
    text = f"launched {r.table}: job {r.id}, {where}, log {r.log}\n  {display(r.argv)}"
    data = view_json(v, pipeline=pipeline)
    if outlook is not None:
        data["missing"] = outlook
    emit(args, data, text)
    return EXIT_OK


def asks() -> bool:
    """A person answers: stdin and stderr are a terminal (cron, pipes and scripts are not)."""
    return all(hasattr(f, "isatty") and f.isatty() for f in (sys.stdin, sys.stderr))


def _redo_confirmed(snap: Any, table: str) -> bool:
    """A range launch of a table that already has dates re-runs them: ask first, as `l` does in
    the dashboard. `[y/N]`: only y confirms; Enter, anything else or end of input is no."""
    cov = snap.tables.get(table)
    if cov is None or cov.present == 0:
        return True
    for line in (
        f"This re-runs all {cov.expected} dates of {table}:",
        f"{cov.present} of them are already present and would be redone.",
        f"--missing launches only the {cov.expected - cov.present} missing dates.",
    ):
        print(line, file=sys.stderr)
    print(f"Redo {cov.present} present dates? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _outlook(args: argparse.Namespace, pipeline: Pipeline, snap: Any, table: str) -> dict[str, Any]:
    """`launch --missing`: what the one rule makes of the table's missing dates, said before
    the launch (how many run on fallbacks, how many cannot be filled and why)."""
    from nba_tui import readiness

    o = readiness.outlook(pipeline, snap, table)
    if o.fill and not getattr(args, "json", False):
        print(f"{table}: {len(o.fill)} missing date(s) to fill", flush=True)
        for line in (readiness.describe_fallback(pipeline, snap, o), readiness.describe_never(o)):
            if line:
                print(f"  {line}", flush=True)
    return {
        "fillable": len(o.fill),
        "fallback_by_necessity": len(o.fallback),
        "unfillable": len(o.never),
        "unfillable_why": readiness.why_never(o) if o.never else None,
    }


def _signal_cmd(action: str) -> Handler:
    def handler(args: argparse.Namespace, pipeline: Pipeline) -> int:
        if action in ("resume", "restart"):
            check_pace_env()
        if action != "restart" and is_plan_ref(pipeline, args.job):
            return _plan_cmd(action, args, pipeline)
        with supervised(pipeline) as sup:
            v = resolve_job(sup, args.job)
            if action == "stop":
                v = sup.stop(v.id, grace=args.grace)
            else:
                call = {"pause": sup.pause, "resume": sup.resume, "restart": sup.restart}
                v = call[action](v.id)
        r = v.record
        extra = f", log {r.log}" if action == "restart" else ""
        text = f"{action}: {r.table} job {r.id} is {job_state_text(r)}{extra}"
        emit(args, view_json(v, pipeline=pipeline), text)
        return EXIT_OK

    handler.__doc__ = f"nba-tui {action} JOB|PLAN"
    return handler


def is_plan_ref(pipeline: Pipeline, ref: str) -> bool:
    """A plan id (`p` + 6 hex digits) that is not also a table's name: job ids are hex digits
    only, so the two never meet; a table named like a plan id stays a table."""
    if not PLAN_ID.fullmatch(ref):
        return False
    return not any(t.name == ref for t in pipeline.tables())


def _plan_cmd(action: str, args: argparse.Namespace, pipeline: Pipeline) -> int:
    """pause/resume/stop acting on every job of a plan (its runner starts nothing new while
    paused; stop = cancel: every job stopped and verified ended)."""
    from nba_tui.jobs.supervisor import JobError

    with supervised(pipeline) as sup:
        try:
            sup.plan(args.job)
        except JobError as e:
            raise InputError(f"{printable(str(e), escape=True)} (see `nba-tui plans`)") from None
        acted = _acted_on(action, sup.jobs(), args.job)
        call = {"pause": sup.pause_plan, "resume": sup.resume_plan, "stop": sup.stop_plan}
        plan = call[action](args.job)
    state = "paused" if plan.paused and plan.state == "running" else str(plan.state)
    verb = {"pause": "paused", "resume": "resumed", "stop": "stopped"}[action]
    text = f"{action}: plan {plan.id} is {state}; {verb} {_ids(acted)}"
    emit(args, plan.to_json(), text)
    return EXIT_OK


def _acted_on(action: str, views: list[JobView], plan_id: str) -> list[str]:
    """Ids of the plan's jobs `action` acts on: running ones for pause, paused ones for resume,
    every active one (running, paused, queued) for stop; never the ones that already ended."""
    wanted = {
        "pause": (JobState.RUNNING,),
        "resume": (JobState.PAUSED,),
        "stop": (JobState.RUNNING, JobState.PAUSED, JobState.QUEUED),
    }[action]
    return [v.id for v in views if v.record.plan == plan_id and v.state in wanted]


def _ids(ids: list[str], most: int = 4) -> str:
    """`no jobs`, `1 job j1`, `3 jobs j1 j2 j3`, `9 jobs j1 j2 j3 j4 +5` (one short line)."""
    if not ids:
        return "no jobs"
    shown = " ".join(ids[:most]) + (f" +{len(ids) - most}" if len(ids) > most else "")
    return f"{len(ids)} job{'s' if len(ids) != 1 else ''} {shown}"


def cmd_launch_phase(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.jobs.errors import NothingToRun
    from nba_tui.jobs.supervisor import PreflightFailed

    check_pace_env()
    check_phases(pipeline, [args.phase])
    snap = take_snapshot(pipeline, *date_range(pipeline, args.start, args.end))
    tables = [t.name for t in pipeline.phase(args.phase).tables]
    ahead = _say_fallbacks(args, pipeline, snap, tables)
    with supervised(pipeline) as sup:
        try:
            plan = sup.launch_phase(
                args.phase, snap, missing=not args.all, skip_preflight=args.skip_preflight
            )
        except PreflightFailed as e:
            return _preflight_refused(args, e)
        except NothingToRun as e:  # no plan, no alert: there is nothing to do (as `run`)
            emit(args, {"plan": None, "message": str(e)}, printable(str(e)))
            return EXIT_OK
    jobs = " ".join(plan.jobs)
    head = f"plan {plan.id}: {args.phase}, jobs {jobs} (runner pid {plan.runner_pid})"
    text = "\n".join(fit(head, out_width()))
    for s in plan.skipped:
        text += f"\n  skipped {s['table']}: {s['reason']}"
    emit(args, {**plan.to_json(), "fallbacks_by_necessity": ahead}, text)
    return EXIT_OK


def _say_fallbacks(
    args: argparse.Namespace, pipeline: Pipeline, snap: Any, tables: list[str]
) -> dict[str, int]:
    """Before a plan starts: per table, how many dates will run on fallbacks by necessity (a
    soft input lacks them and nothing can fill it), said on stdout unless --json: wrapped within
    the terminal's width, each line whole when piped (fmt.fit)."""
    from nba_tui import readiness

    if getattr(args, "all", False):
        return {}
    if not getattr(args, "json", False):
        width = out_width()
        for line in readiness.fallback_lines(pipeline, snap, tables):
            print("\n".join(fit(printable(line), width)), flush=True)
    return {t: len(d) for t, d in readiness.fallbacks_ahead(pipeline, snap, tables).items()}


def _preflight_refused(args: argparse.Namespace, e: Any) -> int:
    """launch-phase refused by the preflight: what running anyway would degrade (exit 1)."""
    if args.json:
        emit_json({"error": str(e), "degradation": e.lines})
    print(f"nba-tui: {printable(str(e))}; running anyway would mean:", file=sys.stderr)
    for line in e.lines:
        print(f"  - {printable(line)}", file=sys.stderr)
    print("  (re-run with --skip-preflight to accept that)", file=sys.stderr)
    return EXIT_CHECK


def cmd_run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    check_pace_env()
    check_phases(pipeline, args.phases)
    if args.dry_run:
        snap = dry_run(args, pipeline)
        if not args.json and not args.argv:
            from nba_tui.jobs.plans import phase_tables

            _say_fallbacks(args, pipeline, snap, phase_tables(pipeline, *args.phases))
        return EXIT_OK
    if args.argv or args.max_parallel:
        flag = "--argv" if args.argv else "--max-parallel"
        raise InputError(
            f"{flag} goes with --dry-run (a what-if); set jobs.max_parallel in "
            f"{pipeline.source.name} to change the runs"
        )
    deadline = _deadline(args.deadline)
    from nba_tui.jobs.errors import NothingToRun
    from nba_tui.jobs.plans import phase_tables

    snap = take_snapshot(pipeline, pipeline.range.start, pipeline.range.end)
    ahead = _say_fallbacks(args, pipeline, snap, phase_tables(pipeline, *args.phases))
    with supervised(pipeline) as sup:
        try:
            plan = sup.run_phases(
                args.phases,
                missing=not args.all,
                skip_preflight=args.skip_preflight,
                strict_cascade=args.strict_cascade,
                shards=args.shards,
                deadline=deadline,
            )
        except NothingToRun as e:  # no plan, no alert: there is nothing to do
            emit(args, {"plan": None, "message": str(e)}, printable(str(e)))
            return EXIT_OK
    how = "strictly one table after another" if args.strict_cascade else "date by date"
    text = "\n".join(
        [
            f"plan {plan.id}: {' > '.join(plan.phases)}, {how} (runner pid {plan.runner_pid})",
            f"  log       {plan.log}",
            "  follow    nba-tui plans",
            f"  pause     nba-tui pause {plan.id}",
            f"  stop      nba-tui stop {plan.id}",
            "  tomorrow  nba-tui report",
        ]
    )
    if deadline is not None:
        from nba_tui.jobs.forecast import clock

        text += f"\n  plan_late is sent if its forecast end passes {clock(deadline)}"
    emit(args, {**plan.to_json(), "fallbacks_by_necessity": ahead}, text)
    return EXIT_OK


def _deadline(text: str | None) -> float | None:
    if text is None:
        return None
    from nba_tui.jobs.plan_text import parse_deadline

    try:
        return parse_deadline(text, dt.datetime.now().astimezone())
    except ValueError:
        raise InputError(
            f"--deadline {text!r}: write HH:MM (the next such time) or YYYY-MM-DDTHH:MM"
        ) from None


# -- parser ----------------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the job control commands to `nba-tui`; each gets only the options it reads."""
    plain = [config_option(), json_option()]
    ranged = [config_option(), dates_option(), json_option()]
    p = sub.add_parser("launch", parents=ranged, help="start TABLE's backfill (detached)")
    p.add_argument("table")
    p.add_argument("--missing", action="store_true", help="only the table's missing dates")
    p.add_argument("--dates", metavar="D1,D2", help="only these dates")
    p.add_argument(
        "--yes", action="store_true", help="redo present dates without asking (on a terminal)"
    )
    p.set_defaults(func=cmd_launch)

    p = sub.add_parser(
        "launch-phase", parents=ranged, help="queue PHASE's short tables (max_parallel)"
    )
    p.add_argument("phase")
    p.add_argument("--all", action="store_true", help="every table, whole range")
    p.add_argument("--skip-preflight", action="store_true", help="launch even if inputs short")
    p.set_defaults(func=cmd_launch_phase)

    _register_run(sub, plain)

    for action, text in (
        ("pause", "SIGSTOP the job's processes"),
        ("resume", "SIGCONT a paused job"),
        ("stop", "TERM, then KILL after the grace period"),
        ("restart", "relaunch a failed/stopped/lost job (resumes from its checkpoint)"),
    ):
        p = sub.add_parser(action, parents=plain, help=text)
        what = "job id, or table name" + ("" if action == "restart" else ", or plan id (p...)")
        p.add_argument("job", metavar="JOB", help=what)
        if action == "stop":
            p.add_argument(
                "--grace", type=grace, metavar="SECONDS", help="seconds before SIGKILL (0..86400)"
            )
        p.set_defaults(func=_signal_cmd(action))


def _register_run(sub: Any, parents: list[Any]) -> None:
    p = sub.add_parser("run", parents=parents, help="backfill PHASEs date by date (the autopilot)")
    p.add_argument("phases", nargs="+", metavar="PHASE")
    p.add_argument("--all", action="store_true", help="every table, whole range")
    p.add_argument(
        "--skip-preflight", action="store_true", help="run dates on soft-input fallbacks"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan and its forecast, launch nothing"
    )
    p.add_argument("--argv", action="store_true", help="with --dry-run: every shard's argv")
    p.add_argument(
        "--max-parallel",
        type=bounded_int(1, 256),
        metavar="N",
        help="with --dry-run: what if jobs.max_parallel were N",
    )
    p.add_argument(
        "--deadline", metavar="HH:MM", help="send plan_late if the forecast end passes it"
    )
    p.add_argument(
        "--strict-cascade", action="store_true", help="today's order: one table after another"
    )
    p.add_argument(
        "--shards", type=bounded_int(1, 64), metavar="N", help="at most N shards of a table at once"
    )
    p.set_defaults(func=cmd_run)
