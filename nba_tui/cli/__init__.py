"""`nba-tui`: the dashboard (no subcommand) and the headless commands for scripts and cron.

One module per command group, registered statically below (a broken import fails loudly):
`coverage` (status, preflight, gaps), `jobs` (launch, launch-phase, run, pause, resume, stop,
restart), `listings` (jobs, history, plans, cancel), `watch`, `report` (the morning report),
`demo`, `schema`, `dashboard`. What they share (exit codes, errors, dates, the warehouse,
output) is in `common`. A new command goes in the module of its group, with a `register(sub)`
that gives it only the options it reads.

Start-up is part of the answer (`status --json` from cron): the command modules import
their heavy dependencies (Rich, the monitor's asyncio, the Supervisor's psutil, the sample
generator, Textual) inside the handlers, so a command loads only what it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nba_tui import config as cfg
from nba_tui.cli import coverage, dashboard, demo, jobs, listings, output, report, schema, watch
from nba_tui.cli.common import EXIT_CHECK, EXIT_OK, InputError, Parser, config_option, fail
from nba_tui.cli.listings import Refused
from nba_tui.cli.output import OutputError
from nba_tui.config import ConfigError
from nba_tui.fsutil import UnsafeFile

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="nba-tui",
        description="Coverage dashboard and job supervisor for date-partitioned backfills.",
        parents=[config_option(top=True)],
    )
    dashboard.read_only_option(parser, top=True)
    parser.set_defaults(func=dashboard.cmd_dashboard)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (coverage, schema, dashboard, demo, listings, jobs, watch, report):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    output.degrade(sys.stderr)
    args = build_parser().parse_args(argv)
    if args.func is not dashboard.cmd_dashboard:  # the dashboard owns the terminal itself
        output.guard()
    try:
        return _run(args)
    except OutputError as e:  # `status > /dev/full`: as coreutils say it, exit 1
        output.silence()
        if output.closed_pipe(e):  # `nba-tui status | head`
            return EXIT_OK
        return fail(f"write error: {e.strerror}", EXIT_CHECK)
    except BrokenPipeError:
        output.silence()
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "no_config", False):
            code = int(args.func(args, None))
        else:
            code = int(args.func(args, cfg.load(args.config)))
        output.finish()
        return code
    except (ConfigError, InputError) as e:
        return fail(str(e))
    except UnsafeFile as e:  # a FIFO, a link or a foreign file among the state files
        return fail(f"state: {e.filename}: {e.strerror}")
    except Refused as e:
        return fail(str(e), EXIT_CHECK)
    except KeyboardInterrupt:
        return 130
