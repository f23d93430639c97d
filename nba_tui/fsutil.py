"""Files that must never be seen half-written: the one atomic writer, and private directories.

Why one writer: job and plan records (jobs/store.py) and backfill checkpoints
(sample/checkpoint.py) are read by other processes while they are being replaced, and any writer
may be killed mid-write or meet a full disk. So a file is written to a temp file in the *same*
directory (mode 0600), flushed and fsynced, then swapped in with `os.replace` (or linked in with
`os.link` when it must not exist yet): a reader sees the old content or the new, never a 0-byte
or half file, and a failed write removes its temp file in-process (a crash leaves at worst a stray
`.NAME.*.tmp` that no reader looks at).

Directories are created 0700, but a directory that already exists is never chmod'ed: it may be a
shared log directory, the project directory or /tmp, and tightening it would lock other people out.
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
    """Create `path` and its missing parents one by one with mode 0700; returns `path`.

    `mkdir(parents=True)` gives parents the umask's mode, so each level is made here. A directory
    that exists keeps its mode (`tighten` is accepted for old callers and ignored: we never chmod
    what we did not create)."""
    del tighten
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
    return path


def _write_temp(path: Path, data: bytes) -> str:
    """`data` in a fsynced 0600 temp file next to `path`; its name (removed on failure)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (0600): readers see the old file or the new one, whole."""
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def create_atomic(path: Path, data: bytes) -> None:
    """Create `path` with `data`, whole; FileExistsError if it exists (nothing is replaced).

    `os.link` of a complete temp file: an id is reserved and written in one step, so no empty
    placeholder is ever visible (or left behind by a full disk)."""
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def json_bytes(data: Any, *, sort_keys: bool = False) -> bytes:
    """`data` as indented JSON (values JSON lacks are written as str)."""
    return json.dumps(data, indent=1, default=str, sort_keys=sort_keys).encode("utf-8")


def write_json_atomic(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """`data` as indented JSON through `write_atomic`."""
    write_atomic(path, json_bytes(data, sort_keys=sort_keys))


def read_json(path: Path) -> Any | None:
    """The file's JSON, or None if it is absent or unreadable (e.g. half-copied by hand)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, IsADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
