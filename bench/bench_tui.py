"""Benchmark: the real `nba-tui` dashboard in tmux at 80x24 while 3 sample jobs run.

Run by hand (takes ~duration + 20 s):

    /work/venv/bin/python bench/bench_tui.py [--duration 60] [--pace 0.1] [--keep]

The dashboard runs under `script -q -f`, so every byte it writes to the terminal lands in a file
that is measured. Figures, next to the targets of issue #4:

- terminal bytes per second in the steady state (3 jobs running)        target <= 1.0 KB/s
- CPU share of one core of the dashboard process (/proc/PID/stat)       target <= 1 %
- first-paint bytes (everything written until the first data frame)     target <= 30 KB
- time to first frame (process start to the grid on screen)             target <= 1.5 s
- key press to SIGSTOP: `p` sent with tmux send-keys until the job's
  processes are in state T (/proc), median of several presses           target <= 100 ms

For reference (issue #4): `htop -d 20` writes ~0.4 KB/s at ~0.2 % CPU; a bare Textual app with a
header clock and one DataTable cell plus one log line changing every 2 s writes ~2.6 KB/s at ~1.3 %.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from nba_tui import config
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.sample import ensure_warehouse

REPO = Path(__file__).resolve().parents[1]
TMUX = shutil.which("tmux") or "/usr/bin/tmux"
JOBS = ("team_defense_game_summary", "upcoming_player_game_context", "upcoming_team_game_context")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def tmux(sock: str, *args: str) -> str:
    out = subprocess.run([TMUX, "-L", sock, *args], capture_output=True, text=True, timeout=10)
    return out.stdout


def proc_stat(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def cpu_ticks(pid: int) -> int:
    fields = proc_stat(pid)
    return int(fields[11]) + int(fields[12])  # utime + stime


def main_thread_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(proc_stat(int(entry))[1]) == pid:
                    out.append(int(entry))
            except (OSError, ValueError):
                continue
    return out


def find_dashboard(root_pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        todo = [root_pid]
        while todo:
            pid = todo.pop()
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"nba_tui\0--config" in cmd:
                return pid
            todo.extend(children(pid))
        time.sleep(0.02)
    raise SystemExit("dashboard process not found")


def wait_screen(sock: str, needle: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if needle in tmux(sock, "capture-pane", "-p"):
            return time.monotonic()
        time.sleep(0.01)
    raise SystemExit(f"{needle!r} not on screen after {timeout}s")


def group_state(pgid: int) -> set[str]:
    states = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = proc_stat(int(entry))
            except (OSError, ValueError):
                continue
            if int(fields[2]) == pgid:
                states.add(fields[0])
    return states


def pause_latency(sock: str, pgid: int, tries: int) -> list[float]:
    """Send `p`, time until every process of the group is stopped; `r` to resume; repeat."""
    out = []
    for _ in range(tries):
        t0 = time.monotonic()
        tmux(sock, "send-keys", "p")
        while group_state(pgid) != {"T"}:
            if time.monotonic() - t0 > 5:
                raise SystemExit("job not stopped 5 s after `p`")
            time.sleep(0.001)
        out.append((time.monotonic() - t0) * 1000)
        time.sleep(2.5)  # let the dashboard see "paused" so `r` applies
        tmux(sock, "send-keys", "r")
        deadline = time.monotonic() + 5
        while "T" in group_state(pgid) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(2.5)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="steady-state seconds (60)")
    ap.add_argument("--pace", type=float, default=0.1, help="seconds per date of the sample jobs")
    ap.add_argument("--presses", type=int, default=5, help="pause key presses to time")
    ap.add_argument(
        "--poll", type=float, help="what-if: override pipeline.yaml's poll interval (seconds)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="nba-tui-bench-"))
    text = (REPO / "pipeline.yaml").read_text()
    if args.poll:
        lines = text.splitlines()
        text = "\n".join(
            f"poll: {{interval: {args.poll}s}}" if ln.startswith("poll:") else ln for ln in lines
        )
    (root / "pipeline.yaml").write_text(text + "\n")
    pipe = config.load(root / "pipeline.yaml")
    print(f"building the sample warehouse in {root} ...", flush=True)
    ensure_warehouse(pipe)
    os.environ["NBA_TUI_SAMPLE_PACE"] = str(args.pace)
    sup = Supervisor(pipe)
    views = [sup.launch(t) for t in JOBS]
    print(f"3 jobs running (pace {args.pace}s/date): {', '.join(v.record.id for v in views)}")

    sock = f"nba-tui-bench-{uuid.uuid4().hex[:6]}"
    typescript = root / "typescript"
    cmd = f"{sys.executable} -m nba_tui --config {root / 'pipeline.yaml'}"
    dash = 0
    try:
        t_start = time.monotonic()
        tmux(
            sock,
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            f"cd {root} && TERM=xterm-256color script -q -f -c '{cmd}' {typescript}",
        )
        pane = int(tmux(sock, "display-message", "-p", "#{pane_pid}").strip())
        dash = find_dashboard(pane)
        t_frame = wait_screen(sock, "PHASE3", 10)
        wait_screen(sock, "917/917", 15)
        time.sleep(1.0)  # let the first data frame finish
        first_paint = typescript.stat().st_size
        time.sleep(3.0)

        s0, c0, t0 = typescript.stat().st_size, cpu_ticks(dash), time.monotonic()
        m0 = main_thread_ticks(dash)
        time.sleep(args.duration)
        s1, c1, t1 = typescript.stat().st_size, cpu_ticks(dash), time.monotonic()
        m1 = main_thread_ticks(dash)
        screen = tmux(sock, "capture-pane", "-p")

        rec = sup.job(views[0].record.id).record
        latencies = pause_latency(sock, rec.pgid or rec.pid, args.presses)
    finally:
        # `script` keeps its child in its own session: killing the tmux server alone would
        # leave the dashboard running. Quit it with its key, then make sure.
        tmux(sock, "send-keys", "q")
        if dash:
            deadline = time.monotonic() + 3
            while Path(f"/proc/{dash}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            if Path(f"/proc/{dash}").exists():
                os.kill(dash, signal.SIGTERM)
        tmux(sock, "kill-server")
        for v in sup.jobs():
            if v.record.state.active:
                sup.stop(v.record.id, grace=1)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    dt = t1 - t0
    rate = (s1 - s0) / dt / 1024
    cpu = (c1 - c0) / CLK_TCK / dt * 100
    ui = (m1 - m0) / CLK_TCK / dt * 100
    rows = [
        ("terminal bytes/s (3 jobs)", f"{rate:.2f} KB/s", "<= 1.0 KB/s", rate <= 1.0),
        ("CPU, share of one core", f"{cpu:.2f} %", "<= 1 %", cpu <= 1.0),
        ("first-paint bytes", f"{first_paint / 1024:.1f} KB", "<= 30 KB", first_paint <= 30 * 1024),
        ("time to first frame", f"{t_frame - t_start:.2f} s", "<= 1.5 s", t_frame - t_start <= 1.5),
        (
            "key p -> SIGSTOP (median)",
            f"{statistics.median(latencies):.0f} ms",
            "<= 100 ms",
            statistics.median(latencies) <= 100,
        ),
    ]
    print(f"\nscreen after {dt:.0f} s:\n{screen}")
    print(f"{'metric':<28} {'measured':>12} {'target':>12}")
    for name, value, target, ok in rows:
        print(f"{name:<28} {value:>12} {target:>12}  {'✔' if ok else '✘'}")
    print(f"(pause latencies ms: {', '.join(f'{x:.0f}' for x in latencies)})")
    print(
        f"(CPU split: UI/event-loop thread {ui:.2f} %, worker threads {cpu - ui:.2f} % — the "
        f"workers run the warehouse poll + coverage maths every {pipe.poll.interval:.0f} s and "
        "the supervisor reads)"
    )
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
