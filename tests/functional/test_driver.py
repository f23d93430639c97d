"""The terminal driver's input thread (`upstream.QuietLinuxDriver`): it sleeps while no key comes
(no 100 ms wake-ups of an idle dashboard), yet reads keys, tells a lone Escape by its timeout,
exits at once when input is disabled and stops reading a stdin at its end. Driven through a pipe
standing in for the terminal.

`test_textual_input_thread_still_wakes_while_idle` fails on the day Textual's own `LinuxDriver`
blocks while idle: then delete `QuietLinuxDriver` (tui/upstream.py, item 3) and this file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.drivers.linux_driver import LinuxDriver
from waiting import wait_for

from nba_tui import config
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.upstream import QuietLinuxDriver, quiet_driver


def recorder(base: type[LinuxDriver]) -> LinuxDriver:
    """A driver of class `base` with its messages kept (in `.got`) instead of sent to an app."""

    class Recorder(base):  # type: ignore[misc, valid-type]
        got: list[Any]

        def process_message(self, message: Any) -> None:
            self.got.append(message)

    async def make() -> LinuxDriver:
        return Recorder(object())  # a Driver needs a running loop at construction

    loop = asyncio.new_event_loop()
    try:
        driver = loop.run_until_complete(make())
    finally:
        loop.close()
    driver.got = []
    return driver


WATCHED: list[set[int]] = []
"""The file descriptors each `select` of the test running now waited on."""


@pytest.fixture
def timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Every timeout an input thread passed to `select` (and in WATCHED, what it watched)."""
    seen: list[float | None] = []
    WATCHED.clear()
    real = selectors.SelectSelector.select

    def select(self: selectors.SelectSelector, timeout: float | None = None) -> list:
        WATCHED.append(set(self.get_map()))
        seen.append(timeout)
        return real(self, timeout)

    monkeypatch.setattr(selectors.SelectSelector, "select", select)
    return seen


def running(base: type[LinuxDriver]) -> Iterator[tuple[LinuxDriver, int]]:
    """`base`'s input thread reading a pipe; stopped (and asserted stopped) afterwards."""
    driver = recorder(base)
    read, write = os.pipe()
    driver.fileno = read
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        yield driver, write
    finally:
        driver.exit_event.set()
        thread.join(5)
        assert not thread.is_alive(), "the input thread did not exit when told to"
        driver.close()
        for fd in (read, write):
            with contextlib.suppress(OSError):  # a test may have closed the writing end
                os.close(fd)


@pytest.fixture
def quiet(timeouts: list[float | None]) -> Iterator[tuple[LinuxDriver, int]]:
    yield from running(QuietLinuxDriver)


def keys(driver: LinuxDriver) -> list[str]:
    return [m.key for m in driver.got if isinstance(m, events.Key)]


def test_idle_input_thread_blocks_without_a_timeout(quiet: tuple, timeouts: list) -> None:
    driver, write = quiet
    wait_for(lambda: len(timeouts) >= 1, what="the input thread to wait for input")
    assert timeouts == [None], "an idle input thread must block, not wake on a timeout"
    os.write(write, b"q")
    wait_for(lambda: keys(driver) == ["q"], what="the key q")
    assert all(t is None for t in timeouts), timeouts


def test_lone_escape_arrives_by_its_timeout(quiet: tuple, timeouts: list) -> None:
    driver, write = quiet
    wait_for(lambda: len(timeouts) >= 1, what="the input thread to wait for input")
    os.write(write, b"\x1b")
    wait_for(lambda: keys(driver) == ["escape"], what="a lone Escape")
    assert any(t is not None for t in timeouts), "the Escape deadline needs a finite wait"
    wait_for(lambda: timeouts[-1] is None, what="the thread to sleep again")


def test_exit_wakes_the_sleeping_thread(quiet: tuple, timeouts: list) -> None:
    wait_for(lambda: len(timeouts) >= 1, what="the input thread to wait for input")
    quiet[0].exit_event.set()  # the fixture asserts the thread then ends (within 5 s, not never)


def test_stdin_at_its_end_is_not_read_again(quiet: tuple, timeouts: list) -> None:
    driver, write = quiet
    os.write(write, b"a")
    wait_for(lambda: keys(driver) == ["a"], what="the key a")
    os.close(write)  # stdin at its end: readable at once, forever (a busy loop if watched)
    wait_for(lambda: driver.fileno not in WATCHED[-1], what="the thread to stop watching stdin")
    assert timeouts[-1] is None, "with stdin gone the thread sleeps until told to exit"


def test_the_app_runs_on_the_quiet_driver_where_textual_picks_linux() -> None:
    assert quiet_driver(LinuxDriver) is QuietLinuxDriver
    from textual.drivers.headless_driver import HeadlessDriver

    assert quiet_driver(HeadlessDriver) is HeadlessDriver
    pipe = config.load(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    assert NbaTuiApp(pipe, supervisor=None).driver_class is QuietLinuxDriver


def test_textual_input_thread_still_wakes_while_idle(timeouts: list) -> None:
    for _ in running(LinuxDriver):
        wait_for(lambda: len(timeouts) >= 2, what="Textual's input thread to wake")
    assert timeouts[0] is not None, (
        "Textual's LinuxDriver now blocks while idle: delete QuietLinuxDriver (tui/upstream.py)"
    )
