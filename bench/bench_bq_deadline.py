"""Benchmark: how long the monitor takes to give up on BigQuery that misbehaves, against the
emulator behind the fault proxy of the tests (tests/bigquery: a blackhole that never answers,
a 500 on every job, rate limits, a refused port). Run by hand:

    .venv/bin/python bench/bench_bq_deadline.py [--timeout 2]

tests/bigquery/test_bq_faults.py asserts what happens (the deadline's message, the request still
held when the call returned, one query per rate-limited poll); this prints how long it took, next
to the targets: a poll ends at its deadline (+ 0.5 s), `close()` never waits for a stuck request
(≤ 100 ms), `nba-tui status` exits at the deadline plus interpreter start-up (+ 4 s), a refused
port is reported at once (≤ 5 s, whatever the deadline).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import REPO, Figure, figure, print_figures

sys.path.insert(0, str(REPO / "tests" / "bigquery"))

import bqemu  # noqa: E402
from faultproxy import FaultProxy, Rule  # noqa: E402

from nba_tui import config  # noqa: E402
from nba_tui.monitor import Monitor  # noqa: E402


def pipeline_yaml(endpoint: str, dataset: str, timeout: float) -> str:
    return f"""\
pipeline: deadline
range: {{start: 2024-03-01, end: 2024-03-05}}
expected_dates: {{table: raw_{dataset}.schedule}}
warehouse:
  backend: bigquery
  bigquery: {{endpoint: "{endpoint}", timeout: {timeout}, retry_deadline: {timeout},
             max_queries_per_minute: 600}}
phases:
  - name: p
    tables:
      - {{name: summary, table: ana_{dataset}.summary}}
"""


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def stuck_figures(pipe: config.Pipeline, proxy: FaultProxy, timeout: float) -> list[Figure]:
    """A blackhole: the async poll, the CLI's poll_once, close() after it, and `status`."""
    within = f"≤ {timeout + 0.5:g} s"
    ok = lambda s: s <= timeout + 0.5  # noqa: E731
    proxy.add(Rule("blackhole", method=None, path=".*"))
    mon = Monitor(pipe)
    poll = timed(lambda: asyncio.run(mon.poll()))
    once = Monitor(pipe)
    poll_once = timed(once.poll_once)
    close = timed(once.close) * 1000
    env = {k: v for k, v in os.environ.items() if k != "BIGQUERY_EMULATOR_HOST"}
    argv = [sys.executable, "-m", "nba_tui", "status", "--config", str(pipe.source)]
    status = timed(lambda: subprocess.run(argv, capture_output=True, timeout=120, env=env))
    mon.close()
    proxy.clear()
    return [
        figure("blackhole: poll()", poll, "s", within, ok),
        figure("blackhole: poll_once()", poll_once, "s", within, ok),
        figure("blackhole: close() after it", close, "ms", "≤ 100 ms", lambda v: v <= 100),
        figure(
            "blackhole: `nba-tui status` exits",
            status,
            "s",
            f"≤ {timeout + 4:g} s",
            lambda s: s <= timeout + 4,
        ),
    ]


def error_figures(pipe: config.Pipeline, proxy: FaultProxy, timeout: float) -> list[Figure]:
    """A 500 on every job (retried until the deadline) and a rate limit (not retried)."""
    proxy.add(Rule("500"))
    mon = Monitor(pipe)
    failing = timed(lambda: asyncio.run(mon.poll()))
    mon.close()
    proxy.clear()
    proxy.add(Rule("rate"))
    mon = Monitor(pipe)
    rate = timed(lambda: asyncio.run(mon.poll()))
    mon.close()
    proxy.clear()
    return [
        figure(
            "500 on every job: poll()",
            failing,
            "s",
            f"≤ {timeout + 1:g} s",
            lambda s: s <= timeout + 1,
        ),
        figure("rate limit: poll()", rate, "s", f"< {timeout:g} s", lambda s: s < timeout),
    ]


def refused_figure(work: Path) -> Figure:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = work / "refused.yaml"
    path.write_text(pipeline_yaml(f"http://127.0.0.1:{port}", "x", 30.0))
    mon = Monitor(config.load(path))
    took = timed(mon.poll_once)
    mon.close()
    return figure("refused port: poll_once()", took, "s", "≤ 5 s", lambda s: s <= 5)


def run(work: Path, timeout: float) -> list[Figure]:
    emu = bqemu.Emulator().start()
    proxy = FaultProxy(emu.endpoint, blackhole_s=30.0, lifetime_s=600.0).start()
    try:
        client = emu.client()
        dataset = uuid.uuid4().hex[:8]
        dates = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(5)]
        bqemu.create_table(client, f"raw_{dataset}.schedule", {d: 1 for d in dates})
        bqemu.create_table(client, f"ana_{dataset}.summary", {d: 3 for d in dates})
        path = work / "pipeline.yaml"
        path.write_text(pipeline_yaml(proxy.endpoint, dataset, timeout))
        pipe = config.load(path)
        return [
            *stuck_figures(pipe, proxy, timeout),
            *error_figures(pipe, proxy, timeout),
            refused_figure(work),
        ]
    finally:
        proxy.stop()
        emu.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=2.0, help="the warehouse timeout (s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bq-deadline-") as tmp:
        print_figures(run(Path(tmp), args.timeout))


if __name__ == "__main__":
    main()
