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
import errno
import fcntl
import json
import os
import stat
import tempfile
import time
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


RESERVE = 256 * 1024
"""Bytes kept aside next to records (`write_reserved`): freed when a write meets a full disk, so
that write (a plan's progress, a job's exit) still lands; made again once there is room."""
WRITE_TRIES = 3
"""A write that meets a full disk is tried this often (the reserve freed first)."""
_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_reserved(path: Path, data: bytes, reserve: Path) -> None:
    """`write_atomic`, which on a full disk frees `reserve` and tries again (a short wait between
    tries when there is no reserve left); the last failure raises. A success re-makes a missing
    reserve when the disk has room for four of it."""
    for attempt in range(WRITE_TRIES):
        try:
            write_atomic(path, data)
            break
        except OSError as e:
            if e.errno not in _FULL or attempt + 1 == WRITE_TRIES:
                raise
            try:
                os.unlink(reserve)
            except OSError:
                time.sleep(0.2)
    if os.path.lexists(reserve):
        return
    with contextlib.suppress(OSError):
        st = os.statvfs(reserve.parent)
        if st.f_bavail * st.f_frsize >= 4 * RESERVE:
            create_atomic(reserve, b"\0" * RESERVE)


FULL_BELOW = 4 * RESERVE
"""A filesystem with less room than this is full for `full_disk` (a record and its reserve
may not fit)."""


def full_disk(path: Path) -> int | None:
    """The bytes left to us on the filesystem `path` is (or would be made) on when it is full
    (below FULL_BELOW), else None (room, or nothing there can be looked at)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    free = st.f_bavail * st.f_frsize
    return free if free < FULL_BELOW else None


def json_bytes(data: Any, *, sort_keys: bool = False) -> bytes:
    """`data` as indented JSON (values JSON lacks are written as str)."""
    return json.dumps(data, indent=1, default=str, sort_keys=sort_keys).encode("utf-8")


def write_json_atomic(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """`data` as indented JSON through `write_atomic`."""
    write_atomic(path, json_bytes(data, sort_keys=sort_keys))


def read_json(path: Path) -> Any | None:
    """The file's JSON, or None if it is absent or unreadable (e.g. half-copied by hand).

    Opened by `open_regular`: a FIFO or a link there raises `UnsafeFile`, never hangs."""
    try:
        fd = open_regular(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        with os.fdopen(fd, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None


def os_text(e: OSError) -> str:
    """An OSError in one line naming its file: `PATH: No space left on device`."""
    why = e.strerror or str(e)
    return f"{e.filename}: {why}" if e.filename else why


def read_private_json(path: Path, max_bytes: int) -> dict | None:
    """A cache file's JSON object when the file is a regular file of ours, not group/world
    writable and at most `max_bytes`; None otherwise (absent, foreign, too big, malformed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.getuid()
            or st.st_mode & 0o022
            or st.st_size > max_bytes
        ):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)
    return data if isinstance(data, dict) else None


class UnsafeFile(OSError):
    """A state file that is a symbolic link, a FIFO, a device or someone else's: refused.

    An `OSError` (with `filename`), so every guard that turns a failed state write into one
    line says this too."""


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = FILE_MODE) -> int:
    """Open a state file without following a link and without blocking (a planted FIFO never
    hangs us), and only when it is a regular file owned by us; its descriptor (blocking again).

    `UnsafeFile` names the file and what it is; other errors (absent, full disk) raise as usual."""
    flags |= os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            why = "a symbolic link, refusing to follow it: remove the link"
            raise UnsafeFile(e.errno, why, str(path)) from None
        if e.errno == errno.ENXIO:  # O_WRONLY on a FIFO nobody reads
            raise UnsafeFile(e.errno, "a FIFO, not a regular file: remove it", str(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            why = f"{_kind(st.st_mode)}, not a regular file: remove it"
            raise UnsafeFile(errno.EINVAL, why, str(path))
        if st.st_uid != os.geteuid():
            why = (
                f"owned by uid {st.st_uid}, not by you (uid {os.geteuid()}), refusing to use it: "
                "run as its owner, or move it away"
            )
            raise UnsafeFile(errno.EPERM, why, str(path))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


class LineLog:
    """Lines appended to a log descriptor (a job's or the runner's stdout) that a full disk can
    never kill: a line that cannot be written is dropped and counted, and the next line that
    can be written is preceded by one marker line saying how many were lost and why.

    Written with `os.write` (no buffer keeps a failed line to retry it later, out of order); a
    line cut by a disk filling mid-write is ended before the marker."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self.dropped = 0
        self.why = ""
        self._cut = False

    def write(self, line: str) -> bool:
        """Append `line` (a newline added); False when it was dropped."""
        data = (line.rstrip("\n") + "\n").encode("utf-8", "replace")
        if self.dropped:
            head = "\n" if self._cut else ""
            marker = f"{head}[nba-tui] {self.dropped} log lines dropped: {self.why}\n"
            data = marker.encode() + data
        if self._put(data):
            self.dropped, self._cut = 0, False
            return True
        self.dropped += 1
        return False

    def _put(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except OSError as e:  # ENOSPC, EDQUOT, EIO, EFBIG, a closed descriptor
                self.why = e.strerror or str(e)
                self._cut = self._cut or len(view) < len(data)
                return False
            view = view[n:]
        return True


_STDOUT = LineLog(1)


def say(line: str, *, stamp: bool = False) -> None:
    """One line to this process's log, its stdout (a job's log, the runner's, the watchdog's):
    newlines as spaces, written whole through `LineLog`, so a full disk drops it and never
    raises. `stamp` puts `[nba-tui YYYY-MM-DD HH:MM:SS]` first (our lines among a program's)."""
    if stamp:
        line = f"[nba-tui {time.strftime('%Y-%m-%d %H:%M:%S')}] {line}"
    _STDOUT.write(line.replace("\n", " "))


def lock_held(path: Path) -> bool:
    """Is an flock on `path` held by a live process? (False when there is no such file.)"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops a lock we took
    return False


def dir_identity(path: Path) -> tuple[int, int] | None:
    """The directory's (device, inode); None when it is gone. A directory removed, or replaced
    by another one at the same path, no longer holds what a process read from it."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_dev, st.st_ino)
