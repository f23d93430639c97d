"""The state directory's habits: one atomic writer (nba_tui.fsutil), private modes, typed records,
and job progress read through the one bounded log reader."""

from __future__ import annotations

import ast
import json
import os
import stat
from pathlib import Path

import pytest

from nba_tui.fsutil import private_dirs, read_json, write_json_atomic
from nba_tui.jobs.model import JobRecord, JobState, record_exit
from nba_tui.jobs.progress import LogProgress
from nba_tui.jobs.store import Store
from nba_tui.sample.checkpoint import Checkpoint

ROOT = Path(__file__).resolve().parents[2]


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("boom")


def test_atomic_writer_never_leaves_half_a_file(tmp_path: Path) -> None:
    os.umask(0o022)
    target = private_dirs(tmp_path / "a" / "b") / "rec.json"
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    write_json_atomic(target, {"v": 1})
    assert read_json(target) == {"v": 1} and mode(target) == 0o600
    with pytest.raises(RuntimeError, match="boom"):  # fails while serialising
        write_json_atomic(target, {"v": Unprintable()})
    assert read_json(target) == {"v": 1}  # the old content, whole
    assert os.listdir(target.parent) == ["rec.json"]  # no temp file left behind
    target.write_text('{"v": ')  # a half-copied file by hand reads as absent
    assert read_json(target) is None


def test_checkpoint_and_store_share_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "ck" / "deep" / "t.json"
    ck = Checkpoint(path, "t", ["2024-01-01", "2024-01-02"])
    ck.mark("2024-01-01")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert Checkpoint(path, "t", ["2024-01-01", "2024-01-02"]).done == {"2024-01-01"}
    assert list(json.loads(path.read_text())) == sorted(json.loads(path.read_text()))
    store = Store(tmp_path / "state")
    rec = JobRecord(store.new_job_id(), "t", ["x"], "", 1.0, "u")
    store.save_job(rec)
    assert mode(store.job_path(rec.id)) == 0o600 and mode(store.root) == 0o700


@pytest.mark.parametrize(
    ("rc", "stop", "state", "code", "sig"),
    [
        (0, False, JobState.DONE, 0, None),
        (3, False, JobState.FAILED, 3, None),
        (-9, False, JobState.FAILED, None, 9),
        (-15, True, JobState.STOPPED, None, 15),
    ],
)
def test_record_exit(rc: int, stop: bool, state: JobState, code: int | None, sig: int | None):
    rec = JobRecord("a", "t", [], "", 0.0, "u", state=JobState.PAUSED, paused_at=10.0)
    rec.stop_requested = stop
    record_exit(rec, rc, None, 25.0)
    assert (rec.state, rec.exit_code, rec.signal) == (state, code, sig)
    assert rec.paused_total == 15.0 and rec.paused_at is None and rec.ended_at == 25.0


def test_progress_starts_over_on_a_replaced_or_truncated_log(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"Processing 2024-01-01 (1/3)\nProcessing 2024-01-02 (2/3)\n")
    lp = LogProgress(log, r"Processing (?P<date>\d{4}-\d{2}-\d{2})")
    lp.update()
    assert (lp.current_date, lp.matches) == ("2024-01-02", 2)
    log.write_bytes(b"Processing 2024-02-01 (1/9)\n")  # truncated and rewritten
    lp.update()
    assert (lp.current_date, lp.matches, lp.total) == ("2024-02-01", 1, 9)
    new = tmp_path / "y.log"
    new.write_bytes(b"Processing 2024-03-05 (4/9)\nProcessing 2024-03-06 (5/9)\n" * 3)
    os.replace(new, log)  # replaced (a new inode, longer than what was read)
    lp.update()
    assert (lp.current_date, lp.matches, lp.done) == ("2024-03-06", 6, 5)


def _private_uses(path: Path) -> list[str]:
    """`x._name` where x is not self/cls: reaching into another object's or module's insides."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or (
            isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        ):
            continue
        out.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    return out


def test_jobs_use_only_public_names_of_other_modules() -> None:
    files = [*(ROOT / "nba_tui" / "jobs").rglob("*.py"), ROOT / "nba_tui" / "fsutil.py"]
    assert len(files) > 10
    assert [u for f in files for u in _private_uses(f)] == []


def test_progress_of_a_big_log_is_read_from_its_end(tmp_path: Path) -> None:
    """A new process sees the CURRENT progress of a log over 2 MB, reading only its
    end; new lines are then read incrementally, and a burst is jumped over, not caught up on."""
    from nba_tui.jobs.progress import JUMP, TAIL_SCAN

    log = tmp_path / "big.log"
    noise = b"x" * 1023 + b"\n"
    head = b"Processing 2024-01-01 (1/10)\n"
    log.write_bytes(head + noise * 4800 + b"Processing 2024-01-10 (10/10)\npartial")  # 4.8 MB
    lp = LogProgress(log, r"Processing (?P<date>\d{4}-\d{2}-\d{2})")
    lp.update()
    assert (lp.current_date, lp.done, lp.total) == ("2024-01-10", 10, 10)
    assert lp.first_done == 1 and lp.processed() == 10  # the rate counts this run's dates
    assert lp.reader.offset == log.stat().st_size - len(b"partial")
    with open(log, "ab") as f:
        f.write(b" line\n" + noise * ((JUMP // 1024) + 10) + b"Processing 2024-01-03 (3/9)\n")
    before = lp.reader.offset
    lp.update()  # more than JUMP new bytes: looked up from the end, not parsed line by line
    assert (lp.current_date, lp.done, lp.total) == ("2024-01-03", 3, 9)
    assert lp.reader.offset == log.stat().st_size and lp.reader.offset - before > JUMP
    assert TAIL_SCAN <= 8 * 1024 * 1024
