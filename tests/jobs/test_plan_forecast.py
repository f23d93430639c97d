"""The runner's forecast on the real sample program: written into the plan, plan_late sent once
when the forecast end passes `run --deadline`, never without a deadline passed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from autopilot_helpers import sample_pipeline
from jobs_helpers import wait_for

from nba_tui.jobs.plans import PlanState
from nba_tui.jobs.supervisor import Supervisor
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
