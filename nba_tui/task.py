"""`python -m nba_tui.task [--slot N] -- PROGRAM ARG...`: one Cloud Run task's share of a backfill.

This is the entry point a Cloud Run job's image runs when nba-tui submits a backfill with
`jobs.cloudrun` (see `nba_tui.jobs.engines.cloudrun_driver`). Build the image with Python and
nba_tui (plus your backfill programs) installed, and make `python` its command (entrypoint);
nba-tui then overrides the container's args with, for each execution:

    -m nba_tui.task --slot N -- PROGRAM ARG...

`PROGRAM ARG...` is the table's rendered backfill command (its first item is `jobs.cloudrun.python`,
by default `python`, which this module runs as its own interpreter, `sys.executable`; any other
program is looked up on PATH). `ARG[N]` (0-based, counted in the list after `--`, so N >= 1)
holds the job's comma-separated dates, e.g. `--dates {dates}` in the table's `backfill.dates_args`.

Each task reads `CLOUD_RUN_TASK_INDEX` and `CLOUD_RUN_TASK_COUNT` (set by Cloud Run; defaults 0
and 1), keeps its contiguous slice of the sorted-as-given dates (sizes differ by at most one, the
first tasks take the extra dates), writes that slice into `ARG[N]`, prints one line naming it and
replaces itself with the program (`os.execvp`, no shell): the program's exit code is the task's,
and a SIGTERM from Cloud Run (cancel, timeout) reaches the program itself. A task whose slice is
empty (more tasks than dates) exits 0 without running anything.

Without `--slot` the command is run as is by task 0 only (a range backfill cannot be split); the
other tasks exit 0.

Bad input (no `--`, no program, a slot out of range, a slot that holds no dates, a bad task
index or count): one line on stderr, exit 2.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input: one line on stderr, exit 2."""


def slice_bounds(n: int, index: int, count: int) -> tuple[int, int]:
    """The [start, stop) of task `index` of `count` over `n` items: contiguous, sizes differ by
    at most one (the first `n % count` tasks take one more)."""
    base, extra = divmod(n, count)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


def task_slice(dates: Sequence[str], index: int, count: int) -> list[str]:
    """Task `index`'s contiguous share of `dates` (every date in exactly one task)."""
    start, stop = slice_bounds(len(dates), index, count)
    return list(dates[start:stop])


def parse_dates(text: str) -> list[str]:
    """Comma-separated YYYY-MM-DD dates (UsageError on anything else)."""
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(dt.date.fromisoformat(part).isoformat())
        except ValueError:
            raise UsageError(
                f"slot holds {part!r}, not a date: the --slot argument must be YYYY-MM-DD,..."
            ) from None
    return out


def _env_int(env: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a whole number") from None
    if value < low:
        raise UsageError(f"{name}={value} must be at least {low}")
    return value


def plan(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str] | None, str]:
    """(the program argv to run, or None to exit 0; the line to print) for this task."""
    index = _env_int(env, "CLOUD_RUN_TASK_INDEX", 0, 0)
    count = _env_int(env, "CLOUD_RUN_TASK_COUNT", 1, 1)
    if index >= count:
        raise UsageError(f"CLOUD_RUN_TASK_INDEX={index} is not below CLOUD_RUN_TASK_COUNT={count}")
    args = list(argv)
    if "--" not in args:
        raise UsageError("usage: python -m nba_tui.task [--slot N] -- PROGRAM ARG...")
    cut = args.index("--")
    head, program = args[:cut], args[cut + 1 :]
    if not program:
        raise UsageError("no program after --: give the backfill command to run")
    slot: int | None = None
    if head:
        if len(head) != 2 or head[0] != "--slot":
            raise UsageError(f"unexpected {' '.join(head)!r}: only --slot N may come before --")
        try:
            slot = int(head[1])
        except ValueError:
            raise UsageError(f"--slot {head[1]!r}: give the index of the dates argument") from None
    where = f"task {index + 1}/{count}"
    if slot is None:
        if index > 0:
            return None, f"{where}: nothing to do (the command has no dates slot; task 1 runs it)"
        return program, f"{where}: running the whole command (no dates slot)"
    if not 1 <= slot < len(program):
        raise UsageError(
            f"--slot {slot} is out of range: the command after -- has arguments "
            f"1..{len(program) - 1}"
        )
    dates = parse_dates(program[slot])
    mine = task_slice(dates, index, count)
    if not mine:
        return None, f"{where}: no dates in this task's slice ({len(dates)} dates, {count} tasks)"
    program[slot] = ",".join(mine)
    return program, f"{where}: dates {mine[0]}..{mine[-1]} ({len(mine)} of {len(dates)})"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        program, line = plan(sys.argv[1:] if argv is None else argv, os.environ)
    except UsageError as e:
        print(f"nba_tui.task: {e}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    print(line, flush=True)
    if program is None:
        return 0
    exe = sys.executable if program[0] == "python" else program[0]
    try:
        os.execvp(exe, [exe, *program[1:]])
    except OSError as e:
        print(
            f"nba_tui.task: cannot run {program[0]!r}: {e.strerror}; install it in the image",
            file=sys.stderr,
            flush=True,
        )
        return 127
    return 0  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())
