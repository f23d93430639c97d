"""`run --dry-run --argv` shows the argv `run` launches on a remote engine: on Cloud Run the
image's python and the shard's dates as a list (the tasks slice it), exactly as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloudrun_contract import ContractServer
from engine_helpers import RANGE, remote_pipeline, sample_warehouse, wait_for

from nba_tui.cli import main
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.sample.backfill import PACE_ENV


def test_cloudrun_dry_run_argv_is_the_launched_one(
    tmp_path: Path,
    cloudrun_server: ContractServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = {
        "project": cloudrun_server.project,
        "region": cloudrun_server.region,
        "job": cloudrun_server.job,
        "endpoint": cloudrun_server.endpoint,
        "tasks": 2,
        "python": "/usr/local/bin/python3",
        "max_requests_per_minute": 6000,
    }
    pipe = remote_pipeline(tmp_path, "cloudrun", settings, **RANGE)
    sample_warehouse(pipe)
    cfg = str(tmp_path / "pipeline.yaml")
    assert main(["run", "phase3", "--dry-run", "--json", "--config", cfg]) == 0
    planned = json.loads(capsys.readouterr().out)
    first = sorted(s["argv"] for s in planned["shards"] if s["start_s"] == 0)
    assert first and all(a[0] == "/usr/local/bin/python3" and "--dates" in a for a in first)
    assert main(["run", "phase3", "--dry-run", "--argv", "--config", cfg]) == 0
    listing = capsys.readouterr().out
    assert "/usr/local/bin/python3 -m nba_tui.sample.backfill" in listing
    monkeypatch.setenv(PACE_ENV, "5")  # slow: nothing ends before the first shards start
    sup = Supervisor(pipe)
    plan = sup.run_phases(["phase3"])
    try:
        wait_for(lambda: len(sup.plan(plan.id).jobs) >= len(first), 60, "first shards")
        launched = sorted(sup.job(j).record.argv for j in sup.plan(plan.id).jobs[: len(first)])
    finally:
        sup.cancel_plan(plan.id)
    assert launched == first
