"""Which BigQuery tables changed since the last poll, from free table metadata.

Why: every coverage query job bills at least 10 MiB per table it references, so a dashboard that
re-counts 15 unchanged tables every 30 s bills ~140 GiB over a quiet night. `tables.get` is a
metadata operation (free: BigQuery bills list/get/patch/update/delete calls nothing) and returns
the table's last modification time, row count, size and streaming buffer. A table whose
`signature()` equals the one seen at its last count has the same rows, so only the others are
queried. `INFORMATION_SCHEMA.TABLES`/`__TABLES__` would say the same for a whole dataset in one
call, but they are *queries*: billed (10 MB minimum per query on demand, never cached).

The calls are batched (up to `WORKERS` at once, in daemon threads so a stuck request never holds
up the process's exit) and throttled by a token bucket (`ratelimit.TokenBucket`) well under
BigQuery's 100 API requests per second per user and method.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from nba_tui.identifiers import TableRef
from nba_tui.ratelimit import TokenBucket

#: Concurrent `tables.get` requests of one poll.
WORKERS = 8
#: Sustained `tables.get` requests per second (BigQuery allows 100 per user and method).
RATE = 50.0
#: Requests allowed at once before the rate applies (a poll of up to this many tables never waits).
BURST = 50

Signature = tuple[Any, ...]


def signature(table: Any) -> Signature | None:
    """What changes whenever the table's rows do; None when it must always be recounted.

    Loads, DML and copies move `modified`, `num_rows` and `num_bytes` (and the etag). Rows still
    in the streaming buffer are not in `num_rows` and do not move `modified`, so a table with a
    streaming buffer is recounted on every poll until the buffer is flushed.
    """
    if table.streaming_buffer is not None:
        return None
    return (table.modified, table.num_rows, table.num_bytes, table.etag)


def daily_on(table: Any, column: str) -> bool:
    """True if `table` is partitioned by DAY on `column` with no streaming buffer."""
    tp = table.time_partitioning
    return (
        tp is not None
        and (tp.type_ or "DAY") == "DAY"
        and tp.field == column
        and table.streaming_buffer is None
    )


def fetch_tables(
    get: Callable[[TableRef], Any | None],
    refs: Sequence[TableRef],
    bucket: TokenBucket,
    workers: int = WORKERS,
) -> dict[TableRef, Any | None]:
    """`get(ref)` for every ref, `workers` at a time; the first error is raised after all ended.

    `get` returns the table's metadata or None (the table does not exist) and bounds its own
    wait (request timeout and retry deadline), so the join below cannot hang for longer.
    """
    todo: queue.SimpleQueue[TableRef] = queue.SimpleQueue()
    for ref in refs:
        todo.put(ref)
    out: dict[TableRef, Any | None] = {}
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            try:
                ref = todo.get_nowait()
            except queue.Empty:
                return
            bucket.take()
            try:
                out[ref] = get(ref)
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                errors.append(e)

    threads = [
        threading.Thread(target=work, name="nba-bq-meta", daemon=True)
        for _ in range(min(workers, len(refs)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out
