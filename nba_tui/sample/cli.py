"""`nba-tui demo reset | info`: rebuild or describe the embedded sample warehouse.

Registered into the main CLI by `register(subparsers, common)`; handlers take `(args, pipeline)`
and return the exit code, like every other command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nba_tui.config import Pipeline
from nba_tui.sample.build import build_warehouse, warehouse_exists
from nba_tui.sample.tables import DATASETS, TABLES
from nba_tui.warehouse.sqlite import connect, dataset_file


def _options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", default="pipeline.yaml", metavar="PATH", help="pipeline file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def register(
    subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser | None = None
) -> None:
    """Add `demo reset` and `demo info`. `common` (the main CLI's --config/--json parent) is
    reused when given so the options read the same everywhere."""
    parent = common if common is not None else _options()
    demo = subparsers.add_parser("demo", help="the embedded sample warehouse (reset, info)")
    sub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND")
    p = sub.add_parser(
        "reset",
        parents=[parent],
        help="rebuild the sample warehouse in its initial state and remove checkpoints",
    )
    p.add_argument("--force", action="store_true", help="reset even while backfill jobs are active")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("info", parents=[parent], help="where the sample warehouse is and its rows")
    p.set_defaults(func=cmd_info)
    demo.set_defaults(func=cmd_info, json=False)


def _require_sqlite(pipeline: Pipeline) -> str | None:
    if pipeline.warehouse.backend != "sqlite":
        backend = pipeline.warehouse.backend
        return f"{pipeline.source.name}: warehouse.backend is {backend}; demo needs sqlite"
    return None


def remove_checkpoints(pipeline: Pipeline) -> int:
    """Delete checkpoint files: after a reset their dates no longer hold what they claim."""
    cp_dir = pipeline.state_dir / "checkpoints"
    removed = 0
    if cp_dir.is_dir():
        for f in cp_dir.glob("*.json"):
            f.unlink(missing_ok=True)
            removed += 1
    return removed


def cmd_reset(args: argparse.Namespace, pipeline: Pipeline) -> int:
    problem = _require_sqlite(pipeline)
    if problem:
        print(f"nba-tui: {problem}", file=sys.stderr)
        return 2
    if not getattr(args, "force", False):
        from nba_tui.jobs.supervisor import Supervisor

        active = [v.record for v in Supervisor(pipeline).jobs() if v.state.active]
        if active:
            names = ", ".join(f"{r.table} ({r.id})" for r in active)
            print(
                f"nba-tui: {len(active)} job(s) still active: {names}; their writes would be "
                "lost: stop them first (nba-tui stop JOB) or pass --force",
                file=sys.stderr,
            )
            return 1
    stats = build_warehouse(pipeline, force=True)
    removed = remove_checkpoints(pipeline)
    if getattr(args, "json", False):
        data = {
            "warehouse": str(stats.path),
            "expected_dates": stats.expected_dates,
            "seconds": round(stats.seconds, 3),
            "rows": stats.rows,
            "dates": stats.dates,
            "checkpoints_removed": removed,
        }
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        total = sum(stats.rows.values())
        print(
            f"demo reset: built {stats.path} in {stats.seconds:.1f} s "
            f"({stats.expected_dates} game dates, {total:,} rows); "
            f"removed {removed} checkpoint{'s' if removed != 1 else ''}"
        )
    return 0


def table_stats(root: Path) -> dict[str, dict[str, object]]:
    """Rows and dates per sample table (read-only; tables that are absent say so)."""
    conn = connect(root, DATASETS, create=False, readonly=True)
    out: dict[str, dict[str, object]] = {}
    try:
        for t in TABLES:
            if not dataset_file(root, t.ref.dataset).exists():
                out[t.name] = {"table": t.table, "exists": False}
                continue
            try:
                n, days, first, last = conn.execute(
                    "SELECT COUNT(*), COUNT(DISTINCT game_date), MIN(game_date), MAX(game_date) "  # noqa: S608
                    f"FROM {t.ref.sqlite_sql()}"  # noqa: S608
                ).fetchone()
            except Exception:  # noqa: BLE001 - a missing table is information, not an error
                out[t.name] = {"table": t.table, "exists": False}
                continue
            out[t.name] = {
                "table": t.table,
                "exists": True,
                "rows": n,
                "dates": days,
                "first": first,
                "last": last,
            }
    finally:
        conn.close()
    return out


def cmd_info(args: argparse.Namespace, pipeline: Pipeline) -> int:
    problem = _require_sqlite(pipeline)
    if problem:
        print(f"nba-tui: {problem}", file=sys.stderr)
        return 2
    root = pipeline.sqlite_dir
    exists = warehouse_exists(pipeline)
    tables = table_stats(root) if exists else {}
    if getattr(args, "json", False):
        data = {"warehouse": str(root), "exists": exists, "tables": tables}
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not exists:
        print(f"sample warehouse: {root} (not built; `nba-tui demo reset` builds it)")
        return 0
    print(f"sample warehouse: {root}")
    width = max(len(name) for name in tables)
    for name, s in tables.items():
        if not s["exists"]:
            print(f"  {name:<{width}}  (missing)")
        elif s["rows"]:
            print(
                f"  {name:<{width}}  {s['rows']:>9,} rows  {s['dates']:>4} dates  "
                f"{s['first']}..{s['last']}"
            )
        else:
            print(f"  {name:<{width}}  {0:>9} rows  (empty)")
    return 0
