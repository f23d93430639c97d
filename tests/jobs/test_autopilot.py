"""The pipelined runner on the real sample program and SQLite: retries, quarantine, skipped
downstream dates, alerts delivered once, the wavefront, and re-adoption after kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from autopilot_helpers import sample_pipeline
from jobs_helpers import wait_for

from nba_tui import readiness
from nba_tui.jobs.autopilot import ORPHAN
from nba_tui.jobs.events import ALERT_KINDS
from nba_tui.jobs.model import JobState, PlanState
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample import backfill as sample
from nba_tui.sample import ensure_warehouse

PHASES = ["phase3", "phase4", "phase5"]


def ended(sup: Supervisor, plan_id: str) -> bool:
    return sup.plan(plan_id).state not in (PlanState.RUNNING, PlanState.LOST)


def test_a_failing_date_is_retried_quarantined_and_its_downstream_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-01-20", retries=1)
    ensure_warehouse(pipe)
    snap = snapshot_once(pipe)
    missing = snap.tables["player_composite_factors"].missing
    assert len(missing) > 4, "the incident's state leaves Phase 4 short"
    bad = missing[len(missing) // 2]
    monkeypatch.setenv(sample.FAIL_ENV, f"player_composite_factors:{bad}")
    monkeypatch.setenv(sample.PACE_ENV, "0")
    sup = Supervisor(pipe)
    plan = sup.run_phases(PHASES)
    wait_for(lambda: ended(sup, plan.id), 240, "plan ended")
    plan = sup.plan(plan.id)
    assert plan.state is PlanState.FAILED, plan.message
    assert plan.quarantined == {"player_composite_factors": [bad.isoformat()]}
    attempts = [
        r
        for r in (sup.job(j).record for j in plan.jobs)
        if r.table == "player_composite_factors" and bad.isoformat() in _dates(r)
    ]
    assert sorted(r.attempt for r in attempts) == [1, 2]  # retries: 1
    assert bad.isoformat() in plan.skipped_dates["ml_feature_store"]
    assert bad.isoformat() in plan.skipped_dates["predictions"]
    after = snapshot_once(pipe)
    for name in plan.coverage_before:  # everything else completed
        left = {d.isoformat() for d in after.tables[name].missing}
        allowed = {*plan.quarantined.get(name, []), *plan.skipped_dates.get(name, [])}
        allowed |= set(plan.unfilled.get(name, []))
        assert left <= allowed, (name, sorted(left - allowed))
    assert (
        plan.coverage_after["player_composite_factors"]
        > plan.coverage_before["player_composite_factors"]
    )
    # the hook received each alerting event exactly once
    got = [json.loads(x) for x in (tmp_path / "hook.out").read_text().splitlines()]
    ids = [e["id"] for e in got]
    assert len(ids) == len(set(ids))
    stored = [e for e in sup.events() if e.kind in ALERT_KINDS]
    assert sorted(ids) == sorted(e.id for e in stored)
    kinds = {e["kind"] for e in got}
    assert {"job_failed", "date_quarantined", "plan_failed"} <= kinds
    assert "phase_ready" in kinds  # phase 3 met its thresholds
    # the end names the date, its error line and the command that re-runs it; nothing says done
    line = plan.short["player_composite_factors"]
    assert f"FAILED {bad.isoformat()}" in line and "quarantined after 2 attempts" in line
    assert f"nba-tui launch player_composite_factors --dates {bad.isoformat()}" in line
    assert plan.message.startswith("failed: ") and line in plan.message
    assert "plan_done" not in kinds and "plan_short" not in kinds
    from nba_tui.cli.listings import render_plan

    shown = render_plan(plan)
    assert " failed " in shown.splitlines()[0] and "done" not in shown


def _dates(rec) -> set[str]:  # noqa: ANN001 - a JobRecord
    from nba_tui.jobs.facts import record_dates

    return {d.isoformat() for d in record_dates(rec)}


def test_the_wavefront_a_reader_starts_before_its_input_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-02-25", max_parallel=4)
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0.2")
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase4"])
    wait_for(lambda: ended(sup, plan.id), 240, "plan ended")
    plan = sup.plan(plan.id)
    # phase 3 is short in the incident's state and not in this plan: the plan says so
    assert plan.state is PlanState.SHORT, plan.message
    assert "team_defense_game_summary, not in this plan" in plan.short["team_defense_zone_analysis"]
    recs = [sup.job(j).record for j in plan.jobs]
    reads = set(pipe.table("player_composite_factors").all_inputs)
    inputs = [r for r in recs if r.table in reads]
    readers = [r for r in recs if r.table == "player_composite_factors"]
    assert len(inputs) > 3 and readers
    first_reader = min(r.started_at for r in readers)
    # it started on the dates already ready, before the last of its inputs' shards ended
    assert first_reader < max(r.ended_at for r in inputs)
    assert {s["job"] for s in plan.shards} == set(plan.jobs)


def test_kill_9_of_the_runner_its_watchdog_restarts_it_and_it_adopts_the_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-02-10", max_parallel=4)
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0.1")
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase4", "phase5"])
    wait_for(lambda: len(sup.plan(plan.id).jobs) >= 3, 60, "three shards started")
    wait_for(lambda: sup.plan(plan.id).watchdog_pid is not None, 30, "its watchdog runs")
    os.kill(plan.runner_pid, signal.SIGKILL)
    # no human: the watchdog starts a new runner (within 30 s even on a loaded machine)
    wait_for(lambda: sup.plan(plan.id).runner_pid != plan.runner_pid, 30, "a new runner")
    again = sup.plan(plan.id)
    assert again.restarts[0]["by"] == "watchdog"
    assert again.restarts[0]["old_pid"] == plan.runner_pid
    assert [e["action"] for e in sup.history() if e.get("plan") == plan.id].count("plan-adopt") == 1
    wait_for(
        lambda: [e.kind for e in sup.events() if e.plan == plan.id].count("runner_restarted"),
        10,
        "a runner_restarted event",
    )
    wait_for(lambda: ended(sup, plan.id), 240, "plan ended")
    plan = sup.plan(plan.id)
    assert plan.state is PlanState.SHORT, plan.message  # phase 3 is short and not in the plan
    launches: dict[tuple[str, str], int] = {}
    for r in (sup.job(j).record for j in plan.jobs):
        if r.pid is None:  # queued by the killed runner, never started: ended as an orphan
            assert r.state is JobState.STOPPED and r.message == ORPHAN
            continue
        for d in _dates(r):
            launches[r.table, d] = launches.get((r.table, d), 0) + 1
    assert launches and max(launches.values()) == 1  # no date launched twice
    assert len(plan.jobs) == len(set(plan.jobs)) == len(sup.jobs())
    from nba_tui.sample.tables import BY_NAME
    from nba_tui.warehouse.sqlite import connect

    names = {r for r, _ in launches}
    tdefs = [BY_NAME[n] for n in names]
    con = connect(pipe.sqlite_dir, sorted({t.ref.dataset for t in tdefs}))
    try:
        for t in tdefs:
            keys = ", ".join(f'"{k}"' for k in t.key)
            sql = (
                f'SELECT COUNT(*) FROM (SELECT {keys} FROM "{t.ref.dataset}"."{t.ref.table}" '
                f"GROUP BY {keys} HAVING COUNT(*) > 1)"
            )
            assert con.execute(sql).fetchone()[0] == 0, t.name
            n = con.execute(f'SELECT COUNT(*) FROM "{t.ref.dataset}"."{t.ref.table}"').fetchone()[0]
            assert n > 0
    finally:
        con.close()


def test_pause_and_resume_a_plan(make_pipeline) -> None:  # noqa: ANN001 - fixture
    pipe = make_pipeline({"a": ["--delay", "0.3"], "b": ["--delay", "0.05"]}, max_parallel=1)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: any(v.state is JobState.RUNNING for v in sup.jobs()), 20, "a shard runs")
    paused = sup.pause_plan(plan.id)
    assert paused.paused
    mine = [v for v in sup.jobs() if v.record.plan == plan.id]
    assert mine and all(v.state in (JobState.PAUSED, JobState.DONE) for v in mine)
    assert [e["action"] for e in sup.history()].count("plan-pause") == 1
    resumed = sup.resume_plan(plan.id)
    assert not resumed.paused
    wait_for(lambda: ended(sup, plan.id), 60, "plan ended")
    plan = sup.plan(plan.id)
    assert plan.state is PlanState.DONE, plan.message
    assert {sup.job(j).record.table for j in plan.jobs} == {"a", "b"}
    assert [e.kind for e in sup.events() if e.plan == plan.id][-1] == "plan_done"
    with pytest.raises(JobError, match="already ended"):
        sup.pause_plan(plan.id)


def test_a_shard_started_as_the_plan_was_paused_is_paused_by_its_runner(
    make_pipeline,  # noqa: ANN001 - fixture
) -> None:
    """The runner's start of a shard and `pause_plan` can cross (a CI run saw a shard running
    after P): the runner pauses a never-paused running job of a paused plan on its next tick."""
    pipe = make_pipeline({"a": ["--delay", "0.3"], "b": ["--delay", "0.3"]}, max_parallel=2)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: any(v.state is JobState.RUNNING for v in sup.jobs()), 20, "a shard runs")
    sup.store.update_plan(plan.id, lambda p: setattr(p, "paused", True))  # the flag, not the jobs

    def mine() -> list:  # noqa: ANN202 - list of JobView
        return [v for v in sup.jobs() if v.record.plan == plan.id and v.state.active]

    wait_for(lambda: all(v.state is JobState.PAUSED for v in mine()), 20, "the runner paused it")
    assert mine()
    assert "the plan is paused" in Path(plan.log).read_text()
    sup.cancel_plan(plan.id)


def test_a_plan_survives_sighup_of_its_runner(make_pipeline) -> None:  # noqa: ANN001 - fixture
    pipe = make_pipeline({"a": ["--delay", "0.1"]})
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: any(v.state is JobState.RUNNING for v in sup.jobs()), 20, "a shard runs")
    wait_for(lambda: "runner" in Path(plan.log).read_text(), 10, "the runner is up")
    os.kill(plan.runner_pid, signal.SIGHUP)
    wait_for(lambda: ended(sup, plan.id), 60, "plan ended")
    assert sup.plan(plan.id).state is PlanState.DONE


def test_skip_preflight_records_the_dates_run_on_fallbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = sample_pipeline(tmp_path, start="2024-01-02", end="2024-01-20", hook=False)
    ensure_warehouse(pipe)
    snap = snapshot_once(pipe)
    soft_gaps = set(snap.tables["upcoming_player_game_context"].missing)
    wanted = set(snap.tables["player_composite_factors"].missing)
    assert soft_gaps & wanted, "the incident's state lacks upcoming contexts on Phase 4 dates"
    monkeypatch.setenv(sample.PACE_ENV, "0")
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase4"], skip_preflight=True)
    wait_for(lambda: ended(sup, plan.id), 120, "plan ended")
    plan = sup.plan(plan.id)
    degraded = set(plan.degraded["player_composite_factors"])
    assert degraded and degraded <= {d.isoformat() for d in soft_gaps & wanted}
    kinds = [e for e in sup.events() if e.kind == "degraded"]
    recorded = [*plan.degraded.values(), *plan.necessity.values()]
    assert {d for e in kinds for d in e.dates} == {d for v in recorded for d in v}
    # by choice (synthetic = 1) and by necessity (2, no betting lines), as SQL and the rule say
    con = sqlite3.connect(pipe.sqlite_dir / "nba_precompute.db")
    flags = dict(
        con.execute(
            "SELECT game_date, MAX(synthetic) FROM player_composite_factors GROUP BY 1"
        ).fetchall()
    )
    con.close()
    assert sorted(d for d, f in flags.items() if f == 1) == sorted(degraded)
    need = plan.necessity.get("player_composite_factors", [])
    assert sorted(d for d, f in flags.items() if f == 2) == need
    split = readiness.degraded_split(pipe, snapshot_once(pipe), "player_composite_factors")
    assert [[d.isoformat() for d in x] for x in split] == [need, sorted(degraded)]


def test_coverage_dropped_is_an_event(make_pipeline) -> None:  # noqa: ANN001 - fixture
    import sqlite3

    pipe = make_pipeline({"a": ["--delay", "0.3"], "b": []}, present={"b": 10})
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    wait_for(lambda: any(e.kind == "job_started" for e in sup.events()), 20, "a shard started")
    con = sqlite3.connect(pipe.sqlite_dir / "ana.db")
    con.execute("DELETE FROM b WHERE game_date = '2024-01-03'")
    con.commit()
    con.close()

    def dropped() -> list:
        return [e for e in sup.events() if e.kind == "coverage_dropped" and e.table == "b"]

    wait_for(dropped, 20, "coverage_dropped")
    assert dropped()[0].dates == ["2024-01-03"] and dropped()[0].plan == plan.id
    sup.cancel_plan(plan.id)
