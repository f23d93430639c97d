"""The monitor against real BigQuery errors: rate limits, quotas, server errors, a dead endpoint.

The errors come from `faultproxy.FaultProxy` (BigQuery's own error bodies over HTTP) in front of
the emulator; the client, its retries and its transport run unmodified.

The tests assert what happened, not how long it took: a poll that returns the deadline's message
while the proxy still holds its request did not wait for the client; the loop turned while a
poll was out. How long each took is printed by bench/bench_bq_deadline.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import socket
import subprocess
import sys

import bqemu
import pytest
from faultproxy import Rule
from waiting import wait_for_async

from nba_tui import config
from nba_tui.monitor import Monitor

pytestmark = pytest.mark.bigquery
D = dt.date
DATES = [D(2024, 3, 1) + dt.timedelta(days=i) for i in range(5)]
TIMEOUT = 10.0
"""The poll's deadline: the blackhole tests wait it out, and every good poll must answer within
it, also on a loaded machine whose emulator takes seconds over a query."""


@pytest.fixture
def pipeline(bq_client, suffix, fault_proxy, tmp_path):
    bqemu.create_table(bq_client, f"raw_{suffix}.schedule", {d: 1 for d in DATES})
    bqemu.create_table(bq_client, f"ana_{suffix}.summary", {d: 3 for d in DATES[:4]})
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"""\
pipeline: faults
range: {{start: 2024-03-01, end: 2024-03-05}}
expected_dates: {{table: raw_{suffix}.schedule}}
warehouse:
  backend: bigquery
  bigquery: {{endpoint: "{fault_proxy.endpoint}", timeout: {TIMEOUT}, retry_deadline: {TIMEOUT},
             max_queries_per_minute: 600}}
poll: {{interval: 1s}}
phases:
  - name: p
    tables:
      - {{name: summary, table: ana_{suffix}.summary}}
""")
    return config.load(path)


@pytest.fixture
def touch(bq_client, suffix):
    """Add a row to the summary table: the next poll must query it (unchanged tables are not)."""

    def add_row() -> None:
        ref = f"{bq_client.project}.ana_{suffix}.summary"
        errors = bq_client.insert_rows_json(ref, [{"game_date": DATES[4].isoformat(), "v": 9}])
        assert not errors

    return add_row


async def test_rate_limit_backs_off_exponentially(pipeline, fault_proxy, touch) -> None:
    mon = Monitor(pipeline)
    good = await mon.poll()
    assert good.fresh and good.next_in == 1.0
    touch()
    fault_proxy.add(Rule("rate"))
    waits = []
    for _ in range(4):
        sent = len(fault_proxy.job_inserts())
        r = await mon.poll()
        assert len(fault_proxy.job_inserts()) == sent + 1  # not retried inside the poll
        assert not r.fresh and r.snapshot is good.snapshot
        assert "rate limit" in r.error and "backing off" in r.error
        waits.append(r.next_in)
    assert all(b > a * 1.7 for a, b in zip(waits, waits[1:], strict=False)), waits
    assert 5 <= waits[0] < 6 and 40 <= waits[3] < 45  # 5, 10, 20, 40 s (+ up to 10 % jitter)
    fault_proxy.clear()
    r = await mon.poll()
    assert r.fresh and r.next_in == 1.0 and mon.rate_limited == 0
    mon.close()


async def test_http_429_is_a_rate_limit(pipeline, fault_proxy) -> None:
    fault_proxy.add(Rule("429"))
    mon = Monitor(pipeline)
    r = await mon.poll()
    assert "rateLimitExceeded" in r.error and r.next_in >= 5
    mon.close()


async def test_quota_backs_off_for_minutes_and_says_so(pipeline, fault_proxy) -> None:
    fault_proxy.add(Rule("quota"))
    mon = Monitor(pipeline)
    first = await mon.poll()
    assert "quota exceeded" in first.error.lower() and "backing off for 5 min" in first.error
    assert first.next_in == 300
    assert "quota" in first.hint
    second = await mon.poll()
    assert second.next_in == 600 and "backing off for 10 min" in second.error
    assert "quota exceeded 2x in a row" in second.error
    # The CLI's one-shot poll says the same in one line.
    line = mon.poll_once().error
    assert "\n" not in line and "quota" in line.lower()
    mon.close()


async def test_transient_backend_error_is_retried_within_the_poll(pipeline, fault_proxy) -> None:
    fault_proxy.add(Rule("500", times=1))
    mon = Monitor(pipeline)
    r = await mon.poll()
    assert r.fresh, r.error
    assert [e.action for e in fault_proxy.job_inserts()] == ["500", "forward"]
    mon.close()


async def test_persistent_backend_error_fails_within_the_deadline(pipeline, fault_proxy) -> None:
    fault_proxy.add(Rule("500"))
    mon = Monitor(pipeline)
    r = await asyncio.wait_for(mon.poll(), 60)  # bounds a hang, not the deadline
    assert not r.fresh and r.error
    assert len(fault_proxy.job_inserts()) >= 2  # retried within the poll, then given up
    mon.close()


async def test_blackhole_is_stale_within_the_deadline_and_the_loop_keeps_ticking(
    pipeline, fault_proxy
) -> None:
    mon = Monitor(pipeline)
    good = await mon.poll()
    assert good.fresh
    fault_proxy.add(Rule("blackhole", method=None, path=".*"))
    polling = asyncio.create_task(mon.poll())
    await wait_for_async(fault_proxy.held, "the poll's request held by the proxy")
    assert not polling.done()  # the event loop turns while the poll waits for BigQuery
    r = await polling
    assert fault_proxy.held()  # it returned at its own deadline, the request still unanswered
    assert not r.fresh and r.snapshot is good.snapshot and r.age is not None
    assert f"did not answer within {TIMEOUT:g}s" in r.error
    # The stuck request is still out there: no second query piles up behind it.
    n = len(fault_proxy.job_inserts())
    r2 = await mon.poll()
    assert "previous poll still waiting" in r2.error and len(fault_proxy.job_inserts()) == n
    fault_proxy.clear()
    stuck = mon._running
    await wait_for_async(lambda: stuck is None or stuck.done(), "the stuck request to end")
    r3 = await mon.poll()
    assert r3.fresh, r3.error
    mon.close()


async def test_concurrent_polls_share_one_query(pipeline, fault_proxy, touch) -> None:
    mon = Monitor(pipeline)
    await mon.poll()  # warm the table listing
    touch()
    n = len(fault_proxy.job_inserts())
    a, b = await asyncio.gather(mon.poll(), mon.poll())
    assert a is b and a.fresh
    assert len(fault_proxy.job_inserts()) == n + 1
    mon.close()


async def test_throttle_caps_queries_per_minute(pipeline, fault_proxy) -> None:
    mon = Monitor(pipeline, max_queries_per_minute=1)
    r = await mon.poll()
    assert r.fresh and r.next_in == 60.0  # never asks for more than the throttle allows
    n = len(fault_proxy.job_inserts())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(mon.poll(), 0.5)  # waits in the throttle, no query sent
    assert len(fault_proxy.job_inserts()) == n
    mon.close()


def test_poll_once_has_one_deadline_and_says_there_is_no_data_yet(pipeline, fault_proxy) -> None:
    """The CLI's poll: one overall deadline (not the insert retry plus `job.result`'s own)."""
    fault_proxy.add(Rule("blackhole", method=None, path=".*"))
    mon = Monitor(pipeline)
    r = mon.poll_once()
    assert fault_proxy.held()  # it returned at its own deadline, the request still unanswered
    assert r.snapshot is None and f"did not answer within {TIMEOUT:g}s" in r.error
    assert r.hint.startswith("no good data yet") and "last good data" not in r.hint
    # close() returns without waiting for the request still stuck in the client ...
    mon.close()
    stuck = mon._running
    assert stuck is not None and not stuck.done() and fault_proxy.held()
    # ... the poll thread closes the warehouse itself once that request ends.
    fault_proxy.clear()
    concurrent.futures.wait([stuck], timeout=15)
    assert stuck.done() and mon._warehouse is None


async def test_stale_hint_only_when_there_is_last_good_data(pipeline, fault_proxy) -> None:
    mon = Monitor(pipeline)
    good = await mon.poll()
    assert good.fresh and good.note is None
    fault_proxy.add(Rule("blackhole", method=None, path=".*"))
    r = await mon.poll()
    assert f"did not answer within {TIMEOUT:g}s" in r.error and fault_proxy.held()
    assert r.snapshot is good.snapshot and r.hint.startswith("showing the last good data")
    mon.close()  # the dashboard's `q` while BigQuery hangs: returns with the request still out
    assert fault_proxy.held()
    fault_proxy.clear()


def test_status_exits_within_the_deadline_when_bigquery_hangs(pipeline, fault_proxy) -> None:
    """`nba-tui status` in its own process: a request stuck in the client must not hold up the
    process's exit (the poll runs in a daemon thread), and the message says there is no data."""
    fault_proxy.add(Rule("blackhole", method=None, path=".*"))
    env = {k: v for k, v in os.environ.items() if k != "BIGQUERY_EMULATOR_HOST"}
    proc = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--config", str(pipeline.source)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"did not answer within {TIMEOUT:g}s" in proc.stderr
    assert "no good data yet" in proc.stderr and "showing the last good data" not in proc.stderr


def test_refused_connection_is_reported_at_once_with_no_data_hint(tmp_path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"""\
pipeline: refused
range: {{start: 2024-03-01, end: 2024-03-05}}
expected_dates: {{table: raw.schedule}}
warehouse:
  backend: bigquery
  bigquery: {{endpoint: "http://127.0.0.1:{port}", timeout: 30s, retry_deadline: 30s}}
phases:
  - name: p
    tables:
      - {{name: summary, table: ana.summary}}
""")
    mon = Monitor(config.load(path))
    r = mon.poll_once()
    mon.close()
    # Reported as it happened: a refusal retried until the deadline would end in the monitor's
    # own "did not answer within 30s".
    assert "connection refused" in r.error and "did not answer" not in r.error
    assert r.hint.startswith("no good data yet")


async def test_partitions_fallback_note_reaches_the_poll_result(pipeline, fault_proxy) -> None:
    fault_proxy.add(Rule("denied", body="INFORMATION_SCHEMA.PARTITIONS"))
    settings = pipeline.warehouse.bigquery.model_copy(update={"strategy": "partitions"})
    pipe = pipeline.model_copy(
        update={"warehouse": pipeline.warehouse.model_copy(update={"bigquery": settings})}
    )
    mon = Monitor(pipe)
    r = await mon.poll()
    assert r.fresh, r.error
    assert r.note and "PARTITIONS unavailable" in r.note and "accessDenied" in r.note
    assert r.snapshot is not None and r.snapshot.note == r.note  # for snapshot_once callers
    assert r.snapshot.to_json(pipe)["note"] == r.note
    mon.close()
