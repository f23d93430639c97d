"""`nba-tui [dashboard]`: the Textual dashboard, the only command that loads Textual.

The import of `nba_tui.tui.app` is inside the handler so that every headless command (cron, CI,
SSH one-liners) starts without Textual's import cost; a broken dashboard still fails loudly when
it is asked for.
"""

from __future__ import annotations

import argparse
from typing import Any

from nba_tui.cli.common import config_option, ensure_embedded
from nba_tui.config import Pipeline


def cmd_dashboard(args: argparse.Namespace, pipeline: Pipeline) -> int:
    ensure_embedded(pipeline)
    from nba_tui.monitor import Monitor

    # The first poll starts before Textual is imported: counting the warehouse (in C, in a
    # thread) overlaps the UI's start-up instead of following it.
    monitor = Monitor(pipeline)
    monitor.prefetch()
    try:
        from nba_tui.tui.app import run as run_dashboard

        return run_dashboard(pipeline, read_only=args.read_only, monitor=monitor)
    finally:
        monitor.close()


def read_only_option(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--read-only, on `nba-tui` and on `nba-tui dashboard`. As with --config, only the top level
    sets the default, so `nba-tui --read-only dashboard` stays read-only."""
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="dashboard without action keys (inspect only)",
    )


def register(sub: Any) -> None:
    p = sub.add_parser("dashboard", parents=[config_option()], help="open the dashboard")
    read_only_option(p)
    p.set_defaults(func=cmd_dashboard)
