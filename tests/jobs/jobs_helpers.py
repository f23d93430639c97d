"""Helpers for the job tests (a plain module: conftest names clash across test folders)."""

from __future__ import annotations

from pathlib import Path

from waiting import wait_for

from nba_tui import config

__all__ = ["DATES", "FAKE", "HERE", "make_warehouse", "pipeline_yaml", "wait_for"]


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
