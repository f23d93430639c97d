"""CLI manners: a range launch on a terminal asks before redoing present dates, as `l` does in
the dashboard (only y confirms; `--yes` does not ask); without a terminal (cron, scripts) it
launches what it is told. The real program, on a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from cli_helpers import run_cli, sample_built_fixture, sample_fixture  # noqa: F401 (fixtures)

TABLE = "player_game_summary"  # every date present in the sample
RANGE = ("--start", "2021-10-19", "--end", "2021-10-26")


def on_terminal(proj: Path, *args: str, answer: bytes | None) -> tuple[int, str]:
    """`nba-tui ARGS` with a pseudo-terminal as stdin, stdout and stderr; `answer` is typed
    once the `[y/N]` question shows (None: never). Its exit code and what it wrote."""
    env = {**os.environ, "NBA_TUI_SAMPLE_PACE": "0", "NO_COLOR": "1"}
    master, slave = pty.openpty()
    argv = [sys.executable, "-m", "nba_tui", *args, "--config", str(proj / "pipeline.yaml")]
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=proj, env=env)
    os.close(slave)
    out, typed = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            assert ready, f"no output: {out!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the program ended and closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if answer is not None and not typed and b"[y/N]" in out:
                os.write(master, answer)
                typed = True
    finally:
        os.close(master)
    return proc.wait(60), out.decode(errors="replace")


def jobs(proj: Path) -> list[dict]:
    return json.loads(run_cli(proj, "jobs", "--all", "--json").stdout)


def test_enter_declines_and_nothing_is_launched(sample: Path) -> None:
    code, out = on_terminal(sample, "launch", TABLE, *RANGE, answer=b"\r")
    assert "are already present and would be redone" in out
    assert "--missing launches only the 0 missing dates" in out
    assert "Redo 8 present dates? [y/N]" in out
    assert code == 1 and "launch: nothing launched" in out
    assert jobs(sample) == []


def test_y_launches_and_yes_does_not_ask(sample: Path) -> None:
    code, out = on_terminal(sample, "launch", TABLE, *RANGE, answer=b"y\r")
    assert code == 0 and "Redo 8 present dates? [y/N]" in out and "launched" in out
    (first,) = jobs(sample)
    run_cli(sample, "stop", first["id"])
    code, out = on_terminal(sample, "launch", TABLE, *RANGE, "--yes", answer=None)
    assert code == 0 and "[y/N]" not in out and "launched" in out
    assert len(jobs(sample)) == 2


def test_without_a_terminal_it_launches_what_it_is_told(sample: Path) -> None:
    done = run_cli(sample, "launch", TABLE, *RANGE)  # cron: nobody to ask
    assert done.returncode == 0, done.stderr
    assert "[y/N]" not in done.stdout + done.stderr and "launched" in done.stdout
    assert len(jobs(sample)) == 1
