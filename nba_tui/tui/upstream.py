"""Workarounds for two open Textual memory leaks and the input thread's idle wake-ups: the one
module of nba-tui that touches Textual's private names (`textual._styles_cache`,
`textual.widgets._footer`, the name-mangled watcher list of `textual.reactive`, `node._closing`,
`textual._xterm_parser`, `textual._parser`, `textual._time`). Each goes once upstream fixes it;
tests/functional/test_upstream_leaks.py and test_driver.py fail on that day, saying which to remove.

1. Watchers of removed nodes are kept by the node they watch
   (https://github.com/Textualize/textual/issues/6666). `Footer.compose` binds every `FooterKey`
   to the footer's `compact` reactive (`data_bind`), which stores `(key, callback)` in the
   *footer's* watcher list. The footer recomposes whenever the active bindings change (a modal
   opens or closes, the cursor moves between a phase header and a table row); the entries of the
   removed keys are pruned only when `compact` changes, which it never does here, so every rebuild
   kept its old keys alive. `prune_watchers(footer)` drops the entries of nodes no longer in the
   DOM before each rebuild (`LeanFooter.compose`).
2. `StylesCache.get_inner_outer` is an `lru_cache(1024)` on a method
   (https://github.com/Textualize/textual/issues/6665): its keys hold up to 1,024 `StylesCache`
   objects, each with the rendered lines of its (long gone) widget. `release_render_caches()`
   empties it; a modal calls it when it closes (it refills from the widgets on screen).
3. `LinuxDriver.run_input_thread` waits for a key with `select(0.1)`, only to look at its exit
   flag and the escape parser's deadline: ten wake-ups a second of a dashboard that nobody types
   into, as much CPU as everything else it does while idle (no upstream issue found; the same
   loop spins when stdin reaches end of file, https://github.com/Textualize/textual/pull/6690).
   `QuietLinuxDriver` runs the same loop blocking in `select` until a key, a resize report or its
   exit flag (a pipe the flag writes to when set); it waits on a deadline only while the parser
   waits to tell a lone Escape from the start of a sequence, and stops reading a stdin at its
   end. `quiet_driver(found)` swaps it in wherever Textual picked `LinuxDriver`.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._parser import ParseError
from textual._styles_cache import StylesCache
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.dom import DOMNode
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.widgets._footer import FooterKey

WATCHERS = "__watchers"
"""The attribute under which `textual.reactive._watch` keeps an object's watchers (8.x)."""

__all__ = [
    "FooterKey",
    "QuietLinuxDriver",
    "prune_watchers",
    "quiet_driver",
    "release_render_caches",
]


def prune_watchers(node: DOMNode) -> int:
    """Forget the watchers `node` keeps for nodes no longer attached (issue 6666); returns how
    many were dropped."""
    watchers = getattr(node, WATCHERS, None)
    if not isinstance(watchers, dict):
        return 0
    dropped = 0
    for name, entries in watchers.items():
        keep = [(n, cb) for n, cb in entries if n.is_attached and not n._closing]
        dropped += len(entries) - len(keep)
        watchers[name] = keep
    return dropped


def release_render_caches() -> None:
    """Drop the class-wide cache that keeps closed widgets' rendered lines alive (issue 6665)."""
    clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if clear is not None:
        clear()


class _WakingEvent(threading.Event):
    """The driver's exit flag: setting it also wakes the input thread blocked in `select`."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # a full pipe: a wake-up is pending anyway
            os.write(self._wake_fd, b"x")


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` whose input thread sleeps while no key comes (item 3 of the module)."""

    def __init__(self, app: Any, **kw: Any) -> None:
        super().__init__(app, **kw)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.exit_event = _WakingEvent(self._wake_w)

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 512):
                pass

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop, with a blocking `select`)."""
        self._drain_wake()  # the wake-up of an earlier exit (suspend, then resume)
        fileno, wake = self.fileno, self._wake_r
        selector = selectors.SelectSelector()
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, mask in ready:
                if key.fd != fileno or not mask & selectors.EVENT_READ:
                    continue
                data = decode(os.read(fileno, 1024 * 4), final=final)
                if not data:  # stdin at its end: never readable again, never spin on it
                    selector.unregister(fileno)
                    break
                for event in parser.feed(data):
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        def timeout() -> float | None:
            due = parser._timeout_time  # the escape parser's pending deadline
            return None if due is None else max(0.0, due - get_time())

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(wake)
            if selector.get_map():
                process(selector.select(0.1), final=True)
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _ in parser.feed(""):
                    pass

    def close(self) -> None:
        super().close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def quiet_driver(found: type[Driver]) -> type[Driver]:
    """The driver to run on: `QuietLinuxDriver` where Textual picked `LinuxDriver` (Linux,
    macOS), else what it picked (Windows, headless tests, `TEXTUAL_DRIVER`)."""
    return QuietLinuxDriver if found is LinuxDriver else found
