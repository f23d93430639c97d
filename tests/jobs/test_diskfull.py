"""A full state directory (a 3 MB tmpfs filled up): running jobs go on and end with
their exit recorded (never `lost`), actions are refused whole before any signal, and no 0-byte
record is ever left behind. Needs root (mount); skipped where tmpfs cannot be mounted."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui.jobs.model import JobState
from nba_tui.jobs.procs import proc_stat
from nba_tui.jobs.supervisor import JobError, Supervisor


@pytest.fixture
def small_state(tmp_path: Path) -> Iterator[Path]:
    """`<tmp>/state` on a 3 MB tmpfs (the test pipeline's state_dir)."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(state)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def fill(directory: Path) -> None:
    """Write until the filesystem says ENOSPC."""
    with open(directory / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    with contextlib.suppress(OSError), open(directory / "filler2", "wb") as f:
        while True:  # and the last few bytes
            f.write(b"\0" * 512)
            f.flush()


def zero_byte_records(state: Path) -> list[str]:
    return [
        p.name
        for d in ("jobs", "plans")
        for p in (state / d).glob("*.json")
        if not p.stat().st_size
    ]


def test_full_state_disk_costs_no_job(make_pipeline, small_state: Path) -> None:
    # no checkpoint file (it would live on the full disk): the program itself never writes there
    slow = ["--checkpoint", "", "--delay", "0.25"]
    sup = Supervisor(make_pipeline({"alpha": slow, "beta": slow}))
    v = sup.launch("alpha")
    assert v.state is JobState.RUNNING
    (small_state / ".reserve").unlink()  # spent (tests/cli/test_full_disk.py: what it buys)
    fill(small_state)
    with pytest.raises(JobError, match="cannot pause: .*No space left on device"):
        sup.pause(v.id)
    assert proc_stat(v.record.pid).state != "T"  # refused whole: never signalled
    with pytest.raises(JobError, match="cannot launch"):
        sup.launch("beta")
    assert [j.record.table for j in sup.jobs()] == ["alpha"]  # no half-launched beta
    wait_for(lambda: not sup.job(v.id).state.active, 20, "alpha ended")
    out = sup.job(v.id)
    assert out.state is JobState.DONE, out.record.message  # recorded, not lost
    assert out.progress.current_date == "2024-01-10"
    assert zero_byte_records(small_state) == []
    assert not list((small_state / "jobs").glob(".*.tmp"))
