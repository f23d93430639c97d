"""The log pane stays bounded whatever the job writes, and keeps drawing the newest line.

`LogSource` is the pane's side of `nba_tui.logtail.LogReader` (offsets, not text; skip ahead);
the Pilot tests check what the *screen* shows (a screenshot), not only the widget's lines: the
bug they guard kept the right lines in memory while the terminal showed line 400 forever.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fakes import FakeMonitor, FakeSupervisor, clock, fixed_snapshot
from textual.app import App, ComposeResult
from ui_helpers import key_bindings, screen_text, wait_for

from nba_tui import config
from nba_tui.tui import keys, layout
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
    """The selected job's log keeps drawing past the pane's MAX_LINES, also when the job was
    selected with a log over its 16 KB tail (`prefill`: ~30 KB). The fake running job's log grows
    by 2,000 lines while it is shown; the screen shows the last one."""
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


def _log_rows(text: str) -> list[str]:
    """The log pane's rows on screen: after its title, before the footer, scrollbar rows out
    (none when the log is not shown)."""
    rows = text.splitlines()
    start = next((i for i, row in enumerate(rows) if row.startswith("log ")), len(rows) - 1)
    body = [row.rstrip("▁▂▃▄▅▆▇█ ").strip() for row in rows[start + 1 : -1]]
    return [row for row in body if row and set(row) - set("▎▏▕▌▍▋▊▉█")]


EXIT_LINE = "[nba-tui 2026-01-01 00:12:34] job job-team_d exited with code 1"


def _ended_job_app(tmp_path: Path) -> NbaTuiApp:
    """The dashboard over a job whose log ends with its exit line; a long first line brings the
    log's horizontal scrollbar, which must not hide that line."""
    pipe = config.load(REPO / "pipeline.yaml")
    sup = FakeSupervisor(tmp_path / "logs")
    sup.log.write_text(
        "argv: " + "x" * 300 + "\n"
        + "".join(f"Processing 2024-02-{d:02d} ({d}/60)\nSuccess 2024-02-{d:02d}: 14 rows\n"
                  for d in range(1, 29))
        + EXIT_LINE + "\n"
    )  # fmt: skip
    return NbaTuiApp(pipe, monitor=FakeMonitor(fixed_snapshot(pipe)), supervisor=sup, clock=clock)


async def _on_the_job(pilot, app: NbaTuiApp) -> None:
    await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
    app.query_one("#grid").select_key("team_defense_game_summary")
    await wait_for(pilot, lambda: app.query_one(LogPane).lines, "the job's log read")


async def _settled_at(pilot, app: NbaTuiApp, size: tuple[int, int], log: bool) -> str:
    """The screen once resized to `size`, its log (when `log`) ending with the exit line."""
    await pilot.resize_terminal(*size)

    def settled() -> str | None:
        text = screen_text(app)
        if len(text.splitlines()) != size[1] or app.size != size:
            return None
        return text if not log or _log_rows(text)[-1:] == [EXIT_LINE] else None

    await wait_for(pilot, settled, f"the screen at {size}")
    await pilot.pause()
    return screen_text(app)


async def test_opens_on_the_grid_and_20_log_lines_from_40_rows_more_when_taller(
    tmp_path: Path,
) -> None:
    """As it opens, 120x40 shows the grid and at least 20 log lines ending with the
    job's exit line; from 40 rows on every size does, and a taller terminal never shows fewer
    log lines. Below 40 rows the bottom pane opens on the gap map."""
    app = _ended_job_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _on_the_job(pilot, app)
        text = await _settled_at(pilot, app, (120, 40), log=True)
        assert len(_log_rows(text)) >= 20, text
        rows = text.splitlines()
        assert rows[1].startswith("table"), text  # the grid, with the selected row
        assert any(row.startswith("team_defense_game_summary") for row in rows[2:20]), text
        assert "v gap map" in rows[-1]  # the footer says what `v` shows
        counts = []
        for height in (24, 30, 39, 40, 45, 50, 55, 60, 61, 62, 70, 80):
            text = await _settled_at(pilot, app, (120, height), log=height >= 40)
            counts.append(len(_log_rows(text)))
            if height < 40:
                assert "gaps team_defense_game_summary" in text, (height, text)
            else:
                assert counts[-1] >= 20, (height, text)
        assert counts == sorted(counts), counts
        assert counts[-1] > counts[-5] > counts[3], counts  # 80 > 61 > 40 rows


async def test_v_shows_the_gap_map_whole_then_the_log_alone_and_keeps_the_choice(
    tmp_path: Path,
) -> None:
    """`v` at 120x40: the gap map whole (the footer then offers the log), `v` again: the log
    alone; the choice holds across sizes, the exit line always last."""
    app = _ended_job_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _on_the_job(pilot, app)
        await _settled_at(pilot, app, (120, 40), log=True)
        await pilot.press("v")
        await wait_for(pilot, lambda: "v log" in screen_text(app).splitlines()[-1], "v log")
        text = screen_text(app)
        assert "█ present" in text, text  # the whole map, down to its legend
        assert len(_log_rows(text)) < 20, text  # the log's end in the rows left
        await pilot.press("v")
        text = await _settled_at(pilot, app, (120, 40), log=True)
        assert "gaps team_defense" not in text and len(_log_rows(text)) >= 20, text
        assert "v gap map" in text.splitlines()[-1]
        help_v = [what for key, what in keys.help_lines(key_bindings(app)) if key == "v"]
        assert ["gap map whole" in help_v[0], "log alone" in help_v[1]] == [True, True], help_v
        counts = {}
        for size in ((80, 24), (120, 39), (120, 50), (120, 70)):
            text = await _settled_at(pilot, app, size, log=True)
            counts[size] = len(_log_rows(text))
        assert counts[(80, 24)] <= counts[(120, 39)] < 20 < counts[(120, 50)] < counts[(120, 70)]


@pytest.mark.parametrize("view", [None, "gaps", "log"])
def test_a_taller_screen_never_gives_the_log_fewer_rows(view: layout.View | None) -> None:
    """layout.panes at every height from 24 to 120 rows and every grid size: the log's rows
    never shrink as the terminal grows; as it opens, at least LOG_LINES of them from 40 rows."""
    for grid_rows in range(2, 45):
        before = 0
        for height in range(24, 121):
            panes = layout.panes(height, view, grid_rows)
            grid = min(grid_rows, layout.GRID_MAX_ROWS)
            bottom = height - 2 - grid if panes.bottom is None else panes.bottom
            gaps = layout.GAPS_ROWS if panes.gaps is None else panes.gaps
            log = bottom - 1 - gaps - 1 if panes.log else 0  # the border, the log's title
            assert height - 2 - bottom >= min(grid, 5), (height, grid_rows)  # the grid shows
            assert log >= before, (height, grid_rows, before, log, panes)
            if view is None and height >= layout.LOG_ROWS_FROM:
                assert log >= layout.LOG_LINES + 1, (height, grid_rows, panes)  # + scrollbar
            before = log


async def test_a_plan_shard_that_starts_after_it_was_shown_gets_its_log_followed(
    tmp_path: Path,
) -> None:
    """A plan's shard is recorded queued without a log and gets one when it starts, under the
    same job id: the pane follows that log as soon as the job refresh brings it, no key press."""
    pipe = config.load(REPO / "pipeline.yaml")
    sup = FakeSupervisor(tmp_path / "logs")
    first = sup.views[0]
    sup.views[0] = dataclasses.replace(first, record=dataclasses.replace(first.record, log=""))
    app = NbaTuiApp(
        pipe, monitor=FakeMonitor(fixed_snapshot(pipe)), supervisor=sup, clock=clock,
        job_refresh=0.1,
    )  # fmt: skip
    async with app.run_test(size=(100, 50)) as pilot:
        pane = app.query_one(LogPane)
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        app.query_one("#grid").select_key(first.record.table)
        await wait_for(pilot, lambda: app.selection.table == first.record.table, "its row")
        await pilot.pause()
        assert pane.job_id is None and not pane.lines  # queued: no log yet
        sup.views[0] = first  # started: its log is recorded
        await wait_for(pilot, lambda: pane.job_id == first.id and pane.lines, "the log followed")
        assert pane.lines[-1] == "Success 2024-02-12: 14 rows"
        await wait_for(pilot, lambda: "Success 2024-02-12: 14 rows" in screen_text(app), "shown")
