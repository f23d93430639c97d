"""`nba-tui`: the dashboard (no subcommand) and the headless commands for scripts and cron.

Exit codes: 0 ok, 1 check failed (preflight not ready, a job command refused), 2 bad input
(config, dates, names, unreachable warehouse). Errors are one line on stderr naming what to fix.
This module imports no Textual: the dashboard is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from nba_tui import config as cfg
from nba_tui.config import ConfigError, Pipeline

EXIT_OK, EXIT_CHECK, EXIT_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace, Pipeline], int]


class InputError(Exception):
    """Bad input found after parsing; `str()` is the line shown (exit 2)."""


# -- output helpers -----------------------------------------------------------------------------


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return (
        "NO_COLOR" not in os.environ
        and os.environ.get("TERM") != "dumb"
        and hasattr(stream, "isatty")
        and stream.isatty()
    )


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str) -> int:
    print(f"nba-tui: {message}", file=sys.stderr)
    return EXIT_INPUT


def parse_date(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} {text!r}: not a date, write YYYY-MM-DD") from None


def date_range(args: argparse.Namespace, pipeline: Pipeline) -> tuple[dt.date, dt.date]:
    start = parse_date(args.start, "--start") if getattr(args, "start", None) else None
    end = parse_date(args.end, "--end") if getattr(args, "end", None) else None
    start = start or pipeline.range.start
    end = end or pipeline.range.end
    if end < start:
        raise InputError(f"--end {end} is before --start {start}")
    return start, end


# -- warehouse access shared by the commands -----------------------------------------------------


def take_snapshot(args: argparse.Namespace, pipeline: Pipeline) -> Any:
    """One poll over the requested range; an unreachable warehouse is bad input (exit 2)."""
    from nba_tui.monitor import Monitor

    ensure_embedded(pipeline)
    start, end = date_range(args, pipeline)
    mon = Monitor(pipeline, start=start, end=end)
    try:
        result = mon.poll_once()
    finally:
        mon.close()
    if result.snapshot is None:
        hint = f" ({result.hint})" if result.hint else ""
        raise InputError(f"{pipeline.source.name}: warehouse: {result.error}{hint}")
    return result.snapshot


def ensure_embedded(pipeline: Pipeline) -> None:
    """Build the embedded sample warehouse on first run (sqlite backend, directory absent)."""
    if pipeline.warehouse.backend != "sqlite" or pipeline.sqlite_dir.exists():
        return
    from nba_tui.sample import ensure_warehouse

    print(f"nba-tui: building the embedded warehouse in {pipeline.sqlite_dir} ...", file=sys.stderr)
    ensure_warehouse(pipeline)


# -- commands -----------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.report import render_status

    snap = take_snapshot(args, pipeline)
    cost = estimate_cost(args, pipeline)
    if args.json:
        data = snap.to_json(pipeline)
        data["cost_estimate"] = cost
        emit_json(data)
    else:
        print(render_status(pipeline, snap, color=use_color()))
        if cost:
            print(textwrap.fill(f"cost: {cost}", 80, subsequent_indent="      "))
    return EXIT_OK


def estimate_cost(args: argparse.Namespace, pipeline: Pipeline) -> str | None:
    """BigQuery: a dry run's bytes per poll and per night (None on the embedded backend)."""
    if pipeline.warehouse.backend != "bigquery":
        return None
    from nba_tui.monitor import Monitor

    start, end = date_range(args, pipeline)
    mon = Monitor(pipeline, start=start, end=end)
    try:
        return mon.estimate_cost()
    finally:
        mon.close()


def cmd_preflight(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui import preflight
    from nba_tui.report import render_preflight

    try:
        pipeline.phase(args.phase)
    except KeyError:
        names = ", ".join(p.name for p in pipeline.phases)
        raise InputError(
            f"{pipeline.source.name}: unknown phase {args.phase!r} (phases: {names})"
        ) from None
    snap = take_snapshot(args, pipeline)
    report = preflight.check(pipeline, snap, args.phase)
    if args.json:
        emit_json(report.to_json())
    else:
        default = os.path.abspath(cfg.DEFAULT_CONFIG) == str(pipeline.source)
        print(render_preflight(report, color=use_color(), config=None if default else args.config))
    return EXIT_OK if report.ready else EXIT_CHECK


def cmd_gaps(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.report import render_gaps

    table = resolve_table(pipeline, args.table)
    snap = take_snapshot(args, pipeline)
    cov = snap.tables[table.name]
    if args.json:
        data = cov.to_json()
        data["missing_dates"] = [d.isoformat() for d in cov.missing]
        emit_json(data)
    else:
        print(render_gaps(cov, color=use_color()))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, pipeline: Pipeline | None) -> int:
    emit_json(cfg.json_schema())
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace, pipeline: Pipeline) -> int:
    try:
        from nba_tui.tui.app import run as run_dashboard
    except ImportError as e:  # pragma: no cover - only while the dashboard is being built
        print(f"nba-tui: dashboard unavailable ({e}); try `nba-tui status`", file=sys.stderr)
        return EXIT_INPUT
    ensure_embedded(pipeline)
    return run_dashboard(pipeline, read_only=getattr(args, "read_only", False))


def resolve_table(pipeline: Pipeline, name: str) -> cfg.Table:
    try:
        return pipeline.table(name)
    except KeyError:
        known = ", ".join(t.name for t in pipeline.tables())
        raise InputError(
            f"{pipeline.source.name}: unknown table {name!r} (tables: {known})"
        ) from None


# -- parser -------------------------------------------------------------------------------------


def common_options(
    json_flag: bool = True, dates: bool = True, top: bool = False
) -> argparse.ArgumentParser:
    """Options every command takes. Only the top-level parser sets the --config default: a
    subcommand's default would overwrite `nba-tui --config X status`'s X (argparse merges)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--config",
        default=cfg.DEFAULT_CONFIG if top else argparse.SUPPRESS,
        metavar="PATH",
        help="pipeline file (default: ./pipeline.yaml)",
    )
    if dates:
        p.add_argument("--start", metavar="YYYY-MM-DD", help="first date (default: the range's)")
        p.add_argument("--end", metavar="YYYY-MM-DD", help="last date (default: the range's)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="nba-tui",
        description="Coverage dashboard and job supervisor for date-partitioned backfills.",
        parents=[common_options(json_flag=False, dates=False, top=True)],
    )
    parser.add_argument(
        "--read-only", action="store_true", help="dashboard without action keys (inspect only)"
    )
    parser.set_defaults(func=cmd_dashboard)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("status", parents=[common], help="coverage of every table, by phase")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser(
        "preflight", parents=[common], help="may PHASE start? exit 0 ready, 1 not ready"
    )
    p.add_argument("phase")
    p.set_defaults(func=cmd_preflight)
    p = sub.add_parser("gaps", parents=[common], help="missing dates of TABLE, as ranges")
    p.add_argument("table")
    p.set_defaults(func=cmd_gaps)
    p = sub.add_parser("schema", help="print the JSON Schema of pipeline.yaml")
    p.set_defaults(func=cmd_schema, no_config=True)
    p = sub.add_parser(
        "dashboard", parents=[common_options(False, False)], help="open the dashboard"
    )
    p.add_argument("--read-only", action="store_true", help="no action keys (inspect only)")
    p.set_defaults(func=cmd_dashboard)

    for module in ("nba_tui.sample.cli", "nba_tui.jobs.cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError:  # pragma: no cover - while a package is being built
            continue
        mod.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "no_config", False):
            return args.func(args, None)
        pipeline = cfg.load(args.config)
        return int(args.func(args, pipeline))
    except ConfigError as e:
        return fail(str(e))
    except InputError as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `nba-tui status | head`
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
