"""The forecast (pure): rates learned from records and progress, the plan on a virtual clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from autopilot_helpers import small_warehouse
from test_schedule import YAML

from nba_tui import config
from nba_tui.jobs.forecast import Rates, Running, dry_plan, learn, simulate, with_max_parallel
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.jobs.plans import Plan
from nba_tui.monitor import snapshot_once

D = [dt.date(2024, 1, d) for d in range(1, 11)]


def _pipe(tmp_path: Path) -> config.Pipeline:
    (tmp_path / "pipeline.yaml").write_text(YAML)
    pipe = config.load(tmp_path / "pipeline.yaml")
    small_warehouse(pipe, [d.isoformat() for d in D], {"a": 4, "b": 0})
    return pipe


def _plan(pipe: config.Pipeline, **kw: object) -> Plan:
    return dry_plan(pipe, ["p1"], **kw)  # type: ignore[arg-type]


def _rates(handoff: float = 0.0) -> Rates:
    return Rates({"a": 1.0, "b": 2.0}, {"a": "history", "b": "history"}, 0.0, handoff)


def test_known_durations_give_the_exact_end(tmp_path: Path) -> None:
    pipe = _pipe(tmp_path)
    snap = snapshot_once(pipe)
    # the runner's order at 2 slots: a 05..08 (4 s) | b 01..04 (8 s); t=4 a 09..10 (2 s);
    # t=6 b 05..08 (8 s, b 09..10 wait for a shard's worth); t=14 b 09..10 (4 s): end 18
    f = simulate(pipe, snap, _plan(pipe), _rates(), now=1000.0)
    assert f.seconds == 18.0 and f.end == 1018.0 and f.complete
    assert (f.tables["a"].dates, f.tables["a"].shards, f.tables["a"].end) == (6, 2, 6.0)
    assert (f.tables["b"].dates, f.tables["b"].shards, f.tables["b"].start) == (10, 3, 0.0)
    assert f.guessed == [] and f.note() == ""
    # each hand-off costs the runner's tick: three shard ends precede a start on the path
    assert simulate(pipe, snap, _plan(pipe), _rates(0.5), now=0.0).seconds == 19.5
    # one slot: strictly one shard at a time, every date's seconds added up (6 + 20)
    one = with_max_parallel(pipe, 1)
    assert simulate(one, snap, _plan(pipe), _rates(), now=0.0).seconds == 26.0
    assert pipe.jobs.max_parallel == 2 and one.source == pipe.source


def test_running_shards_and_back_off_are_the_runners(tmp_path: Path) -> None:
    pipe = _pipe(tmp_path)
    snap = snapshot_once(pipe)
    # a's dates 05..10 run now and end in 3 s; b's 01..04 may retry only in 30 s
    running = [Running("a", D[4:10], 3.0, "j1")]
    plan = _plan(pipe)
    plan.retry_at = {"b": {d.isoformat(): 130.0 for d in D[:4]}}  # epoch; now is 100
    f = simulate(pipe, snap, plan, _rates(), now=100.0, running=running)
    assert f.seconds == 38.0
    assert f.tables["a"].shards == 1 and f.tables["a"].end == 3.0
    quarantined = _plan(pipe)
    quarantined.quarantined = {"b": [d.isoformat() for d in D[:4]]}
    f = simulate(pipe, snap, quarantined, _rates(), now=0.0, running=running)
    assert f.seconds == 9.0 and f.tables["b"].dates == 6
    # a slot held by another plan's job: one shard at a time, as at max_parallel 1
    assert simulate(pipe, snap, _plan(pipe), _rates(), now=0.0, busy=1).seconds == 26.0


def _view(
    table: str,
    state: JobState,
    n: int,
    took: float,
    *,
    per_min: float | None = None,
    ended: float = 100.0,
) -> JobView:
    days = [d.isoformat() for d in D[:n]]
    rec = JobRecord(
        id=f"j{table}{n}{ended}",
        table=table,
        argv=[],
        log="",
        created_at=0.0,
        user="u",
        dates=days,
        state=state,
        started_at=ended - took,
        ended_at=ended if state is JobState.DONE else None,
    )
    return JobView(rec, Progress(dates_per_min=per_min))


def test_rates_from_history_then_live_and_a_guess_said() -> None:
    views = [_view("a", JobState.DONE, 4, 0.5 + 4 * 2.0), _view("a", JobState.DONE, 8, 16.5)]
    rates = learn(views)
    assert rates.source == {"a": "history"}
    assert abs(rates.per_date["a"] - 2.0) < 1e-9 and abs(rates.overhead - 0.5) < 1e-9
    assert rates.of("b") == rates.of("a") and rates.guessed(["a", "b"]) == ["b"]
    # a running shard's progress lines (30 dates/min) replace the history at once
    live = learn([*views, _view("a", JobState.RUNNING, 6, 1.0, per_min=30.0)])
    assert live.source["a"] == "live" and live.per_date["a"] == 2.0
    assert learn([]).of("x") > 0 and learn([]).guessed(["x"]) == ["x"]


def test_dry_run_summary_per_table_with_held_back_dates(tmp_path: Path) -> None:
    from nba_tui.jobs.plan_text import render_summary

    pipe = _pipe(tmp_path)
    snap = snapshot_once(pipe)
    f = simulate(pipe, snap, _plan(pipe), _rates(), now=0.0)
    lines = render_summary(pipe, f, ["a", "b"], max_parallel=2, skip_preflight=False).splitlines()
    assert lines[0] == "16 date(s) in 5 shard(s) at max_parallel 2; nothing is launched"
    assert lines[2:4] == [
        "a                                  6      2     0  +0s..+6s             1.00",
        "b                                 10      3     0  +0s..+18s            2.00",
    ]
    assert lines[4].startswith("forecast end ") and lines[4].endswith(" (in 18s)")
    assert lines[5] == "the exact commands: add --argv"
    # b's dates reading a's missing 05..10 are held back when nothing fills a
    plan = _plan(pipe)
    plan.stopped_tables = ["a"]  # a stopped by hand: the plan schedules b alone
    only_b = simulate(pipe, snap, plan, Rates(), now=0.0)
    text = render_summary(pipe, only_b, ["b"], max_parallel=2, skip_preflight=False)
    assert (
        "\nb                                  4      1     6  +0s..+4s            1.00?\n" in text
    )
    assert "held back (inputs this plan does not fill):\n  b: 6 wait for a\n" in text
    assert "('?': no history for b: rates guessed until the first shards report)" in text
    assert all(len(line) <= 80 for line in text.splitlines())
