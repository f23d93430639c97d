"""`nba-tui run --dry-run`: the plan's forecast from one poll and this pipeline's history.

By default a summary (per table: dates to run, held back and why, shards, when it runs; the
night's forecast end); `--argv` lists every shard in start order with the exact argv it is
launched with (engine included); `--max-parallel N` / `--shards N` ask what-if. Nothing is
launched and no state is written.
"""

from __future__ import annotations

import argparse
import sys
import time

from nba_tui.cli.common import emit_json, take_snapshot
from nba_tui.cli.listings import supervised
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot


def dry_run(args: argparse.Namespace, pipeline: Pipeline) -> Snapshot:
    """Print the forecast; the poll it used (for the caller's own lines)."""
    from nba_tui.jobs import decide, forecast, plan_text

    snap = take_snapshot(pipeline, pipeline.range.start, pipeline.range.end)
    with supervised(pipeline) as sup:
        views = sup.jobs()
    what_if = forecast.with_max_parallel(pipeline, args.max_parallel)
    busy = sum(1 for v in views if v.state.active)
    plan = forecast.dry_plan(
        pipeline,
        args.phases,
        shards=args.shards,
        strict_cascade=args.strict_cascade,
        skip_preflight=args.skip_preflight,
    )
    rates = forecast.learn(views, set(snap.expected_dates or ()))
    f = forecast.simulate(what_if, snap, plan, rates, now=time.time(), busy=busy)
    tables = decide.plan_tables(pipeline, plan)  # what the plan's runner schedules
    width = what_if.jobs.max_parallel
    if args.json:
        emit_json(plan_text.summary_json(pipeline, f, skip_preflight=args.skip_preflight))
    elif args.argv:
        sys.stdout.write(plan_text.render_argv(pipeline, f))  # verbatim: no re-wrapping
    else:
        text = plan_text.render_summary(
            pipeline, f, tables, max_parallel=width, skip_preflight=args.skip_preflight
        )
        sys.stdout.write(text)
    return snap
