"""A short-range copy of the shipped sample pipeline for the autopilot tests (real programs)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nba_tui import config
from nba_tui.config import Pipeline

ROOT = Path(__file__).resolve().parents[2]
HOOK = """import sys
with open(sys.argv[1], "a") as f:
    for line in sys.stdin:
        f.write(line)
"""


def sample_pipeline(
    tmp: Path, *, start: str, end: str, max_parallel: int = 4, retries: int = 1, hook: bool = True
) -> Pipeline:
    """The shipped pipeline.yaml narrowed to `start..end`, quick retries, a JSON-lines hook."""
    text = (ROOT / "pipeline.yaml").read_text()
    text = re.sub(r"(?m)^range: .*$", f"range: {{start: {start}, end: {end}}}", text)
    text = re.sub(
        r"(?ms)^jobs: \{.*?\}",
        f"jobs: {{max_parallel: {max_parallel}, log_dir: logs, state_dir: .nba_tui, "
        f"stop_grace: 2s, retries: {retries}, retry_backoff: 0.2s}}",
        text,
    )
    if hook:
        (tmp / "hook.py").write_text(HOOK)
        argv = [sys.executable, str(tmp / "hook.py"), str(tmp / "hook.out")]
        text = re.sub(r"(?m)^  on_event: .*$", f"  on_event: {argv!r}", text)
    (tmp / "pipeline.yaml").write_text(text)
    return config.load(tmp / "pipeline.yaml")


def small_warehouse(pipe: Pipeline, dates: list[str], present: dict[str, int]) -> None:
    """raw.sched with `dates`; `present` = {table: its first N dates present} (in ana.db)."""
    import sqlite3

    wh = pipe.sqlite_dir
    wh.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(wh / "raw.db")
    con.execute("CREATE TABLE IF NOT EXISTS sched (game_date TEXT)")
    con.executemany("INSERT INTO sched VALUES (?)", [(d,) for d in dates])
    con.commit()
    con.close()
    con = sqlite3.connect(wh / "ana.db")
    for name, n in present.items():
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" (game_date TEXT)')
        con.executemany(f'INSERT INTO "{name}" VALUES (?)', [(d,) for d in dates[:n]])
    con.commit()
    con.close()
