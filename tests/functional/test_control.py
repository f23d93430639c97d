"""JobControl without a terminal: which job actions apply to a row, per job state, and what they do.

The rules are checked over the real pipeline, a fixed coverage snapshot and job records in every
state; the calls are checked against the real supervisor and a real (paced) sample job.
"""

from __future__ import annotations

import pytest
from fakes import FIXED_T, fixed_snapshot
from waiting import wait_for

from nba_tui.config import Pipeline
from nba_tui.jobs.model import JobRecord, JobState, JobView, Plan, Progress
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.tui.control import JOB_ACTIONS, JobControl, Selection
from nba_tui.tui.joblists import describe, latest_per_table

SHORT = "team_defense_game_summary"
"""Short of its threshold in the fixed snapshot, with a backfill."""
COMPLETE = "player_game_summary"
"""Complete in the fixed snapshot, with a backfill."""


def view(table: str, state: JobState, created: float = FIXED_T, n: int = 1) -> JobView:
    rec = JobRecord(
        id=f"{table[:6]}-{n}",
        table=table,
        argv=["python", "-m", "nba_tui.sample.backfill", table],
        log="/dev/null",
        created_at=created,
        user="test",
        state=state,
        pid=4242,
    )
    return JobView(rec, Progress())


@pytest.fixture
def control(pipeline: Pipeline) -> JobControl:
    ctl = JobControl(pipeline, Supervisor(pipeline))
    ctl.snapshot = fixed_snapshot(pipeline)
    return ctl


def on(ctl: JobControl, table: str, state: JobState | None) -> set[str]:
    ctl.jobs = {} if state is None else {table: view(table, state)}
    return set(ctl.actions(Selection.of(ctl.pipeline, table)))


LAUNCHES = {"launch", "launch_missing", "launch_phase"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, LAUNCHES),
        (JobState.QUEUED, {"stop", "launch_phase"}),
        (JobState.RUNNING, {"pause", "stop", "launch_phase"}),
        (JobState.PAUSED, {"resume", "stop", "launch_phase"}),
        (JobState.DONE, LAUNCHES),
        (JobState.FAILED, LAUNCHES | {"restart"}),
        (JobState.STOPPED, LAUNCHES | {"restart"}),
        (JobState.LOST, LAUNCHES | {"restart"}),
    ],
)
def test_actions_per_job_state(control: JobControl, state: JobState | None, expected) -> None:
    assert on(control, SHORT, state) == expected
    for action in JOB_ACTIONS:
        sel = Selection.of(control.pipeline, SHORT)
        assert (control.call(action, sel) is not None) == (action in expected), action


def test_rows_without_something_to_do(control: JobControl, pipeline: Pipeline) -> None:
    assert on(control, COMPLETE, None) == {"launch", "launch_phase"}  # nothing missing
    assert on(control, "nbac_schedule", None) == set()  # phase2: no backfill programs
    phase_row = Selection.of(pipeline, "phase:phase3")
    assert phase_row == Selection(None, "phase3")
    assert control.actions(phase_row) == ["launch_phase"]
    control.snapshot = None  # before the first poll: nothing to count missing dates against
    assert on(control, SHORT, None) == {"launch"}


def test_read_only_or_no_supervisor_offers_nothing(pipeline: Pipeline) -> None:
    for ctl in (
        JobControl(pipeline, Supervisor(pipeline), read_only=True),
        JobControl(pipeline, None),
    ):
        ctl.snapshot = fixed_snapshot(pipeline)
        for state in (None, *JobState):
            assert on(ctl, SHORT, state) == set(), (ctl.read_only, state)


def test_stop_and_a_failing_phase_launch_ask_first(control: JobControl, pipeline: Pipeline) -> None:
    control.jobs = {SHORT: view(SHORT, JobState.RUNNING)}
    stop = control.call("stop", Selection.of(pipeline, SHORT))
    assert stop is not None and stop.confirm is not None
    assert "SIGKILL" in " ".join(stop.confirm.lines)
    pause = control.call("pause", Selection.of(pipeline, SHORT))
    assert pause is not None and pause.confirm is None
    # phase4's inputs are short in the fixed snapshot: the launch says what would degrade.
    launch = control.call("launch_phase", Selection.of(pipeline, "phase:phase4"))
    assert launch is not None and launch.confirm is not None
    assert any(SHORT in line for line in launch.confirm.lines)


def test_latest_per_table_prefers_the_active_job() -> None:
    old_running = view(SHORT, JobState.RUNNING, created=FIXED_T - 100, n=1)
    new_failed = view(SHORT, JobState.FAILED, created=FIXED_T, n=2)
    newer_done = view(COMPLETE, JobState.DONE, created=FIXED_T + 1, n=3)
    older_done = view(COMPLETE, JobState.DONE, created=FIXED_T - 1, n=4)
    got = latest_per_table([new_failed, old_running, older_done, newer_done])
    assert got[SHORT] is old_running and got[COMPLETE] is newer_done


def test_calls_go_to_the_supervisor(pipeline: Pipeline) -> None:
    """launch missing, pause, resume, stop, restart: each call changes the real job's state."""
    ctl = JobControl(pipeline, Supervisor(pipeline))
    ctl.snapshot = snapshot_once(pipeline)
    sel = Selection.of(pipeline, SHORT)

    def do(action: str) -> str:
        call = ctl.call(action, sel)
        assert call is not None, f"{action} should apply to {ctl.jobs.get(SHORT)}"
        return call.done(call.run())

    def state_is(state: JobState) -> bool:
        ctl.jobs = ctl.fetch_jobs()
        return ctl.jobs[SHORT].state is state

    assert SHORT in do("launch_missing")
    wait_for(lambda: state_is(JobState.RUNNING), what="running")
    first = ctl.jobs[SHORT].id
    do("pause")
    wait_for(lambda: state_is(JobState.PAUSED), what="paused")
    do("resume")
    wait_for(lambda: state_is(JobState.RUNNING), what="running again")
    assert do("stop") == f"stopped {first}"
    wait_for(lambda: state_is(JobState.STOPPED), what="stopped")
    do("restart")
    wait_for(lambda: ctl.fetch_jobs()[SHORT].id != first, what="a restarted job")
    ctl.jobs = ctl.fetch_jobs()
    assert ctl.jobs[SHORT].record.restarted_from == first
    assert [e["action"] for e in ctl.history()][:5] == [
        "launch",
        "pause",
        "resume",
        "stop",
        "restart",
    ]


def test_results_read_as_one_line() -> None:
    plan = Plan(id="p1", kind="phase", phases=["phase4"], user="test", created_at=FIXED_T)
    plan.jobs = ["j1", "j2"]
    assert describe(plan) == "plan p1: 2 jobs queued (phase4)"
    assert describe(view(SHORT, JobState.RUNNING)) == f"{SHORT} (team_d-1)"
    assert describe(None) == "done"


def test_m_offers_only_the_dates_something_can_fill(pipeline: Pipeline) -> None:
    """The upcoming contexts lack dates where no betting lines exist: `m` counts the fillable
    ones, names the rest and why, and does not apply where nothing can be filled."""
    import datetime as dt

    from nba_tui import readiness

    upcoming = "upcoming_player_game_context"
    ctl = JobControl(pipeline, Supervisor(pipeline))
    ctl.snapshot = snap = snapshot_once(pipeline)
    o = readiness.outlook(pipeline, snap, upcoming)
    missing = snap.tables[upcoming].missing
    assert o.fill and o.never and len(o.fill) + len(o.never) == len(missing)
    assert set(o.never.values()) == {"bettingpros_player_props"}
    props = snap.tables["bettingpros_player_props"]
    assert set(o.never) == {d for d in missing if not props.rows.get(d)}
    call = ctl.call("launch_missing", Selection.of(pipeline, upcoming))
    assert call is not None
    assert call.title == (
        f"launch {upcoming} ({len(o.fill)} missing dates; {len(o.never)} cannot be filled: "
        "no rows in bettingpros_player_props there, which nothing backfills)"
    )
    # l's question says what m launches, by the same count
    redo = ctl.call("launch", Selection.of(pipeline, upcoming))
    assert redo is not None and redo.confirm is not None
    assert redo.confirm.lines[-1] == (
        f"m launches only the {len(o.fill)} missing dates; {len(o.never)} cannot be filled: "
        "no rows in bettingpros_player_props there, which nothing backfills."
    )
    # Before betting lines existed nothing can fill the gap: m does not apply, and says why.
    ctl.snapshot = early = snapshot_once(pipeline, dt.date(2021, 10, 1), dt.date(2022, 12, 31))
    n = len(early.tables[upcoming].missing)
    sel = Selection.of(pipeline, upcoming)
    assert n and ctl.call("launch_missing", sel) is None
    assert ctl.why_not("launch_missing", sel) == (
        f"{upcoming}: none of its {n} missing dates can be filled: no rows in "
        "bettingpros_player_props there, which nothing backfills"
    )
