"""A plan ends truthfully, and the report's Next is never a no-op: over real plans (fake backfill
programs, real processes) ending all met, short, quarantined and stopped by hand, the plan's
state and event say so, and Next is a command that launches something (its dry run's first wave
is not empty, or its dates are missing) or `nba-tui status` with every threshold met."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui import config
from nba_tui.jobs import decide
from nba_tui.jobs.errors import NothingToRun
from nba_tui.jobs.model import Plan, PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.morning_report import build_report


def _pipe(make_pipeline, tables: dict, present: dict, **kw: object) -> config.Pipeline:  # noqa: ANN001
    """The fake-program pipeline (tests/jobs/conftest.py) with no retries: a failure is final."""
    pipe = make_pipeline(tables, present=present, **kw)
    text = pipe.source.read_text()
    pipe.source.write_text(text.replace("stop_grace: 1s}", "stop_grace: 1s, retries: 0}"))
    return config.load(pipe.source)


def _ended(sup: Supervisor, plan: Plan) -> Plan:
    wait_for(lambda: sup.plan(plan.id).state not in ("running", "lost"), 60, "plan ended")
    return sup.plan(plan.id)


def _next_does_something(pipe: config.Pipeline, sup: Supervisor, since: float) -> str:
    """The report's Next, checked: it launches something, or it is status and all is met."""
    snap = snapshot_once(pipe)
    rep = build_report(pipe, sup, snap, since)
    words = rep.next_command.split()
    assert words[0] == "nba-tui", rep.next_command
    if words[1] == "status":
        assert all(c.ok for c in snap.tables.values()), rep.next_reason
        everything = [p.name for p in pipe.phases]  # the one scheduler, across ALL phases
        assert not decide.first_tick(pipe, snap, everything), rep.next_reason
    elif words[1] == "run":
        phases = [w for w in words[2:] if not w.startswith("--")]
        skip = "--skip-preflight" in words
        assert decide.first_tick(pipe, snap, phases, skip_preflight=skip), rep.next_command
    elif words[1] == "launch":
        days = words[words.index("--dates") + 1].split(",")
        missing = {d.isoformat() for d in snap.tables[words[2]].missing}
        assert set(days) <= missing, rep.next_command
    else:
        raise AssertionError(f"unexpected Next: {rep.next_command}")
    return rep.next_command


def _kinds(sup: Supervisor, plan: Plan) -> list[str]:
    return [e.kind for e in sup.events() if e.plan == plan.id and e.kind.startswith("plan_")]


def test_all_met_is_done_and_next_is_status(make_pipeline) -> None:  # noqa: ANN001
    pipe = _pipe(make_pipeline, {"a": []}, {"a": 7})
    sup = Supervisor(pipe)
    t0 = time.time() - 1
    plan = _ended(sup, sup.run_phases(["p1"]))
    assert plan.state is PlanState.DONE and _kinds(sup, plan) == ["plan_done"]
    assert _next_does_something(pipe, sup, t0) == "nba-tui status"
    # and now nothing is left: no plan is created, no alert is sent
    with pytest.raises(NothingToRun, match="nothing to run: every table of p1"):
        sup.run_phases(["p1"])
    assert [p.id for p in sup.plans()] == [plan.id]


def test_short_names_why_and_next_runs_again(make_pipeline) -> None:  # noqa: ANN001
    pipe = _pipe(make_pipeline, {"a": ["--n", "1"]}, {})
    sup = Supervisor(pipe)
    t0 = time.time() - 1
    plan = _ended(sup, sup.run_phases(["p1"]))
    assert plan.state is PlanState.SHORT and _kinds(sup, plan) == ["plan_short"]
    assert "ended by its program without rows" in plan.short["a"]
    assert plan.message.startswith("short: a: ")
    assert _next_does_something(pipe, sup, t0) == "nba-tui run p1"


def test_quarantined_is_failed_and_next_relaunches_the_dates(make_pipeline) -> None:  # noqa: ANN001
    pipe = _pipe(make_pipeline, {"a": ["--fail-at", "1"]}, {"a": 8})
    sup = Supervisor(pipe)
    t0 = time.time() - 1
    plan = _ended(sup, sup.run_phases(["p1"]))
    assert plan.state is PlanState.FAILED and _kinds(sup, plan) == ["plan_failed"]
    assert plan.quarantined == {"a": ["2024-01-09", "2024-01-10"]}
    line = plan.short["a"]
    assert "2 quarantined after 1 attempt (ERROR processing 2024-01-" in line
    assert "nba-tui launch a --dates 2024-01-09,2024-01-10" in line
    assert _next_does_something(pipe, sup, t0).startswith("nba-tui launch a --dates")


def test_stopped_by_hand_and_next_runs_what_is_left(make_pipeline) -> None:  # noqa: ANN001
    pipe = _pipe(make_pipeline, {"a": ["--delay", "0.5"], "b": [], "c": []}, {}, deps={"c": ["a"]})
    sup = Supervisor(pipe)
    t0 = time.time() - 1
    plan = sup.launch_phase("p1", snapshot_once(pipe))
    a = wait_for(
        lambda: next((v for v in sup.jobs() if v.record.table == "a" and v.record.pid), None)
    )
    sup.stop(a.id, grace=1)
    plan = _ended(sup, plan)
    assert plan.state is PlanState.STOPPED and _kinds(sup, plan) == ["plan_short"]
    assert "stopped by hand" in plan.short["a"] and "input a, stopped by hand" in plan.short["c"]
    assert _next_does_something(pipe, sup, t0) == "nba-tui run p1"


RAW_YAML = """pipeline: raw
range: {start: 2024-01-01, end: 2024-01-10}
expected_dates: {table: raw.sched, column: game_date}
warehouse: {backend: sqlite, sqlite: {path: wh}}
jobs: {max_parallel: 2, log_dir: logs, state_dir: state}
x-bf: &bf
  command: [backfill, "{table}"]
  range_args: [--from, "{start}", --to, "{end}"]
  dates_args: [--dates, "{dates}"]
phases:
  - name: src
    tables:
      - {name: sched, table: raw.sched}
      - {name: feed, table: ana.feed}
  - name: p1
    tables:
      - {name: a, table: ana.a, depends_on: [feed], backfill: *bf}
"""


def test_next_names_the_missing_load_of_a_table_without_a_backfill(tmp_path: Path) -> None:
    from autopilot_helpers import small_warehouse

    from nba_tui.nextstep import short_next

    (tmp_path / "pipeline.yaml").write_text(RAW_YAML)
    pipe = config.load(tmp_path / "pipeline.yaml")
    dates = [f"2024-01-{d:02d}" for d in range(1, 11)]
    small_warehouse(pipe, dates, {"feed": 5, "a": 5})  # a has every date feed has
    snap = snapshot_once(pipe)
    assert not decide.first_tick(pipe, snap, ["p1"])  # `run p1` would do nothing
    command, why = short_next(pipe, snap)
    assert command == "nba-tui gaps feed"
    assert "feed (ana.feed) has no backfill" in why and "lacks 5 dates" in why
    assert "then `nba-tui run p1`" in why
    with pytest.raises(NothingToRun, match="held by input feed that nothing fills"):
        Supervisor(pipe).run_phases(["p1"])


def test_run_with_nothing_to_do_says_why_exits_0_and_alerts_nothing(
    make_pipeline,  # noqa: ANN001 - fixture
    capsys: pytest.CaptureFixture,
) -> None:
    from nba_tui.cli import main

    pipe = _pipe(make_pipeline, {"a": []}, {"a": 10})
    code = main(["run", "p1", "--config", str(pipe.source)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("nothing to run: every table of p1")
    sup = Supervisor(pipe)
    assert sup.plans() == [] and sup.events() == []


def _with_feed(tmp_path: Path, tables: dict, deps: dict, feed: int) -> config.Pipeline:
    """The fake-program pipeline (no retries) plus raw.feed (no backfill) with its first `feed`
    dates."""
    import sqlite3

    from jobs_helpers import DATES, make_warehouse, pipeline_yaml

    text = pipeline_yaml(tables, deps=deps).replace(
        "stop_grace: 1s}", "stop_grace: 1s, retries: 0}"
    )
    raw = "      - name: sched\n        table: raw.sched\n"
    text = text.replace(raw, raw + "      - name: feed\n        table: raw.feed\n")
    (tmp_path / "pipeline.yaml").write_text(text)
    pipe = config.load(tmp_path / "pipeline.yaml")
    make_warehouse(pipe, {})
    con = sqlite3.connect(pipe.sqlite_dir / "raw.db")
    con.execute("CREATE TABLE feed (game_date TEXT)")
    con.executemany("INSERT INTO feed VALUES (?)", [(d,) for d in DATES[:feed]])
    con.commit()
    con.close()
    return pipe


def test_stopped_names_only_what_a_human_stopped_and_counts_unfillable_dates(
    tmp_path: Path,
) -> None:
    pipe = _with_feed(tmp_path, {"a": ["--delay", "0.5"], "c": []}, {"a": ["feed"], "c": ["a"]}, 6)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    a = wait_for(
        lambda: next((v for v in sup.jobs() if v.record.table == "a" and v.record.pid), None)
    )
    sup.stop(a.id, grace=1)
    plan = _ended(sup, plan)
    assert plan.state is PlanState.STOPPED and _kinds(sup, plan) == ["plan_short"]
    assert plan.stopped_tables == ["a"]  # c was not stopped: its dates wait for a
    line = plan.short["a"]
    assert "4 held by input feed that nothing fills" in line, line
    left = len(snapshot_once(pipe).tables["a"].missing) - 4
    assert left > 0 and f"{left} stopped by hand" in line, line
    assert "stopped by hand" not in plan.short["c"].split("held by input a")[0], plan.short["c"]
    assert plan.message.startswith("stopped: a; c: "), plan.message
    event = next(e for e in sup.events() if e.plan == plan.id and e.kind == "plan_short")
    assert event.detail == plan.message


def test_next_runs_every_phase_with_fillable_dates_even_above_thresholds(tmp_path: Path) -> None:
    """A night of p2 only: b meets its threshold, but a (p1) lacks 3 dates that a run fills
    and that hold 3 of b's. Next runs p1 and p2, never `status` nor `run p2` alone."""
    from jobs_helpers import make_warehouse, pipeline_yaml

    text = pipeline_yaml({"a": []}, phase2={"b": []}, deps={"b": ["a"]})
    text = text.replace("stop_grace: 1s}", "stop_grace: 1s, retries: 0}")
    for ref in ("ana.a", "pre.b"):
        text = text.replace(f"table: {ref}\n", f"table: {ref}\n        min_coverage: 0.5\n")
    (tmp_path / "pipeline.yaml").write_text(text)
    pipe = config.load(tmp_path / "pipeline.yaml")
    make_warehouse(pipe, {"a": 7})
    sup = Supervisor(pipe)
    t0 = time.time() - 1
    plan = _ended(sup, sup.run_phases(["p2"]))
    snap = snapshot_once(pipe)
    assert plan.state is PlanState.DONE and all(c.ok for c in snap.tables.values())
    assert len(snap.tables["a"].missing) == 3 and len(snap.tables["b"].missing) == 3
    assert _next_does_something(pipe, sup, t0) == "nba-tui run p1 p2"
    # that run fills them all; then, and only then, Next is status
    plan = _ended(sup, sup.run_phases(["p1", "p2"]))
    assert plan.state is PlanState.DONE
    assert not any(c.missing for c in snapshot_once(pipe).tables.values())
    assert _next_does_something(pipe, sup, t0) == "nba-tui status"
