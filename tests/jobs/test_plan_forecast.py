"""The runner's forecast on the real sample program: written into the plan, plan_late sent once
when the forecast end passes `run --deadline`, never without a deadline passed; a paused plan's
progress counts only dates with rows and has no countdown; a done plan reads N/N."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from autopilot_helpers import sample_pipeline
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobState, PlanState
from nba_tui.jobs.plan_text import done_dates, progress
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample import backfill as sample
from nba_tui.sample import ensure_warehouse


def test_plan_late_once_when_the_forecast_passes_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # to 01-20: phase 5 still has dates to fill after phase 3 and 4 ran (a plan with nothing
    # to run is never created)
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-01-20")
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0")
    sup = Supervisor(pipe)
    late = sup.run_phases(["phase3", "phase4"], deadline=time.time() - 60)
    wait_for(lambda: sup.plan(late.id).state is not PlanState.RUNNING, 240, "plan ended")
    plan = sup.plan(late.id)
    assert plan.forecast_end is not None and plan.forecast_first is not None
    assert plan.late_sent and sum(plan.planned.values()) > 0
    got = [json.loads(x) for x in (tmp_path / "hook.out").read_text().splitlines()]
    lates = [e for e in got if e["kind"] == "plan_late"]
    assert len(lates) == 1 and lates[0]["plan"] == late.id
    assert "passes the deadline" in lates[0]["detail"]
    # a deadline far ahead: forecast recorded, no plan_late
    easy = sup.run_phases(["phase5"], deadline=time.time() + 86400)
    wait_for(lambda: sup.plan(easy.id).state is not PlanState.RUNNING, 240, "plan ended")
    assert sup.plan(easy.id).forecast_end is not None and not sup.plan(easy.id).late_sent
    got = [json.loads(x) for x in (tmp_path / "hook.out").read_text().splitlines()]
    assert [e["plan"] for e in got if e["kind"] == "plan_late"] == [late.id]


def _totals(plan) -> tuple[int, int]:  # noqa: ANN001 - a Plan
    per = done_dates(plan).values()
    return sum(d for d, _ in per), sum(n for _, n in per)


def test_a_paused_plan_counts_dates_with_rows_and_shows_no_countdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-01-20")
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0.5")
    before = snapshot_once(pipe)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase3", "phase4", "phase5"])
    wait_for(
        lambda: any(v.state is JobState.RUNNING for v in sup.jobs()) and sup.plan(plan.id).planned,
        60,
        "a shard runs and the first forecast is written",
    )
    paused_at = time.time()
    sup.pause_plan(plan.id)
    wait_for(
        lambda: (sup.plan(plan.id).forecast_at or 0) > paused_at, 60, "a forecast of the pause"
    )
    now_plan = sup.plan(plan.id)
    after = snapshot_once(pipe)
    filled = sum(
        len(set(before.tables[t].missing) - set(after.tables[t].missing)) for t in now_plan.planned
    )
    done, total = _totals(now_plan)
    assert total > 20 and done <= filled < total, (done, filled, total, now_plan.left)
    line = progress(now_plan, time.time())
    assert line.startswith(f"{done}/{total} dates") and line.endswith("paused"), line
    assert "ends" not in line
    sup.cancel_plan(plan.id)


def test_a_done_plan_reads_all_its_dates_done(make_pipeline) -> None:  # noqa: ANN001 - fixture
    # fast shards: the plan ends before its runner writes a second forecast, so the first
    # one's `left` (every date) is all the plan would hold without the final recount
    pipe = make_pipeline({"a": ["--delay", "0.01"], "b": ["--delay", "0.01"]})
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: sup.plan(plan.id).state is not PlanState.RUNNING, 60, "plan ended")
    plan = sup.plan(plan.id)
    assert plan.state is PlanState.DONE, plan.message
    assert not snapshot_once(pipe).tables["a"].missing
    assert _totals(plan) == (20, 20) and plan.left == {"a": 0, "b": 0}
    assert progress(plan, time.time()).startswith("20/20 dates (100%), ended")
