"""A private OpenSSH server on 127.0.0.1 for the end-to-end tests (used by `test_ssh.py`).

`Sshd(tmp_dir)` writes a fresh host key, a fresh client key in its own `authorized_keys` and an
`sshd_config` under `tmp_dir`, starts `/usr/sbin/sshd -D -e -f CONFIG` as the current user on a
free port and waits (with a deadline) until it logs that it listens and the port accepts a
connection. `ssh_argv(remote)` is the client command line for that server; `close()` (or leaving
the `with` block) stops the server and every session process it forked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from e2e_helpers import descendants, start_time
from waiting import wait_for

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start as root without it


class SshdError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Sshd:
    def __init__(self, root: Path, timeout: float = 10) -> None:
        if not (Path(SSHD).exists() and shutil.which("ssh") and shutil.which("ssh-keygen")):
            raise SshdError(
                f"{SSHD}, ssh and ssh-keygen are needed: install openssh-server and "
                "openssh-client (scripts/test.sh does)"
            )
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.host_key = root / "ssh_host_ed25519_key"
        self.client_key = root / "id_ed25519"
        self.authorized_keys = root / "authorized_keys"
        self.config = root / "sshd_config"
        self.log = root / "sshd.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        for key in (self.host_key, self.client_key):
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "nba-tui-e2e",
                    "-f",
                    str(key),
                ],
                check=True,
                capture_output=True,
                timeout=10,
            )
        self.authorized_keys.write_text(self.client_key.with_suffix(".pub").read_text())
        if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        # free_port() may race with another process grabbing the port: retry on a new one
        for _attempt in range(3):
            if self._start(free_port(), timeout):
                return
        raise SshdError(f"sshd did not start; its log:\n{self.log_text()}")

    def _write_config(self, port: int) -> None:
        lines = [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "PrintMotd no",
            "PrintLastLog no",
            "LogLevel INFO",
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def _start(self, port: int, timeout: float) -> bool:
        self._write_config(port)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        proc = self.proc

        def settled() -> str | None:
            if proc.poll() is not None:
                return "exited"  # e.g. the port was taken meanwhile; the log says why
            listens = f"listening on 127.0.0.1 port {port}" in self.log_text() and accepts(port)
            return "listening" if listens else None

        try:
            state = wait_for(settled, timeout, f"sshd to listen on port {port}")
        except AssertionError:
            self.close()
            raise SshdError(
                f"sshd did not listen within {timeout}s; its log:\n{self.log_text()}"
            ) from None
        if state == "exited":
            return False
        self.port = port
        return True

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def ssh_argv(self, remote: str, *, tty: bool = True) -> list[str]:
        """The `ssh` command line that runs the shell command `remote` on this server."""
        return [
            "ssh",
            *(["-tt"] if tty else []),
            "-F",
            "/dev/null",  # no user or system client config
            "-i",
            str(self.client_key),
            "-p",
            str(self.port),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ServerAliveInterval=2",
            "-o",
            "ServerAliveCountMax=3",
            "127.0.0.1",
            remote,
        ]

    def close(self) -> None:
        """Stop the listener and every per-connection sshd (and what still runs under them)."""
        if self.proc is None:
            return
        pids = {pid: start_time(pid) for pid in descendants(self.proc.pid)}
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for pid, born in pids.items():
            if born is not None and start_time(pid) == born:  # never a recycled pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.proc = None

    def __enter__(self) -> Sshd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
