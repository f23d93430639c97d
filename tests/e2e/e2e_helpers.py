"""Helpers shared by the end-to-end tests (`test_tmux.py`, `test_ssh.py`) and `sshd.py`.

A private tmux server to drive and read the real dashboard (`Tmux`, `row`), and /proc readers to find, follow and check processes without pgrep or
ps (`stat_fields`, `alive`, `children`, `descendants`, `argv_of`, `start_time`).

A plain module with a unique name, not a conftest: conftest modules of different test folders all
import as `conftest` and clash. pytest's default (prepend) import mode puts this folder on
sys.path when it collects the tests here, so `from e2e_helpers import ...` works as
`from sshd import ...` does. Waits go through `waiting.wait_for` (tests/ is on sys.path: the
suite's conftest.py, or bench/harness.py).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from waiting import wait_for

TMUX = shutil.which("tmux") or "/usr/bin/tmux"
TABLE = "team_defense_game_summary"  # the sample table both tests launch, watch and stop


class Tmux:
    """A private tmux server (`tmux -L SOCKET`), apart from the user's; kill it with
    `tmux("kill-server")` when done. Sessions are 80x24: the size the dashboard must fit."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        """Run one tmux command against this server; its stdout."""
        out = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def new_session(self, name: str, shell_command: str) -> None:
        """A detached 80x24 session `name` running `shell_command` (a shell string, as given)."""
        self("new-session", "-d", "-s", name, "-x", "80", "-y", "24", shell_command)

    def start(self, name: str, argv: list[str]) -> None:
        """A session running `argv` (shell-quoted, exec'd: the pane's process is the program)."""
        self.new_session(name, "exec " + shlex.join(argv))

    def sessions(self) -> list[str]:
        return self("list-sessions", "-F", "#{session_name}").split()

    def pane_pid(self, name: str) -> int:
        """The pid of the process tmux started in session `name`'s pane."""
        return int(self("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def screen(self, name: str) -> str:
        return self("capture-pane", "-p", "-t", name)

    def wait(self, name: str, cond: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        """Poll the screen until `cond(screen)` holds; that screen, or fail showing the last one."""
        seen = [""]

        def shown() -> bool:
            seen[0] = self.screen(name)
            return cond(seen[0])

        try:
            wait_for(shown, timeout, what, interval=0.1)
        except AssertionError as e:
            raise AssertionError(f"{e}; screen:\n{seen[0]}") from None
        return seen[0]


def row(text: str, table: str = TABLE) -> str:
    """The grid line of `table` on a captured screen, or "" if it is not shown."""
    return next((line for line in text.splitlines() if line.startswith(table)), "")


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from the state field on (state, ppid, pgrp, session, ...); None if gone.

    Split after the last ")": the command name in parentheses may hold spaces and ")"."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def alive(pid: int | None) -> bool:
    """The process exists and is not a zombie (a killed child not yet reaped is not alive)."""
    fields = stat_fields(pid) if pid else None
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (no pgrep needed)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None and int(fields[1]) == pid:
                out.append(int(entry))
    return out


def descendants(pid: int) -> list[int]:
    """Children, grandchildren, ... of `pid`, depth first."""
    out = []
    for child in children(pid):
        out.append(child)
        out.extend(descendants(child))
    return out


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); None if
    gone. With the pid it tells a process from a later one that reuses its pid."""
    fields = stat_fields(pid)
    return None if fields is None else int(fields[19])


def argv_of(pid: int) -> list[str]:
    """The command line of `pid` (/proc/PID/cmdline), [] if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]
