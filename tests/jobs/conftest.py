"""Fixtures for the supervisor tests: a tmp pipeline whose backfill is tests/jobs/fakejob.py."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jobs_helpers import (  # noqa: E402, F401
    DATES,
    FAKE,
    HERE,
    make_warehouse,
    pipeline_yaml,
    wait_for,  # noqa: F401 - re-exported
)

from nba_tui import config


@pytest.fixture
def make_pipeline(tmp_path: Path) -> Callable[..., config.Pipeline]:
    def make(*args: object, present: dict[str, int] | None = None, **kw: object):
        path = tmp_path / "pipeline.yaml"
        path.write_text(pipeline_yaml(*args, **kw))  # type: ignore[arg-type]
        pipe = config.load(path)
        make_warehouse(pipe, present or {})
        return pipe

    return make


@pytest.fixture(autouse=True)
def _reap_sessions(tmp_path: Path) -> Iterator[None]:
    """Never leave a test's jobs running: kill every session recorded in the tmp state dir."""
    yield
    import json

    from nba_tui.jobs.procs import session_members

    for rec_path in (tmp_path / "state" / "jobs").glob("*.json"):
        if not rec_path.is_file():  # a planted FIFO or directory (test_hardening)
            continue
        try:
            rec = json.loads(rec_path.read_text())
        except (ValueError, OSError):
            continue
        sid = rec.get("sid")
        if sid and sid != os.getsid(0):
            for st in session_members(sid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(st.pid, signal.SIGKILL)
    plan_paths = [*(tmp_path / "state" / "plans").glob("*.json")]
    plan_paths += (tmp_path / ".nba_tui" / "plans").glob("*.json")
    for plan_path in plan_paths:
        try:
            data = json.loads(plan_path.read_text())
        except (ValueError, OSError):
            continue
        # the watchdog first: it would restart a runner killed before it
        for key in ("watchdog_pid", "runner_pid"):
            pid = data.get(key)
            if pid:
                from nba_tui.jobs.procs import proc_stat

                st = proc_stat(pid)
                if st and st.session == pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
