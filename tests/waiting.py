"""The one way tests wait: poll a condition until it holds, bounded, and fail naming what was awaited.

Tests synchronise on conditions (a state reached, a line written, a counter moved), never on time.
`wait_for` polls between short sleeps (threads, processes, servers); `wait_for_ui` polls between
turns of a Textual app's event loop (`pilot.pause`), so the app keeps running while the test waits;
`wait_for_async` does the same for a coroutine test without an app (`asyncio.sleep`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

INTERVAL = 0.05
"""Seconds between two looks at the condition."""


def _looks(timeout: float, what: str) -> Iterator[None]:
    """One step per look until `timeout` seconds have passed, then an AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def wait_for(
    cond: Callable[[], object],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = INTERVAL,
) -> Any:
    """Poll `cond` until it returns something truthy and return that; fail after `timeout` s.
    `interval`: seconds between looks, longer for a look that costs a process (tmux)."""
    for _ in _looks(timeout, what):
        value = cond()
        if value:
            return value
        time.sleep(interval)


async def wait_for_ui(
    pilot: Any, cond: Callable[[], object], what: str = "condition", timeout: float = 15.0
) -> Any:
    """`wait_for` for a running Textual app: the app's event loop turns between two looks."""
    for _ in _looks(timeout, what):
        value = cond()
        if value:
            return value
        await pilot.pause(INTERVAL)


async def wait_for_async(
    cond: Callable[[], object], what: str = "condition", timeout: float = 15.0
) -> Any:
    """`wait_for` inside a coroutine: the running event loop turns between two looks."""
    for _ in _looks(timeout, what):
        value = cond()
        if value:
            return value
        await asyncio.sleep(INTERVAL)
