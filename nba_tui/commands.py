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


def engine_dates(
    pipeline: Pipeline,
    engine: str,
    start: dt.date | None,
    end: dt.date | None,
    dates: Sequence[dt.date] | None,
) -> tuple[dt.date | None, dt.date | None, Sequence[dt.date] | None]:
    """Cloud Run tasks slice a list of dates (nba_tui/task.py): there a range becomes its days."""
    if engine != "cloudrun" or dates is not None:
        return start, end, dates
    first, last = start or pipeline.range.start, end or pipeline.range.end
    return None, None, [first + dt.timedelta(n) for n in range((last - first).days + 1)]


def engine_python(pipeline: Pipeline, engine: str) -> str | None:
    """{python} in a backfill command: the image's for Cloud Run, else ours."""
    cr = pipeline.jobs.cloudrun
    return cr.python if engine == "cloudrun" and cr is not None else None


def launch_argv(
    pipeline: Pipeline,
    table: Table,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dates: Sequence[dt.date] | None = None,
    shard: str | None = None,
) -> list[str]:
    """The argv a job of `table` is recorded and started with on its engine (the supervisor
    and `run --dry-run --argv` alike): `render_argv` after `engine_dates` and `engine_python`."""
    engine = pipeline.engine_of(table.name)
    start, end, dates = engine_dates(pipeline, engine, start, end, dates)
    py = engine_python(pipeline, engine)
    return render_argv(pipeline, table, start=start, end=end, dates=dates, python=py, shard=shard)


def display(argv: Sequence[str]) -> str:
    """A copy-pasteable rendering (for humans; never executed through a shell)."""
    return shlex.join(argv)
