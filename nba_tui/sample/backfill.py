"""`python -m nba_tui.sample.backfill TABLE --warehouse DIR ...`: the sample backfill program.

It behaves like the incident's processors so the dashboard is exercised for real: one
`Processing YYYY-MM-DD (i/N)` line per date (flushed, so a log tail sees it at once), one
transaction per date, `FAILED` when a hard input is missing (exit 1 at the end), `Skipped` when
history simply has no betting lines or a rolling window is still bootstrapping, automatic resume
from a checkpoint, and a per-date pace (`--pace`, `NBA_TUI_SAMPLE_PACE`) standing in for the real
minutes of work. SIGTERM/SIGINT abandon the current date before it is written (exit 143/130).
Exit 2 for bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from nba_tui.fsutil import say
from nba_tui.sample import engine
from nba_tui.sample.checkpoint import Checkpoint
from nba_tui.sample.context import Context
from nba_tui.sample.engine import Outcome
from nba_tui.sample.tables import BACKFILLABLE, BY_NAME, TableDef, datasets_for
from nba_tui.warehouse.sqlite import connect, dataset_file

PACE_ENV = "NBA_TUI_SAMPLE_PACE"
FAIL_ENV = "NBA_TUI_SAMPLE_FAIL_DATES"
"""TEST-ONLY: comma-separated `DATE` or `TABLE:DATE` entries that always fail (exercises the
runner's retries and quarantine); also `--fail-dates`. Never set it on real work."""
EXIT_FAILED, EXIT_USAGE = 1, 2


class UsageError(Exception):
    """Bad input: printed as one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m nba_tui.sample.backfill", description=__doc__.split("\n")[0])
    p.add_argument("table", help=f"one of: {', '.join(BACKFILLABLE)}")
    p.add_argument("--warehouse", required=True, help="embedded warehouse directory")
    p.add_argument("--checkpoint", help="checkpoint file (resume); omit to run without one")
    p.add_argument("--start-date")
    p.add_argument("--end-date")
    p.add_argument("--dates", help="comma-separated YYYY-MM-DD")
    p.add_argument("--pace", type=float, help=f"seconds of simulated work per date (${PACE_ENV})")
    p.add_argument("--no-resume", action="store_true", help="ignore the checkpoint's progress")
    p.add_argument(
        "--fail-dates",
        help=f"TEST ONLY: DATE or TABLE:DATE entries that always fail (${FAIL_ENV})",
    )
    return p


def _date(text: str, flag: str) -> str:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise UsageError(f"{flag} {text!r}: not a date, write YYYY-MM-DD") from None


def _pace(args: argparse.Namespace, tdef: TableDef) -> float:
    if args.pace is not None:
        value, source = args.pace, "--pace"
    elif os.environ.get(PACE_ENV):
        source = PACE_ENV
        try:
            value = float(os.environ[PACE_ENV])
        except ValueError:
            raise UsageError(f"{PACE_ENV}={os.environ[PACE_ENV]!r}: not a number") from None
    else:
        return tdef.pace
    if not math.isfinite(value) or value < 0:  # inf would overflow the wait, nan never waits
        raise UsageError(f"{source} {value}: must be >= 0, a finite number of seconds")
    return value


def fail_dates(args: argparse.Namespace, table: str) -> set[str]:
    """TEST-ONLY: the dates of `table` that must fail (`--fail-dates`, else FAIL_ENV)."""
    text = args.fail_dates if args.fail_dates is not None else os.environ.get(FAIL_ENV, "")
    out = set()
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, _, day = entry.rpartition(":")
        if not name or name == table:
            out.add(_date(day, "--fail-dates"))
    return out


def validate(args: argparse.Namespace) -> tuple[TableDef, list[str] | tuple[str, str]]:
    """The table and either an explicit date list or a (start, end) range."""
    if args.table not in BACKFILLABLE:
        raise UsageError(f"unknown table {args.table!r} (tables: {', '.join(BACKFILLABLE)})")
    tdef = BY_NAME[args.table]
    if args.dates is not None:
        if args.start_date or args.end_date:
            raise UsageError("give either --dates or --start-date/--end-date, not both")
        dates = sorted({_date(d, "--dates") for d in args.dates.split(",") if d.strip()})
        if not dates:
            raise UsageError("--dates is empty")
        return tdef, dates
    if not (args.start_date and args.end_date):
        raise UsageError("give --start-date and --end-date, or --dates")
    start, end = _date(args.start_date, "--start-date"), _date(args.end_date, "--end-date")
    if end < start:
        raise UsageError(f"--end-date {end} is before --start-date {start}")
    return tdef, (start, end)


class _Stop:
    """SIGTERM/SIGINT set an event: the pacing wait wakes up and the date is abandoned."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        self.event.set()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self)
        signal.signal(signal.SIGINT, self)


def run(args: argparse.Namespace) -> int:
    tdef, request = validate(args)
    pace = _pace(args, tdef)
    root = Path(args.warehouse)
    if not dataset_file(root, "nba_raw").exists():
        raise UsageError(f"warehouse {root} not found (build it with `nba-tui demo reset`)")
    stop = _Stop()
    stop.install()
    conn = connect(root, datasets_for(tdef.name))
    try:
        engine.ensure_table(conn, tdef)
        ctx = Context.load(conn)
        if isinstance(request, tuple):
            start, end = request
            dates = [d for d in ctx.expected if start <= d <= end]
            label = f"{start}..{end}"
        else:
            dates = request
            label = f"{dates[0]}..{dates[-1]}"
        cp_path = Path(args.checkpoint) if args.checkpoint else None
        cp = Checkpoint(cp_path, tdef.name, dates, resume=not args.no_resume)
        say(f"Backfill {tdef.name}: {len(dates)} dates ({label})")
        if cp.warning:
            say(f"WARNING {cp.warning}")
        if cp.done:
            say(f"Resuming from checkpoint: {len(cp.done)} of {len(dates)} dates already done")
        return _loop(ctx, tdef, dates, cp, pace, stop, fail_dates(args, tdef.name))
    finally:
        conn.close()


def _loop(  # noqa: PLR0913 - the run's parts, passed explicitly
    ctx: Context, tdef: TableDef, dates: list[str], cp: Checkpoint, pace: float, stop: _Stop,
    failing: set[str] | None = None,
) -> int:  # fmt: skip
    t0 = time.monotonic()
    processed = skipped = failed = 0
    n = len(dates)
    for i, day in enumerate(dates, 1):
        if stop.event.is_set():
            break
        if day in cp.done:
            continue
        try:
            verdict = engine.precheck(ctx, tdef, day)
        except sqlite3.Error as e:  # e.g. an input table dropped by hand
            verdict = engine.Verdict(Outcome.FAILED, f"cannot read inputs: {e}")
        if failing and day in failing:
            verdict = engine.Verdict(Outcome.FAILED, "test-only failure (--fail-dates)")
        if verdict is not None and verdict.outcome is Outcome.SKIPPED:
            say(f"Skipped {day}: {verdict.reason}")
            skipped += 1
            continue
        say(f"Processing {day} ({i}/{n})")
        if verdict is not None:
            say(f"FAILED {day}: {verdict.reason}")
            failed += 1
            continue
        try:
            rows = engine.derive(ctx, tdef, day)
        except Exception as e:  # a bad date must not stop the run
            say(f"FAILED {day}: {type(e).__name__}: {e}")
            failed += 1
            continue
        if pace and stop.event.wait(pace):
            say(f"Interrupted during {day}: not written")
            break
        try:
            engine.write_date(ctx.conn, tdef, day, rows)
        except sqlite3.Error as e:  # a lock held past the busy timeout: this date only
            say(f"FAILED {day}: write rolled back: {e}")
            failed += 1
            continue
        cp.mark(day)
        processed += 1
        say(f"Success {day}: {len(rows)} rows")
    elapsed = time.monotonic() - t0
    say(f"Done: {processed} processed, {skipped} skipped, {failed} failed in {elapsed:.1f} s")
    if stop.signum:
        name = signal.Signals(stop.signum).name
        say(f"Stopped by {name}; re-run the same command to resume")
        return 128 + stop.signum
    return EXIT_FAILED if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except UsageError as e:
        print(f"backfill: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
