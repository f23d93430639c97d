"""A job's facts (`jobs.facts`) with an injected `now`: run time with paused time counted once,
the clock of a killed and of a lost job, dates and cost; and every reader (the grid, `jobs`,
`jobs --json`, the morning report, the plan's shard list, the progress rate) shows the same run
time for one record."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from nba_tui import config
from nba_tui.cli.listings import render_jobs, view_json
from nba_tui.fmt import clock, duration
from nba_tui.jobs import facts
from nba_tui.jobs.autopilot import shard_entry
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress, record_exit
from nba_tui.jobs.progress import LogProgress
from nba_tui.morning_report import _shard
from nba_tui.tui.cells import job_cells

REPO = Path(__file__).resolve().parents[2]
T0 = 1_765_000_000.0


def job(**fields: object) -> JobRecord:
    base = JobRecord("j1", "t", ["x"], "", T0, "u", state=JobState.RUNNING, started_at=T0)
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_a_running_job_runs_until_now() -> None:
    assert facts.run_seconds(job(), T0 + 90) == 90
    assert facts.run_seconds(job(started_at=None, state=JobState.QUEUED), T0 + 90) is None


def test_a_paused_job_stops_its_clock_while_paused() -> None:
    """Paused at +100 after an earlier 30 s pause: 70 s, whenever it is asked."""
    rec = job(state=JobState.PAUSED, paused_at=T0 + 100, paused_total=30.0)
    assert facts.run_seconds(rec, T0 + 100) == 70
    assert facts.run_seconds(rec, T0 + 5000) == 70


def test_paused_time_is_counted_once_when_a_paused_job_ends() -> None:
    """record_exit folds the open pause into paused_total; the run time does not change
    by it (neither subtracted twice nor forgotten)."""
    rec = job(state=JobState.PAUSED, paused_at=T0 + 100, paused_total=30.0)
    before = facts.run_seconds(rec, T0 + 400)
    record_exit(rec, -15, None, T0 + 400)  # stopped while paused
    assert rec.paused_at is None and rec.paused_total == 330.0
    assert facts.run_seconds(rec, T0 + 400) == before == 70
    assert facts.run_seconds(rec, T0 + 9999) == 70


def test_a_job_lost_while_paused_subtracts_its_open_pause_up_to_its_end() -> None:
    rec = job(state=JobState.LOST, paused_at=T0 + 100, ended_at=T0 + 160, paused_total=10.0)
    assert facts.run_seconds(rec, T0 + 9999) == 90


def test_a_killed_job_stops_its_clock_at_its_end() -> None:
    rec = job(state=JobState.FAILED, signal=9, ended_at=T0 + 300, paused_total=60.0)
    assert facts.run_seconds(rec, T0 + 300) == facts.run_seconds(rec, T0 + 86_400) == 240


def test_dates_of_a_list_a_range_and_an_unreadable_record() -> None:
    listed = job(dates=["2024-01-05", "2024-01-02"])
    ranged = job(start="2024-01-30", end="2024-02-02")
    assert facts.record_dates(listed) == {dt.date(2024, 1, 2), dt.date(2024, 1, 5)}
    assert len(facts.record_dates(ranged)) == 4
    assert facts.span(listed) == ("2024-01-02", "2024-01-05", 2)
    assert facts.span(ranged) == ("2024-01-30", "2024-02-02", None)
    assert facts.record_dates(job(dates=["yesterday"])) == set()
    assert facts.span(job(start="2024-01-02", end=None)) == (None, None, None)
    games = {dt.date(2024, 1, 30), dt.date(2024, 2, 2), dt.date(2024, 3, 1)}
    assert facts.span(ranged, games) == ("2024-01-30", "2024-02-02", 2)
    assert facts.span(listed, games) == ("2024-01-02", "2024-01-05", 2)
    assert (facts.date_count(ranged), facts.date_count(ranged, games)) == (4, 2)


def test_cost_is_the_engines_price_times_the_task_time() -> None:
    pipe = config.load(REPO / "pipeline.yaml")  # no jobs.cloudrun: the default price
    cloud = job(engine="cloudrun", task_seconds=5000.0)
    assert facts.cost_usd(cloud, pipe) == pytest.approx(5000 * 0.000024)
    assert facts.cost_text(cloud, pipe) == "$0.12 (5,000 task-s)"
    assert facts.cost_usd(dataclasses.replace(cloud, engine="ray"), pipe) is None
    assert facts.cost_text(dataclasses.replace(cloud, engine="local"), pipe) is None
    assert facts.money(0.001) == "<$0.01"


def test_every_reader_shows_the_same_run_time(tmp_path: Path) -> None:
    """A job paused for 10 minutes of its 30, now running again: 20 minutes everywhere."""
    now = T0 + 1800
    rec = job(paused_total=600.0, dates=["2024-01-02", "2024-01-03"])
    view = JobView(rec, Progress("2024-01-03", 1, 2))
    assert facts.run_seconds(rec, now) == 1200
    assert job_cells(view, now)["elapsed"][0] == duration(1200) == "20m"
    assert view_json(view, now)["elapsed_s"] == 1200
    assert f" {clock(1200)} " in render_jobs([view], now).splitlines()[1]
    assert _shard(view, now).duration == 1200
    ended = dataclasses.replace(rec, state=JobState.DONE, ended_at=now)
    assert shard_entry(JobView(ended, Progress()))["duration"] == 1200
    assert shard_entry(view)["duration"] is None  # a shard's duration once it ended
    log = tmp_path / "t.log"
    log.write_text("Processing 2024-01-02 (1/2)\nProcessing 2024-01-03 (2/2)\n")
    lp = LogProgress(log, r"Processing (?P<date>\d{4}-\d{2}-\d{2})")
    lp.update()
    assert lp.progress(rec, now).dates_per_min == pytest.approx(1 / 20)  # 1 date in 20 min
