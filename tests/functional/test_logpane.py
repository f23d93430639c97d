"""The log pane stays bounded whatever the job writes, and keeps drawing the newest line.

`LogSource` is the pane's side of `nba_tui.logtail.LogReader` (offsets, not text; skip ahead);
the Pilot tests check what the *screen* shows (a screenshot), not only the widget's lines: the
bug they guard kept the right lines in memory while the terminal showed line 400 forever.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeMonitor, FakeSupervisor, clock, fixed_snapshot
from textual.app import App, ComposeResult
from ui_helpers import screen_text, wait_for

from nba_tui import config
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.widgets.logpane import (
    MAX_CHARS,
    MAX_LINES,
    READ_BYTES,
    SKIPPED,
    LogPane,
    LogSource,
)

REPO = Path(__file__).resolve().parents[2]
JOB = "job-1"


def test_tail_of_a_big_log_is_bounded(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    with log.open("w") as fh:
        for i in range(200_000):  # ~7 MB
            fh.write(f"Processing 2024-01-01 line {i:06d}\n")
    src = LogSource(JOB, log)
    lines = src.read()
    assert 0 < len(lines) < 1000
    assert lines[-1].endswith("199999")
    assert lines[0].startswith("Processing")  # the cut first line was dropped
    assert src.read() == []


def test_follow_appends_and_cuts_huge_lines(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("one\n")
    src = LogSource(JOB, log)
    assert src.read() == ["one"]
    with log.open("a") as fh:
        fh.write("x" * 1_000_000 + "\n")  # a 1 MB line
        fh.write("two\npartial")
    got = src.read()
    assert got[-1] == "two"
    assert all(len(line) <= MAX_CHARS + 40 for line in got), [len(x) for x in got]
    with log.open("a") as fh:
        fh.write(" line\n")
    assert src.read() == ["partial line"]


def test_100mb_growth_is_skipped_not_read(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("start\n")
    src = LogSource(JOB, log)
    assert src.read() == ["start"]
    with log.open("a") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB appear at once
        fh.seek(0, 2)
        fh.write("\nlast\n")
    got = src.read()
    assert got[0] == SKIPPED
    assert got[-1] == "last"
    assert sum(len(x) for x in got) <= READ_BYTES + len(SKIPPED)


def test_truncated_log_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("a\nb\n")
    src = LogSource(JOB, log)
    assert src.read() == ["a", "b"]
    log.write_text("c\n")
    assert src.read() == ["c"]


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPane(id="log")


async def test_pane_holds_and_shows_the_newest_lines(tmp_path: Path) -> None:
    """Past MAX_LINES the oldest lines go, and the screen keeps showing the newest one."""
    log = tmp_path / "job.log"
    log.write_text("")
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(LogPane)
        pane.follow(JOB, log)
        total = 3 * MAX_LINES + 7
        for start in range(0, total, 50):
            pane.add_lines(JOB, [f"line {i:05d}" for i in range(start, min(total, start + 50))])
            await pilot.pause()
        assert len(pane.lines) == MAX_LINES
        assert pane.lines[0] == f"line {total - MAX_LINES:05d}"
        assert pane.lines[-1] == f"line {total - 1:05d}"
        await pilot.pause()
        assert f"line {total - 1:05d}" in screen_text(app)
        pane.add_lines("another-job", ["not mine"])
        assert pane.lines[-1] == f"line {total - 1:05d}"


@pytest.mark.parametrize("prefill", [0, 1000])
async def test_selected_jobs_log_keeps_drawing_past_2000_lines(
    tmp_path: Path, prefill: int
) -> None:
    """Issue 9: the selected job's log stopped drawing after ~400 lines, and at once when the job
    was selected with a log over 16 KB (`prefill`: ~30 KB). The fake running job's log grows by
    2,000 lines while it is shown; the screen shows the last one."""
    pipe = config.load(REPO / "pipeline.yaml")
    sup = FakeSupervisor(tmp_path / "logs")
    with sup.log.open("a") as fh:
        fh.writelines(f"Processing 2024-02-13 earlier line {i:05d}\n" for i in range(prefill))
    app = NbaTuiApp(
        pipe,
        monitor=FakeMonitor(fixed_snapshot(pipe)),
        supervisor=sup,
        clock=clock,
        job_refresh=0.1,
    )
    async with app.run_test(size=(100, 50)) as pilot:  # tall: gap map and log both shown
        pane = app.query_one(LogPane)
        await wait_for(pilot, lambda: pane.job_id == sup.views[0].id, "log pane on the job")
        await wait_for(pilot, lambda: pane.lines, "the log's first lines")
        for batch in range(20):
            with sup.log.open("a") as fh:
                fh.writelines(f"Success line {batch * 100 + i:05d}\n" for i in range(100))
            last = f"Success line {batch * 100 + 99:05d}"
            await wait_for(pilot, lambda last=last: pane.lines[-1] == last, last)
        await wait_for(
            pilot, lambda: "Success line 01999" in screen_text(app), "line 2,000 on screen"
        )
        assert len(pane.lines) == MAX_LINES
