"""`nba-tui demo reset | info`: rebuild or describe the embedded sample warehouse.

Both need the sqlite backend; `reset` also needs `warehouse.sqlite.sample: true`, so it never
writes made-up NBA data into a warehouse that is not the demo's. `reset` also archives the ended
jobs, whose "done" described data that no longer exists. The generator and the Supervisor are
imported by the handlers (every other command starts without them).
"""

from __future__ import annotations

import argparse
from typing import Any

from nba_tui.cli.common import (
    EXIT_CHECK,
    EXIT_OK,
    InputError,
    config_option,
    emit,
    fail,
    json_option,
    show,
)
from nba_tui.cli.listings import supervised
from nba_tui.config import Pipeline
from nba_tui.fmt import printable


def _require_sqlite(pipeline: Pipeline) -> None:
    if pipeline.warehouse.backend != "sqlite":
        backend = pipeline.warehouse.backend
        raise InputError(
            f"{pipeline.source.name}: warehouse.backend is {backend}; demo needs sqlite"
        )


def cmd_reset(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.sample import build_warehouse, remove_checkpoints

    _require_sqlite(pipeline)
    if not pipeline.warehouse.sqlite.sample:
        raise InputError(
            f"{pipeline.source.name}: warehouse.sqlite.sample is not true; demo reset would "
            f"overwrite {pipeline.sqlite_dir} with the sample data"
        )
    with supervised(pipeline) as sup:
        active = [v.record for v in sup.jobs() if v.state.active]
        if active and not args.force:
            names = ", ".join(f"{r.table} ({r.id})" for r in active)
            return fail(
                printable(
                    f"{len(active)} job(s) still active: {names}; their writes would be "
                    "lost: stop them first (nba-tui stop JOB) or pass --force",
                    escape=True,
                ),
                EXIT_CHECK,
            )
        stats = build_warehouse(pipeline, force=True)
        removed = remove_checkpoints(pipeline)
        # The ended jobs' "done" described the data just replaced: archive them (never the
        # active ones), so the grid and `jobs` start from the reset state.
        archived = sup.archive_ended()
    data = {
        "warehouse": str(stats.path),
        "expected_dates": stats.expected_dates,
        "seconds": round(stats.seconds, 3),
        "rows": stats.rows,
        "dates": stats.dates,
        "checkpoints_removed": removed,
        "jobs_archived": archived,
    }
    text = (
        f"demo reset: built {stats.path} in {stats.seconds:.1f} s "
        f"({stats.expected_dates} game dates, {sum(stats.rows.values()):,} rows); "
        f"removed {removed} checkpoint{'s' if removed != 1 else ''}"
    )
    if archived:
        text += f"; archived {archived} ended job{'s' if archived != 1 else ''}"
    emit(args, data, text)
    return EXIT_OK


def cmd_info(args: argparse.Namespace, pipeline: Pipeline) -> int:
    from nba_tui.sample import table_stats, warehouse_exists

    _require_sqlite(pipeline)
    root = pipeline.sqlite_dir
    exists = warehouse_exists(pipeline)
    tables = table_stats(root) if exists else {}
    if getattr(args, "json", False):
        emit(args, {"warehouse": str(root), "exists": exists, "tables": tables}, "")
        return EXIT_OK
    if not exists:
        show(f"sample warehouse: {root} (not built; `nba-tui demo reset` builds it)")
        return EXIT_OK
    lines = [f"sample warehouse: {root}"]
    width = max(len(name) for name in tables)
    for name, s in tables.items():
        if not s["exists"]:
            lines.append(f"  {name:<{width}}  (missing)")
        elif s["rows"]:
            lines.append(
                f"  {name:<{width}}  {s['rows']:>9,} rows  {s['dates']:>4} dates  "
                f"{s['first']}..{s['last']}"
            )
        else:
            lines.append(f"  {name:<{width}}  {0:>9} rows  (empty)")
    show("\n".join(lines))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add `demo reset` and `demo info` (plain `nba-tui demo` is `demo info`)."""
    parents = [config_option(), json_option()]
    demo = sub.add_parser(
        "demo", parents=[config_option()], help="the embedded sample warehouse (reset, info)"
    )
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND")
    p = demo_sub.add_parser(
        "reset",
        parents=parents,
        help="rebuild the sample warehouse in its initial state and remove checkpoints",
    )
    p.add_argument("--force", action="store_true", help="reset even while backfill jobs are active")
    p.set_defaults(func=cmd_reset)
    p = demo_sub.add_parser(
        "info", parents=parents, help="where the sample warehouse is and its rows"
    )
    p.set_defaults(func=cmd_info)
    demo.set_defaults(func=cmd_info, json=False)
