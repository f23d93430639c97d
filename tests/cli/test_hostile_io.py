"""The hostile corpus, part two: faults of the environment rather than of the input. Each runs
the real CLI in a new process on a copy of the sample project and wants one line, never a
traceback: a full stdout (`status > /dev/full`: exit 1, as coreutils), an ASCII terminal, a
pace the sample refuses, a FIFO or a link among the state files (refused at once, never waited
on), a state directory others may write (`watch`), a log directory that is a file, and records
that lie."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from itertools import islice
from pathlib import Path

import pytest
from cli_helpers import sample_built_fixture, sample_fixture  # noqa: F401 (fixtures)
from waiting import wait_for

from nba_tui.fsutil import UnsafeFile, open_regular

RANGE = ("--start", "2021-10-19", "--end", "2021-10-26")
TABLE = "player_game_summary"


def cli(
    proj: Path,
    *args: str,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.PIPE,
    timeout: float = 60,
    close_stdout: bool = False,
) -> subprocess.CompletedProcess:
    """`nba-tui ARGS` in `proj` (the sample project), no colour, pace 0 unless `env` says;
    `close_stdout`: started with its stdout closed (`>&-`)."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update({"NBA_TUI_SAMPLE_PACE": "0", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(proj / "pipeline.yaml")],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env=full,
        cwd=proj,
        check=False,
        preexec_fn=(lambda: os.close(1)) if close_stdout else None,  # noqa: PLW1509 - test only
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    """The one line on stderr (never a traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("nba-tui: "), lines[0]
    return lines[0]


def job_records(proj: Path) -> list[Path]:
    return sorted((proj / ".nba_tui" / "jobs").glob("*.json"))


def plan_records(proj: Path) -> list[Path]:
    return sorted((proj / ".nba_tui" / "plans").glob("*.json"))


# -- output ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("status",), ("status", "--json"), ("jobs",)])
def test_a_full_stdout_is_a_write_error_exit_1(sample: Path, args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        done = cli(sample, *args, stdout=full.fileno())
    assert one_line(done) == "nba-tui: write error: No space left on device"
    assert done.returncode == 1


def test_a_closed_pipe_is_a_quiet_exit_0(sample: Path) -> None:
    r, w = os.pipe()
    os.close(r)  # the reader (`| head`) is gone before we write
    try:
        done = cli(sample, "status", stdout=w)
    finally:
        os.close(w)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_an_ascii_terminal_degrades_the_glyphs(sample: Path) -> None:
    done = cli(sample, "status", env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode in (0, 1), done.stderr  # 1: a phase is short (the sample's gaps)
    assert "Traceback" not in done.stderr
    assert done.stdout.isascii()
    assert "nba-props-platform . 917 game dates" in done.stdout  # `·` as `.`
    bad = cli(sample, "status", "--start", "2021-10-19x" + "é", env={"PYTHONIOENCODING": "ascii"})
    assert bad.returncode == 2
    assert one_line(bad).isascii()


# -- the sample's pace ----------------------------------------------------------------------------


@pytest.mark.parametrize("pace", ["inf", "nan", "-1", "fast"])
def test_a_pace_the_sample_refuses_is_one_line_exit_2(sample: Path, pace: str) -> None:
    done = cli(sample, "launch", TABLE, *RANGE, env={"NBA_TUI_SAMPLE_PACE": pace})
    line = one_line(done)
    assert done.returncode == 2
    assert f"NBA_TUI_SAMPLE_PACE='{pace}': must be a finite number" in line
    assert job_records(sample) == []  # nothing started
    direct = subprocess.run(
        [sys.executable, "-m", "nba_tui.sample.backfill", TABLE, "--warehouse", "wh"],
        capture_output=True,
        text=True,
        env={**os.environ, "NBA_TUI_SAMPLE_PACE": pace},
        cwd=sample,
        timeout=60,
        check=False,
    )
    assert direct.returncode == 2, direct.stderr  # the program itself refuses it as well
    assert "Traceback" not in direct.stderr


# -- the action log -------------------------------------------------------------------------------


def test_a_line_that_is_not_utf8_in_the_action_log_is_skipped(sample: Path) -> None:
    state = sample / ".nba_tui"
    state.mkdir(mode=0o700, exist_ok=True)
    (state / "actions.jsonl").write_bytes(b'\xff\n{"action": "launch", "user": "x"}\n')
    done = cli(sample, "history", "--json")
    assert done.returncode == 0, done.stderr
    assert [e["action"] for e in json.loads(done.stdout)] == ["launch"]


def test_a_fifo_action_log_is_refused_never_waited_on(sample: Path) -> None:
    state = sample / ".nba_tui"
    state.mkdir(mode=0o700, exist_ok=True)
    fifo = state / "actions.jsonl"
    os.mkfifo(fifo, 0o600)
    done = cli(sample, "history", timeout=30)
    assert done.returncode == 2
    assert f"{fifo}: a FIFO" in one_line(done)
    done = cli(sample, "launch", TABLE, *RANGE, timeout=30)
    assert done.returncode == 2  # refused whole; damaged state is exit 2 everywhere
    assert f"cannot launch: writing {fifo}: a FIFO" in one_line(done)
    assert job_records(sample) == []  # no `lost` record left behind
    assert list((sample / "logs").glob("*.log")) == [] if (sample / "logs").exists() else True
    done = cli(sample, "run", "phase3", timeout=30)
    assert done.returncode == 2
    assert f"{fifo}: a FIFO" in one_line(done)


def test_a_planted_link_as_the_action_log_is_named_with_its_fix(sample: Path) -> None:
    state = sample / ".nba_tui"
    state.mkdir(mode=0o700, exist_ok=True)
    (sample / "elsewhere").write_text("")
    (state / "actions.jsonl").symlink_to(sample / "elsewhere")
    done = cli(sample, "history", timeout=30)
    assert done.returncode == 2
    assert one_line(done) == (
        f"nba-tui: state: {state / 'actions.jsonl'}: a symbolic link, refusing to follow it: "
        "remove the link"
    )


def test_job_actions_on_a_fifo_action_log_exit_2(sample: Path) -> None:
    fifo = sample / ".nba_tui" / "actions.jsonl"
    done = cli(sample, "launch", TABLE, *RANGE, env={"NBA_TUI_SAMPLE_PACE": "5"}, timeout=60)
    assert done.returncode == 0, done.stderr
    fifo.unlink()
    os.mkfifo(fifo, 0o600)
    try:
        for action in ("pause", "stop"):
            done = cli(sample, action, TABLE, timeout=30)
            assert done.returncode == 2, (action, done.stderr)
            assert f"cannot {action}: writing {fifo}: a FIFO" in one_line(done)
    finally:
        fifo.unlink()
        stopped = cli(sample, "stop", TABLE, timeout=60)
    assert stopped.returncode == 0, stopped.stderr


def test_a_closed_stdout_is_a_write_error_exit_1(sample: Path) -> None:
    for args in (("status",), ("jobs", "--all"), ("plans",)):
        done = cli(sample, *args, stdout=None, close_stdout=True)
        assert one_line(done) == "nba-tui: write error: Bad file descriptor", args
        assert done.returncode == 1


def test_special_and_foreign_state_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    (tmp_path / "target").write_text("x")
    for path, what in ((fifo, "a FIFO"), (link, "a symbolic link"), (tmp_path, "a directory")):
        for flags in (os.O_RDONLY, os.O_WRONLY | os.O_APPEND | os.O_CREAT):
            if path == tmp_path and flags != os.O_RDONLY:
                continue
            with pytest.raises(UnsafeFile, match=what) as caught:
                open_regular(path, flags)
            assert caught.value.filename == str(path)
    foreign = tmp_path / "foreign"
    foreign.write_text("{}")
    os.chown(foreign, 12345, 12345) if os.geteuid() == 0 else pytest.skip("needs root (chown)")
    with pytest.raises(UnsafeFile, match="owned by uid 12345"):
        open_regular(foreign)


# -- watch ----------------------------------------------------------------------------------------


def test_watch_on_a_state_dir_others_may_write_is_one_line(sample: Path) -> None:
    state = sample / ".nba_tui"
    state.mkdir(mode=0o700, exist_ok=True)
    os.chmod(state, 0o777)
    done = cli(sample, "watch", "--once")
    assert done.returncode == 2
    assert "writable by group or others" in one_line(done)
    proc = subprocess.Popen(  # the looping watch says it each cycle and keeps going
        [sys.executable, "-m", "nba_tui", "watch", "--interval", "1s", "--config", "pipeline.yaml"],
        cwd=sample,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(islice(proc.stdout, 2)), daemon=True)
        reader.start()  # two lines, or fewer if the watch ends
        wait_for(lambda: not reader.is_alive(), 60, "two lines from the looping watch")
        assert len(said) == 2, said
        assert all("writable by group or others" in line for line in said), said
        assert proc.poll() is None  # still watching
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in err


# -- configuration and records that lie ------------------------------------------------------------


def test_a_log_dir_that_is_a_file_is_named(sample: Path) -> None:
    (sample / "not-a-dir").write_text("")
    text = (sample / "pipeline.yaml").read_text().replace("log_dir: logs", "log_dir: not-a-dir")
    (sample / "pipeline.yaml").write_text(text)
    launched = cli(sample, "launch", TABLE, *RANGE)
    line = one_line(launched)
    assert f"{sample / 'not-a-dir'}: not a directory (jobs.log_dir" in line
    assert job_records(sample) == []
    for argv in (("run", "phase3"), ("launch-phase", "phase3")):  # a plan's runner log
        done = cli(sample, *argv)
        assert done.returncode == launched.returncode != 0, done.stderr
        assert f"{sample / 'not-a-dir'}: not a directory (jobs.log_dir" in one_line(done)
    assert plan_records(sample) == [] and job_records(sample) == []  # a refused plan: no record
    assert "no plans" in cli(sample, "plans").stdout.lower()


def test_restart_of_a_table_with_no_job_says_so(sample: Path) -> None:
    done = cli(sample, "restart", TABLE)
    assert done.returncode == 2
    line = one_line(done)
    assert f"table '{TABLE}' has no jobs yet" in line
    assert "did you mean" not in line


def test_a_record_that_falsely_says_done_shows_its_running_job(sample: Path) -> None:
    done = cli(sample, "launch", TABLE, *RANGE, "--json", env={"NBA_TUI_SAMPLE_PACE": "5"})
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)["id"]
    path = sample / ".nba_tui" / "jobs" / f"{job}.json"
    try:
        data = json.loads(path.read_text())
        data.update(state="done", exit_code=0, ended_at=time.time())
        path.write_text(json.dumps(data))
        listed = cli(sample, "jobs", "--json")
        assert listed.returncode == 0, listed.stderr
        view = next(j for j in json.loads(listed.stdout) if j["id"] == job)
        assert view["state"] == "running", view
        assert "its record says done, but its shim still runs it" in str(view.get("message"))
        again = cli(sample, "launch", TABLE, *RANGE)  # and the lock refuses a second launch
        assert again.returncode == 1
    finally:
        cli(sample, "stop", job, "--grace", "1s")


def test_a_fifo_checkpoint_is_named_and_the_backfill_goes_on(sample: Path) -> None:
    fifo = sample / "cp.json"
    os.mkfifo(fifo, 0o600)
    done = subprocess.run(
        [sys.executable, "-m", "nba_tui.sample.backfill", TABLE, "--warehouse", ".nba_tui/warehouse",
         "--checkpoint", str(fifo), "--dates", "2021-10-19", "--pace", "0"],
        capture_output=True, text=True, cwd=sample, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"WARNING ignoring unreadable checkpoint {fifo}: " in done.stdout
    assert "a FIFO" in done.stdout


def test_a_fifo_planted_as_a_log_or_a_cache_file_never_hangs_a_reader(sample: Path) -> None:
    done = cli(sample, "launch", TABLE, "--dates", "2021-10-19", "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)

    def ended() -> bool:
        listed = json.loads(cli(sample, "jobs", "--json").stdout)
        return next(j for j in listed if j["id"] == view["id"])["state"] != "running"

    wait_for(ended, 120, f"job {view['id']} to end (pace 0)", interval=0.5)
    log = Path(view["log"])
    log.unlink()
    os.mkfifo(log, 0o600)
    cache = sample / ".nba_tui" / "cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    for name in ("sqlite-nba_raw.json", "sqlite-nba_analytics.json", "coverage.json"):
        with contextlib.suppress(FileNotFoundError):
            (cache / name).unlink()
        os.mkfifo(cache / name, 0o600)
    for args in (("jobs",), ("status",), ("report",)):
        ran = cli(sample, *args, timeout=60)  # a FIFO opened for reading would wait forever
        assert ran.returncode in (0, 1), (args, ran.stderr)
        assert "Traceback" not in ran.stderr
