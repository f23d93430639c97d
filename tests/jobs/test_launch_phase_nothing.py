"""`launch-phase` with nothing to queue says why per table and exits 0, as `run` does: no plan
is created and no alert is sent."""

from __future__ import annotations

import pytest

from nba_tui.jobs.supervisor import Supervisor


def test_launch_phase_with_nothing_to_queue_says_why_and_exits_0(
    make_pipeline,  # noqa: ANN001 - fixture
    capsys: pytest.CaptureFixture,
) -> None:
    from nba_tui.cli import main

    pipe = make_pipeline({"a": [], "b": []}, present={"a": 10, "b": 10})
    code = main(["launch-phase", "p1", "--config", str(pipe.source)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("nothing to run: a has no missing dates in ")
    assert "; b has no missing dates in " in out
    sup = Supervisor(pipe)
    assert sup.plans() == [] and sup.events() == [] and sup.jobs() == []
