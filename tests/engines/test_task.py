"""nba_tui.task: each Cloud Run task keeps its contiguous slice of the job's dates and runs the
program with it (real processes, no shell)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nba_tui import task

DATES = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(10)]


@pytest.mark.parametrize(("n", "count"), [(10, 3), (10, 10), (10, 4), (3, 8), (1, 1), (7, 2)])
def test_every_date_lands_in_exactly_one_task_and_sizes_differ_by_at_most_one(
    n: int, count: int
) -> None:
    dates = DATES[:n]
    slices = [task.task_slice(dates, i, count) for i in range(count)]
    assert [d for s in slices for d in s] == dates  # contiguous, in order, each exactly once
    sizes = [len(s) for s in slices]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # the first tasks take the extra dates


def test_uneven_split_of_ten_dates_over_three_tasks() -> None:
    assert [len(task.task_slice(DATES, i, 3)) for i in range(3)] == [4, 3, 3]
    assert task.task_slice(DATES, 2, 3) == DATES[7:]


def plan(argv: list[str], index: int, count: int) -> tuple[list[str] | None, str]:
    env = {"CLOUD_RUN_TASK_INDEX": str(index), "CLOUD_RUN_TASK_COUNT": str(count)}
    return task.plan(argv, env)


def test_plan_replaces_the_slot_with_the_slice() -> None:
    argv = ["--slot", "2", "--", "prog", "--dates", ",".join(DATES), "--x"]
    program, line = plan(argv, 1, 3)
    assert program == ["prog", "--dates", ",".join(DATES[4:7]), "--x"]
    assert line == "task 2/3: dates 2024-01-05..2024-01-07 (3 of 10)"


def test_defaults_are_one_task() -> None:
    program, _ = task.plan(["--slot", "1", "--", "prog", "2024-01-02,2024-01-01"], {})
    assert program == ["prog", "2024-01-02,2024-01-01"]


def test_an_empty_slice_runs_nothing() -> None:
    program, line = plan(["--slot", "1", "--", "prog", "2024-01-01,2024-01-02"], 5, 8)
    assert program is None
    assert "no dates" in line


def test_without_a_slot_only_task_one_runs_the_command() -> None:
    assert plan(["--", "prog", "a"], 0, 3)[0] == ["prog", "a"]
    assert plan(["--", "prog", "a"], 2, 3)[0] is None


def run_task(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nba_tui.task", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--slot", "1", "prog", "2024-01-01"], {}, "usage"),
        (["--slot", "1", "--"], {}, "no program"),
        (["--slot", "5", "--", "prog", "2024-01-01"], {}, "out of range"),
        (["--slot", "0", "--", "prog", "2024-01-01"], {}, "out of range"),
        (["--slot", "x", "--", "prog", "2024-01-01"], {}, "--slot 'x'"),
        (["--slot", "1", "--", "prog", "2024-01-01,soon"], {}, "not a date"),
        (["--", "prog"], {"CLOUD_RUN_TASK_INDEX": "3", "CLOUD_RUN_TASK_COUNT": "2"}, "not below"),
        (["--", "prog"], {"CLOUD_RUN_TASK_COUNT": "two"}, "not a whole number"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    args: list[str], env: dict[str, str], needle: str
) -> None:
    proc = run_task(args, env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_runs_the_real_program_with_its_slice_and_its_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "seen.txt"
    script = "import sys; open(sys.argv[1], 'w').write(sys.argv[2]); sys.exit(7)"
    args = ["--slot", "4", "--", "python", "-c", script, str(out), ",".join(DATES)]
    proc = run_task(args, {"CLOUD_RUN_TASK_INDEX": "2", "CLOUD_RUN_TASK_COUNT": "3"})
    assert proc.returncode == 7  # the program's own exit code (execvp: same process)
    assert out.read_text() == ",".join(DATES[7:])
    assert proc.stdout.splitlines() == ["task 3/3: dates 2024-01-08..2024-01-10 (3 of 10)"]


def test_an_empty_slice_exits_0_without_running(tmp_path: Path) -> None:
    out = tmp_path / "ran"
    script = "import sys; open(sys.argv[1], 'w').write('ran')"
    args = ["--slot", "4", "--", "python", "-c", script, str(out), "2024-01-01"]
    proc = run_task(args, {"CLOUD_RUN_TASK_INDEX": "1", "CLOUD_RUN_TASK_COUNT": "2"})
    assert proc.returncode == 0
    assert not out.exists()


def test_a_missing_program_is_one_line_exit_127() -> None:
    proc = run_task(["--", "/nonexistent/nba-tui-program"])
    assert proc.returncode == 127
    assert len(proc.stderr.splitlines()) == 1 and "install it in the image" in proc.stderr
