"""The forecast (pure): rates learned from records and progress, the plan on a virtual clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from autopilot_helpers import small_warehouse
from test_schedule import YAML

from nba_tui import config
from nba_tui.jobs.forecast import (
    OVERHEAD,
    Forecast,
    Rates,
    Running,
    TableForecast,
    dry_plan,
    learn,
    recorded,
    simulate,
    with_max_parallel,
)
from nba_tui.jobs.model import JobRecord, JobState, JobView, Plan, Progress
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
    # each hand-off costs the runner's tick: three shard ends precede a start on the path,
    # and the runner sees the last end one tick later
    assert simulate(pipe, snap, _plan(pipe), _rates(0.5), now=0.0).seconds == 20.0
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
    done: int = 0,
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
    return JobView(rec, Progress(done=done))


def test_rates_from_history_then_live_and_a_guess_said() -> None:
    views = [
        _view("a", JobState.DONE, 4, 0.5 + 4 * 2.0, ended=100.0),
        _view("a", JobState.DONE, 8, 16.5, ended=117.2),  # started 0.7 s after the first ended
    ]
    rates = learn(views)
    assert rates.source == {"a": "history"}
    assert abs(rates.per_date["a"] - 2.0) < 1e-9 and abs(rates.overhead - 0.5) < 1e-9
    assert abs(rates.handoff - 0.7) < 1e-9
    assert rates.of("b") == rates.of("a") and rates.guessed(["a", "b"]) == ["b"]
    # a running shard's progress lines count with the history, weighted by dates: 12 dates
    # done in 12.5 s of running (0.5 of it the overhead) is 1 s a date; (2 x 12 + 1 x 12) / 24
    running = _view("a", JobState.RUNNING, 20, 12.5, done=12, ended=200.0)
    both = learn([*views, running], now=200.0)
    assert both.source["a"] == "history" and abs(both.per_date["a"] - 1.5) < 1e-9
    # a night without history: the first shards' rates at once (overhead still a guess)
    first = learn([running], now=200.0)
    assert first.source == {"a": "live"} and first.overhead == OVERHEAD
    assert abs(first.per_date["a"] - (12.5 - OVERHEAD) / 12) < 1e-9
    assert learn([]).of("x") > 0 and learn([]).guessed(["x"]) == ["x"]


def test_one_overhead_for_the_pipeline_not_counted_twice() -> None:
    # table a's shards of 4 and 8 dates tell the overhead (0.5 s); b has only 4-date shards:
    # its rate leaves that overhead out, so a 4-date shard of b is predicted at what it took
    views = [
        _view("a", JobState.DONE, 4, 0.5 + 4 * 2.0, ended=100.0),
        _view("a", JobState.DONE, 8, 0.5 + 8 * 2.0, ended=120.0),
        _view("b", JobState.DONE, 4, 0.5 + 4 * 1.0, ended=130.0),
        _view("b", JobState.DONE, 4, 0.5 + 4 * 1.0, ended=140.0),
    ]
    rates = learn(views)
    assert abs(rates.overhead - 0.5) < 1e-9
    assert abs(rates.per_date["b"] - 1.0) < 1e-9 and abs(rates.seconds("b", 4) - 4.5) < 1e-9
    # no table with shards of two sizes: the overhead is the default, the sizes seen still exact
    same = learn(views[2:])
    assert same.overhead == OVERHEAD and abs(same.seconds("b", 4) - 4.5) < 1e-9


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
    assert "('?': no history for b yet: rates guessed)" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def _ended_plan() -> Plan:
    p = Plan("p0a0b0c", "run", ["phase4"], "u", 1000.0)
    p.planned, p.left = {"a": 60, "b": 40}, {"a": 0, "b": 10}
    p.forecast_first, p.forecast_end = 1000.0 + 3600, 1000.0 + 3900
    return p


def test_plan_late_once_past_the_deadline() -> None:
    p = _ended_plan()
    p.deadline = 2000.0
    f = Forecast(1500.0, 600.0, {}, [])  # ends 2100: past the deadline
    apply, late = recorded(p, f, 1500.0)
    apply(p)
    assert late is not None and "passes the deadline" in late and p.late_sent
    assert recorded(p, f, 1510.0)[1] is None  # said once


def test_a_paused_plan_shows_paused_instead_of_its_end() -> None:
    from nba_tui.jobs.plan_text import progress
    from nba_tui.tui.titles import plan_end

    p = _ended_plan()
    assert "ends " in progress(p, 1600.0) and plan_end([p]) == p.forecast_end
    p.paused = True
    assert progress(p, 1600.0) == "90/100 dates (90%), paused"
    assert plan_end([p]) is None  # the header's `ends` leaves it out


def test_plans_line_report_line_and_the_total_that_does_not_grow() -> None:
    from nba_tui.cli.listings import render_plan
    from nba_tui.jobs.model import PlanState
    from nba_tui.jobs.plan_text import forecast_json, forecast_line, progress

    p = _ended_plan()
    # running: done of the plan's own total (its first forecast's), and the forecast end
    assert progress(p, 1000.0 + 600).startswith("90/100 dates (90%), ends ")
    assert "(in 55m)" in progress(p, 1000.0 + 600)
    # a later forecast (more dates became runnable) moves `left`, never the total
    later = Forecast(1700.0, 60.0, {"a": TableForecast("a"), "b": TableForecast("b")}, [])
    later.tables["b"].dates = 0
    apply, late = recorded(p, later, 1700.0)
    apply(p)
    assert late is None and p.planned == {"a": 60, "b": 40} and p.left == {"a": 0, "b": 0}
    assert p.forecast_end == 1760.0 and p.forecast_first == 4600.0
    assert progress(p, 1000.0 + 700).startswith("100/100 dates (100%)")
    line = render_plan(p).splitlines()[0]
    assert line.startswith("p0a0b0c  run   running   phase4  100/100 dates (100%), ends ")
    assert line.endswith("; 0 jobs")
    p.finish(PlanState.DONE, None, 1000.0 + 4000)
    assert "ended " in progress(p, 9e9) and ", forecast " in progress(p, 9e9)
    report = {"created_at": p.created_at, "ended_at": p.ended_at, **forecast_json(p)}
    text = forecast_line(report, lambda t: f"T{t:.0f}")
    # forecast 4600 at the start (1 h), ended 5000: 400 s later, +400/4000 of the night
    assert text == "forecast at its start T4600, 1h00m; ended 6m40s later, +10% of its 1h06m"
    # the demo night: forecast 36 m (rates guessed), took 5m28s: never "567% of the night"
    night = {"created_at": 0.0, "forecast_first": 2160.0, "ended_at": 328.0,
             "forecast_first_guessed": True}  # fmt: skip
    assert forecast_line(night, lambda t: f"T{t:.0f}") == (
        "forecast at its start T2160, 36m (no history then: rates were guesses); "
        "ended 30m sooner: the forecast was 6.6x its 5m28s"
    )
    report["ended_at"] = None
    assert forecast_line(report, lambda t: f"T{t:.0f}") == "forecast end T1760"
    assert forecast_line({"forecast_first": None}, str) == ""
    # a plan cancelled by hand says nothing about the forecast
    report.update(ended_at=1500.0, state="cancelled")
    assert forecast_line(report, lambda t: f"T{t:.0f}") == (
        "forecast at its start T4600, 1h00m; cancelled before it ended"
    )
    p.state = PlanState.CANCELLED
    assert "ended " in progress(p, 9e9) and "forecast" not in progress(p, 9e9)


def test_a_running_shard_counts_only_the_dates_it_has_still_to_do(tmp_path: Path) -> None:
    pipe = _pipe(tmp_path)
    snap = snapshot_once(pipe)
    # a shard of a's 01..08, of which 01..04 are present already (written by it so far)
    f = simulate(
        pipe, snap, _plan(pipe), _rates(), now=0.0, running=[Running("a", D[:8], 4.0, "j")]
    )
    assert f.tables["a"].dates == 4 + 2 and f.tables["a"].shards == 2  # 05..08, then 09..10


def test_a_running_shard_left_from_committed_dates_and_its_size(tmp_path: Path) -> None:
    from nba_tui.jobs.forecast import running_now

    (tmp_path / "pipeline.yaml").write_text(YAML)
    pipe = config.load(tmp_path / "pipeline.yaml")
    games = ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]
    small_warehouse(pipe, games, {"a": 2, "b": 0})  # 01-03 is no game date
    snap = snapshot_once(pipe)
    rates = Rates({"a": 1.0}, {"a": "history"}, 2.0, 0.0)  # a shard of n dates: 2 + n s

    def shard(ran: float | None, done: int = 0) -> JobView:
        rec = JobRecord(
            id="j1", table="a", argv=[], log="", created_at=0.0, user="u",
            start="2024-01-01", end="2024-01-07", state=JobState.RUNNING,
            started_at=None if ran is None else 100.0 - ran,
        )  # fmt: skip
        return JobView(rec, Progress(done=done, total=6 if done else None))

    # its 6 game dates (not 7 days); 01 and 02 committed: 04..07 still to fill
    (r,) = running_now([shard(1.0, done=2)], rates, 100.0, snap)
    assert r.dates == [dt.date(2024, 1, d) for d in (4, 5, 6, 7)]
    assert r.left == 2 + 6 - 1.0  # a shard of its size, less the second it ran
    (late,) = running_now([shard(10.0, done=2)], rates, 100.0, snap)
    assert late.left == 4 * 1.0  # running behind: at least its 4 dates at a's rate
    (queued,) = running_now([shard(None)], rates, 100.0, snap)
    assert queued.left == 2 + 6
