"""What every benchmark shares: figures with their targets, /proc readers, and the dashboard run
under `script` in a private tmux server, locally or over a loopback SSH session.

Figures: each benchmark returns `Figure`s (a name, a measured value, the target as text and a
predicate); `run_all.py` prints them all with ✔/✘ and writes them as JSON. A figure that could not
be measured (a tool missing, a hook not exposed) carries `note` and no value: printed, never fatal.

The dashboard runs as `script -q -f -c 'python -m nba_tui --config CFG' TYPESCRIPT` in a tmux
session of the wanted size, so every byte it writes to its terminal lands in TYPESCRIPT. Over SSH
the `script` wraps the `ssh -tt` client instead: the bytes counted are the ones that reach the
user's terminal through the link. Either way the CPU and RSS figures are the dashboard's own
process, found in /proc by its exact argv (never the shell, `script` or sshd around it).

The tmux and sshd helpers of the end-to-end tests are imported, not copied (tests/e2e).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # waiting.py, used by the e2e helpers
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_helpers import Tmux, alive, argv_of, stat_fields  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Figure:
    """One measured figure next to its target (`ok` None: no target, or not measured)."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""
    group: str = ""
    extra: dict = field(default_factory=dict)

    def shown(self) -> str:
        if self.value is None:
            return self.note or "n/a"
        digits = 0 if abs(self.value) >= 100 else 2
        return f"{self.value:.{digits}f} {self.unit}".strip()

    def mark(self) -> str:
        return {True: "✔", False: "✘", None: " "}[self.ok]


def figure(
    name: str,
    value: float | None,
    unit: str,
    target: str = "",
    check: Callable[[float], bool] | None = None,
    note: str = "",
) -> Figure:
    """A figure; `check(value)` decides ✔/✘ when both exist."""
    ok = None if value is None or check is None else bool(check(value))
    return Figure(name, value, unit, target, ok, note)


def missing(name: str, why: str, target: str = "") -> Figure:
    """A figure that could not be measured (printed as `why`, never counted as met)."""
    return Figure(name, None, "", target, None, why)


def print_figures(figs: list[Figure], out=sys.stdout) -> None:  # noqa: ANN001
    width = max((len(f.name) for f in figs), default=10) + 1
    for f in figs:
        # A figure without a target shows its note there (a measured value's context).
        tail = f.target or (f.note if f.value is not None else "")
        print(f"{f.mark()} {f.name:<{width}} {f.shown():>16}   {tail}", file=out, flush=True)


def write_json(figs: list[Figure], path: Path, meta: dict) -> None:
    path.write_text(
        json.dumps({**meta, "figures": [asdict(f) for f in figs]}, indent=2, ensure_ascii=False)
        + "\n"
    )


# -- /proc ----------------------------------------------------------------------------------------
def cpu_ticks(pid: int) -> int:
    """utime + stime of the whole process (all threads), in clock ticks."""
    fields = stat_fields(pid)
    return 0 if fields is None else int(fields[11]) + int(fields[12])


def cpu_exact_ns(pid: int) -> int:
    """CPU time of the whole process (every thread, ended ones too) as the scheduler counts it, to
    the nanosecond: its process CPU clock (Linux: `clock_gettime` on the clock id of `pid`). The
    ticks of `cpu_ticks` charge a whole 1/HZ to the thread running when the timer ticks; this is
    what the process really ran. 0 when the clock cannot be read."""
    clock = ((~pid) << 3) | 2  # CPUCLOCK_SCHED of the process `pid` (linux/posix-timers.h)
    try:
        return time.clock_gettime_ns(clock)
    except OSError:
        return 0


def rss_mb(pid: int) -> float:
    """Resident set size in MB (/proc/PID/statm, field 2)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def find_dashboard(cfg: Path, timeout: float = 20) -> int:
    """The pid of the dashboard of `cfg` (argv `... -m nba_tui --config CFG`, a python process)."""
    want = ["-m", "nba_tui", "--config", str(cfg)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            argv = argv_of(int(entry))
            if argv and "python" in os.path.basename(argv[0]) and argv[1:5] == want:
                return int(entry)
        time.sleep(0.05)
    raise RuntimeError(f"no dashboard process for {cfg} after {timeout}s")


def group_states(pgid: int) -> set[str]:
    """Process states (R, S, T, ...) of every live member of process group `pgid`."""
    states = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                states.add(fields[0])
    return states


def wait_for(cond: Callable[[], bool], what: str, timeout: float, step: float = 0.02) -> float:
    """Poll `cond` until it holds; the monotonic time it did. Raises on timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)
    return time.monotonic()


# -- the dashboard in tmux ------------------------------------------------------------------------
def tools_missing(ssh: bool = False) -> str | None:
    """Why the terminal benchmarks cannot run here (None: they can)."""
    need = ["tmux", "script"] + (["ssh", "ssh-keygen"] if ssh else [])
    gone = [t for t in need if not shutil.which(t)]
    if ssh and not Path("/usr/sbin/sshd").exists():
        gone.append("/usr/sbin/sshd")
    if gone:
        return f"missing {', '.join(gone)}: run scripts/test.sh (it installs them via apt-get)"
    return None


@dataclass
class Window:
    """Terminal bytes and dashboard CPU over one measured interval."""

    seconds: float
    bytes: int
    ticks: int
    exact_ns: int = 0

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds

    @property
    def cpu_pct(self) -> float:
        return self.ticks / CLK_TCK / self.seconds * 100

    @property
    def cpu_exact_pct(self) -> float:
        return self.exact_ns / 1e9 / self.seconds * 100


class Dashboard:
    """The real dashboard of `cfg` at cols x rows in a private tmux server, under `script`.

    `via` is None (a local terminal) or an `Sshd` (the dashboard runs in an `ssh -tt` session on
    loopback). `started` is the monotonic time the session was created; `pid` the dashboard's."""

    def __init__(self, cfg: Path, cols: int, rows: int, via=None, env: dict | None = None) -> None:  # noqa: ANN001
        self.cfg, self.root = cfg, cfg.parent
        self.typescript = self.root / f"typescript-{cols}x{rows}"
        self.tmux = Tmux(f"nba-tui-bench-{uuid.uuid4().hex[:8]}")
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        inner = f"{shlex.quote(sys.executable)} -m nba_tui --config {shlex.quote(str(cfg))}"
        inner = f"cd {shlex.quote(str(self.root))} && env TERM=xterm-256color {envs} {inner}"
        shown = shlex.join(via.ssh_argv(inner)) if via is not None else inner
        shell = f"TERM=xterm-256color script -q -f -c {shlex.quote(shown)} {self.typescript}"
        self.started = time.monotonic()
        self.tmux("new-session", "-d", "-s", "d", "-x", str(cols), "-y", str(rows), shell)
        self.pid = find_dashboard(cfg)

    def screen(self) -> str:
        return self.tmux.screen("d")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "d", *keys)

    def wait_screen(self, cond: Callable[[str], bool], what: str, timeout: float = 30) -> float:
        try:
            return wait_for(lambda: cond(self.screen()), what, timeout, step=0.01)
        except RuntimeError as e:
            screen = (
                self.screen() or "(no tmux session: the dashboard exited) " + self.last_output()
            )
            raise RuntimeError(f"{e}; the screen:\n{screen}") from None

    def last_output(self, n: int = 2000) -> str:
        """The end of what the dashboard wrote (a traceback, when it crashed)."""
        with contextlib.suppress(OSError):
            return self.typescript.read_bytes()[-n:].decode(errors="replace")
        return ""

    def bytes_written(self) -> int:
        return self.typescript.stat().st_size

    def window(self, seconds: float) -> Window:
        """Measure terminal bytes and CPU (ticks and exact) over `seconds` from now."""
        pid, t0 = self.pid, time.monotonic()
        b0, c0, e0 = self.bytes_written(), cpu_ticks(pid), cpu_exact_ns(pid)
        time.sleep(seconds)
        b1, c1, e1 = self.bytes_written(), cpu_ticks(pid), cpu_exact_ns(pid)
        return Window(time.monotonic() - t0, b1 - b0, c1 - c0, e1 - e0)

    def close(self) -> None:
        """Quit with `q`; make sure (SIGTERM) the dashboard is gone; kill the tmux server."""
        with contextlib.suppress(Exception):
            self.keys("q")
            wait_for(lambda: not alive(self.pid), "the dashboard to quit", 5)
        if alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        self.tmux("kill-server")


@contextlib.contextmanager
def dashboard(cfg: Path, cols: int = 80, rows: int = 24, via=None, env=None) -> Iterator[Dashboard]:  # noqa: ANN001
    dash = Dashboard(cfg, cols, rows, via, env)
    try:
        yield dash
    finally:
        dash.close()


def stop_jobs(cfg: Path) -> None:
    """Stop every active job of `cfg` through the product's CLI (`nba-tui jobs`/`stop`), then kill
    whatever still runs in a recorded job session (the CLI may be slow or broken under load)."""
    base = [sys.executable, "-m", "nba_tui", "--config", str(cfg)]
    try:
        out = subprocess.run([*base, "jobs", "--json"], capture_output=True, text=True, timeout=60)
        jobs = json.loads(out.stdout or "[]")
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        jobs = []
    for job in jobs:
        if isinstance(job, dict) and job.get("state") in ("queued", "running", "paused"):
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    [*base, "stop", job["id"], "--grace", "1"], capture_output=True, timeout=30
                )
    kill_sessions(cfg.parent)


def kill_sessions(root: Path) -> None:
    """SIGKILL the live members of every job session recorded under `root` (json records with a
    `sid`) that work in `root` (their cwd): never a stranger that reuses a finished session id."""
    sids = set()
    for rec in root.rglob("jobs/*.json"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            data = json.loads(rec.read_text())
            if data.get("sid"):
                sids.add(int(data["sid"]))
    for entry in os.listdir("/proc"):
        fields = stat_fields(int(entry)) if entry.isdigit() else None
        if fields is None or int(fields[3]) not in sids or fields[0] == "Z":
            continue
        with contextlib.suppress(OSError):
            if not os.readlink(f"/proc/{entry}/cwd").startswith(str(root)):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry), signal.SIGCONT)
                os.kill(int(entry), signal.SIGKILL)
