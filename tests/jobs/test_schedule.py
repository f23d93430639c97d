"""Shards and the dry run (pure): balanced contiguous shards, slot allocation, exact output."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from autopilot_helpers import small_warehouse

from nba_tui import config
from nba_tui.backfill_argv import checkpoint_path
from nba_tui.jobs.forecast import Rates, dry_plan, simulate
from nba_tui.jobs.plan_text import render_argv
from nba_tui.jobs.schedule import Demand, allocate, make_shards, shard_label
from nba_tui.monitor import snapshot_once

D = [dt.date(2024, 1, d) for d in range(1, 31)]

YAML = """pipeline: dry
range: {start: 2024-01-01, end: 2024-01-10}
expected_dates: {table: raw.sched, column: game_date}
warehouse: {backend: sqlite, sqlite: {path: wh}}
jobs: {max_parallel: 2, log_dir: logs, state_dir: state}
x-bf: &bf
  command: [backfill, "{table}"]
  range_args: [--from, "{start}", --to, "{end}"]
  dates_args: [--dates, "{dates}"]
  shardable: true
phases:
  - name: src
    tables:
      - {name: sched, table: raw.sched}
  - name: p1
    parallel: false
    tables:
      - {name: a, table: ana.a, depends_on: [sched], backfill: *bf}
      - {name: b, table: ana.b, depends_on: [{table: a, lookback_days: 1}], backfill: *bf}
"""

EXPECTED = """5 shard(s) in start order; nothing is launched
+0s a 2024-01-05..2024-01-08 (4 dates)
    backfill a --from 2024-01-05 --to 2024-01-08
+0s b 2024-01-01..2024-01-04 (4 dates)
    backfill b --from 2024-01-01 --to 2024-01-04
+4s a 2024-01-09..2024-01-10 (2 dates)
    backfill a --from 2024-01-09 --to 2024-01-10
+6s b 2024-01-05..2024-01-08 (4 dates)
    backfill b --from 2024-01-05 --to 2024-01-08
+14s b 2024-01-09..2024-01-10 (2 dates)
    backfill b --from 2024-01-09 --to 2024-01-10
"""
RATES = Rates({"a": 1.0, "b": 2.0}, {"a": "history", "b": "history"}, 0.0, 0.0)


def test_make_shards_contiguous_and_balanced() -> None:
    assert make_shards(D[:10], 3) == [D[0:4], D[4:7], D[7:10]]
    gappy = D[0:3] + D[10:13] + D[20:22]
    assert make_shards(gappy, 3) == [D[0:3], D[10:13], D[20:22]]
    assert make_shards(gappy, 1) == [gappy]
    assert make_shards(D[:2], 5) == [D[0:1], D[1:2]]
    assert make_shards([], 3) == []


def test_allocate_one_shard_each_upstream_first_and_never_two_unshardable() -> None:
    demands = [
        Demand("up", D[:30], 0, True),
        Demand("mid", D[:8], 0, True),
        Demand("solo", D[:30], 1, False),
    ]
    shards = allocate(demands, 4, width=4)
    tables = [s.table for s in shards]
    assert "solo" not in tables  # it already runs one job
    assert (tables.count("up"), tables.count("mid")) == (3, 1)  # upstream, then most per shard
    busy = [Demand("up", D[:30], 3, True), Demand("mid", D[:8], 0, True)]
    assert [s.table for s in allocate(busy, 2, width=4)] == ["up", "mid"]  # up: 4 at most
    dates = [d for s in shards if s.table == "up" for d in s.dates]
    assert len(dates) == len(set(dates))


def test_render_argv_exactly_in_the_runners_order(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(YAML)
    pipe = config.load(tmp_path / "pipeline.yaml")
    small_warehouse(pipe, [d.isoformat() for d in D[:10]], {"a": 4, "b": 0})
    f = simulate(pipe, snapshot_once(pipe), dry_plan(pipe, ["p1"]), RATES, now=0.0)
    assert render_argv(pipe, f) == EXPECTED
    plan = dry_plan(pipe, ["p1"], shards=1, strict_cascade=True)
    strict = simulate(pipe, snapshot_once(pipe), plan, RATES, now=0.0)
    # the strict cascade: b starts once the whole of a ended (6 dates at 1 s)
    assert [(t, s.table, s.start, s.end) for t, s in strict.starts] == [
        (0.0, "a", D[4], D[9]),
        (6.0, "b", D[0], D[9]),
    ]
    assert all(len(line) <= 80 for line in render_argv(pipe, f).splitlines())


def test_each_shard_has_its_own_checkpoint(tmp_path: Path) -> None:
    text = YAML.replace("  shardable: true\n", "  shardable: true\n  checkpoint: ck/{table}.json\n")
    (tmp_path / "pipeline.yaml").write_text(text)
    pipe = config.load(tmp_path / "pipeline.yaml")
    t = pipe.table("a")
    assert checkpoint_path(pipe, t) == str(tmp_path / "ck" / "a.json")
    label = shard_label([D[4], D[1]])
    assert label == "2024-01-02_2024-01-05"
    assert checkpoint_path(pipe, t, label) == str(tmp_path / "ck" / f"a.{label}.json")
    (tmp_path / "pipeline.yaml").write_text(text.replace("{table}.json", "{table}{shard}.ckpt"))
    pipe = config.load(tmp_path / "pipeline.yaml")
    assert checkpoint_path(pipe, pipe.table("a"), "x") == str(tmp_path / "ck" / "ax.ckpt")
