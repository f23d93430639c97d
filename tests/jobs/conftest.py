"""Fixtures for the supervisor tests: a tmp pipeline whose backfill is tests/jobs/fakejob.py."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jobs_helpers import wait_for  # noqa: F401 - re-exported

from nba_tui import config

HERE = Path(__file__).parent
FAKE = HERE / "fakejob.py"


def pipeline_yaml(
    tables: dict[str, list[str]] | None = None,
    *,
    phase2: dict[str, list[str]] | None = None,
    parallel: bool = True,
    parallel2: bool = True,
    max_parallel: int = 3,
    grace: str = "1s",
    deps: dict[str, list[str]] | None = None,
) -> str:
    """A pipeline: phase `src` (table `sched`, no backfill), `p1` (tables), optional `p2`."""
    tables = tables if tables is not None else {"alpha": [], "beta": [], "gamma": []}
    deps = deps or {}

    def table(name: str, extra: list[str], ds: str) -> str:
        cmd = ["{python}", str(FAKE), "{table}", "--checkpoint", "{checkpoint}"]
        cmd += ["--db", "{warehouse}/" + ds + ".db", *extra]
        dep = deps.get(name, ["sched"])
        return (
            f"      - name: {name}\n"
            f"        table: {ds}.{name}\n"
            f"        depends_on: {dep}\n"
            f"        backfill:\n"
            f"          command: {cmd!r}\n"
            f"          checkpoint: state/checkpoints/{{table}}.json\n"
        )

    text = (
        "pipeline: test\n"
        "range: {start: 2024-01-01, end: 2024-01-10}\n"
        "expected_dates: {table: raw.sched, column: game_date}\n"
        "warehouse: {backend: sqlite, sqlite: {path: wh}}\n"
        f"jobs: {{max_parallel: {max_parallel}, log_dir: logs, state_dir: state, "
        f"stop_grace: {grace}}}\n"
        "phases:\n"
        "  - name: src\n    tables:\n      - name: sched\n        table: raw.sched\n"
        f"  - name: p1\n    parallel: {str(parallel).lower()}\n    tables:\n"
    )
    text += "".join(table(n, e, "ana") for n, e in tables.items())
    if phase2:
        text += f"  - name: p2\n    parallel: {str(parallel2).lower()}\n    tables:\n"
        text += "".join(table(n, e, "pre") for n, e in phase2.items())
    return text


DATES = [f"2024-01-{d:02d}" for d in range(1, 11)]


def make_warehouse(pipe: config.Pipeline, present: dict[str, int]) -> None:
    """raw.sched with the 10 dates of the range; `present` = {table: first N dates present}."""
    import sqlite3

    wh = pipe.sqlite_dir
    wh.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(wh / "raw.db")
    con.execute("CREATE TABLE IF NOT EXISTS sched (game_date TEXT)")
    con.executemany("INSERT INTO sched VALUES (?)", [(d,) for d in DATES])
    con.commit()
    con.close()
    for name, n in present.items():
        t = pipe.table(name)
        con = sqlite3.connect(wh / f"{t.ref.dataset}.db")
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" (game_date TEXT)')
        con.executemany(f'INSERT INTO "{name}" VALUES (?)', [(d,) for d in DATES[:n]])
        con.commit()
        con.close()


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
