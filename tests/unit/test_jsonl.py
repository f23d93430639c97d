"""The one appender and bounded reader of line files (action log, events, delivered alerts)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nba_tui import jsonl
from nba_tui.fsutil import UnsafeFile

WRITER = """
import sys
from pathlib import Path
from nba_tui import jsonl
path, who = Path(sys.argv[1]), sys.argv[2]
for i in range(300):
    jsonl.append(path, {"who": who, "i": i, "pad": "x" * 5000})
"""


def test_appends_are_0600_in_a_private_directory_and_read_back_oldest_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "log.jsonl"
    for i in range(5):
        jsonl.append(path, {"i": i, "user": "zoë"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [e["i"] for e in jsonl.read(path, 1_000_000)] == [0, 1, 2, 3, 4]
    assert [e["i"] for e in jsonl.read(path, 1_000_000, limit=2)] == [3, 4]
    assert jsonl.read(path, 1_000_000)[0]["user"] == "zoë"


def test_a_line_that_is_not_a_json_object_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    jsonl.append(path, {"a": 1})
    jsonl.append_line(path, '{"cut": ')
    jsonl.append_line(path, "[1, 2]")
    jsonl.append(path, {"a": 2})
    assert jsonl.read(path, 1_000_000) == [{"a": 1}, {"a": 2}]


def test_unless_refuses_under_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "ids"
    assert jsonl.append_line(path, "one", unless=lambda: False)
    assert not jsonl.append_line(path, "two", unless=lambda: True)
    assert path.read_text() == "one\n"


def test_a_planted_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep\n")
    link = tmp_path / "log.jsonl"
    link.symlink_to(target)
    with pytest.raises(UnsafeFile):
        jsonl.append(link, {"a": 1})
    assert target.read_text() == "keep\n"
    assert jsonl.read(link, 1_000) == []
    with pytest.raises(UnsafeFile):
        jsonl.read(link, 1_000, strict=True)


def test_a_planted_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    os.mkfifo(path)
    with pytest.raises(UnsafeFile):
        jsonl.append(path, {"a": 1})


def test_concurrent_writers_never_interleave_a_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), who], env=env)
        for who in ("a", "b", "c")
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    lines = path.read_bytes().splitlines()
    assert len(lines) == 900
    seen = [json.loads(line) for line in lines]  # every line whole
    for who in "abc":
        assert [e["i"] for e in seen if e["who"] == who] == list(range(300))
