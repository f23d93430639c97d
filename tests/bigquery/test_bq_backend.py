"""The BigQuery backend with the real client against the emulator (and the fault proxy)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import bqemu
import pytest
from faultproxy import FaultProxy, Rule
from waiting import wait_for

from nba_tui import config
from nba_tui.config import BigQuerySettings, ConfigError
from nba_tui.identifiers import IdentifierError, TableRef
from nba_tui.warehouse import WarehouseError, fetch
from nba_tui.warehouse.base import TableSpec
from nba_tui.warehouse.bigquery import BigQueryWarehouse, describe_cost
from nba_tui.warehouse.bq_client import find_credentials

ROOT = Path(__file__).parents[2]
D = dt.date
DATES = [D(2024, 1, 1) + dt.timedelta(days=i) for i in range(10)]
EVIL = "x`; DROP TABLE y --"
TIMEOUT_S = 120
"""The poll budget: no test here is about the deadline, and a loaded machine's emulator may
take tens of seconds over a dry run."""


def pipeline_yaml(sfx: str, endpoint: str, n_tables: int, strategy: str = "query") -> str:
    tables = "\n".join(
        f"      - {{name: t{i:02d}, table: ds{i % 4}_{sfx}.t{i:02d}}}" for i in range(n_tables)
    )
    return f"""\
pipeline: bq
range: {{start: 2024-01-01, end: 2024-01-10}}
expected_dates: {{table: raw_{sfx}.schedule}}
warehouse:
  backend: bigquery
  bigquery: {{endpoint: "{endpoint}", strategy: {strategy}, max_bytes_billed: 12345678,
             timeout: {TIMEOUT_S}s, retry_deadline: 5s}}
phases:
  - name: p
    tables:
{tables}
"""


def build(client, sfx: str, n_tables: int) -> None:
    bqemu.create_table(client, f"raw_{sfx}.schedule", {d: 1 for d in DATES})
    for i in range(n_tables):
        rows = {d: i + 1 for d in DATES if (d.day + i) % 7}
        bqemu.create_table(client, f"ds{i % 4}_{sfx}.t{i:02d}", rows, partitioned=i % 2 == 0)


@pytest.fixture
def fifteen(bq_client, suffix, fault_proxy, tmp_path):
    """15 tables in 4 datasets plus the schedule, read through the proxy."""
    build(bq_client, suffix, 15)
    path = tmp_path / "pipeline.yaml"
    path.write_text(pipeline_yaml(suffix, fault_proxy.endpoint, 15))
    return config.load(path)


def warehouse_for(pipeline, **overrides) -> BigQueryWarehouse:
    settings = pipeline.warehouse.bigquery.model_copy(update=overrides)
    return BigQueryWarehouse(settings)


@pytest.mark.bigquery
def test_one_poll_of_15_tables_is_exactly_one_query_job(fifteen, bq_client, fault_proxy) -> None:
    wh = warehouse_for(fifteen)
    before = bqemu.job_ids(bq_client)
    n_log = len(fault_proxy.job_inserts())
    counts = fetch(fifteen, wh)
    new_jobs = bqemu.job_ids(bq_client) - before
    assert len(new_jobs) == 1, new_jobs  # counted on the emulator
    assert len(fault_proxy.job_inserts()) - n_log == 1  # and on the wire
    assert wh.last_job_ids == list(new_jobs)
    assert counts.queries == 1 and len(counts.rows) == 15 and counts.expected == DATES
    assert counts.rows["t03"] == {d: 4 for d in DATES if (d.day + 3) % 7}
    assert counts.bytes_processed is not None
    # The second poll reads each table's free metadata (tables.get), not the listing (cached),
    # and finds nothing changed: no query job at all, the same counts (the same dicts).
    n_requests = len(fault_proxy.log)
    again = fetch(fifteen, wh)
    assert bqemu.job_ids(bq_client) - before == new_jobs and again.queries == 0
    assert again.rows == counts.rows and again.rows["t03"] is counts.rows["t03"]
    assert again.bytes_billed == 0 and again.bytes_processed == 0
    paths = [e.path.split("?")[0] for e in fault_proxy.log[n_requests:]]
    assert not any(path.endswith("/tables") for path in paths)  # no listing
    assert sum("/tables/" in path for path in paths) == 16  # one tables.get per table
    wh.close()


def _insert(client, ref: str, day: dt.date, n: int) -> None:
    rows = [{"game_date": day.isoformat(), "v": i} for i in range(n)]
    assert not client.insert_rows_json(f"{client.project}.{ref}", rows)


def _queried_sql(fault_proxy: FaultProxy, since: int) -> list[str]:
    return [e.json()["configuration"]["query"]["query"] for e in fault_proxy.job_inserts()[since:]]


@pytest.mark.bigquery
@pytest.mark.parametrize("strategy", ["query", "partitions"])
def test_a_quiet_night_runs_no_query_job(fifteen, bq_client, fault_proxy, suffix, strategy) -> None:
    """After the first poll, unchanged tables are never queried: the emulator's own job list
    shows no new job over many polls; a changed table alone is re-queried and updated."""
    wh = warehouse_for(fifteen, strategy=strategy)
    first = fetch(fifteen, wh)
    before = bqemu.job_ids(bq_client)
    for _ in range(5):
        quiet = fetch(fifteen, wh)
        assert quiet.queries == 0 and quiet.rows == first.rows
    assert bqemu.job_ids(bq_client) == before  # no query job ran, so nothing was billed
    # t06 (dataset ds2, partitioned) gets rows on a date it lacked and more on one it had.
    lacking = next(d for d in DATES if not (d.day + 6) % 7)
    _insert(bq_client, f"ds2_{suffix}.t06", lacking, 2)
    _insert(bq_client, f"ds2_{suffix}.t06", DATES[0], 3)
    n = len(fault_proxy.job_inserts())
    changed = fetch(fifteen, wh)
    assert len(bqemu.job_ids(bq_client) - before) == 1 and changed.queries == 1
    sql = _queried_sql(fault_proxy, n)[0]
    assert f"ds2_{suffix}" in sql and f"ds0_{suffix}" not in sql and "schedule" not in sql
    assert ("INFORMATION_SCHEMA.PARTITIONS" in sql) == (strategy == "partitions")
    want = dict(first.rows["t06"])
    want[lacking] = 2
    want[DATES[0]] += 3
    assert changed.rows["t06"] == want
    for name in first.rows:  # the other tables keep their counts, as the same objects
        if name != "t06":
            assert changed.rows[name] is first.rows[name]
    assert fetch(fifteen, wh).queries == 0  # and it is quiet again
    wh.close()


@pytest.mark.bigquery
def test_bytes_billed_per_poll_and_per_night(fifteen, bq_client, fault_proxy, suffix) -> None:
    """Billing comes from each job's own statistics (`totalBytesBilled`, added by the proxy as
    BigQuery reports it); a poll that ran no job billed 0, and the monitor sums the night."""
    from nba_tui.monitor import Monitor

    fault_proxy.bill_per_job = 20 * 1024 * 1024
    mon = Monitor(fifteen)
    first = mon.poll_once()
    assert first.fresh and first.bytes_billed == 20 * 1024 * 1024
    assert first.snapshot is not None and first.snapshot.bytes_billed == first.bytes_billed
    quiet = mon.poll_once()
    assert quiet.fresh and quiet.bytes_billed == 0 and quiet.snapshot.queries == 0
    computed = mon.coverage.computed
    _insert(bq_client, f"ds1_{suffix}.t05", DATES[0], 1)
    changed = mon.poll_once()
    assert changed.bytes_billed == 20 * 1024 * 1024
    assert (
        changed.snapshot.tables["t05"].rows[DATES[0]]
        == first.snapshot.tables["t05"].rows[DATES[0]] + 1
    )
    assert mon.coverage.computed == computed + 1  # only t05's coverage was recomputed
    assert mon.bytes_billed_total == 40 * 1024 * 1024 and mon.queries_total == 2
    assert changed.snapshot.to_json(fifteen)["bytes_billed"] == 20 * 1024 * 1024
    mon.close()


@pytest.mark.bigquery
def test_maximum_bytes_billed_on_every_query(fifteen, fault_proxy) -> None:
    for strategy in ("query", "partitions"):
        wh = warehouse_for(fifteen, strategy=strategy)
        fetch(fifteen, wh)
        wh.estimate_bytes(*_specs(fifteen), fifteen.range.start, fifteen.range.end)
        wh.close()
    fault_proxy.add(Rule("denied", body="INFORMATION_SCHEMA.PARTITIONS"))
    wh = warehouse_for(fifteen, strategy="partitions")
    fetch(fifteen, wh)  # the fallback's query too
    inserts = fault_proxy.job_inserts()
    kinds = {
        ("dry" if e.json()["configuration"].get("dryRun") else "run")
        + ("-partitions" if "PARTITIONS" in e.json()["configuration"]["query"]["query"] else "")
        for e in inserts
    }
    # The dry run prices the strategy in use: the partitions query under `strategy: partitions`.
    assert kinds == {"run", "dry", "run-partitions", "dry-partitions"}
    for e in inserts:
        q = e.json()["configuration"]["query"]
        assert q["maximumBytesBilled"] == "12345678", q
        assert q["useLegacySql"] is False
        assert {p["name"] for p in q["queryParameters"]} >= {"pstart"} or {
            "start",
            "end",
        } <= {p["name"] for p in q["queryParameters"]}


def _specs(pipeline):
    from nba_tui.warehouse import specs

    return specs(pipeline)


@pytest.mark.bigquery
def test_injected_table_name_never_reaches_the_client(bq_client, fault_proxy, tmp_path) -> None:
    before = bqemu.job_ids(bq_client)
    text = pipeline_yaml("evil", fault_proxy.endpoint, 1).replace("dsevil0_evil.t00", "x")
    text = text.replace("{name: t00, table: ds0_evil.t00}", f"{{name: t00, table: 'ds.{EVIL}'}}")
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="unsafe table"):
        config.load(path)
    with pytest.raises(IdentifierError):
        TableRef.parse(f"nba_raw.{EVIL}")
    with pytest.raises(IdentifierError, match="unsafe table"):
        TableRef("nba_raw", EVIL)  # nor can one be built directly
    # A TableRef forced past its own check is still refused by the backend, before any request.
    forged = object.__new__(TableRef)
    object.__setattr__(forged, "dataset", "nba_raw")
    object.__setattr__(forged, "table", EVIL)
    wh = BigQueryWarehouse(BigQuerySettings(endpoint=fault_proxy.endpoint))
    bad = TableSpec("bad", forged, "game_date")
    sched = TableSpec("__expected__", TableRef("nba_raw", "schedule"), "game_date")
    with pytest.raises(WarehouseError, match="unsafe table"):
        wh.counts(sched, [bad], D(2024, 1, 1), D(2024, 1, 2))
    with pytest.raises(WarehouseError, match="unsafe"):
        wh.estimate_bytes(sched, [bad], D(2024, 1, 1), D(2024, 1, 2))
    wh.close()
    assert fault_proxy.log == []  # nothing reached the wire
    assert bqemu.job_ids(bq_client) == before  # and no job was created


@pytest.mark.bigquery
def test_partitions_strategy_equals_plain_query(fifteen, fault_proxy) -> None:
    plain = fetch(fifteen, warehouse_for(fifteen, strategy="query"))
    wh = warehouse_for(fifteen, strategy="partitions")
    n = len(fault_proxy.job_inserts())
    parts = fetch(fifteen, wh)
    assert parts.rows == plain.rows and parts.expected == plain.expected
    assert parts.queries == 1 and wh.note is None
    sql = fault_proxy.job_inserts()[n].json()["configuration"]["query"]["query"]
    assert "INFORMATION_SCHEMA.PARTITIONS" in sql  # partitioned tables read from metadata
    assert "COUNT(*)" in sql  # the unpartitioned ones counted in the same job


@pytest.mark.bigquery
def test_partitions_fallback_when_the_view_is_refused(
    fifteen, fault_proxy, bq_client, suffix
) -> None:
    """The emulator has the view; the fallback is driven by a real 403 accessDenied body."""
    plain = fetch(fifteen, warehouse_for(fifteen, strategy="query"))
    fault_proxy.add(Rule("denied", body="INFORMATION_SCHEMA.PARTITIONS"))
    wh = warehouse_for(fifteen, strategy="partitions")
    counts = fetch(fifteen, wh)
    assert counts.rows == plain.rows and counts.expected == plain.expected
    assert counts.queries == 2
    assert wh.note and "PARTITIONS unavailable" in wh.note and "accessDenied" in wh.note
    assert fetch(fifteen, wh).queries == 0  # nothing changed: no job at all
    _insert(bq_client, f"ds0_{suffix}.t00", DATES[0], 1)
    n = len(fault_proxy.job_inserts())
    again = fetch(fifteen, wh)  # remembered: straight to the plain query
    assert again.queries == 1 and len(fault_proxy.job_inserts()) == n + 1
    assert "PARTITIONS" not in _queried_sql(fault_proxy, n)[0]
    assert again.rows["t00"][DATES[0]] == plain.rows["t00"][DATES[0]] + 1


@pytest.mark.bigquery
def test_missing_tables_reported_and_relisted(bq_client, suffix, fault_proxy, tmp_path) -> None:
    build(bq_client, suffix, 3)
    path = tmp_path / "pipeline.yaml"
    path.write_text(pipeline_yaml(suffix, fault_proxy.endpoint, 5))  # t03, t04 never created
    pipe = config.load(path)
    wh = warehouse_for(pipe)
    counts = fetch(pipe, wh)
    assert counts.missing_tables == ["t03", "t04"] and set(counts.rows) == {"t00", "t01", "t02"}
    # Dropped after the listing was cached: the failed job triggers one relist, not an error.
    bq_client.delete_table(f"{bq_client.project}.ds1_{suffix}.t01")
    counts = fetch(pipe, wh)
    assert counts.missing_tables == ["t01", "t03", "t04"]


@pytest.mark.bigquery
def test_errors_name_the_table(bq_client, suffix, fault_proxy) -> None:
    wh = BigQueryWarehouse(BigQuerySettings(endpoint=fault_proxy.endpoint))
    sched = TableSpec("__expected__", TableRef(f"raw_{suffix}", "schedule"), "game_date")
    with pytest.raises(WarehouseError, match=rf"schedule table .*raw_{suffix}.schedule not found"):
        wh.counts(sched, [], D(2024, 1, 1), D(2024, 1, 2))
    spec = TableSpec("gone", TableRef(f"raw_{suffix}", "gone"), "game_date")
    sql, params = wh.plain_query([(0, spec)], D(2024, 1, 1), D(2024, 1, 2))
    with pytest.raises(WarehouseError, match=rf"dataset .*raw_{suffix} not found"):
        wh.run(sql, params, "probe")
    bq_client.create_dataset(f"{bq_client.project}.raw_{suffix}")
    with pytest.raises(WarehouseError, match=rf"table .*raw_{suffix}.gone not found") as e:
        wh.run(sql, params, "probe")
    assert "project" in e.value.hint


@pytest.mark.bigquery
def test_dry_run_estimate(fifteen) -> None:
    wh = warehouse_for(fifteen)
    nbytes = wh.estimate_bytes(*_specs(fifteen), fifteen.range.start, fifteen.range.end)
    assert isinstance(nbytes, int) and nbytes >= 0  # the emulator reports 0 bytes


def test_describe_cost() -> None:
    line = describe_cost(50 * 1024**2, 60)
    assert line.startswith("50.0 MiB processed per poll")
    assert "23.4 GiB per 8 h night at one poll every 60s" in line
    assert "10 MiB minimum per table" in describe_cost(0, 30, tables=16)


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # no gcloud ADC file here
        "NO_GCE_CHECK": "true",
    }
    return env


def test_status_without_credentials_fails_with_one_line(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--config", "examples/nba-props-platform.yaml"],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS or run" in lines[0]
    assert "`gcloud auth application-default login`" in lines[0]
    assert "did not finish" not in lines[0]  # the lookup answered, not its deadline


def test_make_client_without_credentials_answers(tmp_path, monkeypatch) -> None:
    """No credentials anywhere: the lookup itself says so (not the deadline that bounds it)."""
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "BIGQUERY_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    with pytest.raises(WarehouseError, match="no Google credentials found") as e:
        BigQueryWarehouse(BigQuerySettings())
    assert "\n" not in str(e.value) and "did not finish" not in str(e.value)


def test_a_credential_lookup_that_hangs_ends_at_its_deadline(monkeypatch) -> None:
    """`google.auth.default` probing a metadata server that never answers: the lookup gives up
    at its deadline with one line that says how to skip the probe."""
    import google.auth

    release = threading.Event()
    monkeypatch.setattr(google.auth, "default", lambda **_: release.wait(60))
    try:
        with pytest.raises(WarehouseError, match="did not finish in 0.2s") as e:
            find_credentials(timeout=0.2)
    finally:
        release.set()
    assert "\n" not in str(e.value) and "NO_GCE_CHECK=true" in (e.value.hint or "")


def test_emulator_host_env_is_honoured(monkeypatch) -> None:
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "127.0.0.1:9")
    wh = BigQueryWarehouse(BigQuerySettings())
    assert wh.client._connection.API_BASE_URL == "http://127.0.0.1:9"
    wh.close()


@pytest.mark.bigquery
def test_proxy_is_bounded(bq_emulator) -> None:
    proxy = FaultProxy(bq_emulator.endpoint, max_requests=1, lifetime_s=0.5).start()
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError):  # past max_requests: refused
        urllib.request.urlopen(proxy.endpoint + "/a", timeout=5).read()
        urllib.request.urlopen(proxy.endpoint + "/b", timeout=5).read()

    def stopped() -> bool:
        try:
            urllib.request.urlopen(proxy.endpoint + "/c", timeout=2).read()
        except urllib.error.HTTPError:
            return False  # still serving: past max_requests, a 500
        except OSError:
            return True  # nothing listens
        return False

    wait_for(stopped, 30, "the proxy to stop itself after its lifetime")


@pytest.mark.bigquery
def test_status_on_bigquery_prints_the_cost_estimate(
    bq_client, bq_emulator, suffix, tmp_path
) -> None:
    """`nba-tui status` against the emulator: the coverage, then the dry run's cost line."""
    build(bq_client, suffix, 3)
    path = tmp_path / "pipeline.yaml"
    path.write_text(pipeline_yaml(suffix, bq_emulator.endpoint, 3))
    env = {k: v for k, v in os.environ.items() if k != "BIGQUERY_EMULATOR_HOST"}
    text = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert text.returncode == 0, text.stderr
    assert "10 game dates" in text.stdout and "t02" in text.stdout
    lines = text.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    at = next(i for i, line in enumerate(lines) if line.startswith("cost: "))
    cost = " ".join(line.strip() for line in lines[at:])
    assert "per poll" in cost and "night" in cost
    out = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    data = __import__("json").loads(out.stdout)
    assert data["cost_estimate"] == cost.removeprefix("cost: ")


@pytest.mark.bigquery
def test_partitions_reads_each_dataset_once_for_50_tables(
    bq_client, suffix, fault_proxy, tmp_path
) -> None:
    """50 daily-partitioned tables in 4 datasets (+ the schedule's): one job, one PARTITIONS
    part per dataset (not per table), within the timeout, and the same counts as the plain query.
    (Two dates per table: the emulator's cost grows with the partitions of each dataset; see
    docs/BIGQUERY.md.)"""
    days = DATES[:2]
    bqemu.create_table(bq_client, f"raw_{suffix}.schedule", {d: 1 for d in days})
    for i in range(50):
        bqemu.create_table(bq_client, f"ds{i % 4}_{suffix}.t{i:02d}", {days[i % 2]: i + 1})
    path = tmp_path / "pipeline.yaml"
    path.write_text(pipeline_yaml(suffix, fault_proxy.endpoint, 50, strategy="partitions"))
    pipe = config.load(path)
    wh = warehouse_for(pipe)
    n = len(fault_proxy.job_inserts())
    counts = fetch(pipe, wh)  # within the timeout: a poll past it raises
    assert counts.queries == 1 and wh.note is None
    (sql,) = _queried_sql(fault_proxy, n)
    assert sql.count("INFORMATION_SCHEMA.PARTITIONS") == 5  # 4 datasets + the schedule's
    assert counts.rows == fetch(pipe, warehouse_for(pipe, strategy="query")).rows
    assert counts.rows["t07"] == {days[1]: 8}
    wh.close()
