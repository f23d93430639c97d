"""Per-date facts of coverage, below `coverage.py`: the states, season starts, bootstrap windows,
and the one pass that classifies a table's expected dates.

Split out of `coverage.py` (which re-exports every public name here) so that the per-date work,
run for every table on every poll, can stay in C where it can: a 100-table status must answer in
well under a second.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from itertools import compress, repeat
from operator import add, not_, sub, truediv
from typing import NamedTuple


class DateState(enum.StrEnum):
    PRESENT = "present"
    THIN = "thin"
    MISSING = "missing"
    BOOTSTRAP = "bootstrap"


class DateRun(NamedTuple):
    """A run of consecutive *expected* dates (off days in between do not break it). A named
    tuple: a poll builds one per gap of every table (~160,000 at 1,000 tables with scattered
    holes), and a tuple is built several times faster than a frozen dataclass."""

    start: dt.date
    end: dt.date
    count: int

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}..{self.end.isoformat()} ({self.count})"


def season_starts(expected: Sequence[dt.date], gap_days: int) -> list[dt.date]:
    """First game date of each season: the first date, and each date after an off-season gap."""
    starts: list[dt.date] = []
    prev: dt.date | None = None
    for d in sorted(expected):
        if prev is None or (d - prev).days >= gap_days:
            starts.append(d)
        prev = d
    return starts


def bootstrap_dates(
    expected: Sequence[dt.date], starts: Sequence[dt.date], days: int
) -> set[dt.date]:
    """Expected dates less than `days` days after a season start (one pass, starts sorted)."""
    if days <= 0 or not starts:
        return set()
    span = dt.timedelta(days=days)
    ordered = sorted(starts)
    out: set[dt.date] = set()
    i = 0
    for d in sorted(expected):
        while i + 1 < len(ordered) and ordered[i + 1] <= d:
            i += 1
        if ordered[i] <= d < ordered[i] + span:
            out.add(d)
    return out


def per_game(
    have: list[dt.date], rows: dict[dt.date, int], games: dict[dt.date, int]
) -> dict[dt.date, float]:
    """Rows per scheduled game when the schedule says how many; raw rows otherwise (the common
    case, every date with games, runs in C: this is per table and per date of every poll)."""
    try:
        per_game = map(truediv, map(rows.__getitem__, have), map(games.__getitem__, have))
        return dict(zip(have, per_game, strict=True))
    except (KeyError, ZeroDivisionError):
        return {d: (rows[d] / games[d] if games.get(d) else float(rows[d])) for d in have}


def classify(
    expected: Sequence[dt.date], ratio: dict[dt.date, float], boot: set[dt.date], thin_below: float
) -> tuple[dict[dt.date, DateState], tuple[list, list, list], list[DateRun]]:
    """Each expected date's state, the (missing, thin, bootstrap) lists and the missing runs.

    Most dates are present: every date starts so and the dates without rows are found in C; only
    those and the thin ones are visited in Python. Runs are consecutive in `expected`, so a
    bootstrap date between two missing ones ends a run."""
    present_, thin_ = DateState.PRESENT, DateState.THIN  # locals: a member lookup is not free
    missing_, boot_ = DateState.MISSING, DateState.BOOTSTRAP
    states = dict.fromkeys(expected, present_)
    thin = list(compress(ratio, map(thin_below.__gt__, ratio.values())))
    for d in thin:
        states[d] = thin_
    absent = compress(range(len(expected)), map(not_, map(ratio.__contains__, expected)))
    missing: list[dt.date] = []
    boots: list[dt.date] = []
    firsts: list[int] = []  # first and last index in `expected` of each run of missing dates
    lasts: list[int] = []
    for i in absent:
        d = expected[i]
        if d in boot:
            states[d] = boot_
            boots.append(d)
            continue
        states[d] = missing_
        missing.append(d)
        if lasts and lasts[-1] == i - 1:
            lasts[-1] = i
        else:
            firsts.append(i)
            lasts.append(i)
    at = expected.__getitem__
    sizes = map(add, map(sub, lasts, firsts), repeat(1))
    runs = list(map(DateRun._make, zip(map(at, firsts), map(at, lasts), sizes, strict=True)))
    return states, (missing, thin, boots), runs
