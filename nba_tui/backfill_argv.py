"""Turning a table's `backfill` settings into an argument list (never a shell string).

One function, used by preflight (to print the command that would fill a gap) and by the supervisor
(to launch or queue it, for the dashboard, the CLI and the plan runner alike).
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from collections.abc import Sequence

from nba_tui.config import Pipeline, Table


class NoBackfill(ValueError):
    """The table has no backfill command (a source loaded elsewhere)."""


def checkpoint_path(pipeline: Pipeline, table: Table, shard: str | None = None) -> str | None:
    """The table's checkpoint file; a shard's own file when `shard` (its label) is given.

    `{shard}` in the configured path is replaced by the label (`""` for an unsharded job); a path
    without it gets `.<label>` before its suffix, so two shards never write the same file."""
    if not table.backfill or not table.backfill.checkpoint:
        return None
    text = table.backfill.checkpoint.replace("{table}", table.name)
    if "{shard}" in text:
        text = text.replace("{shard}", shard or "")
    elif shard:
        head, dot, suffix = text.rpartition(".")
        text = f"{head}.{shard}.{suffix}" if dot and "/" not in suffix else f"{text}.{shard}"
    return str(pipeline.resolve(text))


def render_argv(
    pipeline: Pipeline,
    table: Table,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dates: Sequence[dt.date] | None = None,
    python: str | None = None,
    shard: str | None = None,
) -> list[str]:
    """The backfill command for a range (default: the pipeline's) or an explicit list of dates;
    `shard` (a shard's label, schedule.shard_label) gives the job its own checkpoint."""
    if table.backfill is None:
        raise NoBackfill(f"table {table.name!r} has no backfill command in {pipeline.source.name}")
    bf = table.backfill
    values = {
        "python": python or sys.executable,
        "table": table.name,
        "warehouse": str(pipeline.sqlite_dir),
        "checkpoint": checkpoint_path(pipeline, table, shard) or "",
        "shard": shard or "",
        "config": str(pipeline.source),
        "start": (start or pipeline.range.start).isoformat(),
        "end": (end or pipeline.range.end).isoformat(),
        "dates": ",".join(d.isoformat() for d in sorted(set(dates or []))),
    }
    tail = bf.dates_args if dates is not None else bf.range_args
    out = []
    for arg in [*bf.command, *tail]:
        for key, val in values.items():
            arg = arg.replace("{" + key + "}", val)
        out.append(arg)
    return out


def display(argv: Sequence[str]) -> str:
    """A copy-pasteable rendering (for humans; never executed through a shell)."""
    return shlex.join(argv)
