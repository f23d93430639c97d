"""Helpers of the autopilot CLI tests (watch, report, plan control), a plain module because
conftest names clash across test folders: one sample warehouse built per session, copied per
test so a test may delete rows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nba_tui import config as cfg
from nba_tui.sample import build_warehouse

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", name="sample_built")
def sample_built_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample-built")
    shutil.copy(REPO / "pipeline.yaml", root / "pipeline.yaml")
    build_warehouse(cfg.load(root / "pipeline.yaml"))
    return root


@pytest.fixture(name="sample")
def sample_fixture(sample_built: Path, tmp_path: Path) -> Path:
    """A private copy of the sample project (pipeline.yaml + warehouse)."""
    dst = tmp_path / "sample"
    shutil.copytree(sample_built, dst)
    return dst


def run_cli(proj: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`nba-tui ARGS --config proj/pipeline.yaml` in a subprocess, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["NBA_TUI_SAMPLE_PACE"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(proj / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=proj,
        check=False,
    )
