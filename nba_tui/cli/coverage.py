"""`nba-tui status | preflight PHASE | gaps TABLE`: coverage questions, answered by one poll.

Each takes --start/--end (the answer depends on the range) and --json. The renderings (Rich) and
the preflight are imported by the handlers that print them: `status --json` loads neither.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from typing import Any

from nba_tui import config as cfg
from nba_tui.cli.common import (
    EXIT_CHECK,
    EXIT_OK,
    check_phases,
    config_option,
    date_range,
    dates_option,
    emit,
    emit_json,
    json_option,
    resolve_table,
    show,
    take_snapshot,
)
from nba_tui.config import Pipeline


def cmd_status(args: argparse.Namespace, pipeline: Pipeline) -> int:
    start, end = date_range(pipeline, args.start, args.end)
    snap = take_snapshot(pipeline, start, end, recount=args.recount)
    cost = estimate_cost(pipeline, start, end)
    if args.json:
        # Without degraded dates no table's JSON gains keys here: each is written as its text.
        raw = not any(cov.has_degraded for cov in snap.tables.values())
        data = snap.to_json(pipeline, raw=raw)
        data["cost_estimate"] = cost
        if not raw:
            _degraded_kinds(pipeline, snap, data)
        emit_json(data)
        return EXIT_OK
    from nba_tui.coverage_text import render_status

    show(render_status(pipeline, snap))
    if cost:
        show(textwrap.fill(f"cost: {cost}", 80, subsequent_indent="      "))
    return EXIT_OK


def _degraded_kinds(pipeline: Pipeline, snap: Any, data: dict[str, Any]) -> None:
    """Each table's degraded dates counted by necessity (a soft input nothing can fill) and by
    choice (`--skip-preflight`), beside `degraded_dates` (only computed when there are any)."""
    tables = [t for p in data["phases"] for t in p["tables"]]
    if not any(t["degraded_dates"] for t in tables):
        return
    from nba_tui.readiness import degraded_counts

    counts = degraded_counts(pipeline, snap)
    for t in tables:
        t["degraded_by_necessity"], t["degraded_by_choice"] = counts.get(t["name"], (0, 0))


def estimate_cost(pipeline: Pipeline, start: Any, end: Any) -> str | None:
    """BigQuery: a dry run's bytes per poll and per night (None on the embedded backend)."""
    if pipeline.warehouse.backend != "bigquery":
        return None
    from nba_tui.monitor import Monitor

    mon = Monitor(pipeline, start=start, end=end)
    try:
        return mon.estimate_cost()
    finally:
        mon.close()


def cmd_preflight(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui import preflight

    check_phases(pipeline, [args.phase])
    snap = take_snapshot(pipeline, *date_range(pipeline, args.start, args.end))
    report = preflight.check(pipeline, snap, args.phase)
    # The suggested commands name --config only when it is not the default file.
    default = os.path.abspath(cfg.DEFAULT_CONFIG) == str(pipeline.source)
    text = preflight.render(report, config=None if default else args.config)
    emit(args, report.to_json(), text)
    return EXIT_OK if report.ready else EXIT_CHECK


def cmd_gaps(args: argparse.Namespace, pipeline: Pipeline) -> int:
    table = resolve_table(pipeline, args.table)
    snap = take_snapshot(pipeline, *date_range(pipeline, args.start, args.end))
    cov = snap.tables[table.name]
    data = cov.to_json()
    data["missing_dates"] = [d.isoformat() for d in cov.missing]
    if args.json:
        emit_json(data)
        return EXIT_OK
    from nba_tui.coverage_text import render_gaps

    show(render_gaps(cov))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add status, preflight and gaps to `nba-tui`'s subcommands."""
    parents = [config_option(), dates_option(), json_option()]
    p = sub.add_parser("status", parents=parents, help="coverage of every table, by phase")
    p.add_argument(
        "--recount",
        action="store_true",
        help="count every table now, trusting no change detection or counts cache",
    )
    p.set_defaults(func=cmd_status)
    p = sub.add_parser(
        "preflight", parents=parents, help="may PHASE start? exit 0 ready, 1 not ready"
    )
    p.add_argument("phase")
    p.set_defaults(func=cmd_preflight)
    p = sub.add_parser("gaps", parents=parents, help="missing dates of TABLE, as ranges")
    p.add_argument("table")
    p.set_defaults(func=cmd_gaps)
