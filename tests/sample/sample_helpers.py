"""Helpers shared by the sample tests (a plain module: conftest names clash across folders)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nba_tui.config import Pipeline
from nba_tui.sample.tables import DATASETS
from nba_tui.warehouse.sqlite import connect

REPO = Path(__file__).resolve().parents[2]

RunBackfill = Callable[..., "subprocess.CompletedProcess[str]"]
"""The `run_backfill` fixture: (table, *args, checkpoint=True) -> the finished process."""


@dataclass
class Project:
    """A directory holding pipeline.yaml and its warehouse (paths are relative to the yaml)."""

    root: Path
    pipeline: Pipeline

    @property
    def warehouse(self) -> Path:
        return self.pipeline.sqlite_dir

    def checkpoint(self, table: str) -> Path:
        return self.root / ".nba_tui" / "checkpoints" / f"{table}.json"

    def connect(self) -> sqlite3.Connection:
        return connect(self.warehouse, DATASETS)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self.connect()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def argv(self, table: str, *args: str, checkpoint: bool = True) -> list[str]:
        argv = [sys.executable, "-m", "nba_tui.sample.backfill", table]
        argv += ["--warehouse", str(self.warehouse)]
        if checkpoint:
            argv += ["--checkpoint", str(self.checkpoint(table))]
        return argv + list(args)


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NBA_TUI_SAMPLE_PACE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for_lines(
    proc: subprocess.Popen[str], prefix: str, count: int, timeout: float = 30
) -> list[str]:
    """Read the child's stdout until `count` lines start with `prefix` (event sync, no sleeps)."""
    assert proc.stdout is not None
    seen: list[str] = []
    hits = 0
    deadline = time.monotonic() + timeout
    while hits < count:
        assert time.monotonic() < deadline, f"timed out waiting for {prefix!r}: {seen[-5:]}"
        line = proc.stdout.readline()
        assert line, f"child ended before {count} x {prefix!r}: {seen[-5:]}"
        seen.append(line.rstrip("\n"))
        hits += line.startswith(prefix)
    return seen
