"""Benchmark: what the grid's cells-only repaint saves. The real dashboard in tmux under `script`
while 3 sample jobs run, twice: as shipped (`CoverageGrid.refresh` drops the whole-table repaint
that `DataTable.update_cell` asks for and repaints the changed cells), and with that override
removed (a `sitecustomize` in a temporary directory deletes it before the app starts). Run by hand:

    .venv/bin/python bench/bench_grid.py [--duration 30] [--size 80x24]

Prints terminal bytes/s and CPU % of one core for each; the override stays only while the
first is clearly smaller.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench_tui import JOBS, has_data, launch_jobs
from harness import Figure, dashboard, figure, print_figures, stop_jobs, tools_missing
from pipelines import copy_root, sample_template

PLAIN_GRID = """\
from nba_tui.tui.widgets.grid import CoverageGrid

del CoverageGrid.refresh  # DataTable's own: update_cell repaints the whole table
"""


def measure(template: Path, work: Path, label: str, size: str, duration: float) -> list[Figure]:
    cfg = copy_root(template, work / ("plain" if label == "DataTable.refresh" else "shipped"))
    cols, rows = (int(x) for x in size.split("x"))
    env: dict[str, str] = {}
    if label == "DataTable.refresh":
        site = work / "plain-grid"
        site.mkdir()
        (site / "sitecustomize.py").write_text(PLAIN_GRID)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(site), os.environ.get("PYTHONPATH")) if p
        )
    try:
        with dashboard(cfg, cols, rows, env=env) as d:
            d.wait_screen(has_data, "the first data frame")
            launch_jobs(cfg, JOBS)
            d.wait_screen(lambda s: "running" in s, "a job running on screen", 30)
            time.sleep(3)  # the launch's own repaint is not part of the window
            win = d.window(duration)
    finally:
        stop_jobs(cfg)
    return [
        figure(f"{size} 3 jobs, {label}: terminal bytes/s", win.bytes_per_s, "B/s"),
        figure(f"{size} 3 jobs, {label}: CPU of one core", win.cpu_pct, "%"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per window (30)")
    ap.add_argument("--size", default="80x24")
    args = ap.parse_args()
    why = tools_missing()
    if why:
        print(f"skipped: {why}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="nba-tui-bench-grid-"))
    try:
        template = sample_template(work / "template")
        figs: list[Figure] = []
        for label in ("cells only (CoverageGrid.refresh)", "DataTable.refresh"):
            figs += measure(template, work, label, args.size, args.duration)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    print_figures(figs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
