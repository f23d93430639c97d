"""A plan runner whose starts fail on the state directory (read-only, full) goes on: the plan
does not end, and sends no end event, while something could still start; once the directory
is writable again the night ends `done`, with one `plan_done`."""

from __future__ import annotations

import errno

import pytest
from jobs_helpers import wait_for

from nba_tui.jobs import events, forecast
from nba_tui.jobs.autopilot import Autopilot
from nba_tui.jobs.model import PlanState
from nba_tui.jobs.plan_lifecycle import PlanLifecycle
from nba_tui.jobs.supervisor import Supervisor

ENDS = ("plan_done", "plan_short", "plan_failed")


def test_starts_failing_on_the_state_dir_do_not_end_the_plan(
    make_pipeline,  # noqa: ANN001 - fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = make_pipeline({"a": [], "b": []}, max_parallel=2)
    # this test is the runner: the plan's own runner process is not spawned
    monkeypatch.setattr(PlanLifecycle, "_start_runner", lambda self, plan, adopt=False: plan)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    pilot = Autopilot(sup, plan.id)
    real = sup.queue

    def read_only(*a: object, **kw: object) -> object:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(sup, "queue", read_only)
    for _ in range(3):
        assert pilot.tick() is None  # nothing runs, nothing started: still not the end
    assert sup.plan(plan.id).state is PlanState.RUNNING
    assert not [e for e in events.read_events(sup.store) if e.kind in ENDS]
    monkeypatch.setattr(sup, "queue", real)
    codes: list[int | None] = []
    wait_for(lambda: codes.append(pilot.tick()) or codes[-1] is not None, 120, "plan ended")
    assert codes[-1] == 0 and sup.plan(plan.id).state is PlanState.DONE
    assert [e.kind for e in events.read_events(sup.store) if e.kind in ENDS] == ["plan_done"]


def test_a_guessed_table_s_first_report_brings_a_new_forecast_at_once(
    make_pipeline,  # noqa: ANN001 - fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first forecast guesses every rate (no history); as soon as a shard of a guessed
    table reports, the runner forecasts again with its rate, not `forecast.EVERY` later."""
    pipe = make_pipeline({"a": ["--delay", "0.2"]}, max_parallel=1)
    monkeypatch.setattr(PlanLifecycle, "_start_runner", lambda self, plan, adopt=False: plan)
    monkeypatch.setattr(forecast, "EVERY", 10_000.0)  # only news brings a new forecast
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    pilot = Autopilot(sup, plan.id)
    assert pilot.tick() is None
    first = sup.plan(plan.id)
    assert first.forecast_at is not None and first.forecast_note  # rates guessed, and said
    assert pilot.guessed == {"a"}
    wait_for(
        lambda: pilot.tick() is not None or sup.plan(plan.id).forecast_at != first.forecast_at,
        120,
        "a second forecast",
    )
    again = sup.plan(plan.id)
    assert again.forecast_at != first.forecast_at and pilot.heard == {"a"}
    assert not pilot.guessed and not again.forecast_note  # a's rate is its own now
