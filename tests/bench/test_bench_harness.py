"""The benchmark harness's own plumbing, on tiny real runs (no tmux, no dashboard): figures and
their ✔/✘, the JSON that run_all writes, the closing `quick: N of M` line, a failing benchmark
reported as one ✘ figure, and flood.py writing what it was asked to (a real subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import run_all  # noqa: E402
from harness import Figure, figure, missing, print_figures, write_json  # noqa: E402


def test_figure_marks_and_shows_its_value_against_the_target() -> None:
    ok = figure("idle bytes", 17.5, "B/s", "≤ 50 B/s", lambda v: v <= 50)
    bad = figure("3 jobs CPU", 1.62, "%", "≤ 0.5 %", lambda v: v <= 0.5)
    plain = figure("first paint", 17.8, "KB")
    gone = missing("idle night: bytes billed", "n/a (not exposed)", "0 B")
    assert (ok.ok, bad.ok, plain.ok, gone.ok) == (True, False, None, None)
    out = io.StringIO()
    print_figures([ok, bad, plain, gone], out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("✔ idle bytes") and "17.50 B/s" in lines[0]
    assert lines[1].startswith("✘ 3 jobs CPU") and "≤ 0.5 %" in lines[1]
    assert "n/a (not exposed)" in lines[3]


def test_json_round_trip_and_the_closing_line(tmp_path: Path) -> None:
    figs = [
        figure("a", 1.0, "s", "≤ 2 s", lambda v: v <= 2),
        figure("b", 3.0, "s", "≤ 2 s", lambda v: v <= 2),
        figure("c", 3.0, "s"),
        missing("d", "skipped: no tmux", "(skipped)"),
    ]
    path = tmp_path / "out.json"
    write_json(figs, path, {"quick": True})
    data = json.loads(path.read_text())
    assert data["quick"] is True
    assert [f["name"] for f in data["figures"]] == ["a", "b", "c", "d"]
    assert data["figures"][1]["ok"] is False and data["figures"][1]["value"] == 3.0
    assert run_all.summary(figs, quick=True) == ("quick: 1 of 3 targets met", False)
    assert run_all.summary(figs[:1], quick=False) == ("all: 1 of 1 targets met", True)


def test_a_failing_benchmark_is_one_failed_figure_and_the_run_goes_on(tmp_path: Path) -> None:
    def broken(work: Path) -> list[Figure]:
        raise RuntimeError("timed out waiting for the first data frame\nscreen ...")

    [fig] = run_all.run_step(run_all.Step("broken", broken, terminal=False), tmp_path)
    assert fig.ok is False and fig.group == "broken"
    assert "timed out waiting" in fig.note and "screen" not in fig.note
    assert run_all.summary([fig], quick=True) == ("quick: 0 of 1 targets met", False)


def test_flood_writes_the_asked_volume_of_progress_lines(tmp_path: Path) -> None:
    log = tmp_path / "flood.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "flood.py"),
                "--rate",
                "0",
                "--total-mb",
                "0.5",
                "--line-bytes",
                "100",
                "--dates",
                "2024-01-01,2024-01-02",
            ],
            stdout=out,
            timeout=60,
        )
    assert done.returncode == 0
    lines = log.read_bytes().splitlines()
    assert 500_000 <= sum(len(x) + 1 for x in lines) < 700_000
    assert all(len(x) == 99 and x.startswith(b"Processing 2024-01-0") for x in lines)
