"""The metadata batcher of change detection (`bq_meta`): bounded concurrency, a token bucket,
errors surfaced, and the signature rules. No emulator needed: plain threads and clocks."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from nba_tui.identifiers import TableRef
from nba_tui.ratelimit import TokenBucket
from nba_tui.warehouse.bq_cost import total_bytes
from nba_tui.warehouse.bq_meta import fetch_tables, signature

REFS = [TableRef("ds", f"t{i:02d}") for i in range(20)]


def test_fetch_tables_runs_at_most_workers_at_once_and_returns_every_table() -> None:
    lock = threading.Lock()
    running = peak = 0
    release = threading.Event()

    def get(ref: TableRef) -> str | None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            if running == 4:
                release.set()
        release.wait(5)  # hold until 4 run side by side
        with lock:
            running -= 1
        return None if ref.table == "t03" else f"meta {ref.table}"

    out = fetch_tables(get, REFS, TokenBucket(rate=1000, burst=100), workers=4)
    assert peak == 4
    assert set(out) == set(REFS) and out[REFS[3]] is None and out[REFS[5]] == "meta t05"


def test_fetch_tables_raises_the_first_error_and_stops_taking_work() -> None:
    calls = []

    def get(ref: TableRef) -> str:
        calls.append(ref)
        raise RuntimeError(f"boom {ref.table}")

    with pytest.raises(RuntimeError, match="boom"):
        fetch_tables(get, REFS, TokenBucket(rate=1000, burst=100), workers=2)
    assert len(calls) < len(REFS)


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_paces() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=100.0, burst=5, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        bucket.take()
    assert t.slept == []  # the burst does not wait
    for _ in range(5):
        bucket.take()
    assert t.slept == pytest.approx([0.01] * 5)  # 5 more at 100/s: one every 10 ms
    t.now += 0.03  # 30 ms idle: 3 tokens back
    for _ in range(3):
        bucket.take()
    assert len(t.slept) == 5


def test_signature_moves_with_the_rows_and_a_streaming_buffer_always_recounts() -> None:
    base = {"modified": 1, "num_rows": 10, "num_bytes": 80, "etag": "a", "streaming_buffer": None}
    assert signature(SimpleNamespace(**base)) == signature(SimpleNamespace(**base))
    assert signature(SimpleNamespace(**base)) != signature(
        SimpleNamespace(**(base | {"num_rows": 11}))
    )
    assert signature(SimpleNamespace(**(base | {"streaming_buffer": object()}))) is None


def test_total_bytes_unknown_is_not_free() -> None:
    assert total_bytes([]) == 0  # no job ran: nothing billed
    assert total_bytes([None, None]) is None  # jobs ran, none said (the emulator)
    assert total_bytes([10, None, 5]) == 15
