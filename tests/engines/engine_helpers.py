"""A short-range copy of the shipped sample pipeline whose jobs run on a remote engine."""

from __future__ import annotations

import atexit
import json
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from waiting import wait_for  # noqa: F401 - the engine tests import it from here

from nba_tui import config
from nba_tui.config import Pipeline
from nba_tui.jobs.model import JobState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample import ensure_warehouse

ROOT = Path(__file__).resolve().parents[2]
TABLE = "upcoming_player_game_context"
"""A Phase 3 table whose input is complete in the sample and which lacks 12 dates in RANGE."""
RANGE = {"start": "2023-12-01", "end": "2024-02-15"}


def remote_pipeline(tmp: Path, engine: str, settings: dict, *, start: str, end: str) -> Pipeline:
    """The shipped pipeline.yaml narrowed to `start..end`, its jobs on `engine`, named after
    `tmp` (the engine's labels then tell one test's runs from another's on a shared engine)."""
    text = (ROOT / "pipeline.yaml").read_text()
    text = re.sub(r"(?m)^pipeline: .*$", f"pipeline: nba {tmp.name[-40:]}", text)
    text = re.sub(r"(?m)^range: .*$", f"range: {{start: {start}, end: {end}}}", text)
    jobs = {
        "engine": engine,
        engine: settings,
        "max_parallel": 4,
        "log_dir": "logs",
        "state_dir": ".nba_tui",
        "stop_grace": "2s",
        "retries": 0,
    }
    text = re.sub(r"(?ms)^jobs: \{.*?\}", "jobs: " + json.dumps(jobs), text)
    (tmp / "pipeline.yaml").write_text(text)
    return config.load(tmp / "pipeline.yaml")


_BUILT: dict[tuple[str, str], Path] = {}


def sample_warehouse(pipe: Pipeline) -> None:
    """The sample warehouse for `pipe`: built once per range in a session, then copied (a build
    takes seconds; the tests change their copy)."""
    key = (pipe.range.start.isoformat(), pipe.range.end.isoformat())
    if key not in _BUILT:
        ensure_warehouse(pipe)
        keep = Path(tempfile.mkdtemp(prefix="nbawh"))
        atexit.register(shutil.rmtree, keep, True)
        pristine = keep / "warehouse"
        shutil.copytree(pipe.sqlite_dir, pristine)
        _BUILT[key] = pristine
        return
    shutil.copytree(_BUILT[key], pipe.sqlite_dir)


INPUT = "bettingpros_player_props"
"""TABLE's input: the sample lacks it on one date, which TABLE's backfill skips."""


def missing(pipe: Pipeline, table: str = TABLE) -> list[str]:
    return [d.isoformat() for d in snapshot_once(pipe).tables[table].missing]


def unfillable(pipe: Pipeline) -> list[str]:
    """TABLE's missing dates its backfill cannot fill (its input lacks them)."""
    return sorted(set(missing(pipe)) & set(missing(pipe, INPUT)))


def fillable(pipe: Pipeline) -> list[str]:
    """TABLE's missing dates its backfill can fill: what `launch_missing` launches."""
    never = set(unfillable(pipe))
    return [d for d in missing(pipe) if d not in never]


def duplicate_keys(pipe: Pipeline, table: str = TABLE) -> int:
    """Rows of `table` whose key is written more than once (0: no date was run twice)."""
    from nba_tui.sample.tables import BY_NAME
    from nba_tui.warehouse.sqlite import connect

    t = BY_NAME[table]
    con = connect(pipe.sqlite_dir, [t.ref.dataset])
    try:
        keys = ", ".join(f'"{k}"' for k in t.key)
        sql = (
            f'SELECT COUNT(*) FROM (SELECT {keys} FROM "{t.ref.dataset}"."{t.ref.table}" '
            f"GROUP BY {keys} HAVING COUNT(*) > 1)"
        )
        return int(con.execute(sql).fetchone()[0])
    except sqlite3.Error as e:
        raise AssertionError(f"cannot count duplicates: {e}") from None
    finally:
        con.close()


def ended(sup: Supervisor, job_id: str) -> bool:
    return not sup.job(job_id).state.active


def progressed(sup: Supervisor, job_id: str, n: int) -> bool:
    """The job's log holds at least `n` progress lines copied from the remote run."""
    log = Path(sup.job(job_id).record.log)
    return log.exists() and log.read_text(errors="replace").count("Processing ") >= n


def state(sup: Supervisor, job_id: str) -> JobState:
    return sup.job(job_id).state
