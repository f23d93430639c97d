"""Benchmark: what watching costs. The real dashboard in tmux under `script`, locally or over a
loopback SSH session, idle and while 3 sample jobs run; first paint and first frame at 15 and 100
tables. Run by hand (or through bench/run_all.py, which runs every benchmark):

    .venv/bin/python bench/bench_tui.py [--duration 30] [--sizes 80x24 120x40] [--ssh] [--no-100]

Figures and their targets, each for the dashboard's own process (its PID found in /proc):

- terminal bytes/s and CPU % of one core, idle (no job)         80x24: ≤ 50 B/s, ≤ 0.3 %
- the same while 3 sample jobs run (pace 0.1 s/date)            80x24: ≤ 0.5 KB/s, ≤ 0.5 %
- first-paint bytes (everything written until the data frame, at 80x24 and 120x40)
- time to first frame (session start to the first table row with its counts on screen)
                                                                15 tables ≤ 1.0 s, 100 ≤ 1.5 s
- 100 tables, idle CPU                                          ≤ 0.5 %

CPU is what `top` shows (utime + stime: the kernel charges a whole clock tick to the thread that
runs when the tick comes); each CPU figure is followed by the scheduler's exact time for the same
window (the process's CPU clock), without a target: when the two differ much, the ticks misjudge
a process that wakes briefly and often.

For reference: `htop -d 20` writes 180-690 B/s at ~0.2-0.6 % CPU over SSH.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from harness import Figure, dashboard, figure, missing, print_figures, stop_jobs, tools_missing
from pipelines import copy_root, sample_template, shared

from nba_tui import config
from nba_tui.jobs.supervisor import Supervisor

JOBS = ("team_defense_game_summary", "upcoming_player_game_context", "upcoming_team_game_context")
PACE = "0.1"
DATA_ROW = re.compile(r"^\S+\s+\d+/\d+", re.M)  # a table row showing its date counts


def has_data(screen: str) -> bool:
    return DATA_ROW.search(screen) is not None


def launch_jobs(cfg: Path, tables: tuple[str, ...]) -> None:
    """Start the tables' backfills through the product's supervisor (detached, as `launch` does)."""
    os.environ["NBA_TUI_SAMPLE_PACE"] = PACE
    sup = Supervisor(config.load(cfg))
    for table in tables:
        sup.launch(table)


def _targets(size: str, idle: bool) -> dict[str, tuple[str, object]]:
    """Targets for bytes/s and CPU: only at 80x24; other sizes print without one."""
    if size != "80x24":
        return {"bytes": ("", None), "cpu": ("", None)}
    if idle:
        return {
            "bytes": ("≤ 50 B/s", lambda v: v <= 50),
            "cpu": ("≤ 0.3 %", lambda v: v <= 0.3),
        }
    return {"bytes": ("≤ 512 B/s", lambda v: v <= 512), "cpu": ("≤ 0.5 %", lambda v: v <= 0.5)}


def _window_figures(label: str, size: str, idle: bool, win) -> list[Figure]:  # noqa: ANN001
    what = "idle" if idle else "3 jobs"
    t = _targets(size, idle)
    return [
        figure(
            f"{label} {size} {what}: terminal bytes/s",
            win.bytes_per_s,
            "B/s",
            t["bytes"][0],
            t["bytes"][1],
        ),
        figure(
            f"{label} {size} {what}: CPU of one core", win.cpu_pct, "%", t["cpu"][0], t["cpu"][1]
        ),
        figure(f"{label} {size} {what}: CPU, the scheduler's exact time", win.cpu_exact_pct, "%"),
    ]


def watch(template: Path, work: Path, size: str, duration: float, via=None) -> list[Figure]:  # noqa: ANN001
    """One dashboard at `size`: first paint and frame, an idle window, then 3 jobs and a window."""
    label = "local" if via is None else "ssh"
    cfg = copy_root(template, work / f"watch-{label}-{size}")
    cols, rows = (int(x) for x in size.split("x"))
    figs: list[Figure] = []
    try:
        with dashboard(cfg, cols, rows, via) as d:
            frame = d.wait_screen(has_data, "the first data frame") - d.started
            time.sleep(1.5)  # let the first data frame finish drawing
            paint = d.bytes_written()
            if via is None and size == "80x24":
                figs.append(
                    figure("first frame, 15 tables", frame, "s", "≤ 1.0 s", lambda v: v <= 1.0)
                )
            figs.append(figure(f"{label} {size}: first paint", paint / 1024, "KB"))
            time.sleep(2)
            figs += _window_figures(label, size, True, d.window(duration))
            launch_jobs(cfg, JOBS)
            d.wait_screen(lambda s: "running" in s, "a job running on screen", 30)
            time.sleep(3)
            figs += _window_figures(label, size, False, d.window(duration))
    finally:
        stop_jobs(cfg)
    return figs


def first_frame_100(work: Path, duration: float) -> list[Figure]:
    """100 tables on plain SQLite: time to the first data frame, and idle CPU afterwards."""
    cfg = shared(work, 100)
    with dashboard(cfg, 80, 24) as d:
        frame = d.wait_screen(has_data, "the first data frame") - d.started
        time.sleep(3)
        win = d.window(duration)
    return [
        figure("first frame, 100 tables", frame, "s", "≤ 1.5 s", lambda v: v <= 1.5),
        figure(
            "local 80x24 idle, 100 tables: CPU", win.cpu_pct, "%", "≤ 0.5 %", lambda v: v <= 0.5
        ),
        figure("local 80x24 idle, 100 tables: CPU, exact", win.cpu_exact_pct, "%"),
    ]


def run(work: Path, duration: float, sizes: list[str], ssh: bool, hundred: bool) -> list[Figure]:
    """Every watching figure; SSH ones are skipped (with the reason) when sshd cannot start."""
    why = tools_missing()
    if why:
        return [missing("watching cost (tmux + script)", why)]
    template = sample_template(work / "template")
    figs: list[Figure] = []
    for size in sizes:
        figs += watch(template, work, size, duration)
    if hundred:
        figs += first_frame_100(work, duration)
    if ssh:
        figs += watch_ssh(template, work, sizes, duration)
    return figs


def watch_ssh(template: Path, work: Path, sizes: list[str], duration: float) -> list[Figure]:
    """The same windows through a private sshd on 127.0.0.1 (tests/e2e/sshd.py), stopped after."""
    why = tools_missing(ssh=True)
    if why:
        return [missing("watching cost over ssh", why)]
    from sshd import Sshd, SshdError  # tests/e2e, on sys.path through harness

    try:
        server = Sshd(work / "ssh")
    except SshdError as e:
        return [missing("watching cost over ssh", f"sshd did not start: {str(e)[:80]}")]
    figs: list[Figure] = []
    with server:
        for size in sizes:
            figs += watch(template, work, size, duration, via=server)
    return figs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per window (30)")
    ap.add_argument("--sizes", nargs="*", default=["80x24", "120x40"])
    ap.add_argument("--ssh", action="store_true", help="also over a loopback SSH session")
    ap.add_argument("--no-100", action="store_true", help="skip the 100-table dashboard")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nba-tui-bench-"))
    try:
        figs = run(work, args.duration, args.sizes, args.ssh, not args.no_100)
    finally:
        if not args.keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(work)
    print_figures(figs)
    return 0 if all(f.ok is not False for f in figs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
