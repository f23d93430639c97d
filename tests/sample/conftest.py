"""Fixtures for the sample warehouse tests: one real build per session, copied per test.

The build takes a few seconds; copying its directory takes milliseconds, so every test that
writes gets a private warehouse without paying for a rebuild.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sample_helpers import REPO, Project, clean_env

from nba_tui import config as cfg
from nba_tui.sample import build_warehouse
from nba_tui.sample.build import BuildStats


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildStats]:
    root = tmp_path_factory.mktemp("sample-built")
    shutil.copy(REPO / "pipeline.yaml", root / "pipeline.yaml")
    stats = build_warehouse(cfg.load(root / "pipeline.yaml"))
    return root, stats


@pytest.fixture
def project(built: tuple[Path, BuildStats], tmp_path: Path) -> Project:
    src, _ = built
    dst = tmp_path / "proj"
    shutil.copytree(src, dst)
    return Project(dst, cfg.load(dst / "pipeline.yaml"))


@pytest.fixture
def run_backfill(project: Project) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(
        table: str, *args: str, checkpoint: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            project.argv(table, *args, checkpoint=checkpoint),
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=timeout,
            check=False,
        )

    return run
