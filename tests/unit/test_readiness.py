"""Date-level readiness: exact ready/runnable/blocked dates on small hand-made pipelines, a brute-force
oracle on the shipped sample warehouse, and the speed of the whole sample pipeline."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import pytest

from nba_tui import config, coverage, readiness
from nba_tui.monitor import snapshot_once
from nba_tui.sample import build_warehouse
from nba_tui.warehouse import Counts

D = dt.date
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
pipeline: t
range: {start: 2024-01-01, end: 2024-01-31}
expected_dates: {table: raw.schedule}
phases:
  - name: p2
    tables:
      - {name: schedule, table: raw.schedule}
      - {name: src, table: raw.src}
      - {name: ctx, table: raw.ctx}
      - {name: boot, table: raw.boot, bootstrap_days: 3}
      - {name: ghost, table: raw.ghost}
  - name: p3
    tables:
      - name: a
        table: ana.a
        depends_on: [{table: src, lookback_days: 2}]
        soft_depends_on: [ctx]
      - {name: b, table: ana.b, depends_on: [a]}
      - {name: c, table: ana.c, depends_on: [{table: boot, lookback_days: 1}]}
      - {name: g, table: ana.g, depends_on: [ghost]}
"""

# Jan 1 .. Jan 10 every day, then Jan 13 and 14: Jan 11 and 12 are off days (not expected).
DATES = [D(2024, 1, d) for d in (*range(1, 11), 13, 14)]


def _jan(*days: int) -> list[dt.date]:
    return [D(2024, 1, d) for d in days]


def _rows(dates: list[dt.date]) -> dict[dt.date, int]:
    return {d: 5 for d in dates}


@pytest.fixture(scope="module")
def small() -> tuple[config.Pipeline, coverage.Snapshot]:
    pipe = config.loads(CONFIG, "p.yaml")
    counts = Counts(
        expected=DATES,
        rows={
            "schedule": _rows(DATES),
            "src": _rows([d for d in DATES if d != D(2024, 1, 4)] + [D(2024, 1, 12)]),
            "ctx": _rows([d for d in DATES if d != D(2024, 1, 8)]),
            "boot": _rows([d for d in DATES if d > D(2024, 1, 3) and d != D(2024, 1, 5)]),
            "a": _rows(_jan(1, 2)),
            "b": {},
            "c": {},
            "g": {},
        },
        expected_rows=_rows(DATES),
        missing_tables=["ghost"],
    )
    return pipe, coverage.snapshot(pipe, counts)


def test_lookback_counts_calendar_days_and_only_expected_input_dates(small) -> None:
    pipe, snap = small
    # src lacks Jan 4: with a 2-day look-back that blocks Jan 4, 5 and 6; ctx (soft) lacks Jan 8.
    # Jan 13's window [Jan 11, Jan 13] holds two off days, which the input does not expect.
    assert readiness.ready_dates(pipe, snap, "a") == _jan(1, 2, 3, 7, 9, 10, 13, 14)
    assert readiness.ready_dates(pipe, snap, "a", include_soft=False) == _jan(
        1, 2, 3, 7, 8, 9, 10, 13, 14
    )


def test_runnable_is_missing_and_ready(small) -> None:
    pipe, snap = small
    # ctx (soft, raw: nothing backfills it) lacks Jan 8 for good: a runs there on its fallback.
    assert readiness.runnable(pipe, snap, "a") == _jan(3, 7, 8, 9, 10, 13, 14)
    assert readiness.degraded_by_necessity(pipe, snap, "a") == _jan(8)
    assert readiness.runnable(pipe, snap, "a", skip_preflight=True) == _jan(3, 7, 8, 9, 10, 13, 14)
    assert readiness.degraded_by_choice(pipe, snap, "a") == []
    # b reads a on the same date only: a has Jan 1 and 2, so b may run exactly those.
    assert readiness.runnable(pipe, snap, "b") == _jan(1, 2)
    # skip_preflight never waives a hard input
    assert readiness.runnable(pipe, snap, "b", skip_preflight=True) == _jan(1, 2)


def test_bootstrap_dates_of_an_input_never_block(small) -> None:
    pipe, snap = small
    # boot has no rows on Jan 1..3 (its bootstrap window) and lacks Jan 5 (blocks Jan 5, 6).
    assert readiness.ready_dates(pipe, snap, "c") == _jan(1, 2, 3, 4, 7, 8, 9, 10, 13, 14)


def test_an_input_that_does_not_exist_blocks_everything(small) -> None:
    pipe, snap = small
    assert readiness.ready_dates(pipe, snap, "g") == []
    assert readiness.blocked_by(pipe, snap, "g", D(2024, 1, 2)) == [("ghost", _jan(2))]


def test_blocked_by_names_each_input_and_its_dates(small) -> None:
    pipe, snap = small
    assert readiness.blocked_by(pipe, snap, "a", D(2024, 1, 6)) == [("src", _jan(4))]
    assert readiness.blocked_by(pipe, snap, "a", D(2024, 1, 8)) == [("ctx", _jan(8))]
    assert readiness.blocked_by(pipe, snap, "a", D(2024, 1, 8), include_soft=False) == []
    assert readiness.blocked_by(pipe, snap, "a", D(2024, 1, 7)) == []
    assert readiness.blocked_by(pipe, snap, "b", D(2024, 1, 5)) == [("a", _jan(5))]
    # a table without inputs is ready everywhere
    assert readiness.ready_dates(pipe, snap, "src") == DATES


def test_whole_sample_pipeline_runnable_is_within_ready() -> None:
    """15 tables x 917 dates, every table's ready and runnable dates, from cold coverages (its
    time is measured by bench/bench_readiness.py)."""
    pipe = config.load(ROOT / "pipeline.yaml")
    start = D(2021, 10, 19)
    dates = [start + dt.timedelta(days=i) for i in range(1600) if i % 7 != 3][:917]
    rng = random.Random(7)
    rows = {t.name: {d: 10 for d in dates if rng.random() < 0.8} for t in pipe.tables()}
    snap = coverage.snapshot(pipe, Counts(expected=dates, rows=rows, expected_rows=_rows(dates)))
    for t in pipe.tables():
        ready = readiness.ready_dates(pipe, snap, t.name)
        run = readiness.runnable(pipe, snap, t.name)
        assert set(run) <= set(ready)


def _oracle_ready(pipe: config.Pipeline, snap: coverage.Snapshot, table: str) -> list[dt.date]:
    """Readiness the slow, obvious way: every input date in the window, one by one."""
    out = []
    for d in sorted(snap.tables[table].states):
        ok = True
        for inp in pipe.table(table).inputs:
            cov = snap.tables[inp.name]
            window = [d - dt.timedelta(days=k) for k in range(inp.lookback_days + 1)]
            if any(cov.states.get(x) is coverage.DateState.MISSING for x in window):
                ok = False
        if ok:
            out.append(d)
    return out


def test_sample_warehouse_zone_analysis_waits_for_defense_summary(tmp_path: Path) -> None:
    """On the incident's state, team_defense_zone_analysis is ready only where
    team_defense_game_summary has rows on the date and its 22-day window."""
    shutil.copy(ROOT / "pipeline.yaml", tmp_path / "pipeline.yaml")
    pipe = config.load(tmp_path / "pipeline.yaml")
    build_warehouse(pipe)
    snap = snapshot_once(pipe)
    tdgs = snap.tables["team_defense_game_summary"]
    assert tdgs.missing, "the sample's incident state lacks some defense summary dates"
    ready = readiness.ready_dates(pipe, snap, "team_defense_zone_analysis")
    have = {d for d, s in tdgs.states.items() if s is not coverage.DateState.MISSING}
    assert ready and set(ready) <= have
    assert ready == _oracle_ready(pipe, snap, "team_defense_zone_analysis")
    # a date right after a defense-summary gap waits for the whole look-back
    gap = tdgs.missing_runs[0].end
    after = next(d for d in sorted(tdgs.states) if d > gap)  # present: the run ended
    assert after in have and (after - gap).days <= 22
    assert after not in ready
    blocked = readiness.blocked_by(pipe, snap, "team_defense_zone_analysis", after)
    assert blocked[0][0] == "team_defense_game_summary" and gap in blocked[0][1]
    for name in ("player_composite_factors", "ml_feature_store", "prediction_accuracy"):
        assert readiness.ready_dates(pipe, snap, name) == _oracle_ready(pipe, snap, name)
