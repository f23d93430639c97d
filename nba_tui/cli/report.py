"""`nba-tui report [--since 12h] [--json]`: the morning report (nba_tui/morning_report.py).

What the night's plans and jobs did, per table coverage before and after, failures with the
last lines of their logs, quarantined and skipped dates, what was degraded, and the one next
command. It reads the state directory and takes one coverage poll; exit 0, or 2 when the
warehouse cannot answer.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from nba_tui.cli.common import (
    EXIT_OK,
    config_option,
    duration_arg,
    emit_json,
    json_option,
    out_width,
    take_snapshot,
)
from nba_tui.cli.listings import supervised
from nba_tui.config import Pipeline


def cmd_report(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.morning_report import build_report, render_report

    snap = take_snapshot(pipeline, pipeline.range.start, pipeline.range.end)
    with supervised(pipeline) as sup:
        report = build_report(pipeline, sup, snap, time.time() - args.since)
    if args.json:
        emit_json(report.to_json())
    else:
        sys.stdout.write(render_report(report, out_width()))  # already printable
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        parents=[config_option(), json_option()],
        help="the morning report: what ran, what failed, what to run next",
    )
    p.add_argument(
        "--since",
        type=duration_arg,
        default=12 * 3600.0,
        metavar="DURATION",
        help="how far back (default 12h; e.g. 30m, 2d)",
    )
    p.set_defaults(func=cmd_report)
