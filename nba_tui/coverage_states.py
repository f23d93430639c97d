"""Per-date facts of coverage, below `coverage.py`: the states, season starts, bootstrap windows,
and the one pass that classifies a table's expected dates.

Split out of `coverage.py` (which re-exports every public name here) so that the per-date work,
run for every table on every poll, can stay in C where it can: a 100-table status must answer in
well under a second.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from itertools import compress, filterfalse, repeat
from operator import add, ne, not_, sub, truediv
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


def per_game(have: list[dt.date], rows: list[int], games: dict[dt.date, int]) -> list[float]:
    """Rows per scheduled game of each date of `have` (`rows`: its rows, in the same order) when
    the schedule says how many; raw rows otherwise (the common case, every date with games, runs
    in C: this is per table and per date of every poll)."""
    try:
        return list(map(truediv, rows, map(games.__getitem__, have)))
    except (KeyError, ZeroDivisionError):
        return [n / games[d] if games.get(d) else float(n) for d, n in zip(have, rows, strict=True)]


def classify(
    expected: Sequence[dt.date], ratio: dict[dt.date, float], boot: set[dt.date], thin_below: float
) -> tuple[dict[dt.date, DateState], tuple[list, list, list], list[DateRun]]:
    """`states_of` with the dates that have rows given as {date: rows per game}."""
    return states_of(
        expected, list(ratio), list(ratio.values()), ratio.__contains__, boot, thin_below
    )


def states_of(
    expected: Sequence[dt.date],
    have: list[dt.date],
    ratios: list[float],
    has: Callable[[dt.date], bool],
    boot: set[dt.date],
    thin_below: float,
    index: dict[dt.date, int] | None = None,
    all_present: dict[dt.date, DateState] | None = None,
) -> tuple[dict[dt.date, DateState], tuple[list, list, list], list[DateRun]]:
    """Each expected date's state, the (missing, thin, bootstrap) lists and the missing runs.

    `have`: the expected dates with rows, in order, `ratios` their rows per game, `has` true
    exactly for them; `index`: each expected date's position, `all_present`: every expected
    date present (both shared by every table of a poll: a copy of a dict is a memcpy).
    Every date starts present; the thin ones, and the dates without rows, are found in C, and
    each run of missing dates is built from where the missing indices in `expected` stop being
    consecutive. Runs are consecutive in `expected`, so a bootstrap date between two missing
    ones ends a run."""
    states = all_present.copy() if all_present is not None else None
    if states is None:
        states = dict.fromkeys(expected, DateState.PRESENT)
    thin: list[dt.date] = []
    if ratios and min(ratios) < thin_below:
        thin = list(compress(have, map(thin_below.__gt__, ratios)))
        states.update(zip(thin, repeat(DateState.THIN)))
    at = expected.__getitem__
    absent: list[int] = []
    if len(have) == len(expected):  # `have` is a part of `expected`: nothing is absent
        pass
    elif index is not None:
        absent = list(map(index.__getitem__, filterfalse(has, expected)))
    else:
        absent = list(compress(range(len(expected)), map(not_, map(has, expected))))
    boots: list[dt.date] = []
    if boot and absent:
        in_boot = list(map(boot.__contains__, map(at, absent)))
        boots = list(compress(map(at, absent), in_boot))
        absent = list(compress(absent, map(not_, in_boot)))
        states.update(zip(boots, repeat(DateState.BOOTSTRAP)))
    missing = list(map(at, absent))
    states.update(zip(missing, repeat(DateState.MISSING)))
    runs: list[DateRun] = []
    if absent:
        # Index k of `absent` starts a run when absent[k] is not absent[k - 1] + 1.
        firsts = [
            0,
            *compress(range(1, len(absent)), map(ne, absent[1:], map(add, absent, repeat(1)))),
        ]
        lasts = [k - 1 for k in firsts[1:]]
        lasts.append(len(absent) - 1)
        lo = list(map(absent.__getitem__, firsts))
        hi = list(map(absent.__getitem__, lasts))
        sizes = map(add, map(sub, hi, lo), repeat(1))
        # tuple.__new__ builds each named tuple in C (DateRun(...) runs a Python __new__).
        parts = zip(map(at, lo), map(at, hi), sizes, strict=True)
        runs = list(map(tuple.__new__, repeat(DateRun), parts))
    return states, (missing, thin, boots), runs
