"""A stop flag that a signal handler may set: for loops that sleep between cycles and must wake at
once on SIGTERM/SIGINT (`nba-tui watch`, the remote-job bridge).

`threading.Event.wait` is not enough: Python runs a signal's handler in the main thread, but
the kernel may deliver the signal to any thread (the monitor's daemon poll thread, a client's
worker); the main thread then sleeps on in its wait until the timeout, the handler not yet run
(a CI run caught `watch` ignoring SIGTERM for 30 s this way). Here `install` also makes our pipe
Python's wakeup fd (`signal.set_wakeup_fd`): whichever thread takes the signal, its C-level
handler writes a byte there, and `wait`, which selects on the pipe, wakes at once; the handler
itself only stores a flag and writes a byte (no lock: it may interrupt anything).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from types import FrameType


class StopSignal:
    """`set`, `is_set` and `wait(timeout)` like an Event; `install` makes it the handler of
    signals (`uninstall` before it is dropped: the wakeup fd must not outlive its pipe)."""

    _old: dict[int, object]
    _old_fd: int

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._set = False

    def set(self) -> None:
        self._set = True
        with contextlib.suppress(OSError):  # a full pipe already wakes the waiter
            os.write(self._write, b"x")

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.set()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds or until set; True if set."""
        deadline = time.monotonic() + max(0.0, timeout)
        while not self._set:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self._read], [], [], left)
            if ready:  # a wakeup byte: the handler runs before the next check of the flag
                with contextlib.suppress(BlockingIOError):
                    os.read(self._read, 512)
        return self._set

    def __del__(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def install(self, *signums: signal.Signals) -> None:
        """Make this the handler of `signums` and our pipe the wakeup fd (from the main thread);
        `uninstall` puts back what was there."""
        self._old_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._old = {s: signal.signal(s, self.handler) for s in signums}

    def uninstall(self) -> None:
        for s, h in getattr(self, "_old", {}).items():
            signal.signal(s, h)
        if hasattr(self, "_old_fd"):
            signal.set_wakeup_fd(self._old_fd)
        self._old = {}
