"""`strategy: partitions` at the bench's scale on the emulator.

The emulator runs a query inside `jobs.insert` and answers only when it is done, and its
`INFORMATION_SCHEMA.PARTITIONS` costs time for every partition of every table of the dataset (it
inlines them as a SQL `VALUES` literal): 50 tables x 120 dates is one long request. A job's
requests share the poll's whole budget, so a long `jobs.insert` is waited for, never abandoned and
re-sent. How long the poll takes against the default 30 s timeout is a figure of
`bench/bench_poll.py`, not of this test (a loaded machine stretches it).
"""

from __future__ import annotations

import datetime as dt
import time

import bqemu
import pytest
from faultproxy import FaultProxy, Rule

from nba_tui import config
from nba_tui.warehouse import WarehouseError, fetch
from nba_tui.warehouse.bigquery import BigQueryWarehouse

START = dt.date(2024, 1, 1)
DATES = [START + dt.timedelta(days=i) for i in range(120)]


def pipeline_yaml(sfx: str, endpoint: str, n: int, end: dt.date, extra: str = "") -> str:
    tables = "\n".join(
        f"      - {{name: t{i:02d}, table: ds{i % 4}_{sfx}.t{i:02d}}}" for i in range(n)
    )
    return f"""\
pipeline: bq
range: {{start: {START}, end: {end}}}
expected_dates: {{table: raw_{sfx}.schedule}}
warehouse:
  backend: bigquery
  bigquery: {{endpoint: "{endpoint}", strategy: partitions{extra}}}
phases:
  - name: p
    tables:
{tables}
"""


def load(client, sfx: str, n: int, dates: list[dt.date]) -> dict[str, dict[dt.date, int]]:
    """The schedule and n DAY-partitioned tables in 4 datasets; rows per date of each table."""
    bqemu.create_table(client, f"raw_{sfx}.schedule", {d: 1 for d in dates})
    want = {}
    for i in range(n):
        want[f"t{i:02d}"] = {d: 1 + i % 3 for d in dates}
        bqemu.create_table(client, f"ds{i % 4}_{sfx}.t{i:02d}", want[f"t{i:02d}"])
    return want


def _sql(fault_proxy: FaultProxy, since: int) -> list[str]:
    return [e.json()["configuration"]["query"]["query"] for e in fault_proxy.job_inserts()[since:]]


BUDGET_S = 900
"""The 50x120 poll's timeout: no loaded machine exhausts it."""


@pytest.mark.bigquery
def test_partitions_poll_of_50_tables_x_120_dates_answers(
    bq_client, bq_emulator, suffix, tmp_path
) -> None:
    """The bench's shape (6,120 partitions in one job): the poll answers with every table's
    counts, in one job whose single `jobs.insert` was not re-sent (a budget no loaded machine
    exhausts, so the test asserts the answer, not the time). Its proxy starts once the tables
    are loaded, outlives the budget and waits the whole budget for the emulator's answer: on a
    loaded machine the load and this `jobs.insert` outlast the per-test proxy's bounds, and the
    client would meet a closed connection (the proxy gave up on the emulator) or a refused one
    (the proxy's lifetime passed)."""
    want = load(bq_client, suffix, 50, DATES)
    proxy = FaultProxy(bq_emulator.endpoint, lifetime_s=BUDGET_S + 60, upstream_s=BUDGET_S).start()
    try:
        path = tmp_path / "pipeline.yaml"
        extra = f", timeout: {BUDGET_S}s"
        path.write_text(pipeline_yaml(suffix, proxy.endpoint, 50, DATES[-1], extra))
        pipe = config.load(path)
        wh = BigQueryWarehouse(pipe.warehouse.bigquery)
        counts = fetch(pipe, wh)
        wh.close()
    finally:
        proxy.stop()
    assert counts.rows == want and counts.expected == DATES
    assert counts.queries == 1 and wh.note is None
    (sql,) = _sql(proxy, 0)  # one insert: never abandoned and re-sent
    assert sql.count("INFORMATION_SCHEMA.PARTITIONS") == 5  # 4 datasets + the schedule's


@pytest.mark.bigquery
def test_a_slow_job_insert_may_use_the_whole_poll_budget(
    bq_client, suffix, fault_proxy, tmp_path
) -> None:
    """A server that answers `jobs.insert` only after 5 s (of an 8 s poll timeout) still gets its
    counts, from one insert: the request is not cut at half the budget and re-sent."""
    dates = DATES[:5]
    want = load(bq_client, suffix, 6, dates)
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        pipeline_yaml(
            suffix, fault_proxy.endpoint, 6, dates[-1], ", timeout: 8s, retry_deadline: 8s"
        )
    )
    pipe = config.load(path)
    slow = fault_proxy.add(Rule("delay", body="INFORMATION_SCHEMA.PARTITIONS", delay_s=5.0))
    wh = BigQueryWarehouse(pipe.warehouse.bigquery)
    n = len(fault_proxy.job_inserts())
    counts = fetch(pipe, wh)
    wh.close()
    assert slow.fired == 1 and len(fault_proxy.job_inserts()) == n + 1
    assert counts.rows == want and counts.queries == 1 and wh.note is None


@pytest.mark.bigquery
def test_no_job_starts_once_the_poll_budget_is_spent(fault_proxy) -> None:
    """The jobs of one poll share one deadline: a job asked for after it fails at once, says
    what to do, and sends nothing."""
    wh = BigQueryWarehouse(config.BigQuerySettings(endpoint=fault_proxy.endpoint))
    with pytest.raises(WarehouseError, match="did not answer within 30s") as e:
        wh.run("SELECT 1 AS x", [], "probe", deadline=time.monotonic() - 1.0)
    wh.close()
    assert e.value.hint and "timeout" in e.value.hint
    assert fault_proxy.job_inserts() == []
