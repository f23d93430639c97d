"""On the emulator: a forced recount sees a DML change the free metadata does not show, the cost
line prices only existing tables and the strategy in use, and 1,000 tables poll within
BigQuery's limits per query."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

import bqemu
import pytest
from test_bq_backend import DATES, TIMEOUT_S, build, pipeline_yaml, warehouse_for

from nba_tui import config
from nba_tui.monitor import Monitor
from nba_tui.warehouse import fetch
from nba_tui.warehouse.bq_sql import MAX_TABLES_PER_QUERY

MIB = 1024 * 1024


def _load(tmp_path, text: str):
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return config.load(path)


@pytest.mark.bigquery
def test_recount_sees_a_delete_that_left_the_metadata_unchanged(
    bq_client, suffix, fault_proxy, tmp_path
) -> None:
    build(bq_client, suffix, 3)
    pipe = _load(tmp_path, pipeline_yaml(suffix, fault_proxy.endpoint, 3))
    mon = Monitor(pipe)
    try:
        first = mon.poll_once()
        assert first.fresh and first.snapshot is not None
        before = first.snapshot.tables["t02"].rows
        day = next(d for d in DATES if d in before)
        ref = f"`{bq_client.project}.ds2_{suffix}.t02`"
        bq_client.query(f"DELETE FROM {ref} WHERE game_date = '{day}'").result()  # noqa: S608
        quiet = mon.poll_once()  # the emulator keeps modified, num_rows and etag
        assert quiet.snapshot.queries == 0 and quiet.snapshot.tables["t02"].rows == before
        mon.recount()
        forced = mon.poll_once()
        assert forced.fresh and forced.snapshot.queries == 1
        assert day not in forced.snapshot.tables["t02"].rows
        assert forced.snapshot.tables["t00"].rows == first.snapshot.tables["t00"].rows
        assert mon.poll_once().snapshot.queries == 0  # once
    finally:
        mon.close()


@pytest.mark.bigquery
@pytest.mark.parametrize("strategy", ["query", "partitions"])
def test_cost_line_counts_existing_tables_and_the_strategy_used(
    bq_client, suffix, fault_proxy, tmp_path, strategy
) -> None:
    """5 tables exist (t00, t02, t04 partitioned by day in ds0/ds2/ds0; t01, t03 not), t05 is
    configured but absent, and the schedule is partitioned. The plain query scans 6 tables;
    the partitions query reads 3 metadata views (raw, ds0, ds2) and scans t01 and t03."""
    build(bq_client, suffix, 5)
    pipe = _load(tmp_path, pipeline_yaml(suffix, fault_proxy.endpoint, 6, strategy))
    mon = Monitor(pipe)
    try:
        line = mon.estimate_cost()
    finally:
        mon.close()
    assert line is not None
    if strategy == "query":
        assert "(60.0 MiB billed: 10 MiB minimum per table, 6 tables)" in line
    else:
        assert "(50.0 MiB billed: 10 MiB minimum per table, 2 tables + 3 metadata views)" in line


def _create(client, sfx: str, i: int) -> None:
    bqemu.create_table(client, f"ds{i % 4}_{sfx}.t{i:04d}", {DATES[i % 2]: i % 3 + 1})


@pytest.mark.bigquery
def test_a_thousand_tables_poll_within_the_tables_per_query_limit(
    bq_client, bq_emulator, suffix, tmp_path
) -> None:
    """1,000 tables and the schedule are 1,001 tables referenced: two query jobs, exact counts
    (one date per table: the emulator's time grows with the rows). Straight to the emulator:
    creating the tables outlives the fault proxy."""
    n = 1000
    days = DATES[:2]
    bqemu.create_table(bq_client, f"raw_{suffix}.schedule", {d: 1 for d in days})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: _create(bq_client, suffix, i), range(n)))
    tables = "\n".join(
        f"      - {{name: t{i:04d}, table: ds{i % 4}_{suffix}.t{i:04d}}}" for i in range(n)
    )
    text = pipeline_yaml(suffix, bq_emulator.endpoint, 0)
    text = text.replace(f"timeout: {TIMEOUT_S}s", "timeout: 300s")
    assert "timeout: 300s" in text
    text = text.replace("2024-01-10", days[-1].isoformat()).rstrip("\n") + "\n" + tables + "\n"
    pipe = _load(tmp_path, text)
    wh = warehouse_for(pipe)
    before = bqemu.job_ids(bq_client)
    try:
        counts = fetch(pipe, wh)
        assert counts.queries == 2 and len(wh.last_job_ids) == 2
    finally:
        wh.close()
    assert bqemu.job_ids(bq_client) - before == set(wh.last_job_ids)
    assert n + 1 > MAX_TABLES_PER_QUERY
    assert counts.expected == days and not counts.missing_tables
    for i in range(n):
        assert counts.rows[f"t{i:04d}"] == {DATES[i % 2]: i % 3 + 1}
    assert counts.rows["t0999"] == {dt.date(2024, 1, 2): 1}
