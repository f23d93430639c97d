"""What every command shares: errors and exit codes, option groups, dates, the warehouse, output.

Exit codes: 0 ok, 1 check failed (preflight not ready, a job command refused), 2 bad input
(config, dates, names, unreachable or missing warehouse). Errors are one line on stderr naming
what to fix. Handlers take `(args, pipeline)` and return the exit code; they raise `InputError`
for bad input found after parsing and `main` turns it into that line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from nba_tui import config as cfg
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot
from nba_tui.monitor import snapshot_once
from nba_tui.warehouse import WarehouseError

EXIT_OK, EXIT_CHECK, EXIT_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace, Pipeline], int]


class InputError(Exception):
    """Bad input found after parsing; `str()` is the line shown (exit 2)."""


# -- option groups (argparse parents) -------------------------------------------------------------


def config_option(*, top: bool = False) -> argparse.ArgumentParser:
    """--config, accepted before or after the subcommand. Only the top-level parser sets the
    default: a subcommand's default would overwrite `nba-tui --config X status`'s X."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--config",
        default=cfg.DEFAULT_CONFIG if top else argparse.SUPPRESS,
        metavar="PATH",
        help="pipeline file (default: ./pipeline.yaml)",
    )
    return p


def json_option() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def dates_option() -> argparse.ArgumentParser:
    """--start/--end, only on the commands whose answer depends on a date range."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--start", metavar="YYYY-MM-DD", help="first date (default: the range's)")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="last date (default: the range's)")
    return p


# -- input ---------------------------------------------------------------------------------------


def parse_date(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} {text!r}: not a date, write YYYY-MM-DD") from None


def date_range(pipeline: Pipeline, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """--start/--end as dates, defaulting to the pipeline's range; end before start is refused."""
    first = parse_date(start, "--start") if start else pipeline.range.start
    last = parse_date(end, "--end") if end else pipeline.range.end
    if last < first:
        raise InputError(f"--end {last} is before --start {first}")
    return first, last


def resolve_table(pipeline: Pipeline, name: str) -> cfg.Table:
    try:
        return pipeline.table(name)
    except KeyError:
        known = ", ".join(t.name for t in pipeline.tables())
        raise InputError(
            f"{pipeline.source.name}: unknown table {name!r} (tables: {known})"
        ) from None


def check_phases(pipeline: Pipeline, names: list[str]) -> None:
    for name in names:
        try:
            pipeline.phase(name)
        except KeyError:
            known = ", ".join(p.name for p in pipeline.phases)
            raise InputError(
                f"{pipeline.source.name}: unknown phase {name!r} (phases: {known})"
            ) from None


# -- the warehouse -------------------------------------------------------------------------------


def ensure_embedded(pipeline: Pipeline) -> None:
    """Build the sample warehouse on first run, but only where the pipeline asks for it.

    An embedded warehouse directory that does not exist is built only with
    `warehouse.sqlite.sample: true` (the shipped demo). Anything else is a typo or a warehouse
    not made yet: one line naming the path, exit 2, and nothing written to disk."""
    if pipeline.warehouse.backend != "sqlite":
        return
    root = pipeline.sqlite_dir
    if root.exists():
        return
    if not pipeline.warehouse.sqlite.sample:
        raise InputError(
            f"{pipeline.source.name}: warehouse.sqlite.path {root} does not exist "
            "(sample: true builds the demo warehouse there)"
        )
    # Imported here: the generator (~70 ms of imports) runs once per machine, not per command.
    from nba_tui.sample import ensure_warehouse

    print(f"nba-tui: building the embedded warehouse in {root} ...", file=sys.stderr)
    ensure_warehouse(pipeline)


def take_snapshot(pipeline: Pipeline, start: dt.date, end: dt.date) -> Snapshot:
    """One poll over start..end; a warehouse that cannot answer is bad input (exit 2)."""
    ensure_embedded(pipeline)
    try:
        return snapshot_once(pipeline, start, end)
    except WarehouseError as e:
        raise InputError(f"{pipeline.source.name}: warehouse: {e}") from None


# -- output --------------------------------------------------------------------------------------


def use_color(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb."""
    stream = stream or sys.stdout
    return (
        "NO_COLOR" not in os.environ
        and os.environ.get("TERM") != "dumb"
        and hasattr(stream, "isatty")
        and stream.isatty()
    )


def console(stream: TextIO | None = None) -> Console:
    """A Rich console that prints exactly what it is given: no markup, emoji or highlighting
    (argv and table names may hold brackets and colons), no re-wrapping (the renderers wrap at
    80 columns themselves), and ANSI styles only when `use_color`."""
    stream = stream or sys.stdout
    color = use_color(stream)
    return Console(
        file=stream,
        color_system="standard" if color else None,
        force_terminal=color,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
    )


def show(text: Text | str) -> None:
    """Print a rendering on stdout (styled on a terminal, plain otherwise)."""
    console().print(text)


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def emit(args: argparse.Namespace, data: Any, text: Text | str) -> None:
    """`data` as JSON with --json, else the human rendering."""
    if getattr(args, "json", False):
        emit_json(data)
    else:
        show(text)


def fail(message: str, code: int = EXIT_INPUT) -> int:
    """One line on stderr; returns the exit code so handlers can `return fail(...)`."""
    print(f"nba-tui: {message}", file=sys.stderr)
    return code
