"""The log follower stays bounded whatever the job writes (toolong's offsets-not-text habit)."""

from __future__ import annotations

from pathlib import Path

from nba_tui.tui.widgets.logpane import MAX_LINES, LogFollower, LogPane


def test_tail_of_a_big_log_is_bounded(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    with log.open("w") as fh:
        for i in range(200_000):  # ~5 MB
            fh.write(f"Processing 2024-01-01 line {i:06d}\n")
    f = LogFollower(log)
    lines = f.start_tail(16 * 1024)
    assert 0 < len(lines) < 1000
    assert lines[-1].endswith("199999")
    assert lines[0].startswith("Processing")  # the cut first line was dropped
    assert f.read() == []


def test_follow_appends_and_cuts_huge_lines(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("one\n")
    f = LogFollower(log, chunk=64 * 1024, max_line=400)
    assert f.start_tail() == ["one"]
    with log.open("a") as fh:
        fh.write("x" * 1_000_000 + "\n")  # a 1 MB line
        fh.write("two\npartial")
    got = f.read()
    assert all(len(line) < 500 for line in got)
    assert got[-1] == "two"
    with log.open("a") as fh:
        fh.write(" line\n")
    assert f.read() == ["partial line"]


def test_100mb_growth_is_skipped_not_read(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("start\n")
    f = LogFollower(log, chunk=64 * 1024)
    f.start_tail()
    with log.open("a") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB appear at once
        fh.seek(0, 2)
        fh.write("\nlast\n")
    got = f.read()
    assert sum(len(x) for x in got) <= 64 * 1024 + 100
    assert got[-1] == "last"


def test_truncated_log_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("a\nb\n")
    f = LogFollower(log)
    f.start_tail()
    log.write_text("c\n")
    assert f.read() == ["c"]


def test_pane_is_bounded() -> None:
    assert LogPane().max_lines == MAX_LINES
