"""The dashboard's poll timing: a fixed cadence, start to start, and `R` counting every table again
(bypassing the warehouse's change detection once)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fakes import FakeMonitor, FakeSupervisor, fixed_snapshot
from ui_helpers import wait_for

from nba_tui import config
from nba_tui.monitor import Monitor, PollResult
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.polling import MIN_POLL_GAP_S, next_poll_at


class HeldMonitor(FakeMonitor):
    """Each poll records when it started and answers only once the test releases it."""

    def __init__(self, snap, interval: float) -> None:
        super().__init__(snap)
        self.interval = interval
        self.started: list[float] = []
        self.release = asyncio.Event()

    async def poll(self) -> PollResult:
        self.started.append(time.monotonic())
        await self.release.wait()
        self.release.clear()
        self.polls += 1
        return PollResult(self.snap, fresh=True, next_in=self.interval)


def test_next_poll_counts_from_the_start_of_a_good_poll_and_never_overlaps() -> None:
    assert next_poll_at(100.0, 103.0, 10.0, fresh=True) == 110.0  # start to start
    assert next_poll_at(100.0, 112.0, 10.0, fresh=True) == 112.0 + MIN_POLL_GAP_S  # overran
    assert next_poll_at(100.0, 103.0, 60.0, fresh=False) == 163.0  # a back-off: from the failure


async def test_the_next_poll_is_due_one_interval_after_the_last_one_started(tmp_path) -> None:
    pipe = config.load(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    monitor = HeldMonitor(fixed_snapshot(pipe), interval=30.0)
    app = NbaTuiApp(pipe, monitor=monitor, supervisor=FakeSupervisor(tmp_path / "logs"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: monitor.started, "the first poll to start")
        await pilot.pause(0.2)  # the poll takes a while: it must not delay the next one
        monitor.release.set()
        await wait_for(
            pilot, lambda: app.polls_done == 1 and not app.poller.polling, "the first poll"
        )
        # Due 30 s after the poll started (armed a moment before the monitor was called), not
        # 30 s after it ended (at least 0.2 s later).
        began = app.poller.next_due - 30.0
        assert monitor.started[0] - 1.0 < began <= monitor.started[0]


async def test_R_counts_every_table_again_even_when_nothing_changed(pipeline) -> None:
    """The embedded warehouse's quiet polls count nothing (data_version, change counters);
    `R` makes the next poll count every table."""
    app = NbaTuiApp(pipeline, monitor=Monitor(pipeline), supervisor=None)
    async with app.run_test(size=(80, 24)) as pilot:

        def queries() -> int | None:
            poll = app.last_poll
            return None if poll is None or poll.snapshot is None else poll.snapshot.queries

        await wait_for(pilot, lambda: app.polls_done >= 2 and queries() == 0, "a quiet poll")
        done = app.polls_done
        await pilot.press("R")
        await wait_for(pilot, lambda: app.polls_done > done and queries(), "a recount", 20.0)
        assert app.last_poll.snapshot.queries == 1
