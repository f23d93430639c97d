"""CloudRunDriver against the REAL Cloud Run Jobs and Cloud Logging services (opt-in).

Skipped unless NBA_TUI_LIVE_CLOUDRUN=PROJECT/REGION/JOB is set. It needs:
- Application Default Credentials (`gcloud auth application-default login`, or
  GOOGLE_APPLICATION_CREDENTIALS) with roles/run.developer and roles/logging.viewer;
- an existing Cloud Run job JOB in PROJECT/REGION whose image has nba_tui installed and whose
  command is `python` (see nba_tui.task). The test runs a tiny inline program through
  `nba_tui.task` (no warehouse needed), so any image with nba_tui works.
It starts real executions (billed task-seconds: a few cents at most) and cancels the slow one.
"""

from __future__ import annotations

import os
import time

import pytest
from waiting import wait_for

from nba_tui.config import CloudRunSettings
from nba_tui.jobs.engines.cloudrun_driver import CloudRunDriver
from nba_tui.jobs.engines.drivers import LABEL_JOB, RemoteRun, RemoteState

LIVE = os.environ.get("NBA_TUI_LIVE_CLOUDRUN", "")
pytestmark = pytest.mark.skipif(
    LIVE.count("/") != 2, reason="set NBA_TUI_LIVE_CLOUDRUN=project/region/job to run"
)
PRINT_DATES = "import sys, time\nfor d in sys.argv[1].split(','):\n    print('Processing', d, flush=True)\n    time.sleep(float(sys.argv[2]))\n"
DATES = "2024-01-02,2024-01-03,2024-01-04,2024-01-05"


def driver() -> CloudRunDriver:
    project, region, job = LIVE.split("/")
    return CloudRunDriver(
        CloudRunSettings(
            project=project, region=region, job=job, tasks=2, max_requests_per_minute=30
        )
    )


POLL_S = 5.0
"""Seconds between two looks at the real service (its quota is low)."""


def wait_ended(d: CloudRunDriver, run_id: str, timeout: float) -> RemoteRun:
    def ended() -> RemoteRun | None:
        run = d.get(run_id)
        assert run.state is not RemoteState.SUCCEEDED
        return run if run.state.ended else None

    return wait_for(ended, timeout, f"execution {run_id} to end", interval=POLL_S)


def test_live_submit_get_logs() -> None:
    d = driver()
    d.check()
    tag = f"live-{int(time.time())}"
    argv = ["python", "-c", PRINT_DATES, DATES, "0.5"]
    run_id = d.submit(argv, {"NBA_TUI_DATES": DATES, "PYTHONUNBUFFERED": "1"}, {LABEL_JOB: tag})
    run = wait_ended(d, run_id, 600)
    assert run.state is RemoteState.SUCCEEDED, run.message
    assert run.tasks == 2 and run.task_seconds > 0
    assert [r.id for r in d.find({LABEL_JOB: tag})] == [run_id]
    lines: list[str] = []
    cursor: str | None = None

    def all_logged() -> bool:
        nonlocal cursor
        batch, cursor = d.logs(run_id, cursor)
        lines.extend(batch)
        return sum("Processing" in line for line in lines) >= 4

    # Cloud Logging's ingestion delay: its lines come up to minutes after the run
    wait_for(all_logged, 180, "the 4 'Processing' lines in Cloud Logging", interval=POLL_S)
    assert sorted(line.split()[1] for line in lines if "Processing" in line) == DATES.split(",")


def test_live_cancel() -> None:
    d = driver()
    argv = ["python", "-c", PRINT_DATES, DATES, "600"]
    run_id = d.submit(
        argv, {"NBA_TUI_DATES": DATES}, {LABEL_JOB: f"live-cancel-{int(time.time())}"}
    )
    d.cancel(run_id)
    run = wait_ended(d, run_id, 600)
    assert run.state is RemoteState.CANCELLED
    d.cancel(run_id)  # idempotent once ended
