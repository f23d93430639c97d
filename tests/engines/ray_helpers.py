"""A real single-node Ray head on loopback for the Ray engine's tests (session-scoped).

Every port is a free one picked here and the head has its own short temp dir, so several test
sessions on one machine do not collide. Teardown stops exactly this head: the processes of the
session `ray start` ran in (gcs, raylet, dashboard, workers), those naming our temp dir, and their
descendants (a job's entrypoint runs in a session of its own) — never `ray stop`, which stops
every Ray of the user. If Ray cannot start the fixture fails: CI must run these tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

RAY = Path(sys.executable).parent / "ray"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 3.0
"""SIGTERM grace: gcs_server and the autoscaler monitor may ignore it for longer (then SIGKILL)."""
START_ATTEMPTS = 2
HEAD_START_SECONDS: list[float] = []
"""How long each head of this session took from `ray start` to a Jobs API that answers."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def head_argv(temp_dir: Path, gcs_port: int, dashboard_port: int, num_cpus: int = 4) -> list[str]:
    return [
        str(RAY),
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={gcs_port}",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard_port}",
        f"--num-cpus={num_cpus}",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        # every other listening port free too (the defaults are fixed numbers)
        f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        "--min-worker-port=0",
        "--max-worker-port=0",
        "--object-store-memory=100000000",
        "--include-log-monitor=false",
        "--log-style=record",
    ]


def head_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env


def jobs_api_answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/api/jobs/", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


# -- our processes ---------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, session id) of a live process, None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[3])


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def head_processes(session: int, temp_dir: Path) -> set[int]:
    """Live (non-zombie) processes of our head: its session, its temp dir, their descendants."""
    me = os.getpid()
    stats: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[0] != "Z":
                stats[int(entry.name)] = st
    ours = {
        pid
        for pid, (_, _, sid) in stats.items()
        if sid == session or str(temp_dir) in _cmdline(pid)
    }
    grew = True
    while grew:
        kids = {pid for pid, (_, ppid, _) in stats.items() if ppid in ours and pid not in ours}
        ours |= kids
        grew = bool(kids)
    ours.discard(me)
    return ours


def _signal_all(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _wait_gone(session: int, temp_dir: Path, timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    left = head_processes(session, temp_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)  # bounded polling of /proc: there is no event for "a process exited"
        left = head_processes(session, temp_dir)
    return left


def stop_head(session: int, temp_dir: Path) -> set[int]:
    """Stop exactly our head (SIGTERM, then SIGKILL what is left); the pids still alive."""
    _signal_all(head_processes(session, temp_dir), signal.SIGTERM)
    left = _wait_gone(session, temp_dir, STOP_TIMEOUT)
    if left:
        _signal_all(left, signal.SIGKILL)
        left = _wait_gone(session, temp_dir, 5.0)
    return left


def start_head(temp_dir: Path, num_cpus: int = 4) -> tuple[str, int, float]:
    """Start a head (dashboard address, session id for `stop_head`, seconds to ready); raises
    RuntimeError with the reason (used by the fixture and by bench/bench_engines.py)."""
    gcs_port, dash_port = free_port(), free_port()
    address = f"http://127.0.0.1:{dash_port}"
    began = time.monotonic()
    proc = subprocess.Popen(
        head_argv(temp_dir, gcs_port, dash_port, num_cpus),
        env=head_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    session = proc.pid
    try:
        out, _ = proc.communicate(timeout=READY_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_head(session, temp_dir)
        raise RuntimeError(f"ray start did not return within {READY_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        stop_head(session, temp_dir)
        tail = " | ".join(line for line in out.splitlines()[-6:] if line.strip())
        raise RuntimeError(f"ray start exited {proc.returncode}: {tail}")
    deadline = began + READY_TIMEOUT
    while not jobs_api_answers(address):
        if time.monotonic() > deadline:
            stop_head(session, temp_dir)
            raise RuntimeError(
                f"the Jobs API at {address} did not answer within {READY_TIMEOUT:.0f} s"
            )
        time.sleep(0.2)  # bounded polling of a real external state (the dashboard's HTTP port)
    return address, session, time.monotonic() - began


@pytest.fixture(scope="session")
def ray_head(request: pytest.FixtureRequest) -> Iterator[str]:
    """A real Ray head on loopback; yields its dashboard (Jobs API) address."""
    if not RAY.exists():
        pytest.fail(f"no ray script at {RAY}; pip install -e '.[test]' (it needs ray[default])")
    # short: Ray's unix sockets live under it and a socket path has a 107-byte limit
    temp_dir = Path(tempfile.mkdtemp(prefix="nbaray", dir="/tmp"))
    errors: list[str] = []
    started: tuple[str, int, float] | None = None
    for _ in range(START_ATTEMPTS):  # a free port may be taken between picking and binding
        try:
            started = start_head(temp_dir)
            break
        except RuntimeError as exc:
            errors.append(str(exc))
    if started is None:
        shutil.rmtree(temp_dir, ignore_errors=True)
        pytest.fail(f"cannot start a Ray head: {'; '.join(errors)}")
    address, session, seconds = started
    HEAD_START_SECONDS.append(seconds)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"ray head at {address} started in {seconds:.1f} s")
    try:
        yield address
    finally:
        left = stop_head(session, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left, f"Ray head processes still alive after teardown: {sorted(left)}"
