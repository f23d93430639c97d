"""Files that must never be seen half-written: the one atomic writer, and private directories.

Why one writer: job and plan records (jobs/store.py) and backfill checkpoints
(sample/checkpoint.py) are read by other processes while they are being replaced, and any writer
may be killed mid-write. So a file is written to a temp file in the *same* directory (mode 0600),
flushed and fsynced, then swapped in with `os.replace`: a reader sees the old content or the new,
never a 0-byte or half file, and a crash leaves at worst a stray `.NAME.*.tmp` that no reader
looks at (it is removed when the write fails in-process).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dirs(path: Path, *, tighten: bool = False) -> Path:
    """Create `path` and its missing parents one by one with mode 0700.

    `mkdir(parents=True)` gives parents the umask's mode, so each level is made here. With
    `tighten`, an existing `path` we own is chmod'ed to 0700 too (for directories that are ours
    alone, like the state directory; never for a directory a user may have pointed us into).
    """
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
    if tighten:
        with contextlib.suppress(PermissionError):
            if path.stat().st_mode & 0o777 != DIR_MODE:
                os.chmod(path, DIR_MODE)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (0600): readers see the old file or the new one, whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """`data` as indented JSON through `write_atomic` (values JSON lacks are written as str)."""
    text = json.dumps(data, indent=1, default=str, sort_keys=sort_keys)
    write_atomic(path, text.encode("utf-8"))


def read_json(path: Path) -> Any | None:
    """The file's JSON, or None if it is absent or unreadable (e.g. half-copied by hand)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
