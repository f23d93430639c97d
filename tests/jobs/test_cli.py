"""`nba-tui jobs|launch|pause|resume|stop|restart|history|launch-phase`: exit codes and --json."""

from __future__ import annotations

import json

import pytest
from jobs_helpers import wait_for

from nba_tui.cli import main
from nba_tui.cli.jobs import render_jobs
from nba_tui.jobs.supervisor import Supervisor


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_job_commands_exit_codes_and_json(make_pipeline, capsys) -> None:
    pipe = make_pipeline({"alpha": ["--delay", "0.5"], "beta": ["--delay", "0"]})
    cfg = ["--config", str(pipe.source)]
    code, out, _ = run(capsys, "jobs", *cfg, "--json")
    assert (code, json.loads(out)) == (0, [])

    code, out, _ = run(capsys, "launch", "alpha", *cfg, "--json")
    job = json.loads(out)
    assert code == 0 and job["state"] == "running" and job["pid"] and job["table"] == "alpha"
    code, _, err = run(capsys, "launch", "alpha", *cfg)
    assert code == 1 and "already has an active job" in err
    assert run(capsys, "launch", "nope", *cfg)[0] == 2
    assert run(capsys, "launch", "beta", "--dates", "2024-13-01", *cfg)[0] == 2
    assert (
        run(capsys, "launch", "beta", "--dates", "2024-01-02", "--start", "2024-01-01", *cfg)[0]
        == 2
    )

    code, out, _ = run(capsys, "pause", "alpha", *cfg, "--json")  # by table name
    assert code == 0 and json.loads(out)["state"] == "paused"
    code, out, _ = run(capsys, "resume", job["id"], *cfg, "--json")
    assert code == 0 and json.loads(out)["state"] == "running"
    code, out, _ = run(capsys, "stop", job["id"], "--grace", "1", *cfg, "--json")
    assert code == 0 and json.loads(out)["state"] == "stopped"
    code, _, err = run(capsys, "pause", job["id"], *cfg)
    assert code == 1 and "stopped" in err
    assert run(capsys, "pause", "zzzzzz", *cfg)[0] == 2
    code, out, _ = run(capsys, "restart", job["id"], *cfg, "--json")
    new = json.loads(out)
    assert code == 0 and new["restarted_from"] == job["id"] and new["argv"] == job["argv"]
    run(capsys, "stop", new["id"], "--grace", "1", *cfg)

    code, out, _ = run(capsys, "launch", "beta", "--dates", "2024-01-02,2024-01-05", *cfg)
    assert code == 0 and "--dates 2024-01-02,2024-01-05" in out

    code, out, _ = run(capsys, "history", *cfg, "--json")
    acts = json.loads(out)
    assert [a["action"] for a in acts] == [
        "launch",
        "pause",
        "resume",
        "stop",
        "restart",
        "stop",
        "launch",
    ]
    assert acts[0]["argv"] == job["argv"]
    code, out, _ = run(capsys, "history", *cfg)
    assert code == 0 and "fakejob.py alpha" in out

    sup = Supervisor(pipe)
    wait_for(lambda: not sup.active("beta"), what="beta done")
    code, out, _ = run(capsys, "jobs", *cfg)
    assert code == 0 and all(len(line) <= 80 for line in out.splitlines())
    assert out.splitlines()[0].split()[:3] == ["ID", "TABLE", "STATE"]
    assert len(out.splitlines()) == 4


def test_launch_missing_and_phase_preflight(make_pipeline, capsys) -> None:
    pipe = make_pipeline(
        {"alpha": ["--delay", "0"]},
        phase2={"delta": ["--delay", "0"]},
        present={"alpha": 7},
        deps={"delta": ["alpha"]},
    )
    cfg = ["--config", str(pipe.source)]
    code, out, err = run(capsys, "launch-phase", "p2", *cfg)
    assert code == 1 and "alpha at 70.0%" in err and "--skip-preflight" in err
    code, out, _ = run(capsys, "launch", "alpha", "--missing", *cfg, "--json")
    job = json.loads(out)
    # one contiguous gap: asked for as a range, not a --dates list
    assert code == 0 and job["dates"] is None
    assert (job["start"], job["end"]) == ("2024-01-08", "2024-01-10")
    assert job["argv"][-4:] == ["--start-date", "2024-01-08", "--end-date", "2024-01-10"]
    sup = Supervisor(pipe)
    wait_for(lambda: not sup.active("alpha"), what="alpha done")
    code, out, _ = run(capsys, "launch-phase", "p2", *cfg, "--json")
    plan = json.loads(out)
    assert code == 0 and plan["phases"] == ["p2"] and len(plan["jobs"]) == 1
    wait_for(lambda: sup.plans()[0].state == "done", what="plan done")
    assert run(capsys, "launch-phase", "nope", *cfg)[0] == 2
    code, out, _ = run(capsys, "plans", *cfg)
    assert code == 0 and plan["id"] in out


def test_render_jobs_fits_80_columns() -> None:
    from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress

    rec = JobRecord(
        "abc123",
        "t" * 40,
        ["x"],
        "",
        0.0,
        "u",
        state=JobState.FAILED,
        pid=4194304,
        started_at=0.0,
        ended_at=400000.0,
        exit_code=137,
    )
    v = JobView(rec, Progress("2024-01-01", 5, 10, 1234.5, 99999.0))
    for line in render_jobs([v]).splitlines():
        assert len(line) <= 80, line
