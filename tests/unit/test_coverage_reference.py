"""`table_coverage` against a plain reading of the rules, over random tables: zero-row dates,
rows outside the schedule, games missing or zero, bootstrap windows, a narrowed range, and the
shared per-poll inputs (`index`, `all_present`) that `CoverageCache` passes."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from dataclasses import dataclass

import pytest

from nba_tui import coverage
from nba_tui.coverage import DateState
from nba_tui.warehouse.base import Counts

DAY0 = dt.date(2024, 1, 1)


@dataclass
class _Table:
    name: str
    thin_ratio: float
    bootstrap_days: int
    table: str = "d.t"
    min_coverage: float = 0.9


def _reference(exp: list[dt.date], rows: dict, games: dict, boot: set, thin_ratio: float) -> tuple:
    """States, missing runs (first, last, count) and the median rows, as the rules say them."""
    have = [d for d in exp if rows.get(d, 0) > 0]
    ratio = {d: rows[d] / games[d] if games.get(d) else float(rows[d]) for d in have}
    line = thin_ratio * (statistics.median(ratio.values()) if ratio else 0.0)
    states = {}
    for d in exp:
        if d in ratio:
            states[d] = DateState.THIN if ratio[d] < line else DateState.PRESENT
        else:
            states[d] = DateState.BOOTSTRAP if d in boot else DateState.MISSING
    runs: list[list] = []
    for i, d in enumerate(exp):
        if states[d] is not DateState.MISSING:
            continue
        if runs and states[exp[i - 1]] is DateState.MISSING:
            runs[-1][1:] = [d, runs[-1][2] + 1]
        else:
            runs.append([d, d, 1])
    median = float(statistics.median(rows[d] for d in have)) if have else 0.0
    return states, [tuple(r) for r in runs], median


def _case(rng: random.Random) -> tuple[list[dt.date], dict, dict]:
    exp = sorted({DAY0 + dt.timedelta(days=rng.randint(0, 200)) for _ in range(rng.randint(0, 60))})
    games = {d: rng.choice([1, 1, 2, 5, 0]) for d in exp}
    if exp and rng.random() < 0.2:
        games.pop(exp[0])
    rows = {}
    for d in exp:
        r = rng.random()
        rows.update({d: rng.randint(1, 20)} if r < 0.6 else {d: 0} if r < 0.7 else {})
    for _ in range(rng.randint(0, 3)):  # dates the schedule does not have
        rows[DAY0 + dt.timedelta(days=rng.randint(-30, 300))] = rng.randint(0, 5)
    return exp, rows, games


@pytest.mark.parametrize("shared", [False, True])
def test_table_coverage_follows_the_rules(shared: bool) -> None:
    rng = random.Random(7)
    for i in range(300):
        exp, rows, games = _case(rng)
        t = _Table(f"t{i}", rng.choice([0.0, 0.3, 0.5, 0.9]), rng.choice([0, 0, 3, 10]))
        start = exp[len(exp) // 3] if exp and rng.random() < 0.3 else None
        counts = Counts(expected=exp, rows={t.name: rows}, expected_rows=games)
        starts = coverage.season_starts(exp, 30)
        narrowed = [d for d in exp if start is None or d >= start]
        boot = coverage.bootstrap_dates(narrowed, starts, t.bootstrap_days)
        kw: dict = {}
        if shared:
            kw = {
                "expected": narrowed,
                "index": {d: k for k, d in enumerate(narrowed)},
                "all_present": dict.fromkeys(narrowed, DateState.PRESENT),
            }
        cov = coverage.table_coverage(t, "p", counts, starts, start, None, **kw)  # type: ignore[arg-type]
        states, runs, median = _reference(narrowed, rows, games, boot, t.thin_ratio)
        assert cov.states == states and list(cov.states) == narrowed
        assert [(r.start, r.end, r.count) for r in cov.missing_runs] == runs
        assert cov.median_rows == median
        assert cov.missing == [d for d in narrowed if states[d] is DateState.MISSING]
        assert cov.thin == [d for d in narrowed if states[d] is DateState.THIN]
        assert cov.present == sum(
            1
            for d, s in states.items()
            if d not in boot and s in (DateState.PRESENT, DateState.THIN)
        )
