"""Opening the embedded warehouse: one SQLite file per dataset, ATTACHed under the dataset's name
to an in-memory main database, in WAL mode with a busy timeout."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from nba_tui.identifiers import check_name
from nba_tui.warehouse.base import WarehouseError


def dataset_file(root: Path, dataset: str) -> Path:
    return Path(root) / f"{check_name(dataset, 'dataset')}.db"


def stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def connect(
    root: str | Path,
    datasets: Iterable[str],
    *,
    busy_timeout_ms: int = 10_000,
    create: bool = True,
    readonly: bool = False,
) -> sqlite3.Connection:
    """Open the warehouse: an in-memory main database with each dataset file ATTACHed.

    Files are created with mode 0600 inside a 0700 directory when `create` is true.
    """
    root = Path(root)
    if create and not readonly:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not root.is_dir():
        raise WarehouseError(
            f"embedded warehouse {root} does not exist",
            hint="run `nba-tui demo reset` to build it",
        )
    conn = sqlite3.connect(
        ":memory:", timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    for ds in sorted(set(datasets)):
        path = dataset_file(root, ds)
        if not path.exists():
            if readonly or not create:
                continue
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        uri = path.resolve().as_uri() + ("?mode=ro" if readonly else "")
        # The schema name is a validated identifier; the file name is a bound parameter.
        conn.execute(f'ATTACH DATABASE ? AS "{check_name(ds, "dataset")}"', (uri,))
        if not readonly:
            mode = conn.execute(f'PRAGMA "{ds}".journal_mode = WAL').fetchone()[0]
            if mode.lower() != "wal":  # pragma: no cover - only on exotic filesystems
                raise WarehouseError(f"{path}: cannot enable WAL mode (got {mode})")
            conn.execute(f'PRAGMA "{ds}".synchronous = NORMAL')
    return conn


def attached(conn: sqlite3.Connection) -> set[str]:
    return {
        row[1] for row in conn.execute("PRAGMA database_list") if row[1] not in ("main", "temp")
    }


def existing_tables(conn: sqlite3.Connection) -> set[str]:
    """`dataset.table` for every table in every attached dataset."""
    found: set[str] = set()
    for ds in attached(conn):
        for (name,) in conn.execute(
            f'SELECT name FROM "{ds}".sqlite_master WHERE type = ?',  # noqa: S608 - attached name
            ("table",),
        ):
            found.add(f"{ds}.{name}")
    return found
