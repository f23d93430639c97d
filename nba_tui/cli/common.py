"""What every command shares: errors and exit codes, option groups, dates, the warehouse, output.

Exit codes: 0 ok, 1 check failed (preflight not ready, a job command refused), 2 bad input
(config, dates, names, unreachable or missing warehouse). Errors are one line on stderr naming
what to fix. Handlers take `(args, pipeline)` and return the exit code; they raise `InputError`
for bad input found after parsing and `main` turns it into that line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from nba_tui import config as cfg
from nba_tui import jsontext
from nba_tui.config import Pipeline
from nba_tui.fmt import printable
from nba_tui.warehouse import WarehouseError

if TYPE_CHECKING:  # Rich and the monitor (asyncio) are imported where they are used
    from rich.console import Console
    from rich.text import Text

    from nba_tui.coverage import Snapshot

EXIT_OK, EXIT_CHECK, EXIT_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace, Pipeline], int]


MAX_REF = 64
"""Longest job id, plan id, table or phase name taken from the command line (ids are 6 hex
digits; names are identifiers): checked before anything touches the filesystem."""
MAX_GRACE_S = 86_400.0
"""--grace: at most a day, as the config's `stop_grace`."""
MAX_SHOWN = 60
"""How much of a bad value an error line quotes."""
_REF_RE = re.compile(r"[A-Za-z0-9_-]+")


class InputError(Exception):
    """Bad input found after parsing; `str()` is the line shown (exit 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block), quoting input harmlessly: a
    script's log then holds one line per refusal, as for every other bad input (exit 2)."""

    def error(self, message: str) -> NoReturn:
        if len(message) > 300:
            message = message[:299] + "…"
        self.exit(2, f"{self.prog}: {printable(message, escape=True)} (see --help)\n")


def plain(text: str) -> str:
    """Text for the terminal, line by line: recorded or user-supplied parts (names, argv,
    messages) have their control characters written out (`\\x1b`), never obeyed."""
    return "\n".join(printable(line, escape=True) for line in text.split("\n"))


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """A user-supplied value quoted in an error line: escaped, and cut when long."""
    text = printable(text, escape=True)
    return f"'{text if len(text) <= limit else text[: limit - 1] + '…'}'"


# -- option groups (argparse parents) -------------------------------------------------------------


def config_option(*, top: bool = False) -> argparse.ArgumentParser:
    """--config, accepted before or after the subcommand. Only the top-level parser sets the
    default: a subcommand's default would overwrite `nba-tui --config X status`'s X."""
    p = Parser(add_help=False)
    p.add_argument(
        "--config",
        default=cfg.DEFAULT_CONFIG if top else argparse.SUPPRESS,
        metavar="PATH",
        help="pipeline file (default: ./pipeline.yaml)",
    )
    return p


def json_option() -> argparse.ArgumentParser:
    p = Parser(add_help=False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def dates_option() -> argparse.ArgumentParser:
    """--start/--end, only on the commands whose answer depends on a date range."""
    p = Parser(add_help=False)
    p.add_argument("--start", metavar="YYYY-MM-DD", help="first date (default: the range's)")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="last date (default: the range's)")
    return p


# -- input ---------------------------------------------------------------------------------------


def parse_date(text: str, flag: str) -> dt.date:
    try:
        if len(text) == 10:  # YYYY-MM-DD exactly; fromisoformat would also take 20240101
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise InputError(f"{flag} {shown(text)}: not a date, write YYYY-MM-DD")


def in_range(pipeline: Pipeline, day: dt.date, flag: str) -> dt.date:
    """A date inside the pipeline's range, else InputError naming the range: a job over dates
    the pipeline does not cover would end `done` having done nothing."""
    r = pipeline.range
    if not r.start <= day <= r.end:
        raise InputError(f"{flag} {day} is outside the pipeline's range {r.start}..{r.end}")
    return day


def date_range(pipeline: Pipeline, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """--start/--end as dates inside the pipeline's range (its ends by default); end before start
    is refused, and so is an empty value."""
    first, last = pipeline.range.start, pipeline.range.end
    if start is not None:
        first = in_range(pipeline, parse_date(start, "--start"), "--start")
    if end is not None:
        last = in_range(pipeline, parse_date(end, "--end"), "--end")
    if last < first:
        raise InputError(f"--end {last} is before --start {first}")
    return first, last


def date_list(pipeline: Pipeline, text: str) -> list[dt.date]:
    """--dates d1,d2,...: at least one date, each inside the pipeline's range."""
    out = [parse_date(d.strip(), "--dates") for d in text.split(",") if d.strip()]
    if not out:
        raise InputError("--dates is empty: give at least one YYYY-MM-DD (comma-separated)")
    return [in_range(pipeline, d, "--dates") for d in out]


def check_ref(text: str, what: str) -> str:
    """A job id, plan id or name from the command line: 1..MAX_REF letters, digits, '_' or '-'
    (no path characters), checked before it is used to build a file name."""
    if not text:
        raise InputError(f"{what} is empty")
    if len(text) > MAX_REF:
        raise InputError(f"{what} {shown(text)} is {len(text):,} characters (at most {MAX_REF})")
    if not _REF_RE.fullmatch(text):
        raise InputError(f"{what} {shown(text)}: only letters, digits, '_' and '-'")
    return text


def grace(text: str) -> float:
    """--grace SECONDS: a finite number from 0 to a day (nan, inf, 1e308 would never KILL)."""
    try:
        value = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_GRACE_S):
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a number of seconds from 0 to {MAX_GRACE_S:.0f}"
        )
    return value


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(s|m|h|d)?")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, None: 1.0}
MAX_DURATION_ARG_S = 30 * 86_400.0


def duration_arg(text: str) -> float:
    """--interval/--since: seconds from `90`, `30s`, `10m`, `12h` or `2d`; 1 s to 30 days."""
    m = _DURATION_RE.fullmatch(text.strip()) if len(text) <= 20 else None
    value = float(m.group(1)) * _UNIT_S[m.group(2)] if m else math.nan
    if not (math.isfinite(value) and 1 <= value <= MAX_DURATION_ARG_S):
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a duration from 1s to 30d (write e.g. 10m, 12h)"
        )
    return value


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 12 else low - 1
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number {low}..{high}")
        return value

    return parse


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """'; did you mean X?' for the closest known name, or '' (a typo should not list 15 names)."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def resolve_table(pipeline: Pipeline, name: str) -> cfg.Table:
    check_ref(name, "table")
    try:
        return pipeline.table(name)
    except KeyError:
        hint = did_you_mean(name, (t.name for t in pipeline.tables()))
        raise InputError(
            f"{pipeline.source.name}: unknown table {name}{hint or ' (nba-tui status lists them)'}"
        ) from None


def check_phases(pipeline: Pipeline, names: list[str]) -> None:
    for name in names:
        check_ref(name, "phase")
        try:
            pipeline.phase(name)
        except KeyError:
            known = [p.name for p in pipeline.phases]
            hint = did_you_mean(name, known) or f" (phases: {', '.join(known)})"
            raise InputError(f"{pipeline.source.name}: unknown phase {name}{hint}") from None


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
    # Imported here: the generator (heavy imports) runs once per machine, not per command.
    from nba_tui.sample import ensure_warehouse

    print(f"nba-tui: building the embedded warehouse in {root} ...", file=sys.stderr)
    ensure_warehouse(pipeline)


def take_snapshot(
    pipeline: Pipeline, start: dt.date, end: dt.date, *, recount: bool = False
) -> Snapshot:
    """One poll over start..end; a warehouse that cannot answer is bad input (exit 2).
    `recount`: count every table (no change detection, no counts cache)."""
    from nba_tui.monitor import snapshot_once  # asyncio and the throttle: only when polling

    ensure_embedded(pipeline)
    try:
        return snapshot_once(pipeline, start, end, recount=recount)
    except WarehouseError as e:
        raise InputError(f"{pipeline.source.name}: warehouse: {no_stale_claim(str(e))}") from None


_STALE = re.compile(r"showing the last good data(?: with its age)?(?:[;,]\s*|\s*(?=\)))")


def no_stale_claim(message: str) -> str:
    """The monitor's hint is written for the dashboard, which keeps the last good data; a
    one-shot command has none, so it must not say it shows it."""
    text = _STALE.sub("", message).replace(" ()", "")
    return printable(text, escape=True)


# -- output --------------------------------------------------------------------------------------


def use_color(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set to a non-empty value (https://no-color.org:
    an empty NO_COLOR does not count) or with TERM=dumb."""
    stream = stream or sys.stdout
    return (
        not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
        and hasattr(stream, "isatty")
        and stream.isatty()
    )


def out_width(stream: TextIO | None = None) -> int | None:
    """The columns a rendering may fill: the terminal's width when `stream` (stdout) is one,
    None when it is piped or redirected (nothing is cut: a program or a file gets it all)."""
    stream = stream or sys.stdout
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return shutil.get_terminal_size().columns


def console(stream: TextIO | None = None) -> Console:
    """A Rich console that prints exactly what it is given: no markup, emoji or highlighting
    (argv and table names may hold brackets and colons), no re-wrapping (the renderers wrap at
    80 columns themselves), and ANSI styles only when `use_color`."""
    from rich.console import Console  # Rich only for the human renderings, not for --json

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
    """Print a rendering on stdout (styled on a terminal, plain otherwise). Plain text may quote
    recorded or user-supplied values, so its control characters are written out (`plain`)."""
    console().print(plain(text) if isinstance(text, str) else text)


def emit_json(data: Any) -> None:
    """JSON on stdout: indented for a person at a terminal, compact for a program. Only the
    compact form runs in json's C encoder (an indent falls back to the pure-Python encoder,
    several times slower over a big warehouse). `RawJson` values are written as their text
    (`jsontext`)."""
    tty = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    sys.stdout.write(jsontext.dumps(data, indent=2 if tty else None))
    sys.stdout.write("\n")


def emit(args: argparse.Namespace, data: Any, text: Text | str) -> None:
    """`data` as JSON with --json, else the human rendering."""
    if getattr(args, "json", False):
        emit_json(data)
    else:
        show(text)


def fail(message: str, code: int = EXIT_INPUT) -> int:
    """One line on stderr (a newline or an escape in `message` is written out, never obeyed);
    returns the exit code so handlers can `return fail(...)`."""
    if sys.stderr is not None:  # closed (`2>&-`): print(file=None) would write to stdout
        print(f"nba-tui: {printable(message, escape=True)}", file=sys.stderr)
    return code
