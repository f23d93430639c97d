"""What the plan runner's events say: a shard's `job_done` counts the game dates it ran, not the
calendar days of its range."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest
from jobs_helpers import wait_for

from nba_tui.jobs import events
from nba_tui.jobs.autopilot import Autopilot
from nba_tui.jobs.model import PlanState
from nba_tui.jobs.plan_lifecycle import PlanLifecycle
from nba_tui.jobs.supervisor import Supervisor


def test_job_done_counts_game_dates_not_calendar_days(
    make_pipeline,  # noqa: ANN001 - fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = make_pipeline({"a": []}, max_parallel=1)
    with sqlite3.connect(pipe.sqlite_dir / "raw.db") as con:  # no game on the 5th
        con.execute("DELETE FROM sched WHERE game_date = ?", ("2024-01-05",))
    con.close()
    monkeypatch.setattr(PlanLifecycle, "_start_runner", lambda self, plan, adopt=False: plan)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    pilot = Autopilot(sup, plan.id)
    codes: list[int | None] = []
    wait_for(lambda: codes.append(pilot.tick()) or codes[-1] is not None, 120, "plan ended")
    assert sup.plan(plan.id).state is PlanState.DONE
    done = [e.detail for e in events.read_events(sup.store) if e.kind == "job_done"]
    spans = [
        (dt.date.fromisoformat(r.end) - dt.date.fromisoformat(r.start)).days + 1
        for r in sup.store.load_jobs()
        if r.start and r.end
    ]
    assert done and sum(spans) == 10  # the shards' ranges span the 5th...
    counted = [int(m.group(1)) for d in done if (m := re.search(r": (\d+) dates", d))]
    assert sum(counted) == 9, done  # ...which holds no game
