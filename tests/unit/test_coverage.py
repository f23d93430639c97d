"""Coverage maths: exact counts on a warehouse the test builds itself (real SQLite)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from nba_tui import config, coverage, preflight
from nba_tui.coverage import DateState
from nba_tui.coverage_states import classify
from nba_tui.warehouse import Counts, fetch
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect

D = dt.date

CONFIG = """\
pipeline: t
range: {start: 2024-01-01, end: 2024-12-31}
expected_dates: {table: raw.schedule, column: game_date, season_gap_days: 30}
warehouse: {sqlite: {path: wh}}
phases:
  - name: p2
    tables:
      - {name: schedule, table: raw.schedule, min_coverage: 1.0}
      - {name: box, table: raw.box, min_coverage: 0.9}
  - name: p3
    tables:
      - name: summary
        table: analytics.summary
        depends_on: [box]
        min_coverage: 0.95
        backfill: {command: ["{python}", -m, fill, "{table}"]}
      - name: context
        table: analytics.context
        depends_on: [box]
        min_coverage: 0.5
  - name: p4
    tables:
      - name: rolling
        table: pre.rolling
        depends_on: [summary]
        soft_depends_on: [context]
        min_coverage: 0.8
        bootstrap_days: 5
      - name: never_created
        table: pre.never_created
        depends_on: [summary]
"""

# Season 1: 20 game dates every other day from Jan 1; season 2: 10 daily dates from Jun 1.
SEASON1 = [D(2024, 1, 1) + dt.timedelta(days=2 * i) for i in range(20)]
SEASON2 = [D(2024, 6, 1) + dt.timedelta(days=i) for i in range(10)]
GAME_DATES = SEASON1 + SEASON2


def _table(conn, ref: str, rows_per_date: dict[dt.date, int]) -> None:
    conn.execute(f"CREATE TABLE {ref} (game_date TEXT NOT NULL, v INTEGER)")
    for d, n in rows_per_date.items():
        conn.executemany(
            f"INSERT INTO {ref} (game_date, v) VALUES (?, ?)",
            [(d.isoformat(), i) for i in range(n)],
        )


@pytest.fixture()
def pipe(tmp_path: Path) -> config.Pipeline:
    path = tmp_path / "pipeline.yaml"
    path.write_text(CONFIG)
    p = config.load(path)
    conn = connect(p.sqlite_dir, p.datasets())
    _table(conn, "raw.schedule", {d: 3 for d in GAME_DATES})
    _table(conn, "raw.box", {d: 10 for d in GAME_DATES} | {D(2024, 12, 31): 10})  # off-range day
    summary = {d: 10 for d in GAME_DATES}
    for d in (SEASON1[3], SEASON1[4], SEASON1[5], SEASON2[9]):  # a run of 3 + the last date
        del summary[d]
    summary[SEASON1[10]] = 2  # thin: 2 < 0.5 * median(10)
    _table(conn, "analytics.summary", summary)
    _table(conn, "analytics.context", {d: 5 for d in SEASON2 + SEASON1[:6]})  # 16/30
    # rolling: nothing in the first 5 days of each season (bootstrap), one real gap later
    rolling = {d: 4 for d in GAME_DATES if d not in (SEASON1[0], SEASON1[1], SEASON1[2])}
    for d in SEASON2[:5]:
        rolling.pop(d)
    rolling.pop(SEASON1[15])
    _table(conn, "pre.rolling", rolling)
    conn.close()
    return p


def _snap(p: config.Pipeline, start=None, end=None) -> coverage.Snapshot:
    wh = SqliteWarehouse(p.sqlite_dir, p.datasets())
    try:
        counts = fetch(p, wh)
    finally:
        wh.close()
    assert counts.queries == 1
    return coverage.snapshot(p, counts, start, end)


def test_expected_dates_come_from_the_schedule(pipe: config.Pipeline) -> None:
    snap = _snap(pipe)
    assert snap.expected_dates == GAME_DATES
    assert snap.season_starts == [SEASON1[0], SEASON2[0]]
    box = snap.tables["box"]
    assert (box.present, box.expected, box.ok) == (30, 30, True)
    assert box.last_date == SEASON2[-1]  # the row on 12-31 is not on a game date
    assert box.rows[SEASON2[-1]] == 10


def test_missing_runs_thin_and_share(pipe: config.Pipeline) -> None:
    s = _snap(pipe).tables["summary"]
    assert (s.present, s.expected) == (26, 30)
    assert s.share == pytest.approx(26 / 30)
    assert not s.ok and s.needed_for_threshold == 29 - 26  # ceil(0.95*30)=29
    assert s.missing == [SEASON1[3], SEASON1[4], SEASON1[5], SEASON2[9]]
    assert [(r.start, r.end, r.count) for r in s.missing_runs] == [
        (SEASON1[3], SEASON1[5], 3),  # consecutive game dates, off days between them
        (SEASON2[9], SEASON2[9], 1),
    ]
    assert s.thin == [SEASON1[10]]
    assert s.states[SEASON1[10]] is DateState.THIN
    assert s.median_rows == 10
    assert s.last_date == SEASON2[8]
    assert str(s.missing_runs[0]) == "2024-01-07..2024-01-11 (3)"


def test_bootstrap_dates_are_not_missing(pipe: config.Pipeline) -> None:
    r = _snap(pipe).tables["rolling"]
    # Season 1 bootstrap: Jan 1, 3, 5 (< Jan 6); season 2: Jun 1-5.
    assert r.bootstrap == [*SEASON1[:3], *SEASON2[:5]]
    assert r.missing == [SEASON1[15]]
    assert r.expected == 30 - 8
    assert r.present == 21
    assert r.ok  # 21/22 >= 0.8


def test_table_that_does_not_exist_is_zero_not_an_error(pipe: config.Pipeline) -> None:
    n = _snap(pipe).tables["never_created"]
    assert not n.exists and n.present == 0 and n.share == 0 and not n.ok
    assert len(n.missing) == 30


def test_date_range_edges(pipe: config.Pipeline) -> None:
    snap = _snap(pipe, start=SEASON1[4], end=SEASON2[0])
    assert snap.expected_dates[0] == SEASON1[4] and snap.expected_dates[-1] == SEASON2[0]
    s = snap.tables["summary"]
    assert s.expected == 16 + 1
    assert s.missing == [SEASON1[4], SEASON1[5]]
    # a range starting mid-season does not invent a season start
    r = snap.tables["rolling"]
    assert r.bootstrap == [SEASON2[0]]


def test_preflight_names_short_inputs_and_fill_command(pipe: config.Pipeline) -> None:
    snap = _snap(pipe)
    rep = preflight.check(pipe, snap, "p4")
    assert not rep.ready
    assert [c.coverage.name for c in rep.checks] == ["summary", "context"]
    assert [c.coverage.name for c in rep.failing] == ["summary"]
    failing = rep.failing[0]
    assert failing.fill_command is not None
    assert failing.fill_command[-2:] == ["--dates", "2024-01-07,2024-01-09,2024-01-11,2024-06-10"]
    assert rep.checks[1].soft is True and rep.checks[0].soft is False
    assert rep.degradation() == [
        "summary at 86.7%: rolling, never_created will fail on 4 dates and must be re-run for them later"
    ]
    assert preflight.check(pipe, snap, "p3").ready


def test_rate_and_eta() -> None:
    rate = coverage.Rate(window_s=600)
    assert rate.per_minute() is None
    rate.add(0, 10)
    rate.add(60, 16)
    rate.add(120, 22)
    assert rate.per_minute() == pytest.approx(6.0)
    assert rate.eta_seconds(12) == pytest.approx(120)
    rate.add(130, 0)  # reset (demo reset): rate restarts
    assert rate.per_minute() is None


def test_thin_is_judged_per_scheduled_game() -> None:
    """A one-game night with 20 rows is normal; a ten-game night with 20 rows is thin."""
    from nba_tui.warehouse.base import Counts

    pipe = config.loads(CONFIG, "p.yaml")
    days = GAME_DATES[:6]
    games = {days[0]: 1, days[1]: 10, days[2]: 10, days[3]: 10, days[4]: 10, days[5]: 10}
    rows = {days[0]: 20, days[1]: 20, days[2]: 200, days[3]: 190, days[4]: 210, days[5]: 200}
    counts = Counts(expected=days, rows={"summary": rows}, expected_rows=games)
    cov = coverage.snapshot(pipe, counts).tables["summary"]
    assert cov.thin == [days[1]]
    assert cov.states[days[0]] is DateState.PRESENT
    # Without the schedule's game counts, raw rows are compared: both small nights look thin.
    raw = coverage.snapshot(pipe, Counts(expected=days, rows={"summary": rows})).tables["summary"]
    assert raw.thin == [days[0], days[1]]


def test_gap_span_only_when_the_range_holds_no_present_date(pipe: config.Pipeline) -> None:
    snap = _snap(pipe)
    assert snap.tables["summary"].gap_span() is None  # present dates between the two runs
    assert snap.tables["never_created"].gap_span() == (GAME_DATES[0], GAME_DATES[-1])
    narrowed = _snap(pipe, start=SEASON1[0], end=SEASON1[9]).tables["summary"]
    assert narrowed.gap_span() == (SEASON1[3], SEASON1[5])
    assert snap.tables["box"].gap_span() is None


def test_unchanged_poll_recomputes_nothing_and_a_changed_table_only_itself(
    pipe: config.Pipeline,
) -> None:
    """The monitor's coverage cache over real polls of the embedded warehouse."""
    from nba_tui.monitor import Monitor

    mon = Monitor(pipe)
    try:
        first = mon.poll_once()
        n_tables = len(first.snapshot.tables)
        assert first.fresh and mon.coverage.computed == n_tables
        quiet = mon.poll_once()
        assert quiet.fresh and mon.coverage.computed == n_tables  # nothing recomputed
        assert quiet.snapshot is not first.snapshot
        assert quiet.snapshot.taken_at >= first.snapshot.taken_at
        assert all(
            quiet.snapshot.tables[n] is first.snapshot.tables[n] for n in first.snapshot.tables
        )
        conn = connect(pipe.sqlite_dir, pipe.datasets())
        conn.execute(
            "INSERT INTO analytics.summary (game_date, v) VALUES (?, 1)", (SEASON1[3].isoformat(),)
        )
        conn.close()
        changed = mon.poll_once()
        assert mon.coverage.computed == n_tables + 1  # summary only
        summary = changed.snapshot.tables["summary"]
        assert summary is not first.snapshot.tables["summary"]
        assert SEASON1[3] not in summary.missing and summary.present == 27
        assert changed.snapshot.tables["box"] is first.snapshot.tables["box"]
        assert changed.bytes_billed is None and changed.note is None  # SQLite bills nothing
    finally:
        mon.close()


def test_cache_recomputes_all_when_the_schedule_or_range_changes(pipe: config.Pipeline) -> None:
    wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets())
    try:
        counts = fetch(pipe, wh)
    finally:
        wh.close()
    cache = coverage.CoverageCache()
    first = cache.snapshot(pipe, counts)
    n = cache.computed
    # Equal content in new objects (a backend that copies): still nothing to do.
    copy = Counts(
        expected=list(counts.expected),
        rows={k: dict(v) for k, v in counts.rows.items()},
        expected_rows=dict(counts.expected_rows),
        missing_tables=list(counts.missing_tables),
    )
    again = cache.snapshot(pipe, copy)
    assert cache.computed == n and again.tables["box"] is first.tables["box"]
    narrowed = cache.snapshot(pipe, copy, start=SEASON2[0])
    assert cache.computed == 2 * n and narrowed.tables["box"].expected == len(SEASON2)
    fewer = dict(copy.expected_rows)
    del fewer[SEASON2[-1]]
    shorter = Counts(sorted(fewer), copy.rows, fewer, copy.missing_tables)
    snap = cache.snapshot(pipe, shorter, start=SEASON2[0])
    assert cache.computed == 3 * n and snap.tables["box"].expected == len(SEASON2) - 1
    # And the plain function agrees with the cache.
    plain = coverage.snapshot(pipe, shorter, start=SEASON2[0])
    assert plain.to_json(pipe)["phases"] == snap.to_json(pipe)["phases"]


def test_degraded_dates_and_share_and_a_flip_is_recomputed(pipe: config.Pipeline) -> None:
    """Same rows, different flags (a date re-run on real context): the cache recomputes the
    table, and only dates with rows and a flagged row are degraded."""
    rows = {d: 4 for d in SEASON1[:10]}
    flagged = {SEASON1[0]: 4, SEASON1[1]: 0, SEASON1[2]: 1, SEASON2[0]: 3}  # Jun 1: no rows
    cache = coverage.CoverageCache()
    counts = Counts(GAME_DATES, {"summary": rows}, degraded={"summary": flagged})
    cov = cache.snapshot(pipe, counts).tables["summary"]
    assert cov.degraded == [SEASON1[0], SEASON1[2]]
    assert cov.degraded_share == 2 / 10
    assert cov.to_json()["degraded_dates"] == [SEASON1[0].isoformat(), SEASON1[2].isoformat()]
    assert cache.snapshot(pipe, counts).tables["summary"] is cov
    healed = Counts(GAME_DATES, {"summary": rows}, degraded={"summary": {SEASON1[2]: 1}})
    again = cache.snapshot(pipe, healed).tables["summary"]
    assert again is not cov and again.degraded == [SEASON1[2]]
    narrowed = coverage.snapshot(pipe, counts, start=SEASON1[1]).tables["summary"]
    assert narrowed.degraded == [SEASON1[2]]
    assert (
        coverage.snapshot(pipe, Counts(GAME_DATES, {"summary": rows}))
        .tables["summary"]
        .degraded_share
        == 0.0
    )


def test_classify_runs_break_at_bootstrap_and_present_dates() -> None:
    """Runs are consecutive in the schedule: an off day does not split one, a bootstrap date or
    a date with rows does; a hand-built coverage lists its states the same way."""
    day = [dt.date(2024, 1, 1) + dt.timedelta(days=2 * i) for i in range(9)]  # off days between
    ratio = {day[2]: 1.0, day[6]: 0.1, day[7]: 1.0}
    states, (missing, thin, boots), runs = classify(day, ratio, {day[4]}, 0.5)
    assert [(r.start, r.end, r.count) for r in runs] == [
        (day[0], day[1], 2),
        (day[3], day[3], 1),
        (day[5], day[5], 1),
        (day[8], day[8], 1),
    ]
    assert missing == [day[0], day[1], day[3], day[5], day[8]]
    assert thin == [day[6]] and boots == [day[4]] and list(states) == day
    by_hand = coverage.TableCoverage("t", "d.t", "p", 0.9, 8, 3, True, states, {}, None, None, 0.0)
    assert (by_hand.missing, by_hand.thin, by_hand.bootstrap) == (missing, thin, boots)
    assert by_hand.degraded_share == 0.0 and by_hand.missing_ordinals()[0] == day[0].toordinal()


def test_one_shot_polls_do_not_load_asyncio_or_heavy_clients() -> None:
    """`status --json` pays for every import at each start: the monitor, the coverage maths and
    the embedded backend must not pull in asyncio (the dashboard's poll imports it), the
    throttle, the BigQuery client, Rich or Textual."""
    code = (
        "import sys, nba_tui.monitor, nba_tui.coverage, nba_tui.warehouse.sqlite\n"
        "heavy = ('asyncio', 'asyncio_throttle', 'google', 'rich', 'textual')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
