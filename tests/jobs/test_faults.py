"""Faults: two dashboards racing, dashboards killed (-9, SIGHUP) while jobs run, huge logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

import psutil
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobState
from nba_tui.jobs.procs import proc_stat, session_members
from nba_tui.jobs.progress import LogProgress
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.logtail import tail

CLIENT = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    # A terminal's hang-up ends a dashboard: whatever this test runs under (nohup ignores it).
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    from nba_tui import config
    from nba_tui.jobs.supervisor import Supervisor, JobError
    sup = Supervisor(config.load(sys.argv[1]))
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)
    out = []
    for action in sys.argv[3:]:
        verb, _, arg = action.partition(":")
        try:
            if verb == "launch":
                v = sup.launch(arg)
            else:
                v = getattr(sup, verb)(sup.active(arg).id)
            out.append(f"{verb} {arg} ok {v.id}")
        except JobError as e:
            out.append(f"{verb} {arg} refused {e}")
    print("\\n".join(out), flush=True)
    print("READY", flush=True)
    time.sleep(600)
    """
)


def client(config: Path, go: Path, *actions: str) -> subprocess.Popen:
    """A stand-in dashboard in its own process (it launches jobs, then idles until killed)."""
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(config), str(go), *actions],
        stdout=subprocess.PIPE,
        text=True,
    )


def read_until_ready(p: subprocess.Popen) -> list[str]:
    lines = []
    for line in p.stdout:  # blocks on the event (the client's output), not on time
        if line.strip() == "READY":
            return lines
        lines.append(line.strip())
    raise AssertionError(f"client exited: {lines}")


def test_two_supervisors_in_threads_never_launch_twice(make_pipeline) -> None:
    pipe = make_pipeline({"alpha": ["--delay", "1"]})
    results: list[str] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        sup = Supervisor(pipe)
        barrier.wait()
        try:
            results.append(sup.launch("alpha").id)
        except JobError as e:
            results.append(f"refused: {e}")

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if not r.startswith("refused")]
    assert len(ok) == 1, results
    assert all("already has an active job" in r for r in results if r.startswith("refused"))


def test_two_dashboard_processes_never_launch_twice(make_pipeline, tmp_path: Path) -> None:
    pipe = make_pipeline({"alpha": ["--delay", "1"]})
    go = tmp_path / "go"
    clients = [client(pipe.source, go, "launch:alpha") for _ in range(3)]
    try:
        go.touch()
        outs = [read_until_ready(c) for c in clients]
    finally:
        for c in clients:
            c.kill()
            c.wait()
    flat = [line for out in outs for line in out]
    assert sum(" ok " in line for line in flat) == 1, flat
    assert sum("refused" in line for line in flat) == 2, flat
    assert len(Supervisor(pipe).jobs()) == 1


def test_dashboards_killed_jobs_survive_and_are_readopted(make_pipeline, tmp_path: Path) -> None:
    slow = ["--delay", "1"]
    pipe = make_pipeline({"alpha": slow, "beta": slow, "gamma": slow})
    go = tmp_path / "go"
    go.touch()
    a = client(pipe.source, go, "launch:alpha", "launch:beta", "pause:beta")
    b = client(pipe.source, go, "launch:gamma")
    try:
        assert all(" ok " in line for line in read_until_ready(a) + read_until_ready(b))
        a.send_signal(signal.SIGKILL)
        b.send_signal(signal.SIGHUP)
        assert a.wait(5) == -signal.SIGKILL and b.wait(5) == -signal.SIGHUP
    finally:
        for c in (a, b):
            c.kill()
            c.wait()
    sup = Supervisor(pipe)  # the "restarted dashboard"
    views = {v.record.table: v for v in sup.jobs()}
    assert views["alpha"].state is JobState.RUNNING
    assert views["beta"].state is JobState.PAUSED
    assert views["gamma"].state is JobState.RUNNING
    for v in views.values():
        procs = session_members(v.record.sid)
        assert len(procs) == 2  # shim and program: both alive
        want = "T" if v.record.table == "beta" else "RS"
        assert all(proc_stat(p.pid).state in want for p in procs if p.pid != v.record.shim_pid)
    sup.resume(views["beta"].id)
    assert sup.job(views["beta"].id).state is JobState.RUNNING
    for v in views.values():
        assert sup.stop(v.id, grace=1).state is JobState.STOPPED
        assert session_members(v.record.sid) == []
    assert [e["action"] for e in sup.history()].count("stop") == 3


def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_huge_log_and_1mb_line_stay_bounded(make_pipeline) -> None:
    """A job writes 100 MB of noise and a 1 MB line: polling it grows memory < 20 MB.

    (The slowest poll's duration is measured by bench/bench_jobs.py, not asserted here.)"""
    sup = Supervisor(make_pipeline({"alpha": ["--spam", "100", "--big-line", "1000000"]}))
    rss0 = _rss()
    tracemalloc.start()
    try:
        v = sup.launch("alpha")
        calls = 0

        def caught_up() -> bool:
            nonlocal calls
            j = sup.jobs()[0]
            lines = sup.tail(v.id)
            calls += 1
            assert sum(len(x) for x in lines) < 200_000
            return j.state is JobState.DONE and j.progress.current_date == "2024-01-10"

        wait_for(caught_up, 60, "parsed to the end")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = Path(v.record.log).stat().st_size
    grew = _rss() - rss0
    assert size > 100_000_000
    assert calls > 1  # caught up over several bounded reads, not in one
    assert peak < 20_000_000 and grew < 20_000_000


def test_log_progress_incremental_with_long_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"Processing 2024-01-01 (1/3)\n" + b"z" * 3_000_000)
    lp = LogProgress(log, r"Processing (?P<date>\d{4}-\d{2}-\d{2})")
    lp.update()
    assert lp.current_date == "2024-01-01" and len(lp.reader.partial) <= 4096
    with open(log, "ab") as f:
        f.write(b"\nProcessing 2024-01-02 (2/3)\npartial Proc")
    lp.update()
    assert (lp.current_date, lp.done, lp.total) == ("2024-01-02", 2, 3)
    assert lp.last_line == "Processing 2024-01-02 (2/3)"
    with open(log, "ab") as f:
        f.write(b"essing 2024-01-03 (3/3)\n")
    lp.update()
    assert lp.current_date is not None and lp.matches == 3
    lines = tail(log, 10_000)
    assert lines[-1] == "partial Processing 2024-01-03 (3/3)"
    big = tail(log, 4_000_000)
    assert any("more bytes" in x for x in big) and max(len(x) for x in big) < 4200
    assert os.path.getsize(log) > 3_000_000
