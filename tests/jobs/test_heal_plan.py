"""`watch --heal` goes through the one scheduler: gaps in a table and in its reader become one
heal plan in one cycle, the reader's job starting once its input's job ended (real processes)."""

from __future__ import annotations

import sqlite3
import time

import pytest
from jobs_helpers import wait_for

from nba_tui.cli.watch import Watch
from nba_tui.jobs import plan_lifecycle, plan_text, store
from nba_tui.jobs.errors import JobError
from nba_tui.jobs.model import PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once


def test_a_gap_and_its_readers_gap_heal_in_one_plan(make_pipeline) -> None:  # noqa: ANN001
    pipe = make_pipeline(
        {"a": ["--delay", "0.3"], "c": []}, deps={"c": ["a"]}, present={"a": 10, "c": 10}
    )
    said: list[str] = []
    watch = Watch(pipe, heal=True, emit=said.append)
    assert watch.cycle() == 0  # the baseline
    con = sqlite3.connect(pipe.sqlite_dir / "ana.db")
    with con:
        for t in ("a", "c"):
            con.execute(f'DELETE FROM "{t}" WHERE game_date = ?', ("2024-01-05",))
    con.close()
    said.clear()
    assert watch.cycle() == 1
    kinds = sorted(line.split()[1:3] for line in said)
    assert kinds == [["launched", "a"], ["launched", "c"], ["regression", "a"], ["regression", "c"]]
    sup = Supervisor(pipe)
    (plan,) = sup.plans()
    assert plan.kind == "heal" and plan.scope == {"a": ["2024-01-05"], "c": ["2024-01-05"]}
    wait_for(lambda: sup.plan(plan.id).state is not PlanState.RUNNING, 30, "heal plan ended")
    plan = sup.plan(plan.id)
    assert plan.state is PlanState.DONE, plan.message
    a, c = sorted((sup.job(j).record for j in plan.jobs), key=lambda r: r.table)
    assert a.dates == c.dates == ["2024-01-05"]
    assert a.ended_at is not None and c.started_at is not None and a.ended_at <= c.started_at
    # its count is the dates its jobs filled: 2 of its 2, as `plans` and the report show it
    assert plan_text.done_dates(plan) == {"a": (1, 1), "c": (1, 1)}
    assert plan_text.progress(plan, time.time()).startswith("2/2 dates (100%), ended ")


def test_a_heal_plan_takes_the_plans_lock(make_pipeline, monkeypatch) -> None:  # noqa: ANN001
    """A heal plan is made under `locks/plans.lock`, as a `run` plan: while another launch
    holds it, no heal plan is made (the wait cut to nothing here, so the refusal shows)."""
    pipe = make_pipeline({"a": []}, present={"a": 9})
    sup = Supervisor(pipe)
    snap = snapshot_once(pipe)
    gap = {"a": [max(snap.tables["a"].missing)]}
    monkeypatch.setattr(plan_lifecycle, "flock", lambda path, timeout: store.flock(path, timeout=0))
    with store.flock(sup.store.locks_dir / "plans.lock"):
        with pytest.raises(JobError, match="another launch holds locks/plans.lock"):
            sup.heal_plan(gap, snap)
        assert sup.plans() == []
    plan = sup.heal_plan(gap, snap)  # the lock free: the plan is made
    assert [p.id for p in sup.plans()] == [plan.id]
    wait_for(lambda: sup.plan(plan.id).state is not PlanState.RUNNING, 30, "heal plan ended")
