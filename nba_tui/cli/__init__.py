"""`nba-tui`: the dashboard (no subcommand) and the headless commands for scripts and cron.

One module per command group, registered statically below (a broken import fails loudly):
`coverage` (status, preflight, gaps), `jobs` (jobs, launch, launch-phase, run, pause, resume,
stop, restart, history, plans), `demo`, `schema`, `dashboard`. What they share (exit codes,
errors, dates, the warehouse, output) is in `common`. A new command goes in the module of its
group, with a `register(sub)` that gives it only the options it reads.
This package imports no Textual: the dashboard is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from nba_tui import config as cfg
from nba_tui.cli import coverage, dashboard, demo, jobs, schema
from nba_tui.cli.common import EXIT_OK, InputError, config_option, fail
from nba_tui.config import ConfigError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nba-tui",
        description="Coverage dashboard and job supervisor for date-partitioned backfills.",
        parents=[config_option(top=True)],
    )
    dashboard.read_only_option(parser, top=True)
    parser.set_defaults(func=dashboard.cmd_dashboard)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (coverage, schema, dashboard, demo, jobs):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "no_config", False):
            return int(args.func(args, None))
        pipeline = cfg.load(args.config)
        return int(args.func(args, pipeline))
    except (ConfigError, InputError) as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `nba-tui status | head`
        return EXIT_OK
