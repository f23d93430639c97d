"""Fixtures for the dashboard's behaviour tests: a real embedded warehouse and real job processes.

The warehouse is built once per session (a few seconds) and copied into each test's tmp_path, with
a fast poll. Jobs are the real sample backfill under the real supervisor, paced with
NBA_TUI_SAMPLE_PACE so they are quick but observable. Every test ends by stopping what it launched.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_helpers import proc_states, wait_for  # noqa: F401 - re-exported

from nba_tui import config
from nba_tui.config import Pipeline

REPO = Path(__file__).resolve().parents[2]
POLL = "poll: {interval: 0.5s}"


def _write_pipeline(dest: Path) -> Path:
    text = (REPO / "pipeline.yaml").read_text()
    lines = [POLL if line.startswith("poll:") else line for line in text.splitlines()]
    text = "\n".join(lines).replace("stop_grace: 10s", "stop_grace: 2s") + "\n"
    path = dest / "pipeline.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nba_tui.sample import ensure_warehouse

    root = tmp_path_factory.mktemp("template")
    ensure_warehouse(config.load(_write_pipeline(root)))
    return root


@pytest.fixture
def pipeline(
    tmp_path: Path, warehouse_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    """A private copy of the sample pipeline and its warehouse; jobs stopped afterwards."""
    root = tmp_path / "pipe"
    shutil.copytree(warehouse_template, root)
    monkeypatch.setenv("NBA_TUI_SAMPLE_PACE", "0.1")
    monkeypatch.chdir(root)
    pipe = config.load(root / "pipeline.yaml")
    yield pipe
    stop_all(pipe)


def stop_all(pipe: Pipeline) -> None:
    try:
        from nba_tui.jobs.supervisor import Supervisor
    except ImportError:
        return
    sup = Supervisor(pipe)
    for view in sup.jobs():
        if view.record.state.active:
            with contextlib.suppress(Exception):  # cleanup must go on
                sup.stop(view.record.id, grace=0.5)
