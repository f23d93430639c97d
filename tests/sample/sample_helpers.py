"""Helpers shared by the sample tests (a plain module: conftest names clash across folders)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from waiting import wait_for

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
    """The child's stdout lines read until `count` of them start with `prefix`; fails after
    `timeout` s (a reader thread takes the lines, so a silent child cannot block the test) or
    when the child ends first."""
    stdout = proc.stdout
    assert stdout is not None
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        hits = 0
        for line in stdout:
            seen.append(line.rstrip("\n"))
            hits += line.startswith(prefix)
            if hits >= count:
                found.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: not reader.is_alive(), timeout, f"{count} x {prefix!r} from the child")
    assert found.is_set(), f"child ended before {count} x {prefix!r}: {seen[-5:]}"
    return seen
